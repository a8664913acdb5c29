"""Progress of long commands: nothing for a short run, a rich bar (count, rate, time
left) when stderr is a terminal, plain lines in a pipe or without rich, always on stderr
so that stdout (and ``--json``) holds only the result."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from cli_support import run, run_styled

ORDERS = """\
external_id,customer_id,customer_name,date,description,amount,item_id
INV-1,1,,2026-11-03,Lawn care,100.00,1
INV-2,,Cool Cars,2026-11-04,Service,75.00,1
"""


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    return path


def test_a_short_run_shows_no_progress(qbo, orders: Path) -> None:
    code, out, err = run("push", "invoices", str(orders), "--to", "quickbooks")
    assert code == 0, err
    assert "Pushing invoices" not in out + err


def test_plain_progress_lines_in_a_pipe(qbo, orders: Path, monkeypatch) -> None:
    monkeypatch.setenv("ERPSYNC_PROGRESS_AFTER", "0")
    code, out, err = run("push", "invoices", str(orders), "--to", "quickbooks")
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("Pushing invoices")]
    assert lines[0].startswith("Pushing invoices to QuickBooks: 0/2 (0%), ")
    assert lines[-1].startswith("Pushing invoices to QuickBooks: 2/2 (100%), ")
    assert lines[-1].endswith("/s")
    assert "Pushing" not in out  # progress is on stderr only


def test_a_rich_bar_when_stderr_is_a_terminal(qbo, orders: Path, monkeypatch) -> None:
    monkeypatch.setenv("ERPSYNC_PROGRESS_AFTER", "0")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: treat the streams as terminals
    code, out, err = run_styled("push", "invoices", str(orders), "--to", "quickbooks")
    assert code == 0, err
    assert "━" in err  # the bar
    assert "2/2" in err  # the count
    assert "/s" in err  # the rate
    assert "Pushing invoices to QuickBooks: " not in err  # no plain line
    assert "Pushing invoices" not in out  # the bar is on stderr


def test_plain_lines_when_rich_is_missing_even_on_a_terminal(
    qbo, orders: Path, monkeypatch
) -> None:
    monkeypatch.setenv("ERPSYNC_PROGRESS_AFTER", "0")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setitem(sys.modules, "rich", None)
    code, _, err = run_styled("push", "invoices", str(orders), "--to", "quickbooks")
    assert code == 0, err
    assert "Pushing invoices to QuickBooks: 2/2 (100%)" in err
    assert "━" not in err


def test_json_output_holds_only_the_document(qbo, orders: Path, monkeypatch) -> None:
    monkeypatch.setenv("ERPSYNC_PROGRESS_AFTER", "0")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    code, out, err = run_styled("push", "invoices", str(orders), "--to", "quickbooks", "--json")
    assert code == 0, err
    assert json.loads(out)["counts"] == {"created": 2}
    assert "Pushing invoices to QuickBooks: 2/2" in err


def test_import_counts_records_as_the_pages_come(netsuite, monkeypatch) -> None:
    monkeypatch.setenv("ERPSYNC_PROGRESS_AFTER", "0")
    code, _, err = run("import", "customers")
    assert code == 0, err
    final = [line for line in err.splitlines() if line.startswith("Reading customers")][-1]
    assert final.startswith("Reading customers from NetSuite: ")
    assert " so far, " in final


def test_a_bad_progress_setting_is_a_usage_error(monkeypatch) -> None:
    monkeypatch.setenv("ERPSYNC_PROGRESS_AFTER", "soon")
    code, _, err = run("runs")
    assert code == 2
    assert "ERPSYNC_PROGRESS_AFTER" in err
