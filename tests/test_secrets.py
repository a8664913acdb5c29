"""Cross-cutting secrets audit: real flows on both emulators, with everything captured.

Each flow runs with every logger at DEBUG (erpsync's and the libraries' under it:
oauthlib, requests-oauthlib, urllib3), including a forced QuickBooks token refresh, a
request the ERP refuses, injected faults and an authentication failure. Then no secret
may appear in any formatted log line, in the repr/str of any erpsync object reachable
from the backend, in the text of any error raised, or in any file but the token store.

The secrets are read from the emulators' own state and from what actually went over the
wire (every ``Authorization`` header and token request body the emulator received), so
a token issued during the run (a rotated refresh token, an M2M bearer, a JWT assertion)
is checked as well as the configured credentials.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from erpsync import AuthenticationError, ErpSyncError, Invoice, InvoiceLine, Ref
from erpsync.http import RedactingFilter
from erpsync.quickbooks import FileTokenStore
from erpsync.testing import FakeClock, FakeNetSuite, FakeQuickBooks

#: The libraries under erpsync that log credentials at DEBUG if nothing stops them.
THIRD_PARTY_LOGGERS = ("oauthlib", "requests_oauthlib", "urllib3", "requests")

#: Shorter values are not meaningful secrets and would match by accident.
_MIN_SECRET = 8


class WireTap:
    """Wraps an emulator's ``handle`` to keep every credential a client sent it."""

    def __init__(self, fake: FakeQuickBooks | FakeNetSuite) -> None:
        self.secrets: set[str] = set()
        #: Tokens the service handed out (token endpoint answers), in order.
        self.issued: list[str] = []
        self._inner: Callable[[Any], Any] = fake.handle
        fake.handle = self  # type: ignore[method-assign]

    def __call__(self, request: Any) -> Any:
        header = request.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            self.secrets.add(value)
        elif scheme.lower() == "basic":
            self.secrets.add(value)
            decoded = base64.b64decode(value).decode()
            self.secrets.add(decoded.partition(":")[2])  # the client secret
        elif scheme.lower() == "oauth":
            for part in value.split(","):
                name, _, quoted = part.strip().partition("=")
                if name == "oauth_signature":
                    self.secrets.add(quoted.strip('"'))
        content_type = request.headers.get("Content-Type") or ""
        if "form" in content_type and request.body:
            for name, field in parse_qsl(request.body.decode()):
                if name in ("client_assertion", "refresh_token", "code", "client_secret"):
                    self.secrets.add(field)
        response = self._inner(request)
        self.issued += _issued_tokens(getattr(response, "body", b""))
        return response


def _issued_tokens(body: bytes) -> list[str]:
    """The access and refresh tokens of a token endpoint's JSON answer (none otherwise)."""
    try:
        answer = json.loads(body or b"null")
    except ValueError:
        return []
    if not isinstance(answer, dict):
        return []
    return [str(answer[k]) for k in ("access_token", "refresh_token") if answer.get(k)]


def _private_key_lines(pem: str) -> set[str]:
    """The base64 lines of a PEM key: any of them leaking is a leak of the key."""
    return {
        line.strip() for line in pem.splitlines() if line.strip() and not line.startswith("-----")
    }


def _reachable(root: object, limit: int = 2000) -> Iterator[object]:
    """Every erpsync object reachable from ``root`` through attributes and containers."""
    seen: set[int] = set()
    stack: list[object] = [root]
    while stack and len(seen) < limit:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, dict):
            stack.extend(current.values())
            continue
        if isinstance(current, list | tuple | set | frozenset):
            stack.extend(current)
            continue
        module = type(current).__module__ or ""
        if not module.startswith("erpsync") or module.startswith("erpsync.testing"):
            continue
        yield current
        for name in getattr(type(current), "__slots__", ()):
            stack.append(getattr(current, name, None))
        stack.extend(getattr(current, "__dict__", {}).values())


class Audit:
    """Collects the texts to scan and checks them against the secrets."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self.texts: list[tuple[str, str]] = []
        self.objects: list[object] = []

    def error(self, exc: ErpSyncError) -> None:
        self.texts += [("str(error)", str(exc)), ("repr(error)", repr(exc))]
        self.texts += [("error.raw", exc.raw or ""), ("error.args", repr(exc.args))]
        if exc.__cause__ is not None:
            self.texts.append(("error cause", repr(exc.__cause__)))

    def expect_error(self, action: Callable[[], object]) -> ErpSyncError:
        with pytest.raises(ErpSyncError) as info:
            action()
        self.error(info.value)
        return info.value

    def check(self, secrets: set[str], files: list[Path] = ()) -> None:  # type: ignore[assignment]
        secrets = {s for s in secrets if s and len(s) >= _MIN_SECRET}
        assert secrets, "the audit found no secrets to look for"
        handler_format = logging.Formatter("%(name)s %(levelname)s %(message)s")
        texts = list(self.texts)
        for record in self.caplog.records:
            texts.append((f"log {record.name}", handler_format.format(record)))
        for root in self.objects:
            for obj in _reachable(root):
                texts.append((f"repr {type(obj).__name__}", repr(obj)))
                texts.append((f"str {type(obj).__name__}", str(obj)))
        for path in files:
            texts.append((f"file {path.name}", path.read_text(errors="replace")))
        leaks = [
            f"{where}: ...{text[max(0, text.find(s) - 60) : text.find(s)]}<secret>"
            for where, text in texts
            for s in secrets
            if s in text
        ]
        assert not leaks, "secrets leaked:\n" + "\n".join(leaks[:20])
        # The audit must have looked at something real.
        assert any(
            where.startswith("log oauthlib") or where.startswith("log erpsync")
            for where, _ in texts
        )


@pytest.fixture
def audit(caplog: pytest.LogCaptureFixture) -> Audit:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="erpsync")
    for name in THIRD_PARTY_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return Audit(caplog)


def _invoice(external_id: str, customer: str, item: str | None) -> Invoice:
    return Invoice(
        external_id=external_id,
        customer=Ref(id=customer),
        date=dt.date(2026, 11, 3),
        lines=[InvoiceLine(description="Job", amount=Decimal("125.00"), item=Ref(id=item or "1"))],
    )


def test_quickbooks_flow_leaks_no_secret(audit: Audit, tmp_path: Path) -> None:
    clock = FakeClock()
    store_path = tmp_path / "qbo-tokens.json"
    with FakeQuickBooks(clock=clock, refresh_tokens="single_use") as fake:
        tap = WireTap(fake)
        creds = fake.credentials
        backend = fake.backend(token_store=FileTokenStore(store_path))
        audit.objects.append(backend)
        customer = next(iter(backend.iter_customers()))
        assert customer.id is not None
        item = next(iter(backend.iter_items()))
        backend.create_invoice(_invoice("secrets-1", customer.id, item.id))

        # Past the access token's hour: the next call refreshes (and rotates) the tokens.
        clock.advance(3700)
        assert backend.get_customer(customer.id).id == customer.id
        assert len(tap.issued) >= 2, "the flow did not refresh the token"

        # A request the ERP refuses, an injected 5xx and 429 that are retried, and a
        # 5xx that outlasts the retries.
        audit.expect_error(lambda: backend.get_invoice("999999"))
        fake.inject("server_error", times=1)
        fake.inject("throttle", times=1)
        assert backend.get_customer(customer.id).id == customer.id
        fake.inject("server_error", times=20)
        audit.expect_error(lambda: backend.get_customer(customer.id))
        fake.faults.reset()

        # A second client still holding the original (now rotated-away) refresh token:
        # its refresh is refused with invalid_grant.
        stale = fake.backend()
        audit.objects.append(stale)
        error = audit.expect_error(lambda: stale.get_customer(customer.id))
        assert isinstance(error, AuthenticationError)

        token = FileTokenStore(store_path).load(creds.realm_id)
        assert token is not None
        audit.objects.append(token)
        secrets = {
            creds.client_secret,
            creds.access_token,
            creds.refresh_token,
            creds.verifier_token,
            token.access_token,
            token.refresh_token,
            *tap.issued,
            *tap.secrets,
        }
        assert token.refresh_token != creds.refresh_token
    others = [p for p in tmp_path.rglob("*") if p.is_file() and p != store_path]
    audit.check(secrets, others)


@pytest.mark.parametrize("auth", ["tba", "m2m"])
def test_netsuite_flow_leaks_no_secret(audit: Audit, auth: str) -> None:
    clock = FakeClock()
    with FakeNetSuite(account_id="1234567_SB1", clock=clock) as fake:
        tap = WireTap(fake)
        creds = fake.credentials
        backend = fake.backend(auth=auth)
        audit.objects.append(backend)
        customer = next(iter(backend.iter_customers()))
        assert customer.id is not None
        item = next(iter(backend.iter_items()))
        backend.create_invoice(_invoice(f"secrets-{auth}", customer.id, item.id))
        audit.expect_error(lambda: backend.get_invoice("99999"))
        fake.inject("server_error", times=1)
        assert backend.get_customer(customer.id).id == customer.id
        fake.inject("server_error", times=20)
        audit.expect_error(lambda: backend.get_customer(customer.id))
        fake.faults.reset()
        # Past the M2M token's hour: a new assertion and a new bearer token.
        clock.advance(3700)
        assert backend.get_customer(customer.id).id == customer.id
        # Credentials the ERP no longer accepts.
        if auth == "tba":
            fake.revoke_token(creds.token_id)
        else:
            fake.revoke_certificate(creds.certificate_id)
            clock.advance(3700)
        error = audit.expect_error(lambda: backend.get_customer(customer.id))
        assert isinstance(error, AuthenticationError)
        secrets = {
            creds.consumer_secret,
            creds.token_secret,
            creds.token_id,
            *_private_key_lines(creds.private_key_pem),
            *fake.auth.bearers,
            *tap.secrets,
        }
        if auth == "m2m":
            assert fake.auth.bearers, "the flow issued no bearer token"
    audit.check(secrets)


def test_redacting_filter_on_a_handler_cleans_any_library_record() -> None:
    record = logging.LogRecord(
        "somelib",
        logging.DEBUG,
        __file__,
        1,
        "token body %s",
        ('{"access_token": "abcdef123456", "refresh_token": "zyx98765"}',),
        None,
    )
    assert RedactingFilter().filter(record) is True
    text = record.getMessage()
    assert "abcdef123456" not in text and "zyx98765" not in text
    assert '"access_token": "***"' in text


def test_redacting_filter_redacts_tracebacks() -> None:
    try:
        raise ValueError("refresh_token=abcdef123456 was refused")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "somelib", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    RedactingFilter().filter(record)
    assert "abcdef123456" not in logging.Formatter().format(record)


def test_redacting_filter_leaves_unformattable_records_to_logging() -> None:
    record = logging.LogRecord("somelib", logging.DEBUG, __file__, 1, "%d", ("x",), None)
    assert RedactingFilter().filter(record) is True
    assert record.msg == "%d" and record.args == ("x",)


def test_oauthlib_debug_lines_are_redacted_without_erpsync_setup(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The filter sits on the library's own logger, so even a plain root handler that
    erpsync never touched gets clean lines (the OAuth 1.0a token id and signature)."""
    from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

    import erpsync.http  # noqa: F401 - installs the filters

    caplog.set_level(logging.DEBUG)
    token_id = "tokenid0123456789abcdef"
    client = Client(
        "consumer0123456789",
        client_secret="consumersecret0123456789",
        resource_owner_key=token_id,
        resource_owner_secret="tokensecret0123456789",
        signature_method=SIGNATURE_HMAC_SHA256,
        realm="123456",
    )
    _, headers, _ = client.sign("https://example.com/x?limit=5")
    signature = headers["Authorization"].split('oauth_signature="')[1].split('"')[0]
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("oauthlib")]
    assert any("signature base string" in line for line in lines)
    for line in lines:
        assert token_id not in line
        assert signature not in line
        assert "consumersecret" not in line and "tokensecret" not in line
