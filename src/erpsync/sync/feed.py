"""The one incremental feed: where a read of the ERP stopped, what it already delivered,
and the commit that moves it on once the caller has stored what it read.

Every incremental read in ``erpsync.sync`` (invoices, customers and payments imported
by the accounting sync, purchase orders and their deletions mirrored by purchasing)
asks the ERP for records *modified since* a point and must neither lose a record nor
deliver one twice. Three rules, kept here once:

* **Position with overlap.** A feed remembers a :class:`FeedPosition`: the newest
  ``updated_at`` delivered and the id that breaks ties between records stamped alike.
  The next read starts ``overlap`` *before* it, so a record committed late, or stamped
  by a clock slightly behind, is still seen. The stamps are the ERP's own, never the
  local clock, so clock skew between hosts cannot skip changes.
* **Seen set.** Re-reading the overlap would repeat records, so the versions
  (``"<timestamp>|<id>"``) delivered inside the window are remembered next to the
  position and dropped on the next read; a record edited again has a new stamp and
  comes back. A workflow that deduplicates by the ledger's content hashes instead
  (purchasing) turns this off (``track_seen=False``).
* **Commit after the batch.** Reading never moves the feed: :meth:`Feed.commit` does,
  after the caller stored the records, so a crash in between re-delivers the batch and
  never loses it. A record that could not be handled now (another process holds it)
  is *held*: the committed position stops just before it. Two commits racing never
  move the position backwards.

:class:`FeedWindow` is one read (pure, no store); :class:`Feed` keeps a window's
outcome in a store cursor (``<name>``, and ``<name>.seen`` for the seen set), scoped by
tenant; :class:`ImportBatch` is a read handed to a caller together with its commit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Generic, Protocol, TypeVar

from erpsync.errors import ConfigurationError
from erpsync.store import SyncStore

__all__ = ["Feed", "FeedPosition", "FeedWindow", "ImportBatch", "Stamped", "stamp_of"]

T = TypeVar("T")

#: The order of a position that sits before every record stamped at its time (a feed
#: held back before a record it must read again).
_BEFORE = (-1, 0, "")


@dataclass(frozen=True, order=True)
class FeedPosition:
    """A point on an incremental feed: the newest ``updated_at`` delivered and the id
    that breaks ties between records stamped alike (numeric ids compare as numbers).

    A position made by :meth:`before` has no id and sorts before every record stamped
    at its time: the next read delivers all of them again.
    """

    ts: datetime
    order: tuple[int, int, str]
    id: str = field(compare=False)

    @classmethod
    def of(cls, ts: datetime, record_id: str) -> FeedPosition:
        """The position of one record (naive stamps are taken as UTC)."""
        if not record_id:
            return cls.before(ts)
        order = (0, int(record_id), "") if record_id.isdigit() else (1, 0, record_id)
        return cls(_utc(ts), order, record_id)

    @classmethod
    def before(cls, ts: datetime) -> FeedPosition:
        """Just before every record stamped ``ts``."""
        return cls(_utc(ts), _BEFORE, "")

    def since(self, overlap: timedelta) -> datetime:
        """Where the next read starts."""
        return self.ts - overlap

    def text(self) -> str:
        """``"<ISO timestamp>|<id>"``, the stored form (``"<ISO timestamp>|"`` for a
        :meth:`before` position)."""
        return f"{self.ts.isoformat(timespec='microseconds')}|{self.id}"

    @classmethod
    def parse(cls, value: str) -> FeedPosition:
        """The inverse of :meth:`text`; ValueError for anything else."""
        stamp, sep, record_id = value.partition("|")
        if not sep:
            raise ValueError("no '|<id>' part")
        return cls.of(datetime.fromisoformat(stamp), record_id)


class Stamped(Protocol):
    """A record a feed can place: every erpsync document has both."""

    @property
    def updated_at(self) -> datetime | None: ...

    @property
    def id(self) -> str | None: ...


def stamp_of(record: Stamped) -> tuple[datetime | None, str | None]:
    """``(updated_at, id)`` of a document, where a feed places it."""
    return record.updated_at, record.id


def _utc(ts: datetime) -> datetime:
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone(UTC)


class FeedWindow:
    """One read of a feed: the records offered to it decide where the feed goes next.

    Offer every record read, in any order, with :meth:`admit`; :meth:`hold` the ones
    that must be read again; :meth:`reach` a time the feed is known complete up to (a
    read that found nothing still moves on). :meth:`end` and :meth:`seen` are what a
    commit stores. Reading nothing leaves the feed where it was.
    """

    def __init__(
        self,
        start: FeedPosition | None,
        *,
        overlap: timedelta,
        seen: Iterable[str] = (),
        track_seen: bool = True,
        start_from: datetime | None = None,
    ) -> None:
        self.start = start
        self.overlap = overlap
        self.track_seen = track_seen
        self._seen = frozenset(seen)
        self._delivered: set[str] = set()
        self._newest: FeedPosition | None = None
        self._held: datetime | None = None
        self._reached: datetime | None = None
        if start is not None:
            self.since: datetime | None = start.since(overlap)
        else:
            self.since = start_from

    def admit(self, stamp: datetime | None, record_id: str | None) -> bool:
        """Whether a record read is new to the feed (False: delivered before, drop it).

        A record without a stamp or an id cannot be placed on the feed: it is always
        new and does not move the position."""
        if stamp is None or not record_id:
            return True
        position = FeedPosition.of(stamp, record_id)
        version = position.text()
        if self.track_seen:
            if version in self._seen or version in self._delivered:
                return False
            if not self._seen and self.start is not None and position <= self.start:
                return False  # a position without its seen set: fall back to (ts, id) order
        self._delivered.add(version)
        if self._newest is None or position > self._newest:
            self._newest = position
        return True

    def hold(self, stamp: datetime | None) -> None:
        """A record stamped ``stamp`` was not handled (another process holds it): the
        committed position stops just before it, so the next read delivers it again."""
        if stamp is not None:
            stamp = _utc(stamp)
            self._held = stamp if self._held is None else min(self._held, stamp)

    def reach(self, stamp: datetime) -> None:
        """The feed is complete up to ``stamp`` even if no record carried it (a deleted
        record feed that found nothing since the run started)."""
        stamp = _utc(stamp)
        self._reached = stamp if self._reached is None else max(self._reached, stamp)

    @property
    def delivered(self) -> frozenset[str]:
        """The versions this read admitted."""
        return frozenset(self._delivered)

    def end(self) -> FeedPosition | None:
        """Where the next read continues: the newest of the start, the newest record
        admitted and the time reached, but never past a held record."""
        candidates = [p for p in (self.start, self._newest) if p is not None]
        if self._reached is not None:
            candidates.append(FeedPosition.before(self._reached))
        if not candidates:
            return None
        end = max(candidates)
        if self._held is not None and FeedPosition.before(self._held) < end:
            end = FeedPosition.before(self._held)
        return end

    def seen(self, end: FeedPosition | None = None) -> list[str]:
        """The versions to remember with ``end`` (default :meth:`end`): only those
        inside its overlap window can be read again."""
        end = self.end() if end is None else end
        if end is None or not self.track_seen:
            return []
        floor = end.ts - self.overlap
        return sorted(v for v in self._seen | self._delivered if _stamp_of(v) >= floor)


def _stamp_of(version: str) -> datetime:
    try:
        return FeedPosition.parse(version).ts
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)  # unreadable: forgotten on the next commit


class Feed:
    """A feed kept in a store cursor, scoped by tenant (see the module docstring).

    ``start_from`` is where a feed that was never committed starts (None: the whole
    history). A stored value that is not a position is a ConfigurationError naming the
    cursor, never silently a fresh start.
    """

    def __init__(
        self,
        store: SyncStore,
        name: str,
        *,
        tenant: str,
        overlap: timedelta,
        track_seen: bool = True,
        start_from: datetime | None = None,
    ) -> None:
        if not isinstance(overlap, timedelta) or overlap < timedelta(0):
            raise ConfigurationError("a feed's overlap must be a non-negative timedelta")
        self.store = store
        self.name = name
        self.tenant = tenant
        self.overlap = overlap
        self.track_seen = track_seen
        self.start_from = start_from

    @property
    def seen_name(self) -> str:
        """The store cursor that holds the seen set."""
        return f"{self.name}.seen"

    def position(self) -> FeedPosition | None:
        """The committed position (None before the first commit)."""
        raw = self.store.get_cursor(self.name, tenant=self.tenant)
        return self._parse(raw) if raw else None

    def open(self) -> FeedWindow:
        """Start a read from the committed position."""
        return FeedWindow(
            self.position(),
            overlap=self.overlap,
            seen=self._load_seen() if self.track_seen else (),
            track_seen=self.track_seen,
            start_from=self.start_from,
        )

    def commit(self, window: FeedWindow) -> FeedPosition | None:
        """Store where ``window`` ended (after the caller stored its records).

        If another read committed since ``window`` opened, the newer of the two
        positions wins and their seen sets merge: two commits never move the feed
        backwards past each other's records."""
        end = window.end()
        if end is None or (end == window.start and not window.delivered):
            return end  # nothing read, held or reached: nothing to store
        current = self.position()
        versions = set(window.seen(end))
        if current is not None and current != window.start:
            if current > end:
                end = current
            versions |= self._load_seen()
            trimmed = FeedWindow(end, overlap=self.overlap, seen=versions)
            versions = set(trimmed.seen(end))
        if self.track_seen:
            self.store.set_cursor(self.seen_name, json.dumps(sorted(versions)), tenant=self.tenant)
        self.store.set_cursor(self.name, end.text(), tenant=self.tenant)
        return end

    def batch(
        self,
        fetch: Callable[[datetime | None], Iterable[T]],
        stamp: Callable[[T], tuple[datetime | None, str | None]] = stamp_of,  # type: ignore[assignment]
        *,
        keep: Callable[[T], bool] | None = None,
        on_commit: Callable[[list[T]], None] | None = None,
    ) -> ImportBatch[T]:
        """Read the records new since the committed position and hand them over with
        their commit. ``fetch(since)`` reads the ERP; ``stamp`` gives a record's
        ``(updated_at, id)`` (default: its attributes of those names); ``keep`` filters
        what is delivered (records left out still move the feed); ``on_commit`` runs
        with the delivered records after the commit."""
        window = self.open()
        records = [
            record
            for record in fetch(window.since)
            if window.admit(*stamp(record)) and (keep is None or keep(record))
        ]

        def commit() -> None:
            self.commit(window)
            if on_commit is not None:
                on_commit(records)

        cursor = window.start.text() if window.start is not None else None
        return ImportBatch(records, commit, cursor)

    def _parse(self, value: str) -> FeedPosition:
        try:
            return FeedPosition.parse(value)
        except ValueError as exc:
            raise ConfigurationError(
                f"the cursor {self.name!r} holds {value!r}, not '<ISO timestamp>|<id>': {exc}",
                hint="Fix or delete the cursor in the sync store to re-import from the start",
            ) from None

    def _load_seen(self) -> set[str]:
        raw = self.store.get_cursor(self.seen_name, tenant=self.tenant)
        if not raw:
            return set()
        try:
            values = json.loads(raw)
        except ValueError:
            return set()  # a damaged seen set only costs re-deliveries inside the window
        return {v for v in values if isinstance(v, str)} if isinstance(values, list) else set()


class ImportBatch(Generic[T]):
    """Records read from the ERP, and the step that acknowledges them.

    Store ``batch.records`` locally, then call :meth:`commit` so the next import starts
    after them; or use ``with batch:``, which commits when the block ends without an
    exception. An uncommitted batch is delivered again (deduplicated) by the next import.
    """

    def __init__(self, records: list[T], on_commit: Callable[[], None], cursor: str | None) -> None:
        self.records: list[T] = records
        self.cursor = cursor
        self._on_commit = on_commit
        self.committed = False

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[T]:
        return iter(self.records)

    def commit(self) -> None:
        """Advance the feed past these records (idempotent)."""
        if not self.committed:
            self._on_commit()
            self.committed = True

    def __enter__(self) -> ImportBatch[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()

    def __repr__(self) -> str:
        return f"ImportBatch({len(self.records)} records, committed={self.committed})"
