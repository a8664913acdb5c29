"""Opening a version-1 SQLite store (before tenants) keeps its data under ``legacy_tenant``.

The schema below is version 1's, copied literally: the test must not follow later
changes to the store's own migration code, or it would stop testing an upgrade.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from erpsync.errors import ConfigurationError
from erpsync.store import SCHEMA_VERSION, LedgerKey, SQLiteSyncStore

V1_SCHEMA = """
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
);
CREATE INDEX ledger_remote ON ledger (backend, record_type, remote_id);
CREATE INDEX ledger_state ON ledger (state);
CREATE TABLE cursors (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    backend TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    counts TEXT NOT NULL DEFAULT '{}',
    errors TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX runs_kind ON runs (kind, started_at);
CREATE TABLE locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
PRAGMA user_version = 1;
"""

STAMP = "2026-11-03T12:00:00.000000+00:00"
REALM = "9130350000000001"


@pytest.fixture
def v1_path(tmp_path: Path) -> Path:
    """A version-1 store holding one written invoice, a cursor and a finished run."""
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    try:
        conn.executescript(V1_SCHEMA)
        conn.execute(
            "INSERT INTO ledger (backend, record_type, source_key, state, remote_id, "
            "external_id, content_hash, number, attempts, updated_at) "
            "VALUES ('QuickBooks', 'invoice', 'AR-1', 'written', '177', 'AR-1', 'sha256:x', "
            "'1042', 1, ?)",
            (STAMP,),
        )
        conn.execute(
            "INSERT INTO cursors (name, value, updated_at) VALUES "
            "('accounting-sync:QuickBooks:customers', 'cursor-value', ?)",
            (STAMP,),
        )
        conn.execute(
            "INSERT INTO runs (kind, backend, started_at, finished_at, status, counts) "
            "VALUES ('accounting-sync', 'QuickBooks', ?, ?, 'ok', '{\"invoices_created\": 1}')",
            (STAMP, STAMP),
        )
        conn.commit()
    finally:
        conn.close()
    return path


def test_v1_rows_move_to_the_legacy_tenant(v1_path: Path) -> None:
    with SQLiteSyncStore(v1_path, legacy_tenant=REALM) as store:
        entry = store.get("QuickBooks", "invoice", "AR-1", tenant=REALM)
        assert entry is not None and entry.tenant == REALM
        assert (entry.state, entry.remote_id, entry.number) == ("written", "177", "1042")
        assert entry.content_hash == "sha256:x"
        assert store.get("QuickBooks", "invoice", "AR-1") is None  # not the default tenant
        name = "accounting-sync:QuickBooks:customers"
        assert store.get_cursor(name, tenant=REALM) == "cursor-value"
        assert store.get_cursor(name) is None
        (run,) = store.runs(tenant=REALM)
        assert run.status == "ok" and run.counts == {"invoices_created": 1}
    conn = sqlite3.connect(v1_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


def test_a_migrated_record_is_still_written_at_most_once(v1_path: Path) -> None:
    with SQLiteSyncStore(v1_path, legacy_tenant=REALM) as store:
        assert store.claim("QuickBooks", "invoice", "AR-1", owner="w", lease_seconds=60,
                           tenant=REALM) is None  # fmt: skip
        # Another company's AR-1 is its own record.
        other = store.claim(
            "QuickBooks", "invoice", "AR-1", owner="w", lease_seconds=60, tenant="other-realm"
        )
        assert other is not None and other.previous_state is None
        store.mark_written(other, "900")
        assert store.get("QuickBooks", "invoice", "AR-1", tenant=REALM).remote_id == "177"  # type: ignore[union-attr]


def test_the_legacy_tenant_defaults_to_default_and_reopening_changes_nothing(
    v1_path: Path,
) -> None:
    with SQLiteSyncStore(v1_path) as store:
        assert store.get("QuickBooks", "invoice", "AR-1") is not None
    # Migrated once: a later legacy_tenant does not move the rows again.
    with SQLiteSyncStore(v1_path, legacy_tenant=REALM) as store:
        assert store.get("QuickBooks", "invoice", "AR-1") is not None
        assert store.get("QuickBooks", "invoice", "AR-1", tenant=REALM) is None


def test_an_empty_legacy_tenant_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="legacy_tenant"):
        SQLiteSyncStore(tmp_path / "x.db", legacy_tenant="")


def test_iter_entries_pages_across_tenants_in_key_order(tmp_path: Path) -> None:
    with SQLiteSyncStore(tmp_path / "t.db") as store:
        for tenant in ("b", "a"):
            for n in range(3):
                store.mark_written(("ERP", "invoice", f"k{n}", tenant), f"{tenant}{n}")
        assert [e.remote_id for e in store.iter_entries()] == [
            "a0", "a1", "a2", "b0", "b1", "b2"
        ]  # fmt: skip
        assert [e.remote_id for e in store.iter_entries(tenant="b")] == ["b0", "b1", "b2"]
        entry = store.find_by_remote_id("ERP", "invoice", "b1", tenant="b")
        assert entry is not None and entry.key.tenant == "b"
        assert store.find_by_remote_id("ERP", "invoice", "b1", tenant="a") is None


def test_iter_entries_keeps_the_tenant_order_across_pages(tmp_path: Path) -> None:
    with SQLiteSyncStore(tmp_path / "pages.db") as store:
        keys = [(tenant, f"k{n:03}") for tenant in ("a", "b") for n in range(260)]
        for tenant, key in reversed(keys):
            store.mark_written(("ERP", "invoice", key, tenant), f"{tenant}-{key}")
        listed = [(e.tenant, e.source_key) for e in store.iter_entries("ERP")]
        assert listed == keys  # more than one page, none repeated or skipped


def test_a_key_names_its_tenant_unless_it_is_the_default() -> None:
    assert str(LedgerKey("QuickBooks", "invoice", "AR-1", REALM)) == (
        f"QuickBooks:{REALM}/invoice/AR-1"
    )
    assert str(LedgerKey("QuickBooks", "invoice", "AR-1")) == "QuickBooks/invoice/AR-1"
