"""``erpsync sandbox quickbooks``: the redirect URI always, the tokens only on request."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
import requests
from cli_support import run

from erpsync._cli.output import Output
from erpsync._cli.sandbox import run_sandbox
from erpsync.errors import ConfigurationError
from erpsync.testing.quickbooks import FakeQuickBooks


def _printed(tmp_path: Path, *, show_tokens: bool) -> tuple[str, FakeQuickBooks]:
    fake = FakeQuickBooks(realm_id="9130350000200002")
    stop, ready, out = threading.Event(), threading.Event(), io.StringIO()
    thread = threading.Thread(
        target=run_sandbox,
        args=(Output(out, io.StringIO(), plain=True), "quickbooks"),
        kwargs={
            "workdir": tmp_path,
            "stop": stop,
            "ready": ready,
            "fake": fake,
            "show_tokens": show_tokens,
        },
    )
    thread.start()
    assert ready.wait(10)
    stop.set()
    thread.join(10)
    return out.getvalue(), fake


@pytest.mark.parametrize("show_tokens", [False, True])
def test_sandbox_prints_the_redirect_uri_and_tokens_on_request(
    tmp_path: Path, show_tokens: bool
) -> None:
    printed, fake = _printed(tmp_path, show_tokens=show_tokens)
    creds = fake.credentials
    assert f"Registered redirect URI: {creds.redirect_uri}" in printed
    assert (f"Access token: {creds.access_token}" in printed) is show_tokens
    assert (f"Refresh token: {creds.refresh_token}" in printed) is show_tokens
    if not show_tokens:
        assert creds.access_token not in printed
        assert "--show-tokens" in printed


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
