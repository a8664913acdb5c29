"""``erpsync sandbox``, end to end in a subprocess: it serves until Ctrl-C, prints the
variables and the redirect URI always, the tokens only on request, and checks its options.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from cli_support import run

from erpsync._cli.output import Output
from erpsync._cli.sandbox import run_sandbox
from erpsync.errors import ConfigurationError
from erpsync.quickbooks import FileTokenStore
from erpsync.testing.quickbooks import FakeQuickBooks

_SRC = str(Path(__file__).resolve().parents[2] / "src")


@contextmanager
def _sandbox(*argv: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Start ``erpsync sandbox ARGV``; yield (what it printed up to "Press Ctrl-C", the
    exported variables); then Ctrl-C it and check it stopped cleanly."""
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
        # The sandbox prints "Press Ctrl-C" just before it starts waiting for it; a
        # Ctrl-C in between ends it as an interrupted command (130). Leave it the time
        # to get there, as a person does.
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=90)
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


def test_sandbox_options_are_checked() -> None:
    code, _, err = run("sandbox", "netsuite", "--latency", "-1")
    assert code == 2
    assert "--latency" in err
    code, _, err = run("sandbox", "quickbooks", "--limit", "-1")
    assert code == 2
    assert "--limit" in err


def test_show_tokens_is_an_option_of_sandbox() -> None:
    code, out, _ = run("sandbox", "--help")
    assert code == 0
    assert "--show-tokens" in out


def _serve_on(tmp_path: Path, host: str) -> tuple[str, str, FakeQuickBooks, list[str]]:
    """Run the sandbox on ``host``; what it printed to stdout and stderr, the emulator,
    and the answers of a request made while it ran."""
    fake = FakeQuickBooks(realm_id="9130350000200002")
    stop, ready = threading.Event(), threading.Event()
    out, err = io.StringIO(), io.StringIO()
    thread = threading.Thread(
        target=run_sandbox,
        args=(Output(out, err, plain=True), "quickbooks"),
        kwargs={"workdir": tmp_path, "stop": stop, "ready": ready, "fake": fake, "host": host},
    )
    thread.start()
    answers: list[str] = []
    try:
        assert ready.wait(10)
        url = fake.served_url
        assert url is not None
        answers.append(str(requests.get(f"{url}/_erpsync/credentials", timeout=5).status_code))
    finally:
        stop.set()
        thread.join(10)
    return out.getvalue(), err.getvalue(), fake, answers


def test_sandbox_binds_loopback_by_default_without_a_warning(tmp_path: Path) -> None:
    printed, errors, _, answers = _serve_on(tmp_path, "127.0.0.1")
    assert answers == ["200"]
    assert "beyond loopback" not in printed + errors


def test_sandbox_host_binds_beyond_loopback_with_a_warning(tmp_path: Path) -> None:
    printed, errors, _, answers = _serve_on(tmp_path, "0.0.0.0")
    assert answers == ["200"]  # a wildcard bind is reached through loopback here
    assert "beyond loopback" in printed + errors
    assert "Listening on 0.0.0.0" in printed


def test_sandbox_host_refuses_a_host_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="loopback"):
        run_sandbox(
            Output(io.StringIO(), io.StringIO(), plain=True),
            "quickbooks",
            host="example.com",
            workdir=tmp_path,
            fake=FakeQuickBooks(),
        )


def test_host_is_an_option_of_sandbox() -> None:
    code, out, _ = run("sandbox", "--help")
    assert code == 0
    assert "--host" in out


def test_sandbox_host_from_the_command_line(tmp_path: Path) -> None:
    flags = ("--dir", str(tmp_path), "--host", "0.0.0.0")
    with _sandbox("quickbooks", *flags) as (printed, env):
        assert "Listening on 0.0.0.0" in printed
        realm = env["ERPSYNC_QBO_REALM_ID"]
        token = FileTokenStore(env["ERPSYNC_QBO_TOKEN_STORE"]).load(realm)
        assert token is not None
        answer = requests.get(
            f"{env['ERPSYNC_SANDBOX_URL']}/v3/company/{realm}/customer/1",
            headers={"Authorization": f"Bearer {token.access_token}", "Accept": "application/json"},
            timeout=5,
        )
        assert answer.status_code == 200
