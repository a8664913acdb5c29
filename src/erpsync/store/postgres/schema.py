"""The PostgreSQL store's schema as versioned migrations, recorded in
``erpsync_schema``; applied on open (under an advisory lock, so workers starting
together migrate once) or by ``erpsync store migrate --store DSN``.

Every table is keyed by tenant first, and so is every index, so each query a workflow
makes touches one tenant's rows only.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """
        CREATE TABLE erpsync_ledger (
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
            lease_expires_at TIMESTAMPTZ,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant, backend, record_type, source_key)
        )
        """,
        "CREATE INDEX erpsync_ledger_remote ON erpsync_ledger "
        "(tenant, backend, record_type, remote_id)",
        "CREATE INDEX erpsync_ledger_state ON erpsync_ledger (tenant, backend, record_type, state)",
        """
        CREATE TABLE erpsync_cursors (
            tenant TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant, name)
        )
        """,
        """
        CREATE TABLE erpsync_runs (
            id BIGSERIAL PRIMARY KEY,
            tenant TEXT NOT NULL,
            kind TEXT NOT NULL,
            backend TEXT NOT NULL,
            started_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
            finished_at TIMESTAMPTZ,
            status TEXT NOT NULL,
            counts TEXT NOT NULL DEFAULT '{}',
            errors TEXT NOT NULL DEFAULT '[]'
        )
        """,
        "CREATE INDEX erpsync_runs_tenant ON erpsync_runs (tenant, kind, backend, started_at)",
        """
        CREATE TABLE erpsync_locks (
            tenant TEXT NOT NULL,
            name TEXT NOT NULL,
            owner TEXT,
            expires_at TIMESTAMPTZ,
            fence BIGINT NOT NULL DEFAULT 1,
            PRIMARY KEY (tenant, name)
        )
        """,
    ),
}

SCHEMA_VERSION = max(MIGRATIONS)
