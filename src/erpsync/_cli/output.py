"""What the command prints: rich tables and progress bars, or plain text without rich.

rich is an optional extra (``erpsync[cli]``), so it is imported here lazily and only
here; when it is missing (or ``--plain`` is given) the same calls print aligned plain
text. Commands therefore never import rich themselves, and the demo works in a bare
install. Errors and warnings go to stderr so that ``erpsync import ... > file`` stays
clean.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from erpsync._cli.progress import DEFAULT_AFTER, Progress, track

__all__ = ["Output", "Progress", "rich_available"]


def rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


class Output:
    """Prints to ``stdout``/``stderr`` with rich when available and wanted.

    ``plain=True`` forces plain text; ``plain=None`` uses rich when it is installed.
    """

    def __init__(
        self,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        *,
        plain: bool | None = None,
        width: int | None = None,
        data: TextIO | None = None,
    ) -> None:
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        #: Where machine-readable output goes (JSON documents, ``--out -``): standard
        #: output. With ``--json`` the human text is sent to stderr instead (``stdout``
        #: is then stderr), so that stdout holds nothing but the document.
        self.data = data if data is not None else self.stdout
        self.rich = (not plain) and rich_available()
        #: Seconds a run lasts before its progress is shown (``progress_after``).
        self.progress_after = DEFAULT_AFTER
        self._console: Any = None
        self._err_console: Any = None
        if self.rich:
            from rich.console import Console

            self._console = Console(file=self.stdout, width=width, highlight=False)
            self._err_console = Console(file=self.stderr, width=width, highlight=False)

    # -- text ----------------------------------------------------------------------------

    def line(self, text: str = "") -> None:
        if self._console is not None:
            self._console.print(text, markup=False, soft_wrap=True)
        else:
            print(text, file=self.stdout)

    def heading(self, text: str) -> None:
        if self._console is not None:
            from rich.rule import Rule
            from rich.text import Text

            self._console.print(Rule(Text(text), align="left"))
        else:
            print(f"\n== {text}", file=self.stdout)

    def ok(self, text: str) -> None:
        self._styled(self._console, self.stdout, text, "green", "")

    def warn(self, text: str) -> None:
        self._styled(self._err_console, self.stderr, f"warning: {text}", "yellow", "")

    def error(self, text: str) -> None:
        self._styled(self._err_console, self.stderr, f"error: {text}", "bold red", "")

    def _styled(self, console: Any, stream: TextIO, text: str, style: str, prefix: str) -> None:
        if console is not None:
            console.print(prefix + text, style=style, markup=False, soft_wrap=True)
        else:
            print(prefix + text, file=stream)

    def data_only(self) -> Output:
        """This output with the human text on stderr: stdout keeps only :attr:`data`
        (``--report -`` prints the CSV there, the summary goes to stderr)."""
        other = Output(self.stderr, self.stderr, plain=not self.rich, data=self.data)
        other.progress_after = self.progress_after
        return other

    def json(self, document: object) -> None:
        """One JSON document (or one JSON line of a stream) on :attr:`data`."""
        from erpsync._cli.files import jsonable

        self.data.write(json.dumps(document, default=jsonable) + "\n")
        self.data.flush()

    # -- tables and progress -------------------------------------------------------------

    def table(
        self,
        title: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[object]],
    ) -> None:
        cells = [["" if v is None else str(v) for v in row] for row in rows]
        if self._console is not None:
            from rich.table import Table
            from rich.text import Text

            # Text, not str: values come from ERPs and files ("[bold]" in a customer
            # name, "[/x]" in an error) and must be shown as written, never parsed as
            # rich markup (a stray closing tag would crash the command).
            table = Table(title=Text(title), title_justify="left")
            for column in columns:
                table.add_column(Text(column), overflow="fold")
            for row in cells:
                table.add_row(*(Text(value) for value in row))
            self._console.print(table)
            return
        widths = [len(c) for c in columns]
        for row in cells:
            for i, value in enumerate(row):
                widths[i] = max(widths[i], len(value))
        print(title, file=self.stdout)
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(), file=self.stdout)
        print("  ".join("-" * w for w in widths), file=self.stdout)
        for row in cells:
            print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip(), file=self.stdout)
        if not cells:
            print("(none)", file=self.stdout)

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[Progress]:
        """Progress of a long step on stderr (:mod:`erpsync._cli.progress`): a rich bar
        when stderr is a terminal, else plain lines; nothing for a short run."""
        console = self._err_console
        terminal = console is not None and console.is_terminal
        with track(
            description,
            total,
            stream=self.stderr,
            console=console if terminal else None,
            after=self.progress_after,
        ) as progress:
            yield progress
