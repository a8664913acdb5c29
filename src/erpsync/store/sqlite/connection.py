"""The SQLite store's connection handling: one connection per store and process, WAL,
schema migrations on open, ``BEGIN IMMEDIATE`` write transactions, and SQLite errors
translated into the error tree.

Concurrency: one SQLite file in WAL mode, safe for several threads (one connection per
store, serialised by a lock) and several processes (writes run in ``BEGIN IMMEDIATE``
transactions and wait up to ``busy_timeout`` for each other).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from erpsync.errors import ConfigurationError, ErpSyncError, ServiceError
from erpsync.store.sqlite.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["SQLiteConnection", "as_utc", "fmt", "parse", "parse_required"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes from a user clock are taken as UTC, not local time."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def fmt(value: datetime | None) -> str | None:
    # Fixed width, so stored timestamps sort as text in time order.
    return None if value is None else as_utc(value).isoformat(timespec="microseconds")


def parse(value: str | None) -> datetime | None:
    return None if value is None or value == "" else datetime.fromisoformat(value)


def parse_required(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _has_legacy_rows(conn: sqlite3.Connection) -> bool:
    """Whether rows from a store written before tenants still wait to be adopted."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM ledger WHERE adopt = 1) "
        "OR EXISTS (SELECT 1 FROM cursors WHERE adopt = 1)"
    ).fetchone()
    return bool(row[0])


class SQLiteConnection:
    """File, connection and transaction handling of :class:`~erpsync.store.SQLiteSyncStore`."""

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        clock: Callable[[], datetime] = _utc_now,
        busy_timeout: float = 30.0,
    ) -> None:
        if busy_timeout < 0:
            raise ConfigurationError("busy_timeout must not be negative")
        raw = os.fspath(path)
        self._memory = raw == ":memory:"
        if self._memory:
            self._path = raw
        else:
            resolved = Path(raw).expanduser()
            try:
                resolved.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot create the directory for the sync store {resolved}: {exc}"
                ) from exc
            self._path = str(resolved)
        self._clock = clock
        self._busy_ms = int(busy_timeout * 1000)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._closed = False
        self._legacy = False
        with self._lock:
            self._connection()  # open eagerly so a bad path fails here, not mid-sync

    # -- plumbing --------------------------------------------------------------------------

    @property
    def path(self) -> str:
        return self._path

    def __repr__(self) -> str:
        return f"SQLiteSyncStore({self._path!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; further use raises ConfigurationError."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
            self._closed = True

    def _now(self) -> datetime:
        return as_utc(self._clock())

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise ConfigurationError(f"the sync store {self._path} is closed")
        if self._conn is not None and self._pid != os.getpid() and not self._memory:
            # Forked child: the parent's connection must not be used, nor closed (closing
            # its file descriptor would drop this process's POSIX locks on the file), so
            # it is parked for the life of the process.
            _FORK_ORPHANS.append(self._conn)
            self._conn = None
            self._pid = os.getpid()
        if self._conn is None:
            try:
                conn = sqlite3.connect(
                    self._path,
                    timeout=self._busy_ms / 1000,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
                if not self._memory:
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.execute("PRAGMA synchronous = NORMAL")
                self._migrate(conn)
            except sqlite3.OperationalError as exc:
                raise self._translate(exc) from exc
            except sqlite3.DatabaseError as exc:
                raise ConfigurationError(f"{self._path} is not a usable sync store: {exc}") from exc
            self._conn = conn
            self._legacy = _has_legacy_rows(conn)
        return self._conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ConfigurationError(
                f"the sync store {self._path} has schema version {version}, newer than this "
                f"erpsync understands ({SCHEMA_VERSION})",
                hint="Upgrade erpsync",
            )
        if version == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for target in sorted(v for v in MIGRATIONS if v > version):
                for statement in MIGRATIONS[target]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(target)}")
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise

    def _translate(self, exc: sqlite3.Error) -> ErpSyncError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return ServiceError(
                f"the sync store {self._path} stayed locked by another writer: {text}",
                retryable=True,
                hint="Another process is writing; retry, or raise busy_timeout",
            )
        if isinstance(exc, sqlite3.OperationalError) and "unable to open" in text:
            return ConfigurationError(f"cannot open the sync store {self._path}: {text}")
        return ServiceError(f"the sync store {self._path} failed: {text}", retryable=False)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes SQLite's write lock up front (BEGIN IMMEDIATE),
        so read-then-write decisions such as claims cannot interleave across processes."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc
            try:
                yield conn
            except BaseException:
                _rollback(conn)
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                raise self._translate(exc) from exc

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            conn = self._connection()
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc


def _rollback(conn: sqlite3.Connection) -> None:
    # SQLite may already have rolled back (on SQLITE_FULL, an interrupted statement).
    if conn.in_transaction:
        conn.execute("ROLLBACK")


_FORK_ORPHANS: list[sqlite3.Connection] = []
