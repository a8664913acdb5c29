"""``create_invoices`` keeps one connection per thread, however large the account's
concurrency: no thread's connection is thrown away for want of room in the pool (which
would cost a new handshake per request)."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

import pytest

from erpsync.errors import ConfigurationError
from erpsync.limits import LocalLimiter
from erpsync.models import Invoice, InvoiceLine, Ref
from erpsync.netsuite import NetSuiteBackend, TokenBasedAuth
from erpsync.testing.core.emulator import Governance
from erpsync.testing.netsuite import FakeNetSuite
from erpsync.transport import pooled_session


def _invoices(count: int) -> list[Invoice]:
    return [
        Invoice(
            external_id=f"pool-{n}",
            customer=Ref(id="101"),
            date=date(2026, 11, 3),
            lines=[InvoiceLine(description="Job", amount=Decimal(100), item=Ref(id="202"))],
        )
        for n in range(count)
    ]


def test_a_large_account_bulk_run_discards_no_connection(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeNetSuite(governance=Governance(concurrency=15), latency=0.01)
    url = fake.serve()
    creds = fake.credentials
    ns = NetSuiteBackend(
        creds.account_id,
        TokenBasedAuth(
            creds.consumer_key, creds.consumer_secret, creds.token_id, creds.token_secret
        ),
        base_url=url,
        concurrency=15,
        limiter=LocalLimiter(concurrency=15),
    )
    try:
        caplog.set_level(logging.WARNING, logger="urllib3")
        result = ns.create_invoices(_invoices(120))  # 30 threads on one session
    finally:
        ns.close()
        fake.shutdown()
    assert not result.failed and len(result) == 120
    assert fake.stats.throttled == 0
    discarded = [r for r in caplog.records if "pool is full" in r.getMessage()]
    assert discarded == []


def test_pooled_session_refuses_a_pool_of_no_connections() -> None:
    for wrong in (0, -1, True, 2.5):
        with pytest.raises(ConfigurationError, match="connections"):
            pooled_session(wrong)  # type: ignore[arg-type]
