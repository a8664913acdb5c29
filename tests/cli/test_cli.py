"""The ``erpsync`` command: configuration, exit codes, secrets, certificate, sandbox,
connect, push/import/sync/runs/reconcile against served emulators.

Every test isolates the configuration (no ERPSYNC_* variable or config file of the
machine leaks in) and uses its own QuickBooks realm id, so the process-wide limiter of
one company is never shared with another test.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import stat
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cli_support import run, sandbox_env
from cryptography import x509

from erpsync._cli import output as output_module
from erpsync._cli.config import load_config
from erpsync._cli.connect import connect_quickbooks
from erpsync._cli.exits import exit_code_for, one_line
from erpsync._cli.output import Output
from erpsync._cli.sandbox import make_sandbox
from erpsync._cli.sync import parse_interval
from erpsync.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    PermissionDeniedError,
    ServiceError,
)
from erpsync.quickbooks.tokens import FileTokenStore
from erpsync.testing.quickbooks import FakeQuickBooks

# -- configuration ----------------------------------------------------------------------------


def test_precedence_flags_over_env_over_file_over_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('sandbox_url = "http://127.0.0.1:1"\n[quickbooks]\nrealm_id = "111"\n')
    env = {"ERPSYNC_SANDBOX_URL": "http://127.0.0.1:2", "ERPSYNC_QBO_CLIENT_ID": "from-env"}
    flag = load_config(path, env=env, overrides={"sandbox_url": "http://127.0.0.1:3"})
    assert (flag.get("sandbox_url"), flag.source("sandbox_url")) == ("http://127.0.0.1:3", "flag")
    from_env = load_config(path, env=env)
    assert (from_env.get("sandbox_url"), from_env.source("sandbox_url")) == (
        "http://127.0.0.1:2",
        "env",
    )
    from_file = load_config(path, env={})
    assert (from_file.get("sandbox_url"), from_file.source("sandbox_url")) == (
        "http://127.0.0.1:1",
        "file",
    )
    assert from_file.get("quickbooks.realm_id") == "111"
    assert from_file.get("quickbooks.environment") == "production"
    assert from_file.source("quickbooks.environment") == "default"
    assert load_config(env={"XDG_CONFIG_HOME": str(tmp_path / "nowhere")}).path is None
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_config(env={"ERPSYNC_CONFIG": str(tmp_path / "absent.toml")})


def test_default_path_comes_from_erpsync_config_variable(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text('[netsuite]\naccount_id = "1234567_SB1"\n')
    config = load_config(env={"ERPSYNC_CONFIG": str(path)})
    assert config.get("netsuite.account_id") == "1234567_SB1"
    assert config.path == path


def test_config_file_errors_are_usage_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[quickbooks]\nclient_secert = 'typo'\n")
    with pytest.raises(ConfigurationError, match="client_secert"):
        load_config(bad, env={})
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
    config = load_config(env=dict(os.environ))
    assert secret not in repr(config)
    assert config.display("netsuite.private_key") == "*** (set)"
    keyfile = tmp_path / "key.pem"
    assert load_config(env={"ERPSYNC_NS_PRIVATE_KEY": str(keyfile)}).display(
        "netsuite.private_key"
    ) == str(keyfile)


def test_a_secret_in_an_unexpected_error_is_struck_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "another-secret-VALUE-7"
    monkeypatch.setenv("ERPSYNC_NS_CONSUMER_SECRET", secret)

    def boom(*args: object, **kwargs: object) -> int:
        raise RuntimeError(f"library exploded holding {secret}")

    monkeypatch.setattr("erpsync._cli.runs.show_runs", boom)
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


def test_exit_code_mapping() -> None:
    assert exit_code_for(ConfigurationError("x")) == 2
    assert exit_code_for(AuthenticationError("x")) == 3
    assert exit_code_for(PermissionDeniedError("x")) == 3
    assert exit_code_for(ServiceError("x")) == 4
    assert exit_code_for(InvalidRequestError("x")) == 4
    assert exit_code_for(KeyboardInterrupt()) == 130
    assert exit_code_for(ValueError("x")) == 70
    assert one_line(ServiceError("a\nb", backend="NetSuite")) == "NetSuite: a b"


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


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("erpsync._cli.runs.show_runs", interrupted)
    assert run("runs")[0] == 130


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


# -- output without rich ----------------------------------------------------------------------


def test_plain_output_when_rich_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output_module, "rich_available", lambda: False)
    buffer = io.StringIO()
    out = Output(buffer, io.StringIO())
    assert not out.rich
    out.table("Things", ["a", "b"], [["1", "two"], ["three", None]])
    with out.progress("work", total=2) as progress:
        progress.advance()
        progress.advance()
    text = buffer.getvalue()
    assert "Things" in text
    assert "three" in text
    assert "work: 2/2" in text


def test_rich_output_renders_tables() -> None:
    buffer = io.StringIO()
    out = Output(buffer, io.StringIO(), width=100)
    assert out.rich
    out.table("Things", ["a"], [["value-1"]])
    assert "value-1" in buffer.getvalue()


def test_rich_output_shows_values_as_written_never_as_markup() -> None:
    """ERP data and error text may contain brackets; a stray closing tag used to crash
    the command (rich.errors.MarkupError) and styled tags were swallowed."""
    buffer = io.StringIO()
    out = Output(buffer, io.StringIO(), width=120)
    out.heading("Company [/b]")
    out.table("Customers [/i]", ["name [x]"], [["[bold]Acme[/bold] [/oops]"]])
    text = buffer.getvalue()
    assert "[bold]Acme[/bold] [/oops]" in text
    assert "Customers [/i]" in text
    assert "name [x]" in text
    assert "Company [/b]" in text


def test_parse_interval() -> None:
    assert parse_interval("1h").total_seconds() == 3600
    assert parse_interval("15m").total_seconds() == 900
    assert parse_interval("90").total_seconds() == 90
    for bad in ("soon", "0s", "-1h"):
        with pytest.raises(ConfigurationError):
            parse_interval(bad)


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


# -- sandbox ----------------------------------------------------------------------------------


def test_sandbox_serves_until_stopped(tmp_path: Path) -> None:
    fake = FakeQuickBooks(realm_id="9130350000200001")
    gen = sandbox_env("quickbooks", fake, tmp_path / "sb")
    env = next(gen)
    url = env["ERPSYNC_SANDBOX_URL"]
    assert url.startswith("http://127.0.0.1:")
    token = FileTokenStore(env["ERPSYNC_QBO_TOKEN_STORE"]).load(env["ERPSYNC_QBO_REALM_ID"])
    assert token is not None
    answer = requests.get(
        f"{url}/v3/company/{env['ERPSYNC_QBO_REALM_ID']}/customer/1",
        headers={"Authorization": f"Bearer {token.access_token}", "Accept": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 200
    next(gen, None)  # stops it
    assert fake.served_url is None
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/v3/company/1/customer/1", timeout=2)


def test_sandbox_options_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        make_sandbox("netsuite", latency_ms=-1)
    with pytest.raises(ConfigurationError):
        make_sandbox("quickbooks", limit=-1)
    limited = make_sandbox("netsuite", latency_ms=20, limit=2)
    assert limited.governance.concurrency == 2
    assert limited.latency.fixed == pytest.approx(0.02)
    assert make_sandbox("quickbooks", limit=0).governance.enabled is False


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

    def consent(url: str) -> None:
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

    buffer = io.StringIO()
    config = load_config(env=dict(os.environ))
    code = connect_quickbooks(
        Output(buffer, io.StringIO(), plain=True), config, port=port, opener=consent, timeout=10
    )
    assert code == 0
    assert seen
    assert seen[0].startswith(env["ERPSYNC_SANDBOX_URL"] + "/connect/oauth2?")
    saved = FileTokenStore(token_file).load(fake.realm_id)
    assert saved is not None
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert saved.access_token not in buffer.getvalue()
    # The new token works: the CLI can read the company with it.
    code, out, _ = run("import", "customers")
    assert code == 0
    assert "Amy's Bird Sanctuary" in out


def test_connect_quickbooks_times_out_as_an_auth_error(qbo, monkeypatch) -> None:
    port = _free_port()
    config = load_config(env=dict(os.environ))
    with pytest.raises(AuthenticationError, match="no redirect"):
        connect_quickbooks(
            Output(io.StringIO(), io.StringIO(), plain=True),
            config,
            port=port,
            opener=lambda url: None,
            timeout=0.3,
        )


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
