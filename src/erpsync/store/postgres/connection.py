"""Connections of the PostgreSQL store: a psycopg_pool pool of autocommit connections.

The pool is :class:`erpsync._pgpool.ProcessPool`, shared with PostgresTokenStore.
Autocommit means every statement is its own transaction, so no call leaves a
transaction open (a worker killed between calls holds no row lock, and no connection
sits "idle in transaction"); the few multi-statement steps run inside an explicit
``conn.transaction()`` that ends before the call returns. The pool belongs to the
process that made it: after ``fork`` the child makes its own (checked by pid), since a
connection's socket must never be shared by two processes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

import psycopg

from erpsync._pgpool import ProcessPool, redact_dsn
from erpsync.errors import ConfigurationError, ErpSyncError, ServiceError
from erpsync.store.postgres.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["PostgresConnection"]

_MIGRATION_LOCK = 0x65727073  # pg_advisory_xact_lock key: "erps"

# One version table for every erpsync component that keeps tables in a database (this
# store, PostgresTokenStore), one row per component, so that they can share a database:
# the layout must stay the one quickbooks/postgres_tokens.py creates.
_COMPONENT = "sync_store"
_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS erpsync_schema (component text PRIMARY KEY, "
    "version integer NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())"
)
_READ_VERSION = "SELECT coalesce(max(version), 0) FROM erpsync_schema WHERE component = %s"
_WRITE_VERSION = (
    "INSERT INTO erpsync_schema (component, version) VALUES (%s, %s) "
    "ON CONFLICT (component) DO UPDATE SET version = excluded.version, updated_at = now()"
)


class PostgresConnection:
    """Pool, fork safety, migrations and error translation of the PostgreSQL store."""

    def __init__(self, dsn: str, *, pool_size: int = 4, migrate: bool = True) -> None:
        if not isinstance(dsn, str) or not dsn.strip():
            raise ConfigurationError("PostgresSyncStore needs a DSN (postgresql://...)")
        self._dsn = dsn
        self._pool = ProcessPool(
            dsn,
            name="erpsync-store",
            max_size=max(1, int(pool_size)),
            closed_message="the PostgreSQL sync store is closed",
        )
        if migrate:
            self.migrate()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact_dsn(self._dsn, self._dsn)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pool; further use raises ConfigurationError."""
        self._pool.close()

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.OperationalError as exc:
            raise self._translate(exc) from exc
        except psycopg.Error as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: Exception) -> ErpSyncError:
        text = redact_dsn(str(exc), self._dsn)
        retryable = isinstance(exc, psycopg.OperationalError)
        return ServiceError(f"the PostgreSQL sync store failed: {text}", retryable=retryable)

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._conn() as conn:
            return conn.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    def schema_version(self) -> int:
        """The schema version the database holds (0 before the first migration)."""
        exists = self._one("SELECT to_regclass('erpsync_schema') IS NOT NULL")
        if not exists or not exists[0]:
            return 0
        row = self._one(_READ_VERSION, (_COMPONENT,))
        return int(row[0]) if row else 0

    def migrate(self) -> int:
        """Apply the migrations the database lacks, once even when many workers start
        together (an advisory lock serialises them); returns the version reached."""
        with self._conn() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(_VERSION_TABLE)
            row = conn.execute(_READ_VERSION, (_COMPONENT,)).fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise ConfigurationError(
                    f"the PostgreSQL sync store has schema version {current}, newer than this "
                    f"erpsync understands ({SCHEMA_VERSION})",
                    hint="Upgrade erpsync",
                )
            for version in sorted(v for v in MIGRATIONS if v > current):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute(_WRITE_VERSION, (_COMPONENT, version))
        return SCHEMA_VERSION
