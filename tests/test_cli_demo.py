"""``erpsync demo``: runs offline, leaves the store and a real PDF, says what it skipped."""

from __future__ import annotations

import importlib.util
import io
import os
import sqlite3
from pathlib import Path

import pytest
from pypdf import PdfReader

from erpsync.cli import main


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("ERPSYNC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--plain", *argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_demo_runs_every_workflow_on_both_emulators(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    code, out, err = run("demo", "--out", str(target))
    assert code == 0, out + err
    store = target / "erpsync-demo.db"
    with sqlite3.connect(store) as db:
        kinds = {row[0] for row in db.execute("SELECT kind FROM runs")}
        written = db.execute("SELECT count(*) FROM ledger WHERE state = 'written'").fetchone()[0]
    assert {"accounting-sync", "purchasing"} <= kinds
    assert written > 10
    pdfs = sorted(target.glob("quickbooks-invoice-*.pdf"))
    assert len(pdfs) == 1
    assert pdfs[0].read_bytes().startswith(b"%PDF")
    assert len(PdfReader(pdfs[0]).pages) >= 1
    assert (target / "netsuite-invoice-import.csv").read_text().startswith("External ID,")
    # NetSuite renders PDFs only through a RESTlet: said, not faked.
    assert "PDF RESTlet" in out
    assert not list(target.glob("netsuite-invoice-*.pdf"))
    for workflow in (
        "Marketplace invoicing",
        "Webhooks + CSV export",
        "Purchase orders",
        "Accounting sync",
        "Reconciliation",
    ):
        assert out.count(workflow) >= 2
    assert "workflow(s) failed" not in err
    # A second run replaces the first one's files instead of mixing with them.
    code, _, _ = run("demo", "--out", str(target))
    assert code == 0
    assert len(list(target.glob("quickbooks-invoice-*.pdf"))) == 1


def test_demo_says_plainly_what_it_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def without_purchasing(name: str, *args: object) -> object:
        if name == "erpsync.sync.purchasing":
            return None
        return real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", without_purchasing)
    code, out, err = run("demo", "--out", str(tmp_path / "demo"))
    assert code == 0
    assert "erpsync.sync.purchasing is not part of this build" in err
    assert "skipped" in out
    assert "item receipt" not in out
