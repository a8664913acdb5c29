"""The SQLite ledger: leased, fenced claims on source records, per tenant.

Each claim decision reads and writes inside one ``BEGIN IMMEDIATE`` transaction, so two
processes sharing the file cannot both take a record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from erpsync.errors import ConflictError
from erpsync.store._checks import check_name, check_positive, clean_error, to_key
from erpsync.store.sqlite.connection import SQLiteConnection, fmt, parse, parse_required
from erpsync.store.sqlite.schema import LEDGER_COLUMNS
from erpsync.store.types import (
    DEFAULT_TENANT,
    Claim,
    EntryState,
    KeyLike,
    LedgerEntry,
    LedgerKey,
)

__all__ = ["SQLiteLedger"]

_PAGE = 500
_WHERE_KEY = "WHERE tenant = ? AND backend = ? AND record_type = ? AND source_key = ?"


def _key_params(key: LedgerKey) -> tuple[str, str, str, str]:
    return (key.tenant, key.backend, key.record_type, key.source_key)


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
        lease_expires_at=parse(row[9]),
        attempts=row[10],
        last_error=row[11],
        updated_at=parse_required(row[12]),
        tenant=row[13],
    )


def _claimable(entry: LedgerEntry, now: datetime, reclaim_written: bool) -> bool:
    if entry.state == "failed":
        return True
    if entry.state == "written":
        return reclaim_written
    # claimed: only a dead writer's lease can be taken over.
    return entry.lease_expires_at is None or entry.lease_expires_at <= now


class SQLiteLedger(SQLiteConnection):
    """The ledger half of :class:`~erpsync.store.SQLiteSyncStore`."""

    def _select(self, conn: sqlite3.Connection, key: LedgerKey) -> LedgerEntry | None:
        row = conn.execute(
            f"SELECT {LEDGER_COLUMNS} FROM ledger {_WHERE_KEY}",  # noqa: S608 - constant
            _key_params(key),
        ).fetchone()
        if row is None and self._legacy and key.tenant != DEFAULT_TENANT:
            # A row from before tenants: the first tenant that asks for it takes it over.
            cursor = conn.execute(
                "UPDATE ledger SET tenant = ?, adopt = 0 WHERE tenant = ? AND backend = ? "
                "AND record_type = ? AND source_key = ? AND adopt = 1",
                (key.tenant, DEFAULT_TENANT, key.backend, key.record_type, key.source_key),
            )
            if cursor.rowcount:
                return self._select(conn, key)
        return None if row is None else _entry(row)

    def get(
        self, backend: str, record_type: str, source_key: str, *, tenant: str = DEFAULT_TENANT
    ) -> LedgerEntry | None:
        key = LedgerKey(backend, record_type, source_key, tenant)
        rows = self._read(
            f"SELECT {LEDGER_COLUMNS} FROM ledger {_WHERE_KEY}",  # noqa: S608 - constant
            _key_params(key),
        )
        if rows:
            return _entry(rows[0])
        if not self._legacy or tenant == DEFAULT_TENANT:
            return None
        try:
            with self._write() as conn:
                return self._select(conn, key)
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

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
            check_name("backend", backend),
            check_name("record_type", record_type),
            check_name("source_key", source_key),
            check_name("tenant", tenant),
        )
        check_name("owner", owner)
        check_positive("lease_seconds", lease_seconds)
        try:
            with self._write() as conn:
                now = self._now()
                current = self._select(conn, key)
                if current is not None and not _claimable(current, now, reclaim_written):
                    return None
                expires = now + timedelta(seconds=lease_seconds)
                attempt = (current.attempts if current else 0) + 1
                ext = external_id
                if ext is None and current is not None:
                    ext = current.external_id
                conn.execute(
                    f"INSERT INTO ledger ({LEDGER_COLUMNS}) "  # noqa: S608 - constant columns
                    "VALUES (?, ?, ?, 'claimed', NULL, ?, NULL, NULL, ?, ?, ?, NULL, ?, ?) "
                    "ON CONFLICT (tenant, backend, record_type, source_key) DO UPDATE SET "
                    "state = 'claimed', external_id = excluded.external_id, "
                    "owner = excluded.owner, lease_expires_at = excluded.lease_expires_at, "
                    "attempts = excluded.attempts, updated_at = excluded.updated_at",
                    (backend, record_type, source_key, ext, owner, fmt(expires), attempt,
                     fmt(now), tenant),
                )  # fmt: skip
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
        check_positive("lease_seconds", lease_seconds)
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
                    f"UPDATE ledger SET lease_expires_at = ?, updated_at = ? {_WHERE_KEY}",  # noqa: S608
                    (fmt(expires), fmt(now), *_key_params(claim.key)),
                )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        return claim.renewed(expires)

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
        try:
            with self._write() as conn:
                if isinstance(target, Claim) and self._fenced(conn, target) is None:
                    current = self._select(conn, key)
                    return target.lost_write(current, remote_id)
                if external_id is None and isinstance(target, Claim):
                    external_id = target.external_id
                conn.execute(
                    f"INSERT INTO ledger ({LEDGER_COLUMNS}) "  # noqa: S608 - constant columns
                    "VALUES (?, ?, ?, 'written', ?, ?, ?, ?, NULL, NULL, 0, NULL, ?, ?) "
                    "ON CONFLICT (tenant, backend, record_type, source_key) DO UPDATE SET "
                    "state = 'written', remote_id = excluded.remote_id, "
                    "external_id = COALESCE(excluded.external_id, ledger.external_id), "
                    "content_hash = excluded.content_hash, "
                    "number = COALESCE(excluded.number, ledger.number), "
                    "owner = NULL, lease_expires_at = NULL, last_error = NULL, "
                    "updated_at = excluded.updated_at",
                    (key.backend, key.record_type, key.source_key, remote_id, external_id,
                     content_hash, number, fmt(self._now()), key.tenant),
                )  # fmt: skip
                entry = self._select(conn, key)
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        assert entry is not None
        return entry

    def mark_failed(self, target: Claim | KeyLike, error_text: str) -> LedgerEntry:
        key = to_key(target)
        text = clean_error(error_text)
        try:
            with self._write() as conn:
                if isinstance(target, Claim) and self._fenced(conn, target) is None:
                    # The newer owner's outcome wins; report what the ledger holds.
                    current = self._select(conn, key)
                    if current is not None:
                        return current
                conn.execute(
                    f"INSERT INTO ledger ({LEDGER_COLUMNS}) "  # noqa: S608 - constant columns
                    "VALUES (?, ?, ?, 'failed', NULL, NULL, NULL, NULL, NULL, NULL, 1, ?, ?, ?) "
                    "ON CONFLICT (tenant, backend, record_type, source_key) DO UPDATE SET "
                    "state = 'failed', owner = NULL, lease_expires_at = NULL, "
                    "last_error = excluded.last_error, updated_at = excluded.updated_at",
                    (key.backend, key.record_type, key.source_key, text, fmt(self._now()),
                     key.tenant),
                )  # fmt: skip
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
                    conn.execute(f"DELETE FROM ledger {_WHERE_KEY}", params)  # noqa: S608
                    return
                # Back to exactly what it was, including the attempt count, so that an
                # unused claim does not make the next one suspect a partial write.
                conn.execute(
                    "UPDATE ledger SET state = ?, owner = NULL, lease_expires_at = NULL, "  # noqa: S608
                    f"attempts = ?, updated_at = ? {_WHERE_KEY}",
                    (claim.previous_state, claim.attempt - 1, fmt(self._now()), *params),
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
        for column, value in (
            ("tenant", tenant),
            ("backend", backend),
            ("record_type", record_type),
            ("state", state),
        ):
            if value is not None:
                filters.append(f"{column} = ?")
                params.append(value)
        after: tuple[str, str, str, str] | None = None
        order = "tenant, backend, record_type, source_key"
        # Keyset pages, so a long iteration holds no lock and no open cursor between pages.
        while True:
            where = list(filters)
            page_params = list(params)
            if after is not None:
                where.append(f"({order}) > (?, ?, ?, ?)")
                page_params.extend(after)
            sql = f"SELECT {LEDGER_COLUMNS} FROM ledger"  # noqa: S608 - constant columns
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += f" ORDER BY {order} LIMIT {_PAGE}"
            rows = self._read(sql, page_params)
            for row in rows:
                yield _entry(row)
            if len(rows) < _PAGE:
                return
            after = (rows[-1][13], rows[-1][0], rows[-1][1], rows[-1][2])

    def find_by_remote_id(
        self, backend: str, record_type: str, remote_id: str, *, tenant: str = DEFAULT_TENANT
    ) -> LedgerEntry | None:
        rows = self._read(
            f"SELECT {LEDGER_COLUMNS} FROM ledger "  # noqa: S608 - constant column list
            "WHERE backend = ? AND record_type = ? AND remote_id = ? "
            "AND (tenant = ? OR adopt = 1) ORDER BY adopt, updated_at DESC LIMIT 1",
            (backend, record_type, remote_id, tenant),
        )
        return _entry(rows[0]) if rows else None
