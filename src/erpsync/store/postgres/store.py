# ruff: noqa: S608 - every SQL string is built from module constants; values are parameters
"""The PostgreSQL implementation of :class:`erpsync.store.SyncStore`.

Every lease and TTL is computed by the server (``now()``), never by a worker's clock, so
clock skew between hosts cannot shorten or stretch them. A claim is one statement,
``INSERT ... ON CONFLICT ... DO UPDATE ... WHERE <lease expired, or failed> RETURNING``:
the database decides who wins, with no read-then-write window. Locks carry a fencing
number that grows each time a lock changes hands.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from erpsync.errors import ConfigurationError, ConflictError
from erpsync.store._checks import (
    check_final_status,
    check_limit,
    check_name,
    check_positive,
    clean_counts,
    clean_error,
    clean_errors,
    errors_from_json,
    to_key,
)
from erpsync.store.postgres.connection import PostgresConnection
from erpsync.store.protocol import SyncStore
from erpsync.store.types import (
    DEFAULT_TENANT,
    Claim,
    EntryState,
    KeyLike,
    LedgerEntry,
    LedgerKey,
    LockLease,
    RunError,
    RunRecord,
    RunStatus,
)

__all__ = ["PostgresSyncStore"]

_COLS = (
    "backend, record_type, source_key, state, remote_id, external_id, content_hash, number, "
    "owner, lease_expires_at, attempts, last_error, updated_at, tenant"
)
_KEY = "tenant = %s AND backend = %s AND record_type = %s AND source_key = %s"
_FENCE = f"{_KEY} AND state = 'claimed' AND owner = %s AND attempts = %s"
_RUN_COLS = "id, kind, backend, started_at, finished_at, status, counts, errors, tenant"
_PAGE = 500


def _kp(key: LedgerKey) -> tuple[str, str, str, str]:
    return (key.tenant, key.backend, key.record_type, key.source_key)


def _fp(claim: Claim) -> tuple[Any, ...]:
    return (*_kp(claim.key), claim.owner, claim.attempt)


def _entry(row: Sequence[Any]) -> LedgerEntry:
    return LedgerEntry(*row)  # the columns of _COLS, in LedgerEntry's field order


def _run(row: Sequence[Any]) -> RunRecord:
    return RunRecord(
        id=row[0], kind=row[1], backend=row[2], started_at=row[3], finished_at=row[4],
        status=row[5], counts=json.loads(row[6]), errors=errors_from_json(json.loads(row[7])),
        tenant=row[8],
    )  # fmt: skip


class PostgresSyncStore(PostgresConnection, SyncStore):
    """A SyncStore on PostgreSQL: ``PostgresSyncStore("postgresql://user@host/db")``.

    Migrations run on open (``migrate=False`` leaves them to ``erpsync store migrate``).
    Safe for threads (a pool of ``pool_size`` connections), processes (after ``fork``
    the child opens its own pool) and hosts (the server's clock and row locks decide).
    """

    def get(
        self, backend: str, record_type: str, source_key: str, *, tenant: str = DEFAULT_TENANT
    ) -> LedgerEntry | None:
        row = self._one(
            f"SELECT {_COLS} FROM erpsync_ledger WHERE {_KEY}",
            (tenant, backend, record_type, source_key),
        )
        return None if row is None else _entry(row)

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
            check_name("backend", backend), check_name("record_type", record_type),
            check_name("source_key", source_key), check_name("tenant", tenant),
        )  # fmt: skip
        check_name("owner", owner)
        check_positive("lease_seconds", lease_seconds)
        # One short transaction: the row lock (FOR UPDATE) makes a concurrent claim wait,
        # and the first read tells this claim what state it took the record over from.
        with self._conn() as conn, conn.transaction():
            old = conn.execute(
                f"SELECT state FROM erpsync_ledger WHERE {_KEY} FOR UPDATE", _kp(key)
            ).fetchone()
            row = conn.execute(
                "INSERT INTO erpsync_ledger (tenant, backend, record_type, source_key, state, "
                "external_id, owner, lease_expires_at, attempts, updated_at) VALUES "
                "(%s, %s, %s, %s, 'claimed', %s, %s, now() + make_interval(secs => %s), 1, now()) "
                "ON CONFLICT (tenant, backend, record_type, source_key) DO UPDATE SET "
                "state = 'claimed', owner = EXCLUDED.owner, "
                "external_id = coalesce(EXCLUDED.external_id, erpsync_ledger.external_id), "
                "lease_expires_at = EXCLUDED.lease_expires_at, "
                "attempts = erpsync_ledger.attempts + 1, updated_at = now() "
                "WHERE erpsync_ledger.state = 'failed' "
                "OR (erpsync_ledger.state = 'written' AND %s) "
                "OR (erpsync_ledger.state = 'claimed' AND (erpsync_ledger.lease_expires_at "
                "IS NULL OR erpsync_ledger.lease_expires_at <= now())) "
                "RETURNING attempts, lease_expires_at, external_id, remote_id, content_hash",
                (*_kp(key), external_id, owner, float(lease_seconds), reclaim_written),
            ).fetchone()
        if row is None:
            return None
        return Claim(
            key=key, owner=owner, attempt=row[0], lease_expires_at=row[1],
            previous_state=old[0] if old else None, remote_id=row[3], external_id=row[2],
            content_hash=row[4],
        )  # fmt: skip

    def renew(self, claim: Claim, lease_seconds: float) -> Claim:
        check_positive("lease_seconds", lease_seconds)
        row = self._one(
            "UPDATE erpsync_ledger SET lease_expires_at = now() + make_interval(secs => %s), "
            f"updated_at = now() WHERE {_FENCE} RETURNING lease_expires_at",
            (float(lease_seconds), *_fp(claim)),
        )
        if row is None:
            raise ConflictError(
                "the claim was lost to another owner and cannot be renewed", record=str(claim.key)
            )
        return claim.renewed(row[0])

    def mark_written(
        self,
        target: Claim | KeyLike,
        remote_id: str,
        content_hash: str | None = None,
        number: str | None = None,
        *,
        external_id: str | None = None,
    ) -> LedgerEntry:
        key = to_key(target)
        check_name("remote_id", remote_id)
        sets = (
            "state = 'written', remote_id = %s, content_hash = %s, "
            "number = coalesce(%s, erpsync_ledger.number), "
            "external_id = coalesce(%s, erpsync_ledger.external_id), owner = NULL, "
            "lease_expires_at = NULL, last_error = NULL, updated_at = now()"
        )
        if isinstance(target, Claim):
            ext = external_id if external_id is not None else target.external_id
            row = self._one(
                f"UPDATE erpsync_ledger SET {sets} WHERE {_FENCE} RETURNING {_COLS}",
                (remote_id, content_hash, number, ext, *_fp(target)),
            )
            if row is None:
                return target.lost_write(self.get(*_kp(key)[1:], tenant=key.tenant), remote_id)
            return _entry(row)
        row = self._one(
            "INSERT INTO erpsync_ledger (tenant, backend, record_type, source_key, state, "
            "remote_id, external_id, content_hash, number) "
            "VALUES (%s, %s, %s, %s, 'written', %s, %s, %s, %s) "
            f"ON CONFLICT (tenant, backend, record_type, source_key) DO UPDATE SET {sets} "
            f"RETURNING {_COLS}",
            (*_kp(key), remote_id, external_id, content_hash, number,
             remote_id, content_hash, number, external_id),
        )  # fmt: skip
        assert row is not None
        return _entry(row)

    def mark_failed(self, target: Claim | KeyLike, error_text: str) -> LedgerEntry:
        key = to_key(target)
        text = clean_error(error_text)
        sets = "state = 'failed', owner = NULL, lease_expires_at = NULL, last_error = %s, "
        if isinstance(target, Claim):
            row = self._one(
                f"UPDATE erpsync_ledger SET {sets} updated_at = now() WHERE {_FENCE} "
                f"RETURNING {_COLS}",
                (text, *_fp(target)),
            )
            if row is not None:
                return _entry(row)
            current = self.get(*_kp(key)[1:], tenant=key.tenant)
            if current is not None:
                return current  # the newer owner's outcome wins
        row = self._one(
            "INSERT INTO erpsync_ledger (tenant, backend, record_type, source_key, state, "
            "attempts, last_error) VALUES (%s, %s, %s, %s, 'failed', 1, %s) "
            f"ON CONFLICT (tenant, backend, record_type, source_key) DO UPDATE SET {sets} "
            f"updated_at = now() RETURNING {_COLS}",
            (*_kp(key), text, text),
        )
        assert row is not None
        return _entry(row)

    def release(self, claim: Claim) -> None:
        if claim.previous_state is None:
            self._all(f"DELETE FROM erpsync_ledger WHERE {_FENCE} RETURNING 1", _fp(claim))
            return
        self._all(
            "UPDATE erpsync_ledger SET state = %s, owner = NULL, lease_expires_at = NULL, "
            f"attempts = %s, updated_at = now() WHERE {_FENCE} RETURNING 1",
            (claim.previous_state, claim.attempt - 1, *_fp(claim)),
        )

    def iter_entries(
        self,
        backend: str | None = None,
        record_type: str | None = None,
        state: EntryState | None = None,
        *,
        tenant: str | None = DEFAULT_TENANT,
    ) -> Iterator[LedgerEntry]:
        filters, params = _filters(
            ("tenant", tenant), ("backend", backend), ("record_type", record_type), ("state", state)
        )
        order = "tenant, backend, record_type, source_key"
        after: tuple[Any, ...] | None = None
        while True:  # keyset pages: no cursor or transaction stays open between pages
            where = list(filters)
            page = list(params)
            if after is not None:
                where.append(f"({order}) > (%s, %s, %s, %s)")
                page.extend(after)
            sql = f"SELECT {_COLS} FROM erpsync_ledger"
            if where:
                sql += " WHERE " + " AND ".join(where)
            rows = self._all(sql + f" ORDER BY {order} LIMIT {_PAGE}", page)
            yield from (_entry(row) for row in rows)
            if len(rows) < _PAGE:
                return
            after = (rows[-1][13], rows[-1][0], rows[-1][1], rows[-1][2])

    def find_by_remote_id(
        self, backend: str, record_type: str, remote_id: str, *, tenant: str = DEFAULT_TENANT
    ) -> LedgerEntry | None:
        row = self._one(
            f"SELECT {_COLS} FROM erpsync_ledger WHERE tenant = %s AND backend = %s "
            "AND record_type = %s AND remote_id = %s ORDER BY updated_at DESC LIMIT 1",
            (tenant, backend, record_type, remote_id),
        )
        return None if row is None else _entry(row)

    def get_cursor(self, name: str, *, tenant: str = DEFAULT_TENANT) -> str | None:
        row = self._one(
            "SELECT value FROM erpsync_cursors WHERE tenant = %s AND name = %s", (tenant, name)
        )
        return None if row is None else str(row[0])

    def set_cursor(self, name: str, value: str, *, tenant: str = DEFAULT_TENANT) -> None:
        check_name("cursor name", name)
        check_name("tenant", tenant)
        if not isinstance(value, str):
            raise ConfigurationError(f"a cursor value is a string, not {type(value).__name__}")
        self._all(
            "INSERT INTO erpsync_cursors (tenant, name, value) VALUES (%s, %s, %s) "
            "ON CONFLICT (tenant, name) DO UPDATE SET value = EXCLUDED.value, "
            "updated_at = now() RETURNING 1",
            (tenant, name, value),
        )

    def start_run(self, kind: str, backend: str, *, tenant: str = DEFAULT_TENANT) -> int:
        for what, value in (("kind", kind), ("backend", backend), ("tenant", tenant)):
            check_name(what, value)
        row = self._one(
            "INSERT INTO erpsync_runs (tenant, kind, backend, status) "
            "VALUES (%s, %s, %s, 'running') RETURNING id",
            (tenant, kind, backend),
        )
        assert row is not None
        return int(row[0])

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
        row = self._one(
            "UPDATE erpsync_runs SET finished_at = clock_timestamp(), status = %s, counts = %s, "
            f"errors = %s WHERE id = %s AND status = 'running' RETURNING {_RUN_COLS}",
            (status, counts_json, errors_json, run_id),
        )
        if row is not None:
            return _run(row)
        existing = self.get_run(run_id)
        if existing is None:
            raise ConfigurationError(f"there is no run with id {run_id}")
        raise ConfigurationError(f"run {run_id} already finished as {existing.status!r}")

    def abandon_runs(
        self, kind: str, backend: str, reason: str, *, tenant: str = DEFAULT_TENANT
    ) -> list[int]:
        error = json.dumps([{"record": "run", "message": clean_error(reason), "code": "abandoned"}])
        rows = self._all(
            "UPDATE erpsync_runs SET finished_at = clock_timestamp(), status = 'failed', "
            "errors = %s WHERE tenant = %s AND kind = %s AND backend = %s "
            "AND status = 'running' RETURNING id",
            (error, tenant, kind, backend),
        )
        return sorted(int(row[0]) for row in rows)

    def get_run(self, run_id: int) -> RunRecord | None:
        row = self._one(f"SELECT {_RUN_COLS} FROM erpsync_runs WHERE id = %s", (run_id,))
        return None if row is None else _run(row)

    def runs(
        self,
        limit: int = 20,
        kind: str | None = None,
        backend: str | None = None,
        *,
        tenant: str | None = None,
    ) -> list[RunRecord]:
        check_limit(limit)
        where, params = _filters(("tenant", tenant), ("kind", kind), ("backend", backend))
        sql = f"SELECT {_RUN_COLS} FROM erpsync_runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._all(sql + " ORDER BY started_at DESC, id DESC LIMIT %s", [*params, limit])
        return [_run(row) for row in rows]

    def lock(
        self, name: str, owner: str, ttl: float, *, tenant: str = DEFAULT_TENANT
    ) -> LockLease | None:
        for what, value in (("lock name", name), ("owner", owner), ("tenant", tenant)):
            check_name(what, value)
        check_positive("ttl", ttl)
        row = self._one(
            "INSERT INTO erpsync_locks (tenant, name, owner, expires_at) "
            "VALUES (%s, %s, %s, now() + make_interval(secs => %s)) "
            "ON CONFLICT (tenant, name) DO UPDATE SET owner = EXCLUDED.owner, "
            "expires_at = EXCLUDED.expires_at, fence = erpsync_locks.fence + "
            "CASE WHEN erpsync_locks.owner IS NOT DISTINCT FROM EXCLUDED.owner THEN 0 ELSE 1 END "
            "WHERE erpsync_locks.owner = EXCLUDED.owner OR erpsync_locks.owner IS NULL "
            "OR erpsync_locks.expires_at <= now() RETURNING fence, expires_at",
            (tenant, name, owner, float(ttl)),
        )
        if row is None:
            return None
        return LockLease(
            name=name, owner=owner, fence=int(row[0]), expires_at=row[1], tenant=tenant
        )

    def unlock(self, name: str, owner: str, *, tenant: str = DEFAULT_TENANT) -> bool:
        rows = self._all(
            "UPDATE erpsync_locks SET owner = NULL, expires_at = NULL "
            "WHERE tenant = %s AND name = %s AND owner = %s RETURNING 1",
            (tenant, name, owner),
        )
        return bool(rows)


def _filters(*pairs: tuple[str, str | None]) -> tuple[list[str], list[Any]]:
    where = [f"{column} = %s" for column, value in pairs if value is not None]
    return where, [value for _, value in pairs if value is not None]
