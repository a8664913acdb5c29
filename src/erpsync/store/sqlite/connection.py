"""The SQLite store's connection handling: opening (and migrating) the file, one
connection per process used under a lock, write transactions that take SQLite's write
lock up front, and SQLite errors translated into erpsync's error tree.

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
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from erpsync.errors import ConfigurationError, ErpSyncError, ServiceError
from erpsync.store.protocol import DEFAULT_TENANT
from erpsync.store.sqlite.schema import (
    _FORK_ORPHANS,
    _MIGRATIONS,
    SCHEMA_VERSION,
    _as_utc,
    _check_name,
    _rollback,
    _utc_now,
)

__all__ = ["SQLiteConnection"]


class SQLiteConnection:
    """The plumbing under :class:`~erpsync.store.SQLiteSyncStore` (see the module docstring)."""

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        clock: Callable[[], datetime] = _utc_now,
        busy_timeout: float = 30.0,
        legacy_tenant: str = DEFAULT_TENANT,
    ) -> None:
        if busy_timeout < 0:
            raise ConfigurationError("busy_timeout must not be negative")
        self._legacy_tenant = _check_name("legacy_tenant", legacy_tenant)
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
        with self._lock:
            self._connection()  # open eagerly so a bad path fails here, not mid-sync

    # -- plumbing --------------------------------------------------------------------------

    @property
    def path(self) -> str:
        return self._path

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._path!r})"

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
        return _as_utc(self._clock())

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
            for target in sorted(v for v in _MIGRATIONS if v > version):
                for statement in _MIGRATIONS[target]:
                    conn.execute(statement, {"legacy_tenant": self._legacy_tenant})
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
