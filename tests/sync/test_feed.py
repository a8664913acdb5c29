"""erpsync.sync.feed: the one incremental feed (position, overlap, seen set, commit)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from erpsync.errors import ConfigurationError
from erpsync.store import SQLiteSyncStore
from erpsync.sync.feed import Feed, FeedPosition, FeedWindow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OVERLAP = timedelta(minutes=5)


@dataclass
class Rec:
    id: str | None
    updated_at: datetime | None


def stamp(record: Rec) -> tuple[datetime | None, str | None]:
    return record.updated_at, record.id


class Erp:
    """Records modified since a time, and what each read asked for."""

    def __init__(self, *records: Rec) -> None:
        self.records = list(records)
        self.asked: list[datetime | None] = []

    def fetch(self, since: datetime | None) -> Iterator[Rec]:
        self.asked.append(since)
        for record in self.records:
            if since is None or record.updated_at is None or record.updated_at >= since:
                yield record


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteSyncStore]:
    with SQLiteSyncStore(tmp_path / "feed.db") as opened:
        yield opened


def feed(store: SQLiteSyncStore, tenant: str = "t1", **options: object) -> Feed:
    return Feed(store, "demo:items", tenant=tenant, overlap=OVERLAP, **options)  # type: ignore[arg-type]


def ids(batch: object) -> list[str | None]:
    return [r.id for r in batch]  # type: ignore[attr-defined]


def test_positions_order_by_time_then_numeric_id_and_round_trip() -> None:
    a = FeedPosition.of(T0, "9")
    b = FeedPosition.of(T0, "10")
    c = FeedPosition.of(T0 + timedelta(seconds=1), "1")
    assert a < b < c
    assert FeedPosition.before(T0) < a
    assert FeedPosition.parse(b.text()) == b and FeedPosition.parse(b.text()).id == "10"
    held = FeedPosition.parse(FeedPosition.before(T0).text())
    assert held == FeedPosition.before(T0) and held.id == ""
    with pytest.raises(ValueError):
        FeedPosition.parse("2026-03-01")
    assert FeedPosition.of(T0.replace(tzinfo=None), "1") == FeedPosition.of(T0, "1")


def test_nothing_moves_until_commit_then_the_next_read_starts_overlap_before(
    store: SQLiteSyncStore,
) -> None:
    erp = Erp(Rec("1", T0), Rec("2", T0 + timedelta(minutes=1)))
    items = feed(store)
    first = items.batch(erp.fetch, stamp)
    assert ids(first) == ["1", "2"] and erp.asked == [None]
    again = items.batch(erp.fetch, stamp)
    assert ids(again) == ["1", "2"]  # uncommitted: delivered again, never lost
    again.commit()
    assert items.position() == FeedPosition.of(T0 + timedelta(minutes=1), "2")
    assert ids(items.batch(erp.fetch, stamp)) == []  # inside the overlap, but seen
    assert erp.asked[-1] == T0 + timedelta(minutes=1) - OVERLAP


def test_a_late_record_inside_the_overlap_and_a_record_edited_again_come_back(
    store: SQLiteSyncStore,
) -> None:
    erp = Erp(Rec("1", T0), Rec("2", T0 + timedelta(minutes=2)))
    items = feed(store)
    with items.batch(erp.fetch, stamp):
        pass
    erp.records.append(Rec("3", T0 + timedelta(minutes=1)))  # committed late, stamped earlier
    erp.records[0] = Rec("1", T0 + timedelta(minutes=3))  # edited again
    with items.batch(erp.fetch, stamp) as batch:
        assert sorted(ids(batch)) == ["1", "3"]


def test_kept_out_records_still_move_the_feed_and_on_commit_gets_the_delivered(
    store: SQLiteSyncStore,
) -> None:
    erp = Erp(Rec("1", T0), Rec("2", T0 + timedelta(minutes=1)), Rec(None, None))
    got: list[list[Rec]] = []
    batch = feed(store).batch(erp.fetch, stamp, keep=lambda r: r.id != "2", on_commit=got.append)
    assert ids(batch) == ["1", None]
    batch.commit()
    batch.commit()  # idempotent
    assert len(got) == 1 and ids(got[0]) == ["1", None]
    assert feed(store).position() == FeedPosition.of(T0 + timedelta(minutes=1), "2")


def test_two_tenants_have_two_positions(store: SQLiteSyncStore) -> None:
    erp = Erp(Rec("1", T0))
    feed(store, "a").batch(erp.fetch, stamp).commit()
    assert ids(feed(store, "b").batch(erp.fetch, stamp)) == ["1"]


def test_two_racing_commits_never_move_the_feed_backwards(store: SQLiteSyncStore) -> None:
    erp = Erp(Rec("1", T0))
    early = feed(store).batch(erp.fetch, stamp)
    erp.records.append(Rec("2", T0 + timedelta(hours=1)))
    late = feed(store).batch(erp.fetch, stamp)
    late.commit()
    early.commit()
    assert feed(store).position() == FeedPosition.of(T0 + timedelta(hours=1), "2")
    assert ids(feed(store).batch(erp.fetch, stamp)) == []


def test_a_held_record_stops_the_position_just_before_it() -> None:
    window = FeedWindow(None, overlap=OVERLAP, track_seen=False)
    assert window.admit(T0, "1") and window.admit(T0 + timedelta(minutes=10), "3")
    window.hold(T0 + timedelta(minutes=2))
    end = window.end()
    assert end == FeedPosition.before(T0 + timedelta(minutes=2))
    assert FeedWindow(end, overlap=OVERLAP).since == T0 + timedelta(minutes=2) - OVERLAP


def test_without_seen_tracking_the_overlap_is_delivered_again(store: SQLiteSyncStore) -> None:
    erp = Erp(Rec("1", T0))
    items = feed(store, track_seen=False)
    items.batch(erp.fetch, stamp).commit()
    assert ids(items.batch(erp.fetch, stamp)) == ["1"]  # the caller deduplicates
    assert store.get_cursor(items.seen_name, tenant="t1") is None


def test_reach_moves_an_empty_feed_and_start_from_starts_a_new_one() -> None:
    window = FeedWindow(None, overlap=OVERLAP, start_from=T0)
    assert window.since == T0 and window.end() is None
    window.reach(T0 + timedelta(hours=1))
    assert window.end() == FeedPosition.before(T0 + timedelta(hours=1))


def test_the_seen_set_keeps_only_the_overlap_window(store: SQLiteSyncStore) -> None:
    erp = Erp(Rec("1", T0), Rec("2", T0 + timedelta(hours=1)))
    items = feed(store)
    items.batch(erp.fetch, stamp).commit()
    seen = store.get_cursor(items.seen_name, tenant="t1")
    assert seen is not None and "|2" in seen and "|1" not in seen


def test_a_damaged_cursor_is_a_configuration_error_naming_it(store: SQLiteSyncStore) -> None:
    store.set_cursor("demo:items", "yesterday", tenant="t1")
    with pytest.raises(ConfigurationError, match="demo:items"):
        feed(store).open()
    with pytest.raises(ConfigurationError, match="overlap"):
        Feed(store, "x", tenant="t1", overlap=timedelta(-1))
