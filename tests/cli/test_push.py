"""``erpsync push invoices``: the docs' example on both sandboxes, a dry run that checks
references against the ERP, the report's name, ``--json`` and ``--report -``."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from cli_support import run

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _docs_csv(erp: str) -> str:
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(rf"<!-- example-csv: {erp} -->\n```text\n(.*?)```", text, re.DOTALL)
    assert match, f"docs/cli.md has no example CSV for {erp}"
    return match.group(1)


def _rows(text: str) -> dict[str, dict[str, str]]:
    return {row["external_id"]: row for row in csv.DictReader(io.StringIO(text))}


@pytest.mark.parametrize("erp", ["quickbooks", "netsuite"])
def test_the_docs_example_csv_works_on_both_sandboxes(erp, request, tmp_path: Path) -> None:
    request.getfixturevalue("qbo" if erp == "quickbooks" else "netsuite")
    source = tmp_path / "orders.csv"
    source.write_text(_docs_csv(erp))
    code, out, err = run("push", "invoices", str(source), "--to", erp, "--dry-run")
    assert code == 0, out + err
    report = tmp_path / "orders.report.csv"  # what --help promises
    assert {r["status"] for r in _rows(report.read_text()).values()} == {"valid"}
    code, out, err = run("push", "invoices", str(source), "--to", erp)
    assert code == 0, out + err
    rows = _rows(report.read_text())
    assert {r["status"] for r in rows.values()} == {"created"}
    code, _, _ = run("push", "invoices", str(source), "--to", erp, "--dry-run")
    assert code == 0
    assert {r["status"] for r in _rows(report.read_text()).values()} == {"exists"}


BAD = (
    "external_id,customer_id,customer_name,date,description,amount,item_id,currency\n"
    "BAD-1,999,,2026-11-03,Unknown customer,10.00,202,\n"
    "BAD-2,,Acme Robotic,2026-11-03,Misspelt name,10.00,202,\n"
    "BAD-3,101,,2026-11-03,Unknown item,10.00,999,\n"
    "BAD-4,104,,2026-11-03,Wrong currency,10.00,202,USD\n"
    "OK-1,101,,2026-11-03,Fine,10.00,202,\n"
)


def test_dry_run_reports_every_row_that_would_fail(netsuite, tmp_path: Path) -> None:
    fake, _ = netsuite
    source = tmp_path / "bad.csv"
    source.write_text(BAD)
    code, out, _ = run("push", "invoices", str(source), "--to", "netsuite", "--dry-run")
    assert code == 1
    rows = _rows((tmp_path / "bad.report.csv").read_text())
    assert rows["BAD-1"]["status"] == "invalid"
    assert "customer: there is no customer with id '999' in NetSuite" in rows["BAD-1"]["error"]
    assert "no customer named 'Acme Robotic'" in rows["BAD-2"]["error"]
    assert "lines.1.item_id: there is no item with id '999'" in rows["BAD-3"]["error"]
    assert "currency: the invoice is in USD but customer" in rows["BAD-4"]["error"]
    assert "set currency to EUR" in rows["BAD-4"]["error"]
    assert rows["OK-1"]["status"] == "valid"
    assert "Rows that would fail" in out
    assert fake.records("invoice") == [] or all(
        r.get("externalId") not in {"OK-1"} for r in fake.records("invoice")
    )


def test_push_json_is_one_document_and_report_dash_is_stdout(netsuite, tmp_path: Path) -> None:
    source = tmp_path / "orders.csv"
    source.write_text(_docs_csv("netsuite"))
    code, out, _ = run("push", "invoices", str(source), "--to", "netsuite", "--json")
    assert code == 0
    document = json.loads(out)
    assert document["counts"] == {"created": 2}
    assert [r["external_id"] for r in document["rows"]] == ["INV-1", "INV-2"]
    code, out, _ = run("push", "invoices", str(source), "--to", "netsuite", "--report", "-")
    assert code == 0
    assert {r["status"] for r in _rows(out).values()} == {"existed"}
    assert not (tmp_path / "-").exists()
    code, _, err = run("push", "invoices", str(source), "--json", "--report", "-")
    assert code == 2
    assert "choose one" in err


def test_help_names_the_report_file_as_written() -> None:
    _, out, _ = run("push", "--help")
    assert "orders.csv -> orders.report.csv" in " ".join(out.split())
