"""``erpsync sandbox``, end to end in a subprocess: it serves until Ctrl-C, prints the
variables and the redirect URI always, the tokens only on request, and checks its options.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from cli_support import run

from erpsync.quickbooks import FileTokenStore

_SRC = str(Path(__file__).resolve().parents[2] / "src")


@contextmanager
def _sandbox(*argv: str, errors: list[str] | None = None) -> Iterator[tuple[str, dict[str, str]]]:
    """Start ``erpsync sandbox ARGV``; yield (what it printed up to "Press Ctrl-C", the
    exported variables); then Ctrl-C it and check it stopped cleanly (its standard
    error goes to ``errors``)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([_SRC, os.environ.get("PYTHONPATH", "")]),
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "erpsync.cli", "--plain", "sandbox", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    printed: list[str] = []
    timer = threading.Timer(90, process.kill)  # a hung start fails the test, not the suite
    timer.start()
    try:
        for line in process.stdout:
            printed.append(line)
            if line.startswith("Press Ctrl-C"):
                break
    finally:
        timer.cancel()
    text = "".join(printed)
    exports = dict(
        line[len("export ") :].strip().split("=", 1)
        for line in printed
        if line.startswith("export ")
    )
    try:
        yield text, exports
    finally:
        process.send_signal(signal.SIGINT)  # at once: "Press Ctrl-C" means it is ready
        rest, err = process.communicate(timeout=90)
    if errors is not None:
        errors.append(err)
    assert process.returncode == 0, err
    assert "sandbox stopped" in rest


@pytest.mark.parametrize("show_tokens", [False, True])
def test_sandbox_serves_until_ctrl_c_and_prints_tokens_only_on_request(
    tmp_path: Path, show_tokens: bool
) -> None:
    flags = ["--show-tokens"] if show_tokens else []
    with _sandbox("quickbooks", "--dir", str(tmp_path), *flags) as (printed, env):
        url = env["ERPSYNC_SANDBOX_URL"]
        assert url.startswith("http://127.0.0.1:")
        realm = env["ERPSYNC_QBO_REALM_ID"]
        token = FileTokenStore(env["ERPSYNC_QBO_TOKEN_STORE"]).load(realm)
        assert token is not None
        answer = requests.get(
            f"{url}/v3/company/{realm}/customer/1",
            headers={"Authorization": f"Bearer {token.access_token}", "Accept": "application/json"},
            timeout=5,
        )
        assert answer.status_code == 200
        assert "Registered redirect URI: http" in printed
        assert (f"Access token: {token.access_token}" in printed) is show_tokens
        assert (f"Refresh token: {token.refresh_token}" in printed) is show_tokens
        if not show_tokens:
            assert token.access_token not in printed
            assert "--show-tokens" in printed
    with pytest.raises(requests.ConnectionError):  # stopped by Ctrl-C
        requests.get(f"{url}/v3/company/{realm}/customer/1", timeout=2)


def test_sandbox_latency_and_limit_shape_every_answer(tmp_path: Path) -> None:
    """``--latency 1000 --limit 1``: each answer waits a second, and of two requests in
    flight at once one is refused as the service refuses it (429)."""
    flags = ("--latency", "1000", "--limit", "1")
    with _sandbox("quickbooks", "--dir", str(tmp_path), *flags) as (_, env):
        realm = env["ERPSYNC_QBO_REALM_ID"]
        token = FileTokenStore(env["ERPSYNC_QBO_TOKEN_STORE"]).load(realm)
        assert token is not None
        url = f"{env['ERPSYNC_SANDBOX_URL']}/v3/company/{realm}/customer/1"
        headers = {"Authorization": f"Bearer {token.access_token}", "Accept": "application/json"}
        answers: list[requests.Response] = []
        threads = [
            threading.Thread(
                target=lambda: answers.append(requests.get(url, headers=headers, timeout=20))
            )
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(a.status_code for a in answers) == [200, 429]
        served = next(a for a in answers if a.status_code == 200)
        assert served.elapsed.total_seconds() >= 1.0


@pytest.mark.parametrize("rate_limits", [False, True])
def test_sandbox_enforces_the_request_windows_only_with_rate_limits(
    tmp_path: Path, rate_limits: bool
) -> None:
    """30 requests at once, with room for 100 in flight: without ``--rate-limits`` none
    is refused (the windows are off, as in FakeQuickBooks by default); with it Intuit's
    10 a second refuses most of them."""
    flags = ["--limit", "100", *(["--rate-limits"] if rate_limits else [])]
    with _sandbox("quickbooks", "--dir", str(tmp_path), *flags) as (_, env):
        realm = env["ERPSYNC_QBO_REALM_ID"]
        token = FileTokenStore(env["ERPSYNC_QBO_TOKEN_STORE"]).load(realm)
        assert token is not None
        url = f"{env['ERPSYNC_SANDBOX_URL']}/v3/company/{realm}/customer/1"
        headers = {"Authorization": f"Bearer {token.access_token}", "Accept": "application/json"}

        def status(_: int) -> int:
            return requests.get(url, headers=headers, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=30) as pool:
            codes = list(pool.map(status, range(30)))
    if rate_limits:
        assert codes.count(200) <= 10 and 429 in codes
    else:
        assert set(codes) == {200}


def test_sandbox_options_are_checked() -> None:
    code, _, err = run("sandbox", "netsuite", "--latency", "-1")
    assert code == 2
    assert "--latency" in err
    code, _, err = run("sandbox", "quickbooks", "--limit", "-1")
    assert code == 2
    assert "--limit" in err


@pytest.mark.parametrize("sample_data", [False, True])
def test_sandbox_sample_data_gives_the_company_a_history(tmp_path: Path, sample_data: bool) -> None:
    """``--sample-data``: the served company has the sandbox's invoices, payments and
    estimates; without it, none."""
    flags = ["--dir", str(tmp_path), *(["--sample-data"] if sample_data else [])]
    with _sandbox("quickbooks", *flags) as (_, env):
        base = f"{env['ERPSYNC_SANDBOX_URL']}/_erpsync/records"
        counts = [
            len(requests.get(f"{base}/{entity}", timeout=10).json()[entity])
            for entity in ("Invoice", "Payment", "Estimate")
        ]
    assert counts == ([8, 5, 3] if sample_data else [0, 0, 0])


def test_sandbox_sample_data_is_for_quickbooks_only() -> None:
    code, _, err = run("sandbox", "netsuite", "--sample-data")
    assert code == 2
    assert "--sample-data" in err


def test_show_tokens_is_an_option_of_sandbox() -> None:
    code, out, _ = run("sandbox", "--help")
    assert code == 0
    assert "--show-tokens" in out


def test_sandbox_host_binds_beyond_loopback_with_a_warning(tmp_path: Path) -> None:
    errors: list[str] = []
    flags = ("--dir", str(tmp_path), "--host", "0.0.0.0")
    with _sandbox("quickbooks", *flags, errors=errors) as (printed, env):
        assert "Listening on 0.0.0.0" in printed
        port = env["ERPSYNC_SANDBOX_URL"].rsplit(":", 1)[-1]
        answer = requests.get(f"http://127.0.0.1:{port}/_erpsync/credentials", timeout=5)
        assert answer.status_code == 200  # a wildcard bind is reached through loopback too
    assert "beyond loopback" in errors[0]


def test_sandbox_binds_loopback_by_default_without_a_warning(tmp_path: Path) -> None:
    errors: list[str] = []
    with _sandbox("netsuite", "--dir", str(tmp_path), errors=errors) as (printed, env):
        assert env["ERPSYNC_SANDBOX_URL"].startswith("http://127.0.0.1:")
        assert "Listening on" not in printed
    assert "beyond loopback" not in errors[0]


def test_sandbox_host_refuses_a_host_name() -> None:
    code, _, err = run("sandbox", "quickbooks", "--host", "example.com")
    assert code != 0
    assert "loopback" in err


def test_host_is_an_option_of_sandbox() -> None:
    code, out, _ = run("sandbox", "--help")
    assert code == 0
    assert "--host" in out
