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
    "BAD-5,101,,2026-11-03,Purchase-only item,10.00,203,\n"
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
    assert "item '203' (SHOP-SUPPLIES) is kept for purchases only" in rows["BAD-5"]["error"]
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


def test_a_push_is_recorded_under_the_company_it_wrote_to(
    qbo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, isolated: Path
) -> None:
    """Two QuickBooks companies sharing one store: each push is in its own tenant's run log."""
    from cli_support import sandbox_env

    from erpsync.store import SQLiteSyncStore
    from erpsync.testing.quickbooks import FakeQuickBooks

    first, _ = qbo
    source = tmp_path / "orders.csv"
    source.write_text(_docs_csv("quickbooks"))
    assert run("push", "invoices", str(source), "--to", "quickbooks")[0] == 0
    second = FakeQuickBooks(realm_id="9130350000999991", governance=None)
    serving = sandbox_env("quickbooks", second, tmp_path / "second")
    for name, value in next(serving).items():
        monkeypatch.setenv(name, value)
    try:
        assert run("push", "invoices", str(source), "--to", "quickbooks")[0] == 0
    finally:
        next(serving, None)
    assert len(second.records("Invoice")) == 2  # not "existed": B's company got them
    with SQLiteSyncStore(isolated / "store.db") as store:
        for fake in (first, second):
            runs = store.runs(kind="push-invoices", tenant=fake.realm_id)
            assert [(r.backend, r.counts.get("created")) for r in runs] == [("QuickBooks", 2)]
    out = run("runs", "--json")[1]
    assert {r["tenant"] for r in json.loads(out)["runs"]} == {first.realm_id, second.realm_id}


def test_m2m_with_an_ec_key_signs_es256_by_default(
    netsuite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The command leaves the algorithm to ClientCredentialsAuth, which reads it from the
    key: an EC P-256 key from `netsuite certificate --ec` connects with ES256."""
    fake, _ = netsuite
    assert run("netsuite", "certificate", "--out", str(tmp_path / "m2m"), "--ec")[0] == 0
    cert = (tmp_path / "m2m" / "netsuite-m2m-cert.pem").read_text()
    fake.register_certificate("ec-certificate", cert, fake.credentials.client_id)
    monkeypatch.setenv("ERPSYNC_NS_AUTH", "m2m")
    monkeypatch.setenv("ERPSYNC_NS_CERTIFICATE_ID", "ec-certificate")
    monkeypatch.setenv("ERPSYNC_NS_PRIVATE_KEY", str(tmp_path / "m2m" / "netsuite-m2m-key.pem"))
    code, out, err = run("connect", "netsuite")
    assert code == 0, err
    assert "OAuth 2.0 M2M" in out
    monkeypatch.setenv("ERPSYNC_NS_ALGORITHM", "PS256")  # explicit, and wrong for this key
    code, _, err = run("connect", "netsuite")
    assert code == 2
    assert "PS256 needs an RSA key" in err


def test_a_repeat_with_another_total_says_the_erp_was_left_untouched(
    netsuite, tmp_path: Path
) -> None:
    source = tmp_path / "one.csv"
    header = "external_id,customer_id,customer_name,date,description,amount,item_id,currency\n"
    source.write_text(header + "RE-1,101,,2026-11-03,Work,10.00,202,\n")
    assert run("push", "invoices", str(source), "--to", "netsuite")[0] == 0
    source.write_text(header + "RE-1,101,,2026-11-03,Work,12.00,202,\n")
    code, _, _ = run("push", "invoices", str(source), "--to", "netsuite")
    row = _rows((tmp_path / "one.report.csv").read_text())["RE-1"]
    assert code == 0 and row["status"] == "existed"
    assert "left untouched: the ERP's invoice totals 10.00" in row["error"]
    assert "the file's 12.00" in row["error"]
    source.write_text(header + "RE-1,101,,2026-11-03,Work,10.00,202,\n")
    run("push", "invoices", str(source), "--to", "netsuite")
    assert _rows((tmp_path / "one.report.csv").read_text())["RE-1"]["error"] == ""
