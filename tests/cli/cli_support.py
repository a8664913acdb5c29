"""What every command-line test uses: ``run(*argv)`` calls ``main()`` in-process."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path

from erpsync._cli.output import Output
from erpsync._cli.sandbox import run_sandbox
from erpsync.cli import main


def run(*argv: str) -> tuple[int, str, str]:
    """``erpsync --plain ARGV``: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(["--plain", *argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def sandbox_env(kind: str, fake: object, workdir: Path) -> Iterator[dict[str, str]]:
    """Serve ``fake`` through ``run_sandbox`` and yield the variables it printed."""
    stop, ready = threading.Event(), threading.Event()
    out = io.StringIO()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(
            run_sandbox(
                Output(out, io.StringIO(), plain=True),
                kind,  # type: ignore[arg-type]
                workdir=workdir,
                stop=stop,
                ready=ready,
                fake=fake,  # type: ignore[arg-type]
            )
        )
    )
    thread.start()
    assert ready.wait(10)
    env = dict(
        line[len("export ") :].split("=", 1)
        for line in out.getvalue().splitlines()
        if line.startswith("export ")
    )
    try:
        yield env
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]
