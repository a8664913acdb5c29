"""The SQLite implementation of :class:`erpsync.store.SyncStore`: the ledger
(:mod:`.ledger`) plus cursors, the run log and advisory locks, over one connection
(:mod:`.connection`) and one schema (:mod:`.schema`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from erpsync.errors import ConfigurationError
from erpsync.store.protocol import DEFAULT_TENANT, RunError, RunRecord, RunStatus, SyncStore
from erpsync.store.sqlite.ledger import SQLiteLedger
from erpsync.store.sqlite.schema import (
    _FINAL_RUN_STATUSES,
    _check_name,
    _clean_error,
    _fmt,
    _parse,
    _parse_required,
)

__all__ = ["SQLiteSyncStore"]


class SQLiteSyncStore(SQLiteLedger, SyncStore):
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
