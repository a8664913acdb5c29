"""``erpsync demo``: runs offline, leaves the store and a real PDF, says what it skipped."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

import pytest
from cli_support import run
from pypdf import PdfReader


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
    for erp in ("quickbooks", "netsuite"):
        pdfs = sorted(target.glob(f"{erp}-invoice-*.pdf"))
        assert len(pdfs) == 1, erp
        assert pdfs[0].read_bytes().startswith(b"%PDF")
        assert len(PdfReader(pdfs[0]).pages) >= 1
    assert (target / "netsuite-invoice-import.csv").read_text().startswith("External ID,")
    # NetSuite renders PDFs only through a RESTlet: the demo configures one, as a real
    # account must, and says so.
    assert "rendered by the RESTlet customscript_erpsync_invoice_pdf" in out
    assert "PDF unavailable" not in out
    assert "no PDF" not in out
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
    assert len(list(target.glob("netsuite-invoice-*.pdf"))) == 1


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


def test_demo_works_from_any_directory_whatever_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --out: ./erpsync-demo of the cwd. The configuration is not the demo's business:
    a broken file or a missing $ERPSYNC_CONFIG must not stop it on a new machine."""
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("ERPSYNC_CONFIG", str(tmp_path / "missing.toml"))
    broken = tmp_path / "broken.toml"
    broken.write_text("client_secrett = 'typo'\n[[[", encoding="utf-8")
    code, out, err = run("demo", "--config", str(broken))
    assert code == 0, out + err
    target = elsewhere / "erpsync-demo"
    assert (target / "erpsync-demo.db").is_file()
    assert len(list(target.glob("*.pdf"))) == 2
    assert str(target / "erpsync-demo.db") in out


def test_demo_falls_back_to_a_temporary_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    # A file where the demo's directory would go: the current directory is unusable.
    here = tmp_path / "here"
    here.mkdir()
    (here / "erpsync-demo").write_text("in the way", encoding="utf-8")
    monkeypatch.chdir(here)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    code, out, err = run("demo")
    assert code == 0, out + err
    assert "cannot write to" in err
    made = [p for p in tmp_path.glob("erpsync-demo-*") if p.is_dir()]
    assert len(made) == 1
    assert (made[0] / "erpsync-demo.db").is_file()
    assert str(made[0]) in out


def test_demo_output_dir_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code, _, err = run("demo", "--out", str(blocker / "sub"))
    assert code == 2
    assert "error: cannot use" in err
