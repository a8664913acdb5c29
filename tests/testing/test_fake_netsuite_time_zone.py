"""The account time zone: SuiteQL shows and reads date-times in it, REST stays UTC; and
our client's literals and stamps (erpsync.netsuite.query) convert through it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from ns_support import tba_session
from requests_oauthlib import OAuth1Session

from erpsync.errors import ConfigurationError
from erpsync.netsuite.query import parse_suiteql_timestamp, suiteql_literal
from erpsync.testing import FakeClock, FakeNetSuite

PATH = "/services/rest/query/v1/suiteql"
STAMP = "'YYYY-MM-DD HH24:MI:SS'"


def _far_zone() -> str:
    """A zone whose date differs from UTC's right now (so a wrong zone shows)."""
    return "Pacific/Kiritimati" if datetime.now(UTC).hour >= 10 else "Pacific/Honolulu"


@pytest.fixture
def zone() -> str:
    return _far_zone()


@pytest.fixture
def fake(zone: str) -> Iterator[FakeNetSuite]:
    emulator = FakeNetSuite(clock=FakeClock(time.time()), time_zone=zone)
    emulator.serve()
    yield emulator
    emulator.shutdown()


def _session(fake: FakeNetSuite) -> OAuth1Session:
    return tba_session(fake)


def _rows(fake: FakeNetSuite, q: str) -> list[dict[str, Any]]:
    answer = _session(fake).post(
        f"{fake.served_url}{PATH}", json={"q": q}, headers={"Prefer": "transient"}
    )
    assert answer.status_code == 200, answer.text
    return [{k: v for k, v in row.items() if k != "links"} for row in answer.json()["items"]]


def _rest_modified(fake: FakeNetSuite, customer_id: str) -> datetime:
    record = (
        _session(fake)
        .get(f"{fake.served_url}/services/rest/record/v1/customer/{customer_id}")
        .json()
    )
    assert record["lastModifiedDate"].endswith("Z")  # REST is UTC whatever the zone
    return datetime.fromisoformat(record["lastModifiedDate"].replace("Z", "+00:00"))


def test_suiteql_shows_date_times_in_the_account_zone(fake: FakeNetSuite, zone: str) -> None:
    first = _rows(fake, "SELECT id FROM customer ORDER BY id")[0]["id"]
    modified = _rest_modified(fake, first)
    local = modified.astimezone(ZoneInfo(zone))
    row = _rows(
        fake,
        f"SELECT lastmodifieddate AS d, TO_CHAR(lastmodifieddate, {STAMP}) AS t, "
        f"TRUNC(lastmodifieddate) AS day FROM customer WHERE id = {first}",
    )[0]
    assert row["t"] == local.strftime("%Y-%m-%d %H:%M:%S")
    assert row["d"] == f"{local.month}/{local.day}/{local.year}"
    assert row["day"] == local.strftime("%Y-%m-%d")
    assert local.date() != modified.date()  # the zone was picked so that this shows
    today = _rows(fake, "SELECT TO_CHAR(CURRENT_DATE, 'YYYY-MM-DD') AS d FROM dual")
    assert today[0]["d"] == datetime.now(ZoneInfo(zone)).strftime("%Y-%m-%d")


def test_a_datetime_cursor_in_the_account_zone_finds_what_changed(
    fake: FakeNetSuite, zone: str
) -> None:
    first = _rows(fake, "SELECT id FROM customer ORDER BY id")[0]["id"]
    modified = _rest_modified(fake, first)

    def changed_since(moment: datetime, **options: Any) -> list[str]:
        literal = suiteql_literal(moment, **options)
        rows = _rows(fake, f"SELECT id FROM customer WHERE lastmodifieddate >= {literal}")
        return [row["id"] for row in rows]

    assert first in changed_since(modified - timedelta(seconds=1), time_zone=zone)
    assert first not in changed_since(modified + timedelta(seconds=1), time_zone=zone)
    # the same cursor written in UTC means another instant to this account
    offset = ZoneInfo(zone).utcoffset(modified.replace(tzinfo=None))
    assert offset is not None
    wrong = changed_since(modified - timedelta(seconds=1))
    assert (first in wrong) is (offset > timedelta(0))  # read as local: hours off


def test_a_stamp_read_back_in_the_account_zone_is_the_rest_instant(
    fake: FakeNetSuite, zone: str
) -> None:
    first = _rows(fake, "SELECT id FROM customer ORDER BY id")[0]["id"]
    row = _rows(
        fake, f"SELECT TO_CHAR(lastmodifieddate, {STAMP}) AS t FROM customer WHERE id = {first}"
    )[0]
    assert parse_suiteql_timestamp(row["t"], time_zone=zone) == _rest_modified(fake, first)


def test_the_zone_can_be_changed_and_is_checked() -> None:
    fake = FakeNetSuite(clock=FakeClock(time.time()))
    assert fake.time_zone == "UTC"
    stamp = fake.query(
        f"SELECT TO_CHAR(TO_TIMESTAMP('2026-11-03 10:15:00', {STAMP}), {STAMP}) AS t FROM dual"
    )
    assert stamp[0]["t"] == "2026-11-03 10:15:00"
    fake.time_zone = "America/Los_Angeles"
    # local 10:15 is stored as 18:15 UTC and shown as local again
    stored = fake.query(f"SELECT TO_TIMESTAMP('2026-11-03 10:15:00', {STAMP}) AS s FROM dual")
    assert stored[0]["s"] == "2026-11-03 18:15:00"
    with pytest.raises(ConfigurationError, match="time_zone"):
        fake.time_zone = "Mars/Olympus_Mons"
    with pytest.raises(ConfigurationError, match="time_zone"):
        FakeNetSuite(time_zone="not a zone")


def test_bare_dates_have_no_zone(fake: FakeNetSuite) -> None:
    row = _rows(fake, "SELECT TO_DATE('2026-11-03', 'YYYY-MM-DD') AS d FROM dual")[0]
    assert row["d"] == "2026-11-03"


def test_client_literals_and_stamps_convert_through_the_zone() -> None:
    moment = datetime(2026, 11, 3, 18, 15, tzinfo=UTC)
    la = "America/Los_Angeles"
    assert suiteql_literal(moment) == "TO_TIMESTAMP('2026-11-03 18:15:00', 'YYYY-MM-DD HH24:MI:SS')"
    assert suiteql_literal(moment, time_zone=la) == (
        "TO_TIMESTAMP('2026-11-03 10:15:00', 'YYYY-MM-DD HH24:MI:SS')"
    )
    naive = datetime(2026, 11, 3, 18, 15)  # naive is UTC
    assert suiteql_literal(naive, time_zone=ZoneInfo(la)) == suiteql_literal(moment, time_zone=la)
    assert parse_suiteql_timestamp("2026-11-03 10:15:00", time_zone=la) == moment
    assert parse_suiteql_timestamp("2026-11-03 18:15:00") == moment
    assert parse_suiteql_timestamp("11/3/2026") is None
    with pytest.raises(ConfigurationError, match="time_zone"):
        suiteql_literal(moment, time_zone="Nowhere/Never")
