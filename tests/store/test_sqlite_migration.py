"""A store written before tenants (schema v1) keeps its exactly-once promise after the
upgrade: its rows stay under the default tenant and the first named tenant that asks for
a key or cursor takes the legacy row over."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from erpsync.store import SCHEMA_VERSION, SQLiteSyncStore

# The version-1 schema, as erpsync 0.x wrote it (copied here on purpose: the test must
# not depend on the migration code it checks).
V1 = [
    """CREATE TABLE ledger (backend TEXT NOT NULL, record_type TEXT NOT NULL,
       source_key TEXT NOT NULL, state TEXT NOT NULL, remote_id TEXT, external_id TEXT,
       content_hash TEXT, number TEXT, owner TEXT, lease_expires_at TEXT,
       attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, updated_at TEXT NOT NULL,
       PRIMARY KEY (backend, record_type, source_key))""",
    "CREATE INDEX ledger_remote ON ledger (backend, record_type, remote_id)",
    "CREATE INDEX ledger_state ON ledger (state)",
    "CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL)",
    """CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
       backend TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
       counts TEXT NOT NULL DEFAULT '{}', errors TEXT NOT NULL DEFAULT '[]')""",
    "CREATE INDEX runs_kind ON runs (kind, started_at)",
    "CREATE TABLE locks (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at TEXT NOT NULL)",
]
STAMP = "2026-11-03T12:00:00.000000+00:00"


def _v1_store(path: Path) -> None:
    conn = sqlite3.connect(path)
    for statement in V1:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO ledger VALUES ('QuickBooks', 'invoice', 'AR-1', 'written', '177', 'AR-1', "
        "'sha256:x', '1042', NULL, NULL, 1, NULL, ?)",
        (STAMP,),
    )
    conn.execute(
        "INSERT INTO cursors VALUES ('accounting-sync:QuickBooks:customers', 'c1', ?)", (STAMP,)
    )
    conn.execute(
        "INSERT INTO runs (kind, backend, started_at, finished_at, status) "
        "VALUES ('accounting-sync', 'QuickBooks', ?, ?, 'ok')",
        (STAMP, STAMP),
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def test_a_v1_store_is_migrated_and_its_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    _v1_store(path)
    with SQLiteSyncStore(path) as store:
        entry = store.get("QuickBooks", "invoice", "AR-1")
        assert entry is not None and entry.remote_id == "177" and entry.tenant == "default"
        assert store.get_cursor("accounting-sync:QuickBooks:customers") == "c1"
        (run,) = store.runs()
        assert run.status == "ok" and run.tenant == "default"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_the_first_named_tenant_adopts_legacy_rows_and_writes_stay_at_most_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v1.db"
    _v1_store(path)
    with SQLiteSyncStore(path) as store:
        A = "9130350000000000"
        # The invoice written before the upgrade is not claimed for a second write.
        assert (
            store.claim("QuickBooks", "invoice", "AR-1", owner="w", lease_seconds=60, tenant=A)
            is None
        )
        entry = store.get("QuickBooks", "invoice", "AR-1", tenant=A)
        assert entry is not None and entry.tenant == "9130350000000000"
        assert entry.remote_id == "177"
        assert store.get_cursor("accounting-sync:QuickBooks:customers", tenant=A) == "c1"
        # Adopted: another company starts clean.
        B = "9130350000000099"
        assert store.get("QuickBooks", "invoice", "AR-1", tenant=B) is None
        assert store.get_cursor("accounting-sync:QuickBooks:customers", tenant=B) is None
        assert store.claim("QuickBooks", "invoice", "AR-1", owner="w", lease_seconds=60, tenant=B)
    with SQLiteSyncStore(path) as reopened:  # the adoption was stored
        kept = reopened.get("QuickBooks", "invoice", "AR-1", tenant="9130350000000000")
        assert kept is not None and kept.state == "written"
