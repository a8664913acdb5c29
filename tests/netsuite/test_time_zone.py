"""The SuiteQL time zone: in an account whose SuiteQL shows date-times in Pacific time
(REST stays UTC), modified-since feeds return exactly what changed after the cursor,
across the autumn DST change too, and every model carries aware UTC timestamps.

The emulator's clock starts on 2026-11-01, the night Pacific time falls back from
02:00 PDT to 01:00 PST (at 09:00 UTC), so each test's changes sit on known sides of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from erpsync.errors import ConfigurationError
from erpsync.models import (
    Customer,
    Invoice,
    InvoiceLine,
    Item,
    Payment,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Ref,
    Vendor,
)
from erpsync.netsuite.auth import TokenBasedAuth
from erpsync.netsuite.backend import NetSuiteBackend
from erpsync.testing import FakeClock, FakeNetSuite

ZONE = "America/Los_Angeles"
FALL_BACK = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)  # 02:00 PDT becomes 01:00 PST
ACME, MACHINING, WIDGET, VENDOR = "101", "202", "201", "105"


def _account(start: datetime) -> Iterator[tuple[FakeNetSuite, NetSuiteBackend]]:
    fake = FakeNetSuite(clock=FakeClock(start), time_zone=ZONE)
    with fake:
        backend = fake.backend(time_zone=ZONE)
        yield fake, backend
        backend.close()


@pytest.fixture
def pacific() -> Iterator[tuple[FakeNetSuite, NetSuiteBackend]]:
    """A Pacific account at 23:00 PDT on Oct 31 (06:00 UTC Nov 1: the dates differ)."""
    yield from _account(datetime(2026, 11, 1, 6, 0, tzinfo=UTC))


def _now(fake: FakeNetSuite) -> datetime:
    return datetime.fromtimestamp(fake.clock.now(), tz=UTC)


def _at(fake: FakeNetSuite, moment: datetime) -> None:
    """Move the emulator's clock forward to ``moment``."""
    clock = fake.clock
    assert isinstance(clock, FakeClock)
    clock.advance((moment - _now(fake)).total_seconds())


# -- one (create, feed) pair per modified-since feed ---------------------------------------------

Create = Callable[[NetSuiteBackend, str], Any]
Feed = Callable[[NetSuiteBackend, datetime | None], Iterator[Any]]


def _invoice(tag: str) -> Invoice:
    return Invoice(
        external_id=tag,
        customer=Ref(id=ACME),
        date=date(2026, 11, 1),
        lines=[InvoiceLine(description="Job", amount=Decimal("100.00"), item=Ref(id=MACHINING))],
    )


def _payment(tag: str) -> Payment:
    return Payment(
        external_id=tag, customer=Ref(id=ACME), date=date(2026, 11, 1), amount=Decimal("10.00")
    )


def _purchase_order(tag: str) -> PurchaseOrder:
    return PurchaseOrder(
        external_id=tag,
        vendor=Ref(id=VENDOR),
        date=date(2026, 11, 1),
        status=PurchaseOrderStatus.PENDING_RECEIPT,
        lines=[PurchaseOrderLine(item=Ref(id=WIDGET), quantity=Decimal(2), rate=Decimal("4.5"))],
    )


FEEDS: dict[str, tuple[Create, Feed]] = {
    "customers": (
        lambda b, tag: b.create_customer(Customer(name=f"Tz {tag}", external_id=tag)),
        lambda b, since: b.iter_customers(modified_since=since),
    ),
    "vendors": (
        lambda b, tag: b.create_vendor(Vendor(name=f"Tz {tag}", external_id=tag)),
        lambda b, since: b.iter_vendors(modified_since=since),
    ),
    "items": (
        lambda b, tag: b.create_item(Item(name=f"Tz {tag}", external_id=tag, kind="service")),
        lambda b, since: b.iter_items(modified_since=since),
    ),
    "invoices": (
        lambda b, tag: b.create_invoice(_invoice(tag)),
        lambda b, since: b.iter_invoices(modified_since=since),
    ),
    "payments": (
        lambda b, tag: b.create_payment(_payment(tag)),
        lambda b, since: b.iter_payments(modified_since=since),
    ),
    "purchase-orders": (
        lambda b, tag: b.create_purchase_order(_purchase_order(tag)),
        lambda b, since: b.iter_purchase_orders(modified_since=since),
    ),
}


def _tags(feed: Feed, backend: NetSuiteBackend, since: datetime | None) -> list[str]:
    return [m.external_id for m in feed(backend, since) if (m.external_id or "").startswith("tz-")]


@pytest.mark.parametrize("kind", list(FEEDS))
def test_a_feed_in_a_pacific_account_returns_exactly_what_changed_after_the_cursor(
    pacific: tuple[FakeNetSuite, NetSuiteBackend], kind: str
) -> None:
    fake, backend = pacific
    create, feed = FEEDS[kind]
    create(backend, "tz-before")
    fake.clock.sleep(60)  # type: ignore[attr-defined]
    cursor = _now(fake)
    fake.clock.sleep(60)  # type: ignore[attr-defined]
    create(backend, "tz-after")
    assert _tags(feed, backend, cursor) == ["tz-after"]
    assert _tags(feed, backend, cursor - timedelta(seconds=120)) == ["tz-before", "tz-after"]
    assert _tags(feed, backend, _now(fake) + timedelta(seconds=1)) == []


@pytest.mark.parametrize("kind", list(FEEDS))
def test_a_feed_across_the_autumn_dst_change_misses_and_repeats_nothing(kind: str) -> None:
    create, feed = FEEDS[kind]
    for fake, backend in _account(FALL_BACK - timedelta(minutes=30)):  # 01:30 PDT
        create(backend, "tz-pdt")
        _at(fake, FALL_BACK + timedelta(minutes=90))  # 02:30 PST, after the change
        create(backend, "tz-pst")
        between = FALL_BACK - timedelta(minutes=15)  # 01:45 PDT
        assert _tags(feed, backend, between) == ["tz-pst"]
        assert _tags(feed, backend, FALL_BACK + timedelta(minutes=75)) == ["tz-pst"]
        assert _tags(feed, backend, FALL_BACK - timedelta(hours=1)) == ["tz-pdt", "tz-pst"]
        assert _tags(feed, backend, FALL_BACK + timedelta(minutes=91)) == []


def test_a_cursor_in_the_repeated_hour_may_repeat_but_never_misses() -> None:
    """01:30 happens twice on the night of the change and SuiteQL text cannot say which:
    the earlier is meant, so a cursor in the second 01:xx repeats an hour, never skips."""
    create, feed = FEEDS["customers"]
    for fake, backend in _account(FALL_BACK + timedelta(minutes=10)):  # 01:10 PST
        create(backend, "tz-early")
        _at(fake, FALL_BACK + timedelta(minutes=50))  # 01:50 PST
        create(backend, "tz-late")
        found = _tags(feed, backend, FALL_BACK + timedelta(minutes=30))
        assert "tz-late" in found
        assert set(found) <= {"tz-early", "tz-late"}
        late = next(c for c in backend.iter_customers() if c.external_id == "tz-late")
        assert late.updated_at is not None
        assert late.updated_at <= FALL_BACK + timedelta(minutes=50)


def test_models_carry_the_aware_utc_instant_of_the_change(
    pacific: tuple[FakeNetSuite, NetSuiteBackend],
) -> None:
    fake, backend = pacific
    made: dict[str, datetime] = {}
    for kind, (create, _feed) in FEEDS.items():
        fake.clock.sleep(61)  # type: ignore[attr-defined]
        made[kind] = _now(fake).replace(microsecond=0)
        create(backend, f"tz-{kind}")
    for kind, (_create, feed) in FEEDS.items():
        (model,) = [m for m in feed(backend, None) if m.external_id == f"tz-{kind}"]
        assert model.updated_at is not None
        assert model.updated_at.utcoffset() == timedelta(0)
        assert model.updated_at == made[kind], kind
    customer = next(c for c in backend.iter_customers() if c.external_id == "tz-customers")
    assert customer.id is not None
    assert backend.get_customer(customer.id).updated_at == customer.updated_at  # REST agrees


def test_deleted_records_since_a_cursor_in_a_pacific_account(
    pacific: tuple[FakeNetSuite, NetSuiteBackend],
) -> None:
    fake, backend = pacific
    old = backend.create_customer(Customer(name="Tz Old", external_id="tz-old"))
    new = backend.create_customer(Customer(name="Tz New", external_id="tz-new"))
    assert old.id is not None and new.id is not None
    backend.client.delete("customer", old.id)
    fake.clock.sleep(60)  # type: ignore[attr-defined]
    cursor = _now(fake)
    fake.clock.sleep(60)  # type: ignore[attr-defined]
    deleted_at = _now(fake).replace(microsecond=0)
    backend.client.delete("customer", new.id)
    (gone,) = backend.iter_deleted("customer", cursor)
    assert gone.id == new.id
    assert gone.deleted_at == deleted_at
    assert gone.deleted_at.utcoffset() == timedelta(0)


def test_a_backend_on_utc_in_a_pacific_account_would_miss_the_change(
    pacific: tuple[FakeNetSuite, NetSuiteBackend],
) -> None:
    """Why the setting exists: the same cursor, written in the wrong zone, is hours off."""
    fake, backend = pacific
    utc = fake.backend(time_zone="UTC")
    fake.clock.sleep(60)  # type: ignore[attr-defined]
    cursor = _now(fake)
    fake.clock.sleep(60)  # type: ignore[attr-defined]
    backend.create_customer(Customer(name="Tz Late", external_id="tz-late"))
    assert _tags(FEEDS["customers"][1], backend, cursor) == ["tz-late"]
    assert _tags(FEEDS["customers"][1], utc, cursor) == []
    utc.close()


def test_the_time_zone_setting_is_checked_and_kept(
    pacific: tuple[FakeNetSuite, NetSuiteBackend],
) -> None:
    fake, backend = pacific
    assert backend.time_zone == ZONE
    assert fake.backend(time_zone="UTC").time_zone == "UTC"
    assert fake.backend(time_zone=ZoneInfo("Europe/Paris")).time_zone == "Europe/Paris"
    for wrong in ("Mars/Olympus_Mons", "", 5):
        with pytest.raises(ConfigurationError, match="time_zone") as caught:
            fake.backend(time_zone=wrong)
        assert caught.value.field == "time_zone"


@pytest.mark.parametrize(
    ("field", "options"),
    [
        ("page_size", {"page_size": True}),
        ("page_size", {"page_size": 1001}),
        ("pdf_restlet", {"pdf_restlet": ("customscript_pdf",)}),
        ("time_zone", {"time_zone": None}),
    ],
)
def test_every_backend_setting_is_checked_before_a_request_naming_its_field(
    field: str, options: dict[str, Any]
) -> None:
    auth = TokenBasedAuth("ck" * 8, "cs" * 8, "ti" * 8, "ts" * 8)
    with pytest.raises(ConfigurationError, match=field) as caught:
        NetSuiteBackend("1234567_SB1", auth, **options)
    assert caught.value.field == field


def test_an_emulators_backend_reads_in_the_emulated_accounts_zone() -> None:
    fake = FakeNetSuite(clock=FakeClock(datetime(2026, 11, 1, 6, 0, tzinfo=UTC)), time_zone=ZONE)
    with fake:
        backend = fake.backend()  # no time_zone given: the emulated account's
        assert backend.time_zone == ZONE
        backend.close()
