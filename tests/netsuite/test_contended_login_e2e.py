"""End to end: NetSuite's "concurrency limit as INVALID_LOGIN" quirk under TBA.

WIRE.md: over the account-wide concurrency limit NetSuite answers REST with a 429, but
"under TBA it can also surface as an invalid-login error". ``FakeNetSuite(
tba_concurrency_error="invalid_login")`` answers that way, and ``NetSuiteBackend``
resends a contended ``INVALID_LOGIN`` once (``_ContendedLoginAuth``). These tests run
real threads against the emulator in real time (a few ms of latency) with the backend's
limiter one above the account's limit, so the account does refuse requests, and check
that a bulk run still creates every invoice exactly once with no error reaching the
caller, while wrong credentials still fail as AuthenticationError.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

import pytest

from erpsync.errors import AuthenticationError
from erpsync.limits import LocalLimiter
from erpsync.models import Invoice, InvoiceLine, Ref
from erpsync.netsuite.auth import TokenBasedAuth
from erpsync.netsuite.backend import NetSuiteBackend
from erpsync.testing.core.emulator import Governance, SystemClock
from erpsync.testing.netsuite import FakeNetSuite

from .conftest import make_backend

ACME = "101"
MACHINING = "202"
_RESENT = "treating it as throttling"


def _invoice(external_id: str, amount: str) -> Invoice:
    return Invoice(
        external_id=external_id,
        customer=Ref(id=ACME),
        date=date(2026, 11, 3),
        lines=[InvoiceLine(description="Job", amount=Decimal(amount), item=Ref(id=MACHINING))],
    )


def _contended_account() -> FakeNetSuite:
    return FakeNetSuite(
        "1234567_SB1",
        clock=SystemClock(),
        latency=0.005,
        governance=Governance(concurrency=5),
        tba_concurrency_error="invalid_login",
    )


def test_create_invoices_at_the_limit_survives_invalid_login_throttling(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = _contended_account()
    keys = [f"contended-{n}" for n in range(40)]
    with fake, caplog.at_level(logging.INFO, logger="erpsync"):
        # One slot more than the account has: like a second integration on the account.
        backend = make_backend(fake, concurrency=6, limiter=LocalLimiter(concurrency=6))
        result = backend.create_invoices(_invoice(key, f"{n + 1}.00") for n, key in enumerate(keys))
    refused = fake.stats.throttled
    assert refused > 0, "the account never refused a request: the quirk was not exercised"
    assert [(o.key, o.status, o.error) for o in result] == [(k, "created", None) for k in keys]
    # Every refusal was a 401 INVALID_LOGIN the backend recognised and resent.
    assert sum(_RESENT in r.getMessage() for r in caplog.records) == refused
    invoices = fake.records("invoice")
    assert sorted(i["externalId"] for i in invoices) == sorted(keys)  # each exactly once
    by_key = {i["externalId"]: i for i in invoices}
    assert all(by_key[k]["total"] == n + 1 for n, k in enumerate(keys))


def test_wrong_credentials_at_the_limit_still_fail_as_authentication_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = _contended_account()
    creds = fake.credentials
    wrong = TokenBasedAuth(
        creds.consumer_key,
        creds.consumer_secret,
        creds.token_id,
        "not-the-secret",
        clock=fake.clock.now,
    )
    with fake, caplog.at_level(logging.INFO, logger="erpsync"):
        backend = NetSuiteBackend(
            creds.account_id,
            wrong,
            concurrency=6,
            limiter=LocalLimiter(concurrency=6),
            sleep=lambda seconds: None,
        )
        result = backend.create_invoices(_invoice(f"wrong-{n}", "1.00") for n in range(12))
        with pytest.raises(AuthenticationError) as caught:
            backend.create_invoice(_invoice("alone", "1.00"))
    assert len(result) == 12
    assert all(o.status == "failed" for o in result)
    assert all(isinstance(o.error, AuthenticationError) for o in result)
    assert caught.value.code == "INVALID_LOGIN"
    assert fake.records("invoice") == []
    # Every login was refused, and each request was resent at most once (a request the
    # account refused for contention is answered before its signature is even checked).
    assert fake.login_audit_trail and all(not a.success for a in fake.login_audit_trail)
    assert fake.stats.requests <= 2 * 13


def _scripted_account() -> FakeNetSuite:
    return FakeNetSuite("1234567_SB1", tba_concurrency_error="invalid_login")


def test_repeated_invalid_login_on_proven_credentials_is_retried_as_throttling() -> None:
    fake = _scripted_account()
    with fake:
        backend = make_backend(fake)
        backend.create_invoice(_invoice("first", "1.00"))  # the credentials work
        # Three refusals in a row: the one resend, then the retry loop's attempts.
        fake.inject("throttle", times=3)
        created = backend.create_invoice(_invoice("second", "2.00"))
    assert created.external_id == "second"
    assert sorted(i["externalId"] for i in fake.records("invoice")) == ["first", "second"]
    assert fake.stats.faults_by_kind["throttle"] == 3


def test_invalid_login_on_unproven_credentials_fails_after_one_resend() -> None:
    fake = _scripted_account()
    with fake:
        backend = make_backend(fake)
        fake.inject("throttle", times=2)
        with pytest.raises(AuthenticationError) as caught:
            backend.create_invoice(_invoice("never", "1.00"))
    assert caught.value.code == "INVALID_LOGIN"
    assert fake.records("invoice") == []
    assert fake.stats.requests == 2


def test_invalid_login_that_never_ends_is_an_authentication_error_naming_both_causes() -> None:
    fake = _scripted_account()
    with fake:
        backend = make_backend(fake)
        backend.create_invoice(_invoice("first", "1.00"))
        fake.inject("throttle", times=100)
        with pytest.raises(AuthenticationError) as caught:
            backend.create_invoice(_invoice("second", "2.00"))
    assert caught.value.code == "INVALID_LOGIN"
    assert "revoked" in (caught.value.hint or "")
    assert "concurrency" in (caught.value.hint or "")
    # The one resend, then the retry loop's attempts (5 by default): bounded.
    assert fake.stats.faults_by_kind["throttle"] == 6
    assert [i["externalId"] for i in fake.records("invoice")] == ["first"]
