"""QuickBooks tokens in PostgreSQL, shared by every process and host: PostgresTokenStore.

A :class:`FileTokenStore` serves the processes of one host. Workers on several hosts
(Celery, RQ, Airflow, serverless) need the refresh single-flight across all of them, or
two workers spend the same refresh token and the company is disconnected. The recipe
this replaces (``pg_advisory_xact_lock`` in a transaction held across the refresh, with
psycopg's default ``autocommit=False``) hung five of six processes and left the winner
idle in transaction with the rotated token uncommitted. Here:

* **Autocommit, always.** The store opens its own connections with ``autocommit=True``,
  whatever psycopg's default or the DSN say, so every statement commits as it returns:
  ``save`` is one ``INSERT ... ON CONFLICT DO UPDATE``, durable before it returns, so the
  rotated token is committed before its access token is used.
* **The lock is a session advisory lock, not a transaction.** ``lock(realm_id)`` takes
  ``pg_advisory_lock`` on a connection of its own and releases it with
  ``pg_advisory_unlock``; no transaction is open while the refresh POST is in flight
  (the session is ``idle``, never ``idle in transaction``). A worker that dies drops its
  connection and PostgreSQL releases the lock. Waiting is bounded by ``lock_timeout``.
* **Re-entrant per thread**, as :class:`~erpsync.quickbooks.QuickBooksAuth` saves inside
  the lock; other threads of the same process queue like other processes do.
* **The table is created on first use**, under a transaction-scoped advisory lock so
  that workers starting together do not race, and its version is recorded in
  ``erpsync_schema`` for later migrations.
* **Fork-safe.** A connection opened before ``fork`` is never reused by the child.

psycopg 3 is imported when the store is built (the ``postgres`` extra), so
``import erpsync.quickbooks`` does not need it.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from erpsync._redact import redact
from erpsync.errors import ConfigurationError, ErpSyncError, ServiceError
from erpsync.quickbooks.tokens import QuickBooksToken

if TYPE_CHECKING:
    import psycopg

__all__ = ["SCHEMA_VERSION", "PostgresTokenStore"]

#: The version of the table layout this module writes (recorded in ``erpsync_schema``).
SCHEMA_VERSION = 1
_COMPONENT = "quickbooks_tokens"
#: The advisory lock key of schema creation (any constant; "qbotoken" in ASCII).
_SCHEMA_LOCK = 0x71626F746F6B656E
_TABLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_BACKEND = "QuickBooks"
_LOCK = "SELECT pg_advisory_lock(hashtextextended(%s, 0))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended(%s, 0))"


class PostgresTokenStore:
    """The tokens of any number of companies in one PostgreSQL table.

    ``dsn`` is a libpq connection string or URL. ``table`` names the table (created on
    first use). ``lock_timeout`` bounds the wait for another worker's refresh, in
    seconds. The DSN (which may hold a password) never appears in a repr or an error.
    """

    def __init__(
        self,
        dsn: str,
        *,
        table: str = "erpsync_qbo_tokens",
        lock_timeout: float = 60.0,
        connect_timeout: int = 10,
    ) -> None:
        if not isinstance(dsn, str) or not dsn.strip():
            raise ConfigurationError("PostgresTokenStore needs a DSN", backend=_BACKEND)
        if not isinstance(table, str) or not _TABLE.match(table):
            raise ConfigurationError(
                f"table must be a lower-case SQL identifier, not {table!r}", backend=_BACKEND
            )
        if not lock_timeout > 0:
            raise ConfigurationError("lock_timeout must be positive", backend=_BACKEND)
        self._psycopg = _import_psycopg()
        self._dsn = dsn
        self.table = table
        self.lock_timeout = float(lock_timeout)
        self._connect_timeout = connect_timeout
        self._guard = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._pid = os.getpid()
        self._ready = False
        self._held = threading.local()
        sql = self._psycopg.sql
        name = sql.Identifier(table)
        self._sql = {
            "load": sql.SQL("SELECT body FROM {} WHERE realm_id = %s").format(name),
            "save": sql.SQL(
                "INSERT INTO {} (realm_id, body, updated_at) VALUES (%s, %s, now()) "
                "ON CONFLICT (realm_id) DO UPDATE SET body = excluded.body, updated_at = now()"
            ).format(name),
            "delete": sql.SQL("DELETE FROM {} WHERE realm_id = %s").format(name),
            "realms": sql.SQL("SELECT realm_id FROM {} ORDER BY realm_id").format(name),
            "schema": sql.SQL(
                "BEGIN; SELECT pg_advisory_xact_lock({lock}); "
                "CREATE TABLE IF NOT EXISTS erpsync_schema (component text PRIMARY KEY, "
                "version integer NOT NULL, updated_at timestamptz NOT NULL DEFAULT now()); "
                "CREATE TABLE IF NOT EXISTS {table} (realm_id text PRIMARY KEY, "
                "body text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now()); "
                "INSERT INTO erpsync_schema (component, version) VALUES ({component}, {version}) "
                "ON CONFLICT (component) DO NOTHING; COMMIT"
            ).format(
                lock=sql.Literal(_SCHEMA_LOCK),
                table=name,
                component=sql.Literal(f"{_COMPONENT}:{table}"),
                version=sql.Literal(SCHEMA_VERSION),
            ),
        }

    def __repr__(self) -> str:
        return f"PostgresTokenStore(table={self.table!r})"

    # -- TokenStore ---------------------------------------------------------------------

    def load(self, realm_id: str) -> QuickBooksToken | None:
        row = self._execute(self._sql["load"], (realm_id,))
        return QuickBooksToken.from_json(row[0]) if row else None

    def save(self, realm_id: str, token: QuickBooksToken) -> None:
        """Store ``token`` for ``realm_id``, committed before this returns."""
        if not isinstance(token, QuickBooksToken):
            raise ConfigurationError("PostgresTokenStore.save needs a QuickBooksToken")
        self._execute(self._sql["save"], (realm_id, token.to_json()))

    def delete(self, realm_id: str) -> None:
        """Forget a realm's tokens (after a revoke)."""
        self._execute(self._sql["delete"], (realm_id,))

    def realms(self) -> list[str]:
        """The realms with a stored token."""
        with self._connection() as conn:
            rows = conn.execute(self._sql["realms"])
            return [str(row[0]) for row in rows.fetchall()]

    def lock(self, realm_id: str) -> AbstractContextManager[None]:
        """Single-flight refresh of ``realm_id`` across threads, processes and hosts."""
        return self._advisory_lock(realm_id)

    def close(self) -> None:
        """Close the store's connection (a new one is opened on next use)."""
        with self._guard:
            conn, self._conn = self._conn, None
        if conn is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):
                conn.close()

    # -- locking ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _advisory_lock(self, realm_id: str) -> Iterator[None]:
        held: dict[str, int] = self._held.__dict__.setdefault("depth", {})
        if held.get(realm_id):
            held[realm_id] += 1
            try:
                yield
            finally:
                held[realm_id] -= 1
            return
        self._ensure_schema()
        conn = self._connect()
        try:
            self._wait_for_lock(conn, realm_id)
            held[realm_id] = 1
            try:
                yield
            finally:
                held.pop(realm_id, None)
                with contextlib.suppress(Exception):
                    conn.execute(
                        "SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (_key(realm_id),)
                    )
        finally:
            conn.close()

    def _wait_for_lock(self, conn: psycopg.Connection[Any], realm_id: str) -> None:
        timeout_ms = int(self.lock_timeout * 1000)
        try:
            conn.execute(f"SET statement_timeout = {timeout_ms}")
            conn.execute(_LOCK, (_key(realm_id),))
            conn.execute("SET statement_timeout = 0")
        except self._psycopg.errors.QueryCanceled:
            raise ServiceError(
                f"another worker held the token lock of company {realm_id} for more than "
                f"{self.lock_timeout:g} s",
                backend=_BACKEND,
                record=f"company {realm_id}",
                retryable=True,
            ) from None
        except self._psycopg.Error as exc:
            raise self._error("could not take the token lock", exc) from None

    # -- connections --------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn: psycopg.Connection[Any] = self._psycopg.connect(
                self._dsn, autocommit=True, connect_timeout=self._connect_timeout
            )
            return conn
        except self._psycopg.Error as exc:
            raise self._error("could not connect to PostgreSQL", exc) from None

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """The store's shared autocommit connection, one statement user at a time."""
        self._ensure_schema()
        with self._guard:
            if self._pid != os.getpid():  # forked: the parent's socket is not ours
                self._conn, self._pid = None, os.getpid()
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            conn = self._conn
            try:
                yield conn
            except self._psycopg.Error as exc:
                self._conn = None
                with contextlib.suppress(Exception):
                    conn.close()
                raise self._error("a token query failed", exc) from None

    def _execute(self, sql: Any, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        with self._connection() as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchone() if cursor.description else None

    def _ensure_schema(self) -> None:
        if self._ready:
            return
        conn = self._connect()
        try:
            # One round trip (a multi-statement simple query): the transaction never
            # waits on this client, so no session is ever seen idle in transaction.
            conn.execute(self._sql["schema"])
        except self._psycopg.Error as exc:
            raise self._error("could not create the token table", exc) from None
        finally:
            conn.close()
        self._ready = True

    def _error(self, what: str, exc: Exception) -> ErpSyncError:
        return ServiceError(
            f"PostgresTokenStore: {what} ({type(exc).__name__}: "
            f"{redact(str(exc), self._dsn).strip()})",
            backend=_BACKEND,
            retryable=True,
        )


def _key(realm_id: str) -> str:
    return f"erpsync:quickbooks-token:{realm_id}"


def _import_psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ConfigurationError(
            "PostgresTokenStore needs psycopg 3",
            hint="pip install 'erpsync[postgres]'",
        ) from None
    return psycopg
