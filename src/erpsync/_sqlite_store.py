"""The SQLite implementation of :class:`erpsync.store.SyncStore`.

It lives apart from :mod:`erpsync.store` so that the store's vocabulary (ledger entries,
claims, runs, the interface a Postgres or DynamoDB store implements) reads on its own,
while the SQL, the schema migrations and the connection handling that only SQLite needs
stay here. :mod:`erpsync.store` re-exports :class:`SQLiteSyncStore` lazily, so
``from erpsync.store import SQLiteSyncStore`` remains the public spelling and importing
this module first cannot run into a circular import.

Concurrency: one SQLite file in WAL mode, safe for several threads (one connection per
store, serialised by a lock) and several processes (writes run in ``BEGIN IMMEDIATE``
transactions and wait up to ``busy_timeout`` for each other).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from erpsync._redact import redact, truncate
from erpsync.errors import ConfigurationError, ConflictError, ErpSyncError, ServiceError
from erpsync.store import (
    DEFAULT_TENANT,
    Claim,
    EntryState,
    KeyLike,
    LedgerEntry,
    LedgerKey,
    RunError,
    RunRecord,
    RunStatus,
    SyncStore,
)

__all__ = ["SCHEMA_VERSION", "SQLiteSyncStore"]

_FINAL_RUN_STATUSES = frozenset({"ok", "partial", "failed"})
_ERROR_TEXT_LIMIT = 2000


# -- helpers -------------------------------------------------------------------------------


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime) -> datetime:
    """Naive datetimes from a user clock are taken as UTC, not local time."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _fmt(value: datetime | None) -> str | None:
    # Fixed width, so stored timestamps sort as text in time order.
    return None if value is None else _as_utc(value).isoformat(timespec="microseconds")


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _parse_required(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _to_key(target: KeyLike | Claim) -> LedgerKey:
    if isinstance(target, Claim):
        return target.key
    if isinstance(target, LedgerKey):
        return target
    if isinstance(target, tuple) and len(target) == 3 and all(isinstance(p, str) for p in target):
        return LedgerKey(*target)
    if isinstance(target, tuple) and len(target) == 4 and all(isinstance(p, str) for p in target):
        return LedgerKey(*target)
    raise ConfigurationError(
        "a ledger key is a LedgerKey, a Claim or a (backend, record_type, source_key[, tenant]) "
        "tuple, "
        f"not {target!r}"
    )


def _check_name(what: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{what} must be a non-empty string, not {value!r}")
    return value


def _clean_error(text: str) -> str:
    return truncate(redact(str(text)), _ERROR_TEXT_LIMIT)


# -- schema ------------------------------------------------------------------------------

#: The ledger's columns as version 1 made them (version 2 adds ``tenant``). Frozen: a
#: migration that changes a column spells out its own table.
_LEDGER_FIELDS = """
    backend TEXT NOT NULL,
    record_type TEXT NOT NULL,
    source_key TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('claimed', 'written', 'failed')),
    remote_id TEXT,
    external_id TEXT,
    content_hash TEXT,
    number TEXT,
    owner TEXT,
    lease_expires_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    updated_at TEXT NOT NULL
"""

#: Schema migrations, applied in order; the database's ``user_version`` records the last.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        f"CREATE TABLE ledger ({_LEDGER_FIELDS}, PRIMARY KEY (backend, record_type, source_key))",
        "CREATE INDEX ledger_remote ON ledger (backend, record_type, remote_id)",
        "CREATE INDEX ledger_state ON ledger (state)",
        """
        CREATE TABLE cursors (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            backend TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,
            counts TEXT NOT NULL DEFAULT '{}',
            errors TEXT NOT NULL DEFAULT '[]'
        )
        """,
        "CREATE INDEX runs_kind ON runs (kind, started_at)",
        """
        CREATE TABLE locks (
            name TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )
        """,
    ),
    # Version 2 scopes ledger keys, cursors and runs by tenant (a QuickBooks realm, a
    # NetSuite account). SQLite cannot change a primary key in place, so the keyed
    # tables are rebuilt; the rows of a version-1 store move to ``:legacy_tenant``.
    2: (
        f"CREATE TABLE ledger_v2 ({_LEDGER_FIELDS}, tenant TEXT NOT NULL, "
        "PRIMARY KEY (tenant, backend, record_type, source_key))",
        "INSERT INTO ledger_v2 SELECT *, :legacy_tenant FROM ledger",
        "DROP TABLE ledger",
        "ALTER TABLE ledger_v2 RENAME TO ledger",
        "CREATE INDEX ledger_remote ON ledger (tenant, backend, record_type, remote_id)",
        "CREATE INDEX ledger_state ON ledger (state)",
        """
        CREATE TABLE cursors_v2 (
            tenant TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (tenant, name)
        )
        """,
        "INSERT INTO cursors_v2 SELECT :legacy_tenant, name, value, updated_at FROM cursors",
        "DROP TABLE cursors",
        "ALTER TABLE cursors_v2 RENAME TO cursors",
        "ALTER TABLE runs ADD COLUMN tenant TEXT NOT NULL DEFAULT ''",
        "UPDATE runs SET tenant = :legacy_tenant",
    ),
}

SCHEMA_VERSION = max(_MIGRATIONS)

_LEDGER_COLUMNS = (
    "backend, record_type, source_key, state, remote_id, external_id, content_hash, number, "
    "owner, lease_expires_at, attempts, last_error, updated_at, tenant"
)
_KEY_WHERE = "backend = ? AND record_type = ? AND source_key = ? AND tenant = ?"
_KEY_CONFLICT = "ON CONFLICT (tenant, backend, record_type, source_key) DO UPDATE SET "
_PAGE = 500


class SQLiteSyncStore(SyncStore):
    """The default store: one SQLite file (or ``":memory:"``, for tests and one-off runs).

    One connection per store, used under a lock, so a store can be shared by threads;
    several stores (in several processes) can share one file, and SQLite's own locking
    with ``BEGIN IMMEDIATE`` makes each claim atomic among them. After ``fork`` the
    child opens its own connection, since SQLite connections must not cross a fork.
    ``busy_timeout`` (seconds) is how long a write waits for another process's
    transaction before failing with a retryable :class:`~erpsync.errors.ServiceError`.

    Every ledger key, cursor and run belongs to a tenant (a QuickBooks realm id, a
    NetSuite account id; workflows pass their backend's ``tenant``). A store written by
    erpsync before tenants existed (schema version 1) is migrated on first open, and its
    rows are assigned to ``legacy_tenant``: **when upgrading a store that served one
    company, pass that company's realm id (QuickBooks) or account id (NetSuite)**, or the
    upgraded workflows will not find their ledger and cursors and will treat every record
    as new. The default ``"default"`` suits a store whose backend keeps the default tenant.
    """

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
        return f"SQLiteSyncStore({self._path!r})"

    def __enter__(self) -> SQLiteSyncStore:
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

    # -- ledger ----------------------------------------------------------------------------

    @staticmethod
    def _entry(row: Sequence[Any]) -> LedgerEntry:
        return LedgerEntry(
            backend=row[0],
            record_type=row[1],
            source_key=row[2],
            state=row[3],
            remote_id=row[4],
            external_id=row[5],
            content_hash=row[6],
            number=row[7],
            owner=row[8],
            lease_expires_at=_parse(row[9]),
            attempts=row[10],
            last_error=row[11],
            updated_at=_parse_required(row[12]),
            tenant=row[13],
        )

    def _select(self, conn: sqlite3.Connection, key: LedgerKey) -> LedgerEntry | None:
        row = conn.execute(
            f"SELECT {_LEDGER_COLUMNS} FROM ledger "  # noqa: S608 - constant column list
            f"WHERE {_KEY_WHERE}",
            _key_params(key),
        ).fetchone()
        return None if row is None else self._entry(row)

    def get(
        self, backend: str, record_type: str, source_key: str, *, tenant: str = DEFAULT_TENANT
    ) -> LedgerEntry | None:
        rows = self._read(
            f"SELECT {_LEDGER_COLUMNS} FROM ledger "  # noqa: S608 - constant column list
            f"WHERE {_KEY_WHERE}",
            (backend, record_type, source_key, tenant),
        )
        return self._entry(rows[0]) if rows else None

    def claim(
        self,
        backend: str,
        record_type: str,
        source_key: str,
        *,
        owner: str,
        lease_seconds: float,
        external_id: str | None = None,
        reclaim_written: bool = False,
        tenant: str = DEFAULT_TENANT,
    ) -> Claim | None:
        key = LedgerKey(
            _check_name("backend", backend),
            _check_name("record_type", record_type),
            _check_name("source_key", source_key),
            _check_name("tenant", tenant),
        )
        _check_name("owner", owner)
        if not lease_seconds > 0:
            raise ConfigurationError(f"lease_seconds must be positive, not {lease_seconds!r}")
        try:
            with self._write() as conn:
                now = self._now()
                current = self._select(conn, key)
                if current is not None and not self._claimable(current, now, reclaim_written):
                    return None
                expires = now + timedelta(seconds=lease_seconds)
                attempt = (current.attempts if current else 0) + 1
                ext = (
                    external_id
                    if external_id is not None
                    else (current.external_id if current else None)
                )
                conn.execute(
                    f"INSERT INTO ledger ({_LEDGER_COLUMNS}) "  # noqa: S608 - constant columns
                    "VALUES (?, ?, ?, 'claimed', NULL, ?, NULL, NULL, ?, ?, ?, NULL, ?, ?) "
                    f"{_KEY_CONFLICT}"
                    "state = 'claimed', external_id = excluded.external_id, "
                    "owner = excluded.owner, lease_expires_at = excluded.lease_expires_at, "
                    "attempts = excluded.attempts, updated_at = excluded.updated_at",
                    (
                        *_key_params(key)[:3],
                        ext,
                        owner,
                        _fmt(expires),
                        attempt,
                        _fmt(now),
                        key.tenant,
                    ),
                )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        return Claim(
            key=key,
            owner=owner,
            attempt=attempt,
            lease_expires_at=expires,
            previous_state=current.state if current else None,
            remote_id=current.remote_id if current else None,
            external_id=ext,
            content_hash=current.content_hash if current else None,
        )

    @staticmethod
    def _claimable(entry: LedgerEntry, now: datetime, reclaim_written: bool) -> bool:
        if entry.state == "failed":
            return True
        if entry.state == "written":
            return reclaim_written
        # claimed: only a dead writer's lease can be taken over.
        return entry.lease_expires_at is None or entry.lease_expires_at <= now

    def _fenced(self, conn: sqlite3.Connection, claim: Claim) -> LedgerEntry | None:
        """The entry if ``claim`` still holds it, else None."""
        entry = self._select(conn, claim.key)
        if (
            entry is not None
            and entry.state == "claimed"
            and entry.owner == claim.owner
            and entry.attempts == claim.attempt
        ):
            return entry
        return None

    def renew(self, claim: Claim, lease_seconds: float) -> Claim:
        if not lease_seconds > 0:
            raise ConfigurationError(f"lease_seconds must be positive, not {lease_seconds!r}")
        try:
            with self._write() as conn:
                if self._fenced(conn, claim) is None:
                    raise ConflictError(
                        "the claim was lost to another owner and cannot be renewed",
                        record=str(claim.key),
                    )
                now = self._now()
                expires = now + timedelta(seconds=lease_seconds)
                conn.execute(
                    f"UPDATE ledger SET lease_expires_at = ?, updated_at = ? WHERE {_KEY_WHERE}",  # noqa: S608
                    (_fmt(expires), _fmt(now), *_key_params(claim.key)),
                )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        return Claim(
            key=claim.key,
            owner=claim.owner,
            attempt=claim.attempt,
            lease_expires_at=expires,
            previous_state=claim.previous_state,
            remote_id=claim.remote_id,
            external_id=claim.external_id,
            content_hash=claim.content_hash,
        )

    def mark_written(
        self,
        target: Claim | KeyLike,
        remote_id: str,
        content_hash: str | None = None,
        number: str | None = None,
        *,
        external_id: str | None = None,
    ) -> LedgerEntry:
        key = _to_key(target)
        _check_name("remote_id", remote_id)
        try:
            with self._write() as conn:
                now = self._now()
                if isinstance(target, Claim) and self._fenced(conn, target) is None:
                    current = self._select(conn, key)
                    if (
                        current is not None
                        and current.state == "written"
                        and current.remote_id == remote_id
                    ):
                        return current  # the other owner recorded the same outcome
                    raise ConflictError(
                        f"the claim (attempt {target.attempt} by {target.owner}) was taken "
                        "over by another owner before the write was recorded",
                        record=str(key),
                        detail=f"this write produced remote id {remote_id}",
                        hint="Check the ERP for a duplicate record",
                    )
                if external_id is None and isinstance(target, Claim):
                    external_id = target.external_id
                conn.execute(
                    f"INSERT INTO ledger ({_LEDGER_COLUMNS}) "  # noqa: S608 - constant columns
                    "VALUES (?, ?, ?, 'written', ?, ?, ?, ?, NULL, NULL, 0, NULL, ?, ?) "
                    f"{_KEY_CONFLICT}"
                    "state = 'written', remote_id = excluded.remote_id, "
                    "external_id = COALESCE(excluded.external_id, ledger.external_id), "
                    "content_hash = excluded.content_hash, "
                    "number = COALESCE(excluded.number, ledger.number), "
                    "owner = NULL, lease_expires_at = NULL, last_error = NULL, "
                    "updated_at = excluded.updated_at",
                    (
                        *_key_params(key)[:3],
                        remote_id,
                        external_id,
                        content_hash,
                        number,
                        _fmt(now),
                        key.tenant,
                    ),
                )
                entry = self._select(conn, key)
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        assert entry is not None
        return entry

    def mark_failed(self, target: Claim | KeyLike, error_text: str) -> LedgerEntry:
        key = _to_key(target)
        text = _clean_error(error_text)
        try:
            with self._write() as conn:
                now = self._now()
                if isinstance(target, Claim) and self._fenced(conn, target) is None:
                    # The newer owner's outcome wins; report what the ledger holds.
                    current = self._select(conn, key)
                    if current is not None:
                        return current
                conn.execute(
                    f"INSERT INTO ledger ({_LEDGER_COLUMNS}) "  # noqa: S608 - constant columns
                    "VALUES (?, ?, ?, 'failed', NULL, NULL, NULL, NULL, NULL, NULL, 1, ?, ?, ?) "
                    f"{_KEY_CONFLICT}"
                    "state = 'failed', owner = NULL, lease_expires_at = NULL, "
                    "last_error = excluded.last_error, updated_at = excluded.updated_at",
                    (*_key_params(key)[:3], text, _fmt(now), key.tenant),
                )
                entry = self._select(conn, key)
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        assert entry is not None
        return entry

    def release(self, claim: Claim) -> None:
        try:
            with self._write() as conn:
                if self._fenced(conn, claim) is None:
                    return
                params = _key_params(claim.key)
                if claim.previous_state is None:
                    conn.execute(f"DELETE FROM ledger WHERE {_KEY_WHERE}", params)  # noqa: S608
                    return
                # Back to exactly what it was, including the attempt count, so that an
                # unused claim does not make the next one suspect a partial write.
                conn.execute(
                    "UPDATE ledger SET state = ?, owner = NULL, lease_expires_at = NULL, "  # noqa: S608
                    "attempts = ?, updated_at = ? "
                    f"WHERE {_KEY_WHERE}",
                    (claim.previous_state, claim.attempt - 1, _fmt(self._now()), *params),
                )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    def iter_entries(
        self,
        backend: str | None = None,
        record_type: str | None = None,
        state: EntryState | None = None,
        *,
        tenant: str | None = None,
    ) -> Iterator[LedgerEntry]:
        filters: list[str] = []
        params: list[Any] = []
        columns = (("backend", backend), ("record_type", record_type), ("state", state))
        for column, value in (*columns, ("tenant", tenant)):
            if value is not None:
                filters.append(f"{column} = ?")
                params.append(value)
        after: tuple[str, str, str, str] | None = None
        # Keyset pages, so a long iteration holds no lock and no open cursor between pages.
        while True:
            where = list(filters)
            page_params = list(params)
            if after is not None:
                where.append("(tenant, backend, record_type, source_key) > (?, ?, ?, ?)")
                page_params.extend(after)
            sql = f"SELECT {_LEDGER_COLUMNS} FROM ledger"  # noqa: S608 - constant columns
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += f" ORDER BY tenant, backend, record_type, source_key LIMIT {_PAGE}"
            rows = self._read(sql, page_params)
            for row in rows:
                yield self._entry(row)
            if len(rows) < _PAGE:
                return
            after = (rows[-1][13], rows[-1][0], rows[-1][1], rows[-1][2])

    def find_by_remote_id(
        self, backend: str, record_type: str, remote_id: str, *, tenant: str = DEFAULT_TENANT
    ) -> LedgerEntry | None:
        rows = self._read(
            f"SELECT {_LEDGER_COLUMNS} FROM ledger "  # noqa: S608 - constant column list
            "WHERE tenant = ? AND backend = ? AND record_type = ? AND remote_id = ? "
            "ORDER BY updated_at DESC LIMIT 1",
            (tenant, backend, record_type, remote_id),
        )
        return self._entry(rows[0]) if rows else None

    # -- cursors ---------------------------------------------------------------------------

    def get_cursor(self, name: str, *, tenant: str = DEFAULT_TENANT) -> str | None:
        rows = self._read("SELECT value FROM cursors WHERE tenant = ? AND name = ?", (tenant, name))
        return str(rows[0][0]) if rows else None

    def set_cursor(self, name: str, value: str, *, tenant: str = DEFAULT_TENANT) -> None:
        _check_name("cursor name", name)
        _check_name("tenant", tenant)
        if not isinstance(value, str):
            raise ConfigurationError(f"a cursor value is a string, not {type(value).__name__}")
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO cursors (tenant, name, value, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (tenant, name) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at",
                    (tenant, name, value, _fmt(self._now())),
                )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    # -- run log ---------------------------------------------------------------------------

    def start_run(self, kind: str, backend: str, *, tenant: str = DEFAULT_TENANT) -> int:
        _check_name("kind", kind)
        _check_name("backend", backend)
        _check_name("tenant", tenant)
        try:
            with self._write() as conn:
                cursor = conn.execute(
                    "INSERT INTO runs (kind, backend, started_at, status, tenant) "
                    "VALUES (?, ?, ?, 'running', ?)",
                    (kind, backend, _fmt(self._now()), tenant),
                )
                run_id = cursor.lastrowid
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        assert run_id is not None
        return run_id

    def finish_run(
        self,
        run_id: int,
        *,
        status: RunStatus,
        counts: Mapping[str, int] | None = None,
        errors: Sequence[RunError] = (),
    ) -> RunRecord:
        if status not in _FINAL_RUN_STATUSES:
            raise ConfigurationError(
                f"a run finishes as 'ok', 'partial' or 'failed', not {status!r}"
            )
        clean_counts: dict[str, int] = {}
        for name, value in (counts or {}).items():
            if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, int):
                raise ConfigurationError(
                    f"run counts map names to integers, not {name!r}: {value!r}"
                )
            clean_counts[name] = value
        clean_errors = []
        for error in errors:
            if not isinstance(error, RunError):
                raise ConfigurationError(f"run errors are RunError values, not {error!r}")
            clean_errors.append(
                {
                    "record": _clean_error(error.record),
                    "message": _clean_error(error.message),
                    "code": error.code,
                }
            )
        try:
            with self._write() as conn:
                row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
                if row is None:
                    raise ConfigurationError(f"there is no run with id {run_id}")
                if row[0] != "running":
                    raise ConfigurationError(f"run {run_id} already finished as {row[0]!r}")
                conn.execute(
                    "UPDATE runs SET finished_at = ?, status = ?, counts = ?, errors = ? "
                    "WHERE id = ?",
                    (
                        _fmt(self._now()),
                        status,
                        json.dumps(clean_counts, sort_keys=True),
                        json.dumps(clean_errors),
                        run_id,
                    ),
                )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        record = self.get_run(run_id)
        assert record is not None
        return record

    def abandon_runs(
        self, kind: str, backend: str, reason: str, *, tenant: str = DEFAULT_TENANT
    ) -> list[int]:
        error = json.dumps(
            [{"record": "run", "message": _clean_error(reason), "code": "abandoned"}]
        )
        try:
            with self._write() as conn:
                ids = [
                    row[0]
                    for row in conn.execute(
                        "SELECT id FROM runs WHERE kind = ? AND backend = ? AND tenant = ? "
                        "AND status = 'running'",
                        (kind, backend, tenant),
                    )
                ]
                conn.executemany(
                    "UPDATE runs SET finished_at = ?, status = 'failed', errors = ? WHERE id = ?",
                    [(_fmt(self._now()), error, run_id) for run_id in ids],
                )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        return ids

    @staticmethod
    def _run(row: Sequence[Any]) -> RunRecord:
        return RunRecord(
            id=row[0],
            kind=row[1],
            backend=row[2],
            started_at=_parse_required(row[3]),
            finished_at=_parse(row[4]),
            status=row[5],
            counts=json.loads(row[6]),
            errors=tuple(
                RunError(record=e["record"], message=e["message"], code=e.get("code"))
                for e in json.loads(row[7])
            ),
            tenant=row[8],
        )

    _RUN_COLUMNS = "id, kind, backend, started_at, finished_at, status, counts, errors, tenant"

    def get_run(self, run_id: int) -> RunRecord | None:
        rows = self._read(
            f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id = ?",  # noqa: S608
            (run_id,),
        )
        return self._run(rows[0]) if rows else None

    def runs(
        self,
        limit: int = 20,
        kind: str | None = None,
        backend: str | None = None,
        *,
        tenant: str | None = None,
    ) -> list[RunRecord]:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ConfigurationError(f"limit must be a non-negative integer, not {limit!r}")
        where: list[str] = []
        params: list[Any] = []
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if backend is not None:
            where.append("backend = ?")
            params.append(backend)
        if tenant is not None:
            where.append("tenant = ?")
            params.append(tenant)
        sql = f"SELECT {self._RUN_COLUMNS} FROM runs"  # noqa: S608 - constant columns
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC, id DESC LIMIT ?"
        params.append(limit)
        return [self._run(row) for row in self._read(sql, params)]

    # -- advisory locks --------------------------------------------------------------------

    def lock(self, name: str, owner: str, ttl: float) -> bool:
        _check_name("lock name", name)
        _check_name("owner", owner)
        if not ttl > 0:
            raise ConfigurationError(f"ttl must be positive, not {ttl!r}")
        try:
            with self._write() as conn:
                now = self._now()
                row = conn.execute(
                    "SELECT owner, expires_at FROM locks WHERE name = ?", (name,)
                ).fetchone()
                if row is not None and row[0] != owner:
                    expires = _parse(row[1])
                    if expires is not None and expires > now:
                        return False
                conn.execute(
                    "INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
                    "expires_at = excluded.expires_at",
                    (name, owner, _fmt(now + timedelta(seconds=ttl))),
                )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        return True

    def unlock(self, name: str, owner: str) -> bool:
        try:
            with self._write() as conn:
                cursor = conn.execute(
                    "DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner)
                )
                released = cursor.rowcount > 0
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        return released


def _rollback(conn: sqlite3.Connection) -> None:
    # SQLite may already have rolled back (on SQLITE_FULL, an interrupted statement).
    if conn.in_transaction:
        conn.execute("ROLLBACK")


_FORK_ORPHANS: list[sqlite3.Connection] = []


def _key_params(key: LedgerKey) -> tuple[str, str, str, str]:
    """The key in the order of ``_KEY_WHERE``."""
    return (key.backend, key.record_type, key.source_key, key.tenant)
