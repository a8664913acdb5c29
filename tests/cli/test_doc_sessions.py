"""The command-line sessions of the workflow pages are true: each ``$ erpsync ...`` line
runs against a served emulator, and every line shown under it is in what it printed.

A page marks a session with ``<!-- session: quickbooks|netsuite -->`` on the line before
a ```text block, and the input files it uses with ``<!-- file: NAME -->`` before theirs.
Output lines are compared with runs of spaces collapsed (tables are aligned by width).
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
    return sorted(p for p in (DOCS / "workflows").glob("*.md") if "<!-- session:" in p.read_text())


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def test_some_workflow_page_has_a_session() -> None:
    assert _pages()


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
            sessions.append((name, body))
    for erp, body in sessions:
        request.getfixturevalue("qbo" if erp == "quickbooks" else erp)
        commands: list[tuple[str, list[str]]] = []
        for line in body.splitlines():
            if line.startswith("$ erpsync "):
                commands.append((line, []))
            elif line.strip():
                commands[-1][1].append(line)
        for command, expected in commands:
            code, out, err = run(*shlex.split(command[len("$ erpsync ") :]))
            printed = _squeeze(out + "\n" + err)
            assert code in (0, 1), f"{command}: exit {code}\n{out}{err}"
            for line in expected:
                assert _squeeze(line) in printed, f"{command}: no {line!r} in\n{out}{err}"
