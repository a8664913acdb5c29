"""``erpsync backfill``: marketplace jobs from before the integration, through the
marketplace workflow and its ledger (exactly once), with a read-only dry run that checks
references as ``push --dry-run`` does, payouts, ``--json`` and the per-row report."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from cli_support import run

JOBS = """\
job_id,price,accepted_date,expected_ship_date,ship_date,status,description
J-1,1250.00,2026-10-01,2026-10-20,2026-10-18,completed,Brackets
J-2,300.00,2026-10-05,2026-10-25,,accepted,
J-3,ten dollars,2026-10-05,2026-10-25,2026-10-24,completed,
J-4,0.00,2026-10-06,2026-10-26,2026-10-26,completed,Free remake
"""

POLICY = ("--trigger", "completed", "--customer-name", "Acme Robotics", "--item-name", "MACHINING")


@pytest.fixture
def jobs(tmp_path: Path) -> Path:
    path = tmp_path / "jobs.csv"
    path.write_text(JOBS)
    return path


def _report(path: Path) -> dict[str, dict[str, str]]:
    return {row["record"]: row for row in csv.DictReader(io.StringIO(path.read_text()))}


def _invoices(fake) -> list[str]:
    return sorted(r.get("externalId") or "" for r in fake.records("invoice"))


def test_dry_run_checks_against_the_erp_and_writes_nothing(netsuite, jobs: Path) -> None:
    fake, _ = netsuite
    before = _invoices(fake)
    code, out, err = run("backfill", str(jobs), "--to", "netsuite", *POLICY, "--dry-run")
    assert code == 1, out + err  # J-3 and J-4 would fail
    rows = _report(jobs.with_name("jobs.report.csv"))
    assert rows["job J-1"]["status"] == "would_create"
    assert rows["job J-2"]["status"] == "skipped"  # not completed yet
    assert rows["job J-3"]["status"] == "invalid"
    assert "price" in rows["job J-3"]["error"]
    assert rows["job J-4"]["status"] == "failed"  # $0, refused by default
    assert "--zero-total skip" in rows["job J-4"]["error"]
    assert _invoices(fake) == before
    assert "Rows that would fail" in out
    # A default customer the ERP does not have: every job that would be invoiced says so.
    code, _, _ = run(
        "backfill", str(jobs), "--to", "netsuite", "--trigger", "completed",
        "--customer", "999", "--dry-run",
    )  # fmt: skip
    error = _report(jobs.with_name("jobs.report.csv"))["job J-1"]["error"]
    assert "customer: there is no customer with id '999'" in error
    assert "--customer" in error


def test_backfill_writes_each_job_once(netsuite, jobs: Path) -> None:
    fake, _ = netsuite
    args = ("backfill", str(jobs), "--to", "netsuite", *POLICY, "--zero-total", "skip")
    code, out, err = run(*args)
    assert code == 1, out + err  # J-3 is invalid
    rows = _report(jobs.with_name("jobs.report.csv"))
    assert rows["job J-1"]["status"] == "created"
    assert rows["job J-1"]["id"]
    assert rows["job J-4"]["status"] == "skipped"
    assert "zero_total='skip'" in rows["job J-4"]["error"]
    written = {r.get("externalId"): r for r in fake.records("invoice")}
    assert written["xometry-job-J-1"]["entity"]["id"] == "101"  # Acme Robotics, by name
    assert "xometry-job-J-4" not in written
    count = len(fake.records("invoice"))
    code, _, _ = run(*args)  # again: the ledger answers, nothing is written twice
    assert _report(jobs.with_name("jobs.report.csv"))["job J-1"]["status"] == "skipped"
    assert len(fake.records("invoice")) == count
    code, out, _ = run("runs", "--json")
    kinds = [r["kind"] for r in json.loads(out)["runs"]]
    assert kinds.count("xometry_backfill") == 2


def test_payouts_after_the_jobs(netsuite, jobs: Path, tmp_path: Path) -> None:
    fake, _ = netsuite
    payouts = tmp_path / "payouts.csv"
    payouts.write_text("payout_id,date,amount,job_ids\nP-1,2026-11-01,1250.00,J-1\n")
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("payout_id,date,amount,job_ids\nP-2,2026-11-01,10.00,J-1 J-9\n")
    base = ("backfill", str(jobs), "--to", "netsuite", *POLICY, "--zero-total", "skip")
    run(*base, "--payouts", str(unknown), "--dry-run")
    row = _report(jobs.with_name("jobs.report.csv"))["payout P-2"]
    assert (row["status"], row["error"]) == ("invalid", "no invoice for job(s) J-9")
    run(*base, "--payouts", str(payouts), "--dry-run")
    assert _report(jobs.with_name("jobs.report.csv"))["payout P-1"]["status"] == "would_create"
    assert fake.records("customerPayment") == []
    run(*base, "--payouts", str(payouts))
    row = _report(jobs.with_name("jobs.report.csv"))["payout P-1"]
    assert row["status"] == "created" and row["id"]
    assert len(fake.records("customerPayment")) == 1
    run(*base, "--payouts", str(payouts))
    assert _report(jobs.with_name("jobs.report.csv"))["payout P-1"]["status"] == "existed"
    assert len(fake.records("customerPayment")) == 1


def test_json_is_one_document_with_every_row(netsuite, jobs: Path, monkeypatch) -> None:
    monkeypatch.setenv("ERPSYNC_PROGRESS_AFTER", "0")
    code, out, err = run("backfill", str(jobs), "--to", "netsuite", *POLICY, "--dry-run", "--json")
    assert code == 1
    document = json.loads(out)
    assert document["dry_run"] is True
    assert document["erp"] == "NetSuite"
    assert document["counts"] == {"would_create": 1, "skipped": 1, "invalid": 1, "failed": 1}
    assert [r["record"] for r in document["rows"]] == ["job J-1", "job J-2", "job J-3", "job J-4"]
    assert "Backfilling jobs into NetSuite: 4/4 (100%)" in err  # progress: stderr only


def test_a_misspelt_default_customer_is_named(netsuite, jobs: Path) -> None:
    code, _, err = run(
        "backfill", str(jobs), "--to", "netsuite", "--trigger", "completed",
        "--customer-name", "Acme Robotic",
    )  # fmt: skip
    assert code == 2
    assert "Acme Robotic" in err and "check the spelling" in err


def test_a_jobs_file_as_json(netsuite, tmp_path: Path) -> None:
    source = tmp_path / "jobs.json"
    source.write_text(
        json.dumps(
            {
                "jobs": [
                    {
                        "job_id": 7001,
                        "price": 95.00,
                        "accepted_date": "2026-10-01",
                        "expected_ship_date": "2026-10-20",
                        "status": "accepted",
                    }
                ]
            }
        )
    )
    code, out, err = run(
        "backfill", str(source), "--to", "netsuite", "--trigger", "accepted",
        "--customer", "101", "--item", "202",
    )  # fmt: skip
    assert code == 0, out + err
    assert _report(tmp_path / "jobs.report.csv")["job 7001"]["status"] == "created"


def test_the_report_on_stdout(netsuite, jobs: Path) -> None:
    code, out, err = run("backfill", str(jobs), "--to", "netsuite", *POLICY, "--dry-run",
                         "--report", "-")  # fmt: skip
    assert code == 1
    assert out.splitlines()[0] == "row,record,status,id,number,error"
    assert "job J-1,would_create" in out
    assert "Backfill dry run" in err  # the summary goes to stderr
    code, _, err = run("backfill", str(jobs), "--to", "netsuite", *POLICY, "--report", "-",
                       "--json")  # fmt: skip
    assert code == 2
    assert "choose one" in err


def test_backfill_on_quickbooks_too(qbo, jobs: Path) -> None:
    fake, _ = qbo
    args = ("backfill", str(jobs), "--to", "quickbooks", "--trigger", "completed",
            "--customer", "1", "--item", "1", "--zero-total", "invoice")  # fmt: skip
    code, out, err = run(*args)
    assert code == 1, out + err  # J-3 is invalid
    rows = _report(jobs.with_name("jobs.report.csv"))
    assert [rows[f"job J-{n}"]["status"] for n in (1, 2, 4)] == ["created", "skipped", "created"]
    assert len(fake.records("Invoice")) == 2  # J-1, and J-4 for $0 as asked
    run(*args)
    assert len(fake.records("Invoice")) == 2
