"""QuickBooks tokens in PostgreSQL, shared by every process and host: PostgresTokenStore.

A :class:`FileTokenStore` serves the processes of one host. Workers on several hosts
(Celery, RQ, Airflow, serverless) need the refresh single-flight across all of them, or
two workers spend the same refresh token and the company is disconnected. The recipe
this replaces (``pg_advisory_xact_lock`` in a transaction held across the refresh, with
psycopg's default ``autocommit=False``) hung five of six processes and left the winner
idle in transaction with the rotated token uncommitted. Here:

* **A bounded pool per process.** Connections come from one
  :class:`erpsync._pgpool.ProcessPool` (psycopg_pool; the one PostgresSyncStore uses):
  at most ``max_size`` per process whatever the number of threads and tenants, so a
  thousand tenants times N threads cannot exhaust the server's ``max_connections``.
  Threads of one process refreshing the same company queue on an in-process lock first,
  so only one of them holds a connection while it waits.
* **Autocommit, always.** Every pooled connection has ``autocommit=True``, whatever
  psycopg's default or the DSN say: ``save`` is one ``INSERT ... ON CONFLICT DO
  UPDATE``, durable before it returns, so the rotated token is committed before its
  access token is used.
* **The lock is a session advisory lock, not a transaction.** ``lock(realm_id)`` takes
  ``pg_advisory_lock`` on one pooled connection, which the whole refresh then uses
  (the reload and the save inside the lock run on it: one connection per refresh), and
  releases it with ``pg_advisory_unlock`` before the connection goes back to the pool;
  if the unlock cannot be confirmed the connection is closed, never returned. No
  transaction is open while the refresh POST is in flight (the session is ``idle``,
  never ``idle in transaction``). A worker that dies drops its connection and PostgreSQL
  releases the lock. Waiting is bounded by ``lock_timeout``.
* **Re-entrant per thread**, as :class:`~erpsync.quickbooks.QuickBooksAuth` saves inside
  the lock.
* **The table is created on first use**, under a transaction-scoped advisory lock taken
  and released in one round trip (so no session ever waits idle in it), and its version
  is recorded in ``erpsync_schema`` for later migrations.
* **Fork-safe.** A child after ``fork`` builds its own pool; the parent's connections
  are never reused by it.

psycopg 3 and psycopg_pool are imported when the store is built (the ``postgres``
extra), so ``import erpsync.quickbooks`` does not need them.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

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
_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE, without importing psycopg here


class PostgresTokenStore:
    """The tokens of any number of companies in one PostgreSQL table.

    ``dsn`` is a libpq connection string or URL; sessions are named
    ``application_name=erpsync-tokens`` unless it names them. ``table`` names the table
    (created on first use). ``lock_timeout`` bounds, in seconds, the wait for another
    worker's refresh and for a free pooled connection. ``min_size`` and ``max_size``
    bound this process's pool (default 1 and 4: refreshes are rare and short, so a few
    connections serve many threads; every process of every host has its own pool, so
    the server sees up to ``processes x max_size``). The DSN's password never appears in
    a repr or an error. Close it (or use it as a context manager) to close the pool.
    """

    def __init__(
        self,
        dsn: str,
        *,
        table: str = "erpsync_qbo_tokens",
        lock_timeout: float = 60.0,
        connect_timeout: int = 10,
        min_size: int = 1,
        max_size: int = 4,
    ) -> None:
        _check_options(dsn, table, lock_timeout, min_size, max_size)
        self._psycopg = _import_psycopg()
        from erpsync._pgpool import ProcessPool, redact_dsn

        self._redact_dsn = redact_dsn
        self._dsn = dsn
        self.table = table
        self.lock_timeout = float(lock_timeout)
        self._pool = ProcessPool(
            dsn,
            name="erpsync-tokens",
            min_size=min_size,
            max_size=max_size,
            kwargs=self._connect_kwargs(dsn, connect_timeout),
            timeout=self.lock_timeout,
            open_timeout=float(connect_timeout),
            check=True,  # refreshes are hours apart: an idle connection may have died
            closed_message="the PostgresTokenStore is closed",
        )
        self._guard = threading.Lock()
        self._realm_locks: dict[str, threading.Lock] = {}
        self._pid = os.getpid()
        self._ready = False
        self._held = threading.local()
        self._sql = _statements(self._psycopg.sql, table)

    def __repr__(self) -> str:
        dsn = self._redact_dsn(self._dsn, self._dsn)
        return f"PostgresTokenStore({dsn!r}, table={self.table!r}, max_size={self._pool.max_size})"

    def __enter__(self) -> PostgresTokenStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- TokenStore ---------------------------------------------------------------------

    def load(self, realm_id: str) -> QuickBooksToken | None:
        row = self._execute(self._sql["load"], realm_id)
        return QuickBooksToken.from_json(row[0]) if row else None

    def save(self, realm_id: str, token: QuickBooksToken) -> None:
        """Store ``token`` for ``realm_id``, committed before this returns."""
        if not isinstance(token, QuickBooksToken):
            raise ConfigurationError("PostgresTokenStore.save needs a QuickBooksToken")
        self._execute(self._sql["save"], realm_id, token.to_json())

    def delete(self, realm_id: str) -> None:
        """Forget a realm's tokens (after a revoke)."""
        self._execute(self._sql["delete"], realm_id)

    def realms(self) -> list[str]:
        """The realms with a stored token."""
        with self._connection(None) as conn:
            rows = conn.execute(self._sql["realms"])
            return [str(row[0]) for row in rows.fetchall()]

    def lock(self, realm_id: str) -> AbstractContextManager[None]:
        """Single-flight refresh of ``realm_id`` across threads, processes and hosts."""
        return self._advisory_lock(realm_id)

    def close(self) -> None:
        """Close this process's pool; further use raises ConfigurationError."""
        self._pool.close()

    # -- locking ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _advisory_lock(self, realm_id: str) -> Iterator[None]:
        held = self._held_locks()
        if realm_id in held:
            held[realm_id][1] += 1
            try:
                yield
            finally:
                held[realm_id][1] -= 1
            return
        self._ensure_schema()
        deadline = time.monotonic() + self.lock_timeout
        local = self._realm_lock(realm_id)
        if not local.acquire(timeout=self.lock_timeout):
            raise self._lock_timeout_error(realm_id)
        try:
            with self._pooled() as conn:
                self._wait_for_lock(conn, realm_id, deadline - time.monotonic())
                held[realm_id] = [conn, 1]
                try:
                    yield
                finally:
                    del held[realm_id]
                    self._unlock(conn, realm_id)
        finally:
            local.release()

    def _wait_for_lock(self, conn: psycopg.Connection[Any], realm_id: str, left: float) -> None:
        timeout_ms = max(100, int(left * 1000))  # a free lock takes well under that
        try:
            conn.execute(f"SET statement_timeout = {timeout_ms}")
            try:
                conn.execute(_LOCK, (_key(realm_id),))
            finally:
                conn.execute("RESET statement_timeout")
        except self._psycopg.errors.QueryCanceled:
            raise self._lock_timeout_error(realm_id) from None
        except self._psycopg.Error as exc:
            conn.close()  # its lock state is unknown: the pool must not reuse it
            raise self._error("could not take the token lock", exc) from None
        except BaseException:
            conn.close()
            raise

    def _unlock(self, conn: psycopg.Connection[Any], realm_id: str) -> None:
        """Release before the connection goes back to the pool, or never return it."""
        try:
            row = conn.execute(_UNLOCK, (_key(realm_id),)).fetchone()
            released = bool(row and row[0])
        except self._psycopg.Error:
            released = False
        if not released or conn.info.transaction_status != _IDLE:
            conn.close()

    def _lock_timeout_error(self, realm_id: str) -> ErpSyncError:
        return ServiceError(
            f"another worker held the token lock of company {realm_id} for more than "
            f"{self.lock_timeout:g} s",
            backend=_BACKEND,
            record=f"company {realm_id}",
            retryable=True,
        )

    def _held_locks(self) -> dict[str, list[Any]]:
        """This thread's held locks: realm -> [connection, depth] (none after a fork)."""
        local = self._held.__dict__
        if local.get("pid") != os.getpid():
            local["pid"], local["held"] = os.getpid(), {}
        held: dict[str, list[Any]] = local["held"]
        return held

    def _realm_lock(self, realm_id: str) -> threading.Lock:
        with self._guard:
            if self._pid != os.getpid():  # locks held by the parent's threads stay held
                self._realm_locks, self._pid = {}, os.getpid()
            return self._realm_locks.setdefault(realm_id, threading.Lock())

    # -- connections --------------------------------------------------------------------

    @contextlib.contextmanager
    def _pooled(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; a driver error is translated (the DSN's password out)."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except self._psycopg.Error as exc:
            raise self._error("a token query failed", exc) from None

    @contextlib.contextmanager
    def _connection(self, realm_id: str | None) -> Iterator[psycopg.Connection[Any]]:
        """The lock's connection when this thread holds ``realm_id``'s lock (so a
        refresh never needs a second one), else a pooled one."""
        self._ensure_schema()
        held = self._held_locks().get(realm_id) if realm_id is not None else None
        if held is None:
            with self._pooled() as conn:
                yield conn
            return
        try:
            yield held[0]
        except self._psycopg.Error as exc:
            raise self._error("a token query failed", exc) from None

    def _execute(self, sql: Any, realm_id: str, *params: Any) -> tuple[Any, ...] | None:
        with self._connection(realm_id) as conn:
            cursor = conn.execute(sql, (realm_id, *params))
            return cursor.fetchone() if cursor.description else None

    def _ensure_schema(self) -> None:
        if self._ready:
            return
        try:
            with self._pool.connection() as conn:
                # One round trip (a multi-statement simple query): the transaction never
                # waits on this client, so no session is ever seen idle in transaction.
                conn.execute(self._sql["schema"])
        except self._psycopg.Error as exc:
            raise self._error("could not create the token table", exc) from None
        self._ready = True

    def _error(self, what: str, exc: Exception) -> ErpSyncError:
        detail = self._redact_dsn(str(exc), self._dsn).strip()
        return ServiceError(
            f"PostgresTokenStore: {what} ({type(exc).__name__}: {detail})",
            backend=_BACKEND,
            retryable=True,
        )

    @staticmethod
    def _connect_kwargs(dsn: str, connect_timeout: int) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"connect_timeout": connect_timeout}
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        try:
            named = "application_name" in conninfo_to_dict(dsn)
        except (psycopg.Error, ValueError):
            named = False  # psycopg reports the malformed DSN when it first connects
        if not named:
            kwargs["application_name"] = "erpsync-tokens"
        return kwargs


def _check_options(dsn: str, table: str, lock_timeout: float, min_size: int, max_size: int) -> None:
    if not isinstance(dsn, str) or not dsn.strip():
        raise ConfigurationError("PostgresTokenStore needs a DSN", backend=_BACKEND)
    if not isinstance(table, str) or not _TABLE.match(table):
        raise ConfigurationError(
            f"table must be a lower-case SQL identifier, not {table!r}", backend=_BACKEND
        )
    if not isinstance(lock_timeout, int | float) or not lock_timeout > 0:
        raise ConfigurationError("lock_timeout must be positive", backend=_BACKEND)
    for name, value, least in (("min_size", min_size, 0), ("max_size", max_size, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ConfigurationError(
                f"{name} must be an integer of at least {least}, not {value!r}",
                backend=_BACKEND,
            )
    if min_size > max_size:
        raise ConfigurationError(
            f"min_size ({min_size}) must not exceed max_size ({max_size})", backend=_BACKEND
        )


def _statements(sql: Any, table: str) -> dict[str, Any]:
    name = sql.Identifier(table)
    return {
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
