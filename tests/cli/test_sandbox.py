"""``erpsync sandbox quickbooks``: the redirect URI always, the tokens only on request."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from cli_support import run

from erpsync._cli.output import Output
from erpsync._cli.sandbox import run_sandbox
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
