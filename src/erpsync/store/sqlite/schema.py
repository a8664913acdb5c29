"""The SQLite store's schema (its migrations) and the small helpers its parts share.

Timestamps are stored as fixed-width ISO text so they sort in time order; ledger keys
are ``(backend, record_type, source_key, tenant)`` in that parameter order everywhere.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from erpsync._redact import redact, truncate
from erpsync.errors import ConfigurationError
from erpsync.store.protocol import Claim, KeyLike, LedgerKey

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


def _rollback(conn: sqlite3.Connection) -> None:
    # SQLite may already have rolled back (on SQLITE_FULL, an interrupted statement).
    if conn.in_transaction:
        conn.execute("ROLLBACK")


_FORK_ORPHANS: list[sqlite3.Connection] = []


def _key_params(key: LedgerKey) -> tuple[str, str, str, str]:
    """The key in the order of ``_KEY_WHERE``."""
    return (key.backend, key.record_type, key.source_key, key.tenant)
