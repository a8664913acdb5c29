"""The SQLite store's schema, as versioned migrations (``PRAGMA user_version``).

Version 2 put a tenant in every ledger key, cursor, run and lock (before it, two
QuickBooks companies sharing one store shared ``('QuickBooks', 'invoice', 'AR-1')`` and
one tenant's writes were silently skipped for the other). Rows of a version-1 store are
kept under the default tenant and marked *adoptable*: the first named tenant that looks
a key or cursor up and finds nothing of its own takes the legacy row over, so a store
written by erpsync before tenants keeps its exactly-once promise after the upgrade. (A
version-1 store that several tenants shared had already mixed them; nothing can tell
their rows apart.)
"""

from __future__ import annotations

__all__ = ["LEDGER_COLUMNS", "MIGRATIONS", "SCHEMA_VERSION"]

_LEDGER_V1 = """
CREATE TABLE ledger (
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
    updated_at TEXT NOT NULL,
    PRIMARY KEY (backend, record_type, source_key)
)
"""

_LEDGER_V2 = """
CREATE TABLE ledger (
    tenant TEXT NOT NULL,
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
    updated_at TEXT NOT NULL,
    adopt INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, backend, record_type, source_key)
)
"""

_V1_COLUMNS = (
    "backend, record_type, source_key, state, remote_id, external_id, content_hash, number, "
    "owner, lease_expires_at, attempts, last_error, updated_at"
)

#: Schema migrations, applied in order; the database's ``user_version`` records the last.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        _LEDGER_V1,
        "CREATE INDEX ledger_remote ON ledger (backend, record_type, remote_id)",
        "CREATE INDEX ledger_state ON ledger (state)",
        "CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL, "
        "updated_at TEXT NOT NULL)",
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
        "CREATE TABLE locks (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at TEXT NOT NULL)",
    ),
    2: (
        "ALTER TABLE ledger RENAME TO ledger_v1",
        _LEDGER_V2,
        f"INSERT INTO ledger (tenant, {_V1_COLUMNS}, adopt) "  # noqa: S608 - constant
        f"SELECT 'default', {_V1_COLUMNS}, 1 FROM ledger_v1",
        "DROP TABLE ledger_v1",
        "CREATE INDEX ledger_remote ON ledger (tenant, backend, record_type, remote_id)",
        "CREATE INDEX ledger_state ON ledger (tenant, state)",
        "CREATE INDEX ledger_adopt ON ledger (backend, record_type, source_key) WHERE adopt = 1",
        "ALTER TABLE cursors RENAME TO cursors_v1",
        "CREATE TABLE cursors (tenant TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, "
        "updated_at TEXT NOT NULL, adopt INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (tenant, name))",
        "INSERT INTO cursors SELECT 'default', name, value, updated_at, 1 FROM cursors_v1",
        "DROP TABLE cursors_v1",
        "ALTER TABLE runs ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default'",
        "CREATE INDEX runs_tenant ON runs (tenant, kind, backend, started_at)",
        # Locks are short leases; a pass in flight during the upgrade re-takes its own.
        "DROP TABLE locks",
        "CREATE TABLE locks (tenant TEXT NOT NULL, name TEXT NOT NULL, owner TEXT, "
        "expires_at TEXT, fence INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (tenant, name))",
    ),
}

SCHEMA_VERSION = max(MIGRATIONS)

LEDGER_COLUMNS = (
    "backend, record_type, source_key, state, remote_id, external_id, content_hash, number, "
    "owner, lease_expires_at, attempts, last_error, updated_at, tenant"
)
