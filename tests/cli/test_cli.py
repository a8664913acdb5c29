"""The ``erpsync`` command: configuration, exit codes, secrets, certificate, sandbox,
connect, push/import/sync/runs/reconcile against served emulators.

Every test isolates the configuration (no ERPSYNC_* variable or config file of the
machine leaks in) and uses its own QuickBooks realm id, so the process-wide limiter of
one company is never shared with another test.
"""

from __future__ import annotations

import csv
import json
import socket
import stat
import sys
import threading
import webbrowser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cli_support import run, run_styled
from cryptography import x509

from erpsync import Customer
from erpsync.quickbooks import FileTokenStore
from erpsync.store import SQLiteSyncStore

# -- configuration ----------------------------------------------------------------------------


def _settings(*argv: str) -> dict[str, tuple[str, str]]:
    """``erpsync config show``: setting -> (value shown, source)."""
    code, out, err = run(*argv, "config", "show")
    assert code == 0, err
    rows: dict[str, tuple[str, str]] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[-1].startswith("ERPSYNC_"):
            rows[parts[0]] = (" ".join(parts[1:-2]), parts[-2])
    return rows


def test_precedence_env_over_file_over_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('sandbox_url = "http://127.0.0.1:1"\n[quickbooks]\nrealm_id = "111"\n')
    path.chmod(0o600)
    from_file = _settings("--config", str(path))
    assert from_file["sandbox_url"] == ("http://127.0.0.1:1", "file")
    assert from_file["quickbooks.realm_id"] == ("111", "file")
    assert from_file["quickbooks.environment"] == ("production", "default")
    monkeypatch.setenv("ERPSYNC_SANDBOX_URL", "http://127.0.0.1:2")
    assert _settings("--config", str(path))["sandbox_url"] == ("http://127.0.0.1:2", "env")
    code, out, _ = run("config", "show")
    assert "Configuration file: (none found)" in out
    monkeypatch.setenv("ERPSYNC_CONFIG", str(tmp_path / "absent.toml"))
    code, _, err = run("config", "show")
    assert code == 2
    assert "does not exist" in err


def test_a_flag_wins_over_the_environment(qbo, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake, env = qbo
    monkeypatch.setenv("ERPSYNC_SANDBOX_URL", "http://127.0.0.1:9")  # nothing listens there
    code, out, err = run("import", "customers", "--sandbox-url", env["ERPSYNC_SANDBOX_URL"])
    assert code == 0, err
    assert "Amy's Bird Sanctuary" in out


def test_default_path_comes_from_erpsync_config_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text('[netsuite]\naccount_id = "1234567_SB1"\n')
    monkeypatch.setenv("ERPSYNC_CONFIG", str(path))
    assert _settings()["netsuite.account_id"] == ("1234567_SB1", "file")
    assert f"Configuration file: {path}" in run("config", "show")[1]


def test_config_file_errors_are_usage_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[quickbooks]\nclient_secert = 'typo'\n")
    code, _, err = run("--config", str(bad), "config", "show")
    assert code == 2
    assert "client_secert" in err
    broken = tmp_path / "broken.toml"
    broken.write_text("this is = = not toml")
    code, _, err = run("--config", str(broken), "config", "show")
    assert code == 2
    assert "not valid TOML" in err
    code, _, err = run("config", "show", "--config", str(tmp_path / "missing.toml"))
    assert code == 2
    assert "does not exist" in err


def test_secrets_are_masked_everywhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = "qbo-client-secret-VALUE-42"
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEabc\n-----END PRIVATE KEY-----"
    monkeypatch.setenv("ERPSYNC_QBO_CLIENT_SECRET", secret)
    monkeypatch.setenv("ERPSYNC_NS_TOKEN_SECRET", "ns-token-secret-VALUE")
    monkeypatch.setenv("ERPSYNC_NS_PRIVATE_KEY", pem)
    monkeypatch.setenv("ERPSYNC_QBO_CLIENT_ID", "visible-client-id")
    code, out, _ = run("config", "show")
    assert code == 0
    assert secret not in out
    assert "ns-token-secret-VALUE" not in out
    assert "MIIEabc" not in out
    assert "visible-client-id" in out
    assert "ERPSYNC_QBO_CLIENT_SECRET" in out
    assert _settings()["netsuite.private_key"] == ("*** (set)", "env")
    keyfile = tmp_path / "key.pem"
    monkeypatch.setenv("ERPSYNC_NS_PRIVATE_KEY", str(keyfile))
    assert _settings()["netsuite.private_key"] == (str(keyfile), "env")  # a path is no secret


def _store_with_a_run(path: Path) -> None:
    with SQLiteSyncStore(path) as store:
        store.finish_run(store.start_run("push-invoices", "QuickBooks"), status="ok")


def test_a_secret_in_an_unexpected_error_is_struck_out(
    monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    secret = "another-secret-VALUE-7"
    monkeypatch.setenv("ERPSYNC_NS_CONSUMER_SECRET", secret)
    _store_with_a_run(isolated / "store.db")

    def boom(*args: object, **kwargs: object) -> list[object]:
        raise RuntimeError(f"library exploded holding {secret}")

    monkeypatch.setattr(SQLiteSyncStore, "runs", boom)
    code, _, err = run("runs")
    assert code == 70
    assert secret not in err
    assert "internal error" in err
    code, _, err = run("runs", "--debug")
    assert secret not in err
    assert "Traceback" in err


def test_world_readable_config_with_secrets_warns(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[quickbooks]\nclient_secret = "s3cr3t-value"\n')
    path.chmod(0o644)
    code, out, err = run("--config", str(path), "config", "show")
    assert code == 0
    assert "chmod 600" in err
    assert "s3cr3t-value" not in out + err


# -- exit codes and one-line errors -----------------------------------------------------------


@pytest.mark.parametrize(("status", "code"), [(403, 3), (500, 4)])
def test_erp_refusals_exit_3_or_4_with_one_line(qbo, status: int, code: int) -> None:
    fake, _ = qbo
    fake.inject("server_error", status=status, times=50)
    exit_code, _, err = run("import", "customers")
    assert exit_code == code, err
    last = err.splitlines()[-1]  # after the warnings of the retries, one line
    assert last.startswith("error: QuickBooks")


def test_usage_errors_and_help() -> None:
    assert run()[0] == 2
    assert run("push")[0] == 2
    assert run("sandbox", "sap")[0] == 2
    code, out, _ = run("--help")
    assert code == 0
    assert "exit codes" in out


def test_missing_setting_names_the_variable() -> None:
    code, _, err = run("import", "customers", "--from", "quickbooks")
    assert code == 2
    assert "ERPSYNC_QBO_CLIENT_ID" in err
    assert err.count("\n") == 1  # one line
    code, _, err = run("import", "customers")
    assert code == 2
    assert "--erp" in err


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch, isolated: Path) -> None:
    _store_with_a_run(isolated / "store.db")

    def interrupted(*args: object, **kwargs: object) -> list[object]:
        raise KeyboardInterrupt

    monkeypatch.setattr(SQLiteSyncStore, "runs", interrupted)
    code, _, err = run("runs")
    assert code == 130
    assert "interrupted" in err


def test_refused_credentials_exit_3(qbo, tmp_path: Path, monkeypatch) -> None:
    _fake, env = qbo
    store = FileTokenStore(env["ERPSYNC_QBO_TOKEN_STORE"])
    token = store.load(env["ERPSYNC_QBO_REALM_ID"])
    assert token is not None
    from dataclasses import replace

    store.save(
        env["ERPSYNC_QBO_REALM_ID"],
        replace(token, access_token="revoked-access", refresh_token="revoked-refresh"),
    )
    code, _, err = run("import", "customers")
    assert code == 3
    assert "revoked-refresh" not in err


# -- output with and without rich --------------------------------------------------------------


def test_plain_output_when_rich_is_missing(monkeypatch: pytest.MonkeyPatch, isolated: Path) -> None:
    _store_with_a_run(isolated / "store.db")
    monkeypatch.setitem(sys.modules, "rich", None)  # `import rich` raises ImportError
    code, out, err = run_styled("runs")
    assert code == 0, err
    assert "Recent runs" in out
    assert "push-invoices" in out
    assert "----" in out  # the plain table's rule, not rich's box


def test_rich_output_shows_values_as_written_never_as_markup(qbo, monkeypatch) -> None:
    """ERP data and error text may contain brackets; a stray closing tag used to crash
    the command (rich.errors.MarkupError) and styled tags were swallowed."""
    fake, _ = qbo
    fake.backend().create_customer(Customer(name="[bold]Acme[/bold] [/oops]"))
    monkeypatch.setenv("COLUMNS", "200")  # rich's width: no folded cells
    code, out, err = run_styled("import", "customers")
    assert code == 0, err
    assert "[bold]Acme[/bold] [/oops]" in out
    assert "┃" in out or "│" in out  # drawn by rich


@pytest.mark.parametrize("bad", ["soon", "0s", "-1h"])
def test_a_bad_interval_is_a_usage_error(bad: str) -> None:
    code, _, err = run("sync", "--erp", "netsuite", "--every", bad)
    assert code == 2
    assert "--every" in err


# -- netsuite certificate ---------------------------------------------------------------------


def test_certificate_writes_a_private_key_0600(tmp_path: Path) -> None:
    code, out, _ = run("netsuite", "certificate", "--out", str(tmp_path / "m2m"), "--ec")
    assert code == 0
    key = tmp_path / "m2m" / "netsuite-m2m-key.pem"
    cert = tmp_path / "m2m" / "netsuite-m2m-cert.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    assert (loaded.not_valid_after_utc - loaded.not_valid_before_utc).days <= 730
    assert "OAuth 2.0 Client Credentials (M2M) Setup" in out
    assert "ES256" in out
    assert "MII" not in out  # the key itself is never printed
    code, _, err = run("netsuite", "certificate", "--out", str(tmp_path / "m2m"), "--ec")
    assert code == 2
    assert "already exists" in err


# -- connect ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connect_quickbooks_runs_the_code_flow(qbo, tmp_path: Path, monkeypatch) -> None:
    fake, env = qbo
    token_file = tmp_path / "connected-tokens.json"
    monkeypatch.setenv("ERPSYNC_QBO_TOKEN_STORE", str(token_file))
    port = _free_port()
    redirect_uri = f"http://localhost:{port}/callback"
    fake.register_redirect_uri(redirect_uri)
    seen: list[str] = []

    def consent(url: str, *args: object, **kwargs: object) -> bool:
        """The user's browser: consents, and Intuit redirects to the listener."""
        seen.append(url)
        query = parse_qs(urlsplit(url).query)
        assert query["redirect_uri"] == [redirect_uri]
        grant = fake.authorize(redirect_uri=redirect_uri, state=query["state"][0])
        base = f"http://127.0.0.1:{port}"

        def browser() -> None:
            assert requests.get(f"{base}/favicon.ico", timeout=5).status_code == 404
            requests.get(
                f"{base}/callback",
                params={"code": grant.code, "state": grant.state, "realmId": grant.realm_id},
                timeout=5,
            )

        threading.Thread(target=browser).start()
        return True

    monkeypatch.setattr(webbrowser, "open", consent)
    code, out, err = run("connect", "quickbooks", "--port", str(port), "--timeout", "10")
    assert code == 0, err
    assert seen
    assert seen[0].startswith(env["ERPSYNC_SANDBOX_URL"] + "/connect/oauth2?")
    saved = FileTokenStore(token_file).load(fake.realm_id)
    assert saved is not None
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert saved.access_token not in out + err
    # The new token works: the CLI can read the company with it.
    code, out, _ = run("import", "customers")
    assert code == 0
    assert "Amy's Bird Sanctuary" in out


def test_connect_quickbooks_times_out_as_an_auth_error(qbo, monkeypatch) -> None:
    port = _free_port()
    code, out, err = run(
        "connect", "quickbooks", "--port", str(port), "--no-browser", "--timeout", "0.3"
    )
    assert code == 3
    assert "no redirect" in err
    assert "/connect/oauth2?" in out  # --no-browser: the URL to open is printed


def test_connect_netsuite_checks_tba_and_m2m(netsuite) -> None:
    code, out, _ = run("connect", "netsuite", "--tba")
    assert code == 0
    assert "accepted the token-based authentication" in out
    assert "2027.1" in out
    code, out, _ = run("connect", "netsuite", "--m2m")
    assert code == 0
    assert "OAuth 2.0 M2M" in out


def test_connect_netsuite_refused_exits_3(netsuite, monkeypatch) -> None:
    monkeypatch.setenv("ERPSYNC_NS_TOKEN_SECRET", "0" * 64)
    code, _, err = run("connect", "netsuite", "--tba")
    assert code == 3
    assert "0" * 64 not in err


# -- push, runs, import, sync, reconcile -------------------------------------------------------

CSV_INVOICES = """\
external_id,customer_id,customer_name,date,description,amount,item_id
INV-1,1,,2026-11-03,Widget A,100.00,1
INV-1,1,,2026-11-03,Widget B,50.00,1
INV-2,,Cool Cars,2026-11-04,Service,75.00,1
INV-3,999,,2026-11-05,Unknown customer,10.00,1
INV-4,1,,not-a-date,Broken row,10.00,1
"""


def _report(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        return {row["external_id"]: row for row in csv.DictReader(handle)}


def test_push_csv_to_quickbooks_with_a_per_row_report(qbo, tmp_path: Path) -> None:
    fake, _ = qbo
    source = tmp_path / "invoices.csv"
    source.write_text(CSV_INVOICES)
    report = tmp_path / "report.csv"
    code, out, _ = run(
        "push", "invoices", str(source), "--to", "quickbooks", "--report", str(report)
    )
    assert code == 1
    rows = _report(report)
    assert rows["INV-1"]["status"] == "created"
    assert rows["INV-1"]["row"] == "2"
    assert rows["INV-2"]["status"] == "created"
    assert rows["INV-3"]["status"] == "failed"
    assert rows["INV-3"]["error"]
    assert rows["INV-4"]["status"] == "invalid"
    assert "date" in rows["INV-4"]["error"]
    invoices = fake.records("Invoice")
    assert len(invoices) == 2
    # The external id is in the PrivateNote marker (QuickBooks numbers the invoices).
    by_key = {inv["PrivateNote"].split("external_id=")[1].rstrip("]"): inv for inv in invoices}
    assert by_key["INV-2"]["CustomerRef"]["value"] == "3"  # found by name
    assert float(by_key["INV-1"]["TotalAmt"]) == 150.0
    # Again: nothing is duplicated.
    code, _, _ = run("push", "invoices", str(source), "--to", "quickbooks", "--report", str(report))
    assert code == 1
    assert _report(report)["INV-1"]["status"] == "existed"
    assert len(fake.records("Invoice")) == 2
    # The runs were recorded with their per-row errors.
    code, out, _ = run("runs")
    assert code == 0
    assert out.count("push-invoices") == 2
    code, out, _ = run("runs", "--show", "1")
    assert "INV-4" in out


def test_push_dry_run_sends_nothing(qbo, tmp_path: Path) -> None:
    fake, _ = qbo
    source = tmp_path / "invoices.csv"
    source.write_text(CSV_INVOICES)
    code, _out, _ = run("push", "invoices", str(source), "--to", "quickbooks", "--dry-run")
    assert code == 1
    rows = _report(tmp_path / "invoices.report.csv")
    assert rows["INV-2"]["status"] == "valid"
    assert rows["INV-4"]["status"] == "invalid"
    assert fake.records("Invoice") == []


JSON_INVOICES = [
    {
        "external_id": "JS-1",
        "customer": {"id": "101"},
        "date": "2026-11-03",
        "lines": [{"description": "Machining", "amount": 1250.00, "item": {"id": "202"}}],
    },
    {
        "external_id": "JS-2",
        "customer": {"name": "Initech"},
        "date": "2026-11-04",
        "lines": [
            {"description": "Brackets", "quantity": 4, "unit_price": "12.50", "item": {"id": "204"}}
        ],
    },
    {
        "external_id": "JS-3",
        "customer": {"id": "101"},
        "date": "2026-11-04",
        "lines": [{"description": "Too precise", "amount": 10.005, "item": {"id": "202"}}],
    },
]


def test_push_json_to_netsuite_then_reconcile(netsuite, tmp_path: Path) -> None:
    fake, _ = netsuite
    source = tmp_path / "invoices.json"
    source.write_text(json.dumps(JSON_INVOICES))
    code, _, _ = run("push", "invoices", str(source), "--to", "netsuite")
    assert code == 1
    rows = _report(tmp_path / "invoices.report.csv")
    assert [rows[k]["status"] for k in ("JS-1", "JS-2", "JS-3")] == [
        "created",
        "created",
        "invalid",
    ]
    written = {r.get("externalId"): r for r in fake.records("invoice")}
    assert written["JS-2"]["entity"]["id"] == "103"  # Initech, found by name
    good = tmp_path / "good.json"
    good.write_text(json.dumps(JSON_INVOICES[:2]))
    code, out, _ = run("reconcile", "--erp", "netsuite", "--local", str(good), "--ours", "JS-")
    assert code == 0, out
    assert "2 matched" in out
    missing = tmp_path / "more.json"
    extra = dict(JSON_INVOICES[0], external_id="JS-9")
    missing.write_text(json.dumps([*JSON_INVOICES[:2], extra]))
    report = tmp_path / "recon.csv"
    code, out, _ = run(
        "reconcile",
        "--erp",
        "netsuite",
        "--local",
        str(missing),
        "--ours",
        "JS-",
        "--report",
        str(report),
    )
    assert code == 1
    assert "missing_in_erp" in report.read_text()
    assert run("reconcile", "--erp", "netsuite")[0] == 2


def test_import_customers_and_invoices(netsuite, tmp_path: Path) -> None:
    out_file = tmp_path / "customers.csv"
    code, _, _ = run("import", "customers", "--out", str(out_file))
    assert code == 0
    with out_file.open() as handle:
        names = {row["name"] for row in csv.DictReader(handle)}
    assert {"Acme Robotics", "Initech"} <= names
    json_file = tmp_path / "invoices.json"
    code, _, _ = run("import", "invoices", "--all", "--out", str(json_file))
    assert code == 0
    assert isinstance(json.loads(json_file.read_text()), list)


def test_sync_pass_matches_customers_by_name(netsuite, tmp_path: Path) -> None:
    fake, _ = netsuite
    source = tmp_path / "ar.csv"
    source.write_text(
        "external_id,customer_name,date,description,amount,item_id\n"
        "AR-1,Globex Corporation,2026-11-03,Support,300.00,202\n"
        "AR-2,No Such Customer,2026-11-03,Support,10.00,202\n"
    )
    pulled = tmp_path / "pulled.jsonl"
    code, out, _ = run("sync", "--invoices", str(source), "--pulled", str(pulled))
    assert code == 1  # AR-2's customer does not exist: a per-invoice error
    assert "No Such Customer" in out
    written = {r.get("externalId"): r for r in fake.records("invoice")}
    assert written["AR-1"]["entity"]["id"] == "102"
    assert pulled.exists()
    code, out, _ = run("runs")
    assert "accounting-sync" in out


def test_main_leaves_the_programs_logging_alone() -> None:
    import logging

    logger = logging.getLogger("erpsync")
    before = (logger.level, logger.propagate, list(logger.handlers))
    run("--debug", "config", "show")
    run("runs")
    assert (logger.level, logger.propagate, list(logger.handlers)) == before


@pytest.mark.parametrize("kind", ["tba", "m2m"])
def test_debug_logs_and_traces_carry_no_netsuite_secret(netsuite, monkeypatch, kind) -> None:
    fake, _ = netsuite
    monkeypatch.setenv("ERPSYNC_NS_AUTH", kind)
    creds = fake.credentials
    code, out, err = run("import", "customers", "--debug")
    assert code == 0, err
    assert "DEBUG" in err  # the debug log really was on
    pem_body = creds.private_key_pem.splitlines()[1]
    for secret in (creds.consumer_secret, creds.token_secret, pem_body):
        assert secret not in out + err
    # A failure with --debug prints the trace, still without the secrets.
    monkeypatch.setenv("ERPSYNC_NS_TOKEN_SECRET", "f" * 64)
    monkeypatch.setenv("ERPSYNC_NS_AUTH", "tba")
    code, _, err = run("import", "customers", "--debug")
    assert code == 3
    assert "Traceback" in err
    assert "f" * 64 not in err
    assert creds.consumer_secret not in err


def test_debug_logs_carry_no_quickbooks_token(qbo) -> None:
    fake, _ = qbo
    creds = fake.credentials
    code, out, err = run("import", "customers", "--debug")
    assert code == 0, err
    assert "DEBUG" in err
    for secret in (creds.client_secret, creds.access_token, creds.refresh_token):
        assert secret not in out + err


def test_reconcile_right_after_sync_with_the_same_files_agrees(netsuite, tmp_path: Path) -> None:
    """Issue 16 item 5: the payment the sync pushed paid AR-1 in the ERP; the local file
    says AR-1 is open, but the payments file given to reconcile pays it."""
    ar = tmp_path / "ar.csv"
    ar.write_text(
        "external_id,customer_name,date,description,amount,item_id\n"
        "AR-1,Globex Corporation,2026-11-03,Support,300.00,202\n"
        "AR-2,Globex Corporation,2026-11-03,Support,100.00,202\n"
    )
    pay = tmp_path / "pay.json"
    pay.write_text(
        json.dumps(
            [
                {
                    "external_id": f"PAY-{key}",
                    "customer": {"id": "local-7", "name": "Globex Corporation"},
                    "date": "2026-11-10",
                    "amount": amount,
                    "applications": [{"invoice_id": key, "amount": amount}],
                }
                for key, amount in (("AR-1", "300.00"), ("AR-2", "40.00"))
            ]
        )
    )
    code, out, err = run("sync", "--invoices", str(ar), "--payments", str(pay))
    assert code == 0, out + err
    code, out, err = run("reconcile", "--local", str(ar), "--payments", str(pay), "--json")
    assert code == 0, out + err
    report = json.loads(out)
    assert report["discrepancies"] == []
    assert report["matched"] == 4
