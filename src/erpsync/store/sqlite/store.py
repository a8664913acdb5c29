"""The SQLite implementation of :class:`erpsync.store.SyncStore`: cursors, the run log
and named locks on top of the ledger (:mod:`erpsync.store.sqlite.ledger`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from erpsync.errors import ConfigurationError
from erpsync.store._checks import (
    check_final_status,
    check_limit,
    check_name,
    check_positive,
    clean_counts,
    clean_error,
    clean_errors,
    errors_from_json,
)
from erpsync.store.protocol import SyncStore
from erpsync.store.sqlite.connection import fmt, parse, parse_required
from erpsync.store.sqlite.ledger import SQLiteLedger
from erpsync.store.types import DEFAULT_TENANT, LockLease, RunError, RunRecord, RunStatus

__all__ = ["SQLiteSyncStore"]

_RUN_COLUMNS = "id, kind, backend, started_at, finished_at, status, counts, errors, tenant"


def _run(row: Sequence[Any]) -> RunRecord:
    return RunRecord(
        id=row[0],
        kind=row[1],
        backend=row[2],
        started_at=parse_required(row[3]),
        finished_at=parse(row[4]),
        status=row[5],
        counts=json.loads(row[6]),
        errors=errors_from_json(json.loads(row[7])),
        tenant=row[8],
    )


class SQLiteSyncStore(SQLiteLedger, SyncStore):
    """The default store: one SQLite file (or ``":memory:"``, for tests and one-off runs).

    One connection per store, used under a lock, so a store can be shared by threads;
    several stores (in several processes) can share one file, and SQLite's own locking
    with ``BEGIN IMMEDIATE`` makes each claim atomic among them. After ``fork`` the
    child opens its own connection, since SQLite connections must not cross a fork.
    ``busy_timeout`` (seconds) is how long a write waits for another process's
    transaction before failing with a retryable :class:`~erpsync.errors.ServiceError`.
    Leases and lock TTLs use ``clock`` (this host's), which is why stores shared by
    several hosts should be :class:`~erpsync.store.PostgresSyncStore` (server time).
    """

    # -- cursors ---------------------------------------------------------------------------

    def get_cursor(self, name: str, *, tenant: str = DEFAULT_TENANT) -> str | None:
        rows = self._read("SELECT value FROM cursors WHERE tenant = ? AND name = ?", (tenant, name))
        if rows:
            return str(rows[0][0])
        if not self._legacy or tenant == DEFAULT_TENANT:
            return None
        try:
            with self._write() as conn:
                # A cursor from before tenants: the first tenant that reads it takes it.
                conn.execute(
                    "UPDATE cursors SET tenant = ?, adopt = 0 "
                    "WHERE tenant = ? AND name = ? AND adopt = 1",
                    (tenant, DEFAULT_TENANT, name),
                )
                row = conn.execute(
                    "SELECT value FROM cursors WHERE tenant = ? AND name = ?", (tenant, name)
                ).fetchone()
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        return None if row is None else str(row[0])

    def set_cursor(self, name: str, value: str, *, tenant: str = DEFAULT_TENANT) -> None:
        check_name("cursor name", name)
        check_name("tenant", tenant)
        if not isinstance(value, str):
            raise ConfigurationError(f"a cursor value is a string, not {type(value).__name__}")
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO cursors (tenant, name, value, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (tenant, name) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at, adopt = 0",
                    (tenant, name, value, fmt(self._now())),
                )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    # -- run log ---------------------------------------------------------------------------

    def start_run(self, kind: str, backend: str, *, tenant: str = DEFAULT_TENANT) -> int:
        check_name("kind", kind)
        check_name("backend", backend)
        check_name("tenant", tenant)
        try:
            with self._write() as conn:
                cursor = conn.execute(
                    "INSERT INTO runs (kind, backend, started_at, status, tenant) "
                    "VALUES (?, ?, ?, 'running', ?)",
                    (kind, backend, fmt(self._now()), tenant),
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
        check_final_status(status)
        counts_json = json.dumps(clean_counts(counts), sort_keys=True)
        errors_json = json.dumps(clean_errors(errors))
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
                    (fmt(self._now()), status, counts_json, errors_json, run_id),
                )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        record = self.get_run(run_id)
        assert record is not None
        return record

    def abandon_runs(
        self, kind: str, backend: str, reason: str, *, tenant: str = DEFAULT_TENANT
    ) -> list[int]:
        error = json.dumps([{"record": "run", "message": clean_error(reason), "code": "abandoned"}])
        try:
            with self._write() as conn:
                ids = [
                    row[0]
                    for row in conn.execute(
                        "SELECT id FROM runs WHERE tenant = ? AND kind = ? AND backend = ? "
                        "AND status = 'running'",
                        (tenant, kind, backend),
                    )
                ]
                conn.executemany(
                    "UPDATE runs SET finished_at = ?, status = 'failed', errors = ? WHERE id = ?",
                    [(fmt(self._now()), error, run_id) for run_id in ids],
                )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        return ids

    def get_run(self, run_id: int) -> RunRecord | None:
        rows = self._read(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?",  # noqa: S608 - constant
            (run_id,),
        )
        return _run(rows[0]) if rows else None

    def runs(
        self,
        limit: int = 20,
        kind: str | None = None,
        backend: str | None = None,
        *,
        tenant: str | None = None,
    ) -> list[RunRecord]:
        check_limit(limit)
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("tenant", tenant), ("kind", kind), ("backend", backend)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"  # noqa: S608 - constant columns
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC, id DESC LIMIT ?"
        params.append(limit)
        return [_run(row) for row in self._read(sql, params)]

    # -- advisory locks --------------------------------------------------------------------

    def lock(
        self, name: str, owner: str, ttl: float, *, tenant: str = DEFAULT_TENANT
    ) -> LockLease | None:
        check_name("lock name", name)
        check_name("owner", owner)
        check_name("tenant", tenant)
        check_positive("ttl", ttl)
        try:
            with self._write() as conn:
                now = self._now()
                row = conn.execute(
                    "SELECT owner, expires_at, fence FROM locks WHERE tenant = ? AND name = ?",
                    (tenant, name),
                ).fetchone()
                fence = 1 if row is None else int(row[2])
                if row is not None and row[0] != owner:
                    expires = parse(row[1])
                    if row[0] is not None and expires is not None and expires > now:
                        return None
                    fence += 1  # the lock changes hands
                until = now + timedelta(seconds=ttl)
                conn.execute(
                    "INSERT INTO locks (tenant, name, owner, expires_at, fence) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, name) DO UPDATE SET "
                    "owner = excluded.owner, expires_at = excluded.expires_at, "
                    "fence = excluded.fence",
                    (tenant, name, owner, fmt(until), fence),
                )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        return LockLease(name=name, owner=owner, fence=fence, expires_at=until, tenant=tenant)

    def unlock(self, name: str, owner: str, *, tenant: str = DEFAULT_TENANT) -> bool:
        try:
            with self._write() as conn:
                # The row stays (owner cleared) so the fencing number keeps growing.
                cursor = conn.execute(
                    "UPDATE locks SET owner = NULL, expires_at = NULL "
                    "WHERE tenant = ? AND name = ? AND owner = ?",
                    (tenant, name, owner),
                )
                released = cursor.rowcount > 0
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        return released
