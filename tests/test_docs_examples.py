"""Every Python example in the documentation is true: it runs, offline, as written.

The ```python blocks of ``docs/**/*.md`` and ``README.md`` are extracted and executed
page by page, top to bottom, in one namespace per page (a page is read in order, so a
later block may use what an earlier one built). Each page runs in a fresh working
directory with a fresh home, and the network is closed: only loopback connections
(a served emulator) are allowed, so an example can only pass by talking to the
emulators.

A block that cannot run offline (it needs real credentials, a browser, a web server)
carries an HTML comment on the line right before its fence::

    <!-- not-run: needs credentials -->

Such a block must still compile, and its ``import`` statements are executed, so a
renamed module or class breaks the test even where the example itself cannot run.
"""

from __future__ import annotations

import ast
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
_FENCE = re.compile(r"^```python\s*$")
_NOT_RUN = re.compile(r"^<!--\s*not-run:\s*(?P<reason>\S.*?)\s*-->$")


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    code: str
    not_run: str | None  # the reason, when marked

    def label(self) -> str:
        return f"{self.page}:{self.line}"


def blocks_of(path: Path, root: Path = ROOT) -> list[Block]:
    """The ```python blocks of one Markdown file, with their not-run markers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        if _FENCE.match(lines[index].strip()):
            end = index + 1
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            if end == len(lines):
                raise AssertionError(f"{path}:{index + 1}: unclosed ```python block")
            previous = next(
                (lines[i].strip() for i in range(index - 1, -1, -1) if lines[i].strip()), ""
            )
            marker = _NOT_RUN.match(previous)
            found.append(
                Block(
                    page=str(path.relative_to(root)),
                    line=index + 1,
                    code="\n".join(lines[index + 1 : end]) + "\n",
                    not_run=marker.group("reason") if marker else None,
                )
            )
            index = end
        index += 1
    return found


def _pages() -> list[Path]:
    return [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]


_PAGES_WITH_CODE = [p for p in _pages() if blocks_of(p)]


def _page_params() -> Iterator[Any]:
    for path in _PAGES_WITH_CODE:
        rel = str(path.relative_to(ROOT))
        yield pytest.param(path, id=rel)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh cwd and home, no erpsync settings, and no connection beyond loopback."""
    import os

    for name in list(os.environ):
        if name.startswith("ERPSYNC_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.chdir(tmp_path)

    real_connect = socket.socket.connect

    def loopback_only(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"documentation examples run offline; refused {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    return tmp_path


def _run_imports(block: Block) -> None:
    """Execute only the import statements of a block (names must exist)."""
    tree = ast.parse(block.code, filename=block.label())
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    code = compile(ast.Module(body=imports, type_ignores=[]), block.label(), "exec")
    exec(code, {"__name__": "docs_example"})


def _run_page(path: Path, root: Path = ROOT) -> None:
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    for block in blocks_of(path, root):
        code = compile(block.code, block.label(), "exec")  # every block must compile
        if block.not_run is not None:
            _run_imports(block)
            continue
        try:
            exec(code, namespace)
        except Exception as exc:
            raise AssertionError(
                f"the example at {block.label()} does not run: {type(exc).__name__}: {exc}\n"
                f"(mark it <!-- not-run: reason --> only if it cannot run offline)"
            ) from exc


@pytest.mark.parametrize("path", list(_page_params()))
def test_every_python_example_runs(path: Path, offline: Path) -> None:
    _run_page(path)


def test_docs_have_runnable_examples() -> None:
    """The check above is not vacuous: most examples are run, not just marked."""
    blocks = [b for p in _pages() if p.name != "README.md" for b in blocks_of(p)]
    run = [b for b in blocks if b.not_run is None]
    assert len(blocks) >= 10
    assert len(run) >= len(blocks) // 2, [b.label() for b in blocks if b.not_run]


def test_markers_are_recognised(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n<!-- not-run: needs credentials -->\n```python\nx = undefined_name\n```\n"
        "\n```python\ny = 1\n```\n```bash\nnot python\n```\n",
        encoding="utf-8",
    )
    found = blocks_of(page, tmp_path)
    assert [(b.line, b.not_run) for b in found] == [(4, "needs credentials"), (8, None)]


def test_a_false_example_fails(tmp_path: Path, offline: Path) -> None:
    wrong = tmp_path / "wrong.md"
    wrong.write_text(
        "```python\nfrom erpsync import Invoice\nInvoice(no_such_field=1)\n```\n",
        encoding="utf-8",
    )
    with pytest.raises(AssertionError, match="does not run"):
        _run_page(wrong, tmp_path)
    renamed = tmp_path / "renamed.md"
    renamed.write_text(
        "<!-- not-run: needs credentials -->\n```python\n"
        "from erpsync.netsuite import NoSuchBackend\nNoSuchBackend(secret)\n```\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportError):
        _run_page(renamed, tmp_path)


def test_the_network_is_closed(offline: Path) -> None:
    with pytest.raises(OSError, match="offline"):
        socket.create_connection(("192.0.2.1", 443), timeout=0.1)
