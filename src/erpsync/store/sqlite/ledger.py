"""The SQLite store's ledger: leased, fenced claims on one record per tenant.

A claim is taken inside a ``BEGIN IMMEDIATE`` transaction, so the read-then-write
decision cannot interleave with another process's; completing a claim checks that this
owner and attempt still hold it (the fencing token), see :mod:`erpsync.store`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from erpsync.errors import ConfigurationError, ConflictError
from erpsync.store.protocol import (
    DEFAULT_TENANT,
    Claim,
    EntryState,
    KeyLike,
    LedgerEntry,
    LedgerKey,
)
from erpsync.store.sqlite.connection import SQLiteConnection
from erpsync.store.sqlite.schema import (
    _KEY_CONFLICT,
    _KEY_WHERE,
    _LEDGER_COLUMNS,
    _PAGE,
    _check_name,
    _clean_error,
    _fmt,
    _key_params,
    _parse,
    _parse_required,
    _to_key,
)

__all__ = ["SQLiteLedger"]


class SQLiteLedger(SQLiteConnection):
    """The ledger half of :class:`~erpsync.store.SQLiteSyncStore`."""

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
