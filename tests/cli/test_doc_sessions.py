"""The command-line sessions of the workflow pages are true: each ``$ erpsync ...`` line
runs against a served emulator, and every line shown under it is in what it printed.

Every workflow page (one per source-document workflow) has at least one session. A page
marks a session with ``<!-- session: quickbooks|netsuite -->`` on the line before a
```text block, and the input files it uses with ``<!-- file: NAME -->`` before theirs.
Each line shown must be part of one printed line, compared with runs of spaces collapsed
(tables are aligned by width); ``...`` in a shown line stands for what differs from run
to run (a start time, an id the ERP hands out in a concurrent push).
The sessions of one page share one sync store and working directory, in page order, as
a reader typing them in one terminal does.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from cli_support import run

DOCS = Path(__file__).resolve().parents[2] / "docs"
_MARKED = re.compile(r"<!-- (session|file): (\S+) -->\n```text\n(.*?)```", re.DOTALL)


def _pages() -> list[Path]:
    return sorted((DOCS / "workflows").glob("*.md"))


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def _shown(line: str, printed: list[str]) -> bool:
    """Whether ``line`` (``...`` matching anything) is part of one of the printed lines."""
    pattern = re.compile(".*?".join(re.escape(part) for part in _squeeze(line).split("...")))
    return any(pattern.search(candidate) for candidate in printed)


def test_an_ellipsis_stands_for_what_varies() -> None:
    printed = [_squeeze("1   accounting-sync  NetSuite  2026-12-04 03:33:00  partial")]
    assert _shown("1 accounting-sync NetSuite ... partial", printed)
    assert not _shown("1 accounting-sync NetSuite ... ok", printed)
    assert not _shown("accounting-sync partial", printed)


def test_there_are_workflow_pages() -> None:
    assert len(_pages()) >= 4  # marketplace, accounting sync, billing, purchase orders


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_the_session_runs_as_shown(
    page: Path, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sessions = []
    for kind, name, body in _MARKED.findall(page.read_text(encoding="utf-8")):
        if kind == "file":
            (tmp_path / name).write_text(body)
        else:
            assert name in ("quickbooks", "netsuite"), f"{page.name}: session: {name}?"
            sessions.append((name, body))
    assert sessions, f"{page.name} has no <!-- session: quickbooks|netsuite --> block"
    for erp, body in sessions:
        request.getfixturevalue("qbo" if erp == "quickbooks" else erp)
        commands: list[tuple[str, list[str]]] = []
        for line in body.splitlines():
            if line.startswith("$ erpsync "):
                commands.append((line, []))
            elif line.strip():
                assert commands, f"{page.name}: output before the first $ erpsync line"
                commands[-1][1].append(line)
        for command, expected in commands:
            code, out, err = run(*shlex.split(command[len("$ erpsync ") :]))
            printed = [_squeeze(line) for line in (out + "\n" + err).splitlines()]
            assert code in (0, 1), f"{command}: exit {code}\n{out}{err}"
            for line in expected:
                assert _shown(line, printed), f"{command}: no {line!r} in\n{out}{err}"
