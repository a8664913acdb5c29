"""One psycopg_pool pool per process, shared by every erpsync component on PostgreSQL.

:class:`~erpsync.store.PostgresSyncStore` and
:class:`~erpsync.quickbooks.PostgresTokenStore` both hold a bounded pool of autocommit
connections. Two rules make that safe in the worker systems people run us in (Celery
prefork, RQ, multiprocessing, gunicorn):

* **A pool belongs to the process that made it.** After ``fork`` the child gets a copy
  of the parent's sockets; using one (or closing one, which sends a terminate message)
  corrupts or kills the parent's session. So the pool is built lazily and rebuilt when
  the pid changes, and the parent's copy is left unclosed and unused (psycopg itself does not
  close a connection in a process other than its creator). The guard lock is replaced
  in the child too, in case another thread held it at the moment of the fork.
* **A failed start is retried, not kept.** The first connection is awaited for
  ``open_timeout``; if it does not come, the pool is closed and the caller gets the
  driver's own error (from one direct attempt, so the message says why), and the next
  call starts afresh instead of waiting on a pool that keeps failing in the background.

Also here: :func:`dsn_secrets`, the password(s) a DSN holds, for redaction (a URL's
``user:password@`` is not something the generic patterns of ``_redact`` recognise).

Imported only by modules that need psycopg (the ``postgres`` extra).
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from erpsync._redact import REDACTED, redact
from erpsync.errors import ConfigurationError

__all__ = ["ProcessPool", "dsn_secrets", "redact_dsn"]

_USERINFO = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_LIVE: weakref.WeakSet[ProcessPool] = weakref.WeakSet()
#: The parent's pools, in a forked child (see ProcessPool._forget_after_fork).
_ABANDONED: list[object] = []


def dsn_secrets(dsn: str) -> tuple[str, ...]:
    """The password a libpq DSN or URL carries (empty when it carries none)."""
    try:
        password = conninfo_to_dict(dsn).get("password")
    except (psycopg.Error, ValueError, TypeError):
        password = None
    return (str(password),) if password else ()


def redact_dsn(text: str, dsn: str) -> str:
    """``text`` with the DSN's password (and a URL's ``user:password@``) removed."""
    return _USERINFO.sub(rf"\1{REDACTED}@", redact(text, *dsn_secrets(dsn)))


class ProcessPool:
    """A lazily built, fork-aware :class:`psycopg_pool.ConnectionPool`.

    ``kwargs`` go to every ``psycopg.connect`` (``autocommit`` is forced on).
    ``timeout`` bounds the wait for a free connection; ``open_timeout`` the wait for the
    first one. Using it after :meth:`close` raises ConfigurationError(``closed_message``).
    ``check`` verifies a connection before handing it out (worth one round
    trip when connections sit idle for long, as a token store's do).
    """

    def __init__(
        self,
        dsn: str,
        *,
        name: str,
        min_size: int = 1,
        max_size: int = 4,
        kwargs: Mapping[str, Any] | None = None,
        timeout: float = 30.0,
        open_timeout: float = 30.0,
        check: bool = False,
        closed_message: str = "the PostgreSQL connection pool is closed",
    ) -> None:
        self._dsn = dsn
        self._closed_message = closed_message
        self._name = name
        self.min_size = int(min_size)
        self.max_size = int(max_size)
        self._kwargs: dict[str, Any] = {**(kwargs or {}), "autocommit": True}
        self._timeout = float(timeout)
        self._open_timeout = float(open_timeout)
        self._check = check
        self._guard = threading.Lock()
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._pid = os.getpid()
        self.closed = False
        _LIVE.add(self)

    def __repr__(self) -> str:
        return f"ProcessPool({self._name!r}, max_size={self.max_size})"

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection of this process's pool, returned to it on exit.

        A connection closed inside the block is discarded by the pool (and replaced),
        which is how a caller throws away a session whose state it cannot vouch for.
        """
        with self._get().connection(timeout=self._timeout) as conn:
            yield conn

    def close(self) -> None:
        """Close this process's pool; :attr:`closed` is then True for good."""
        with self._guard:
            pool, self._pool = self._pool, None
            self.closed = True
        if pool is not None and self._pid == os.getpid():
            pool.close()

    def _forget_after_fork(self) -> None:
        self._guard = threading.Lock()
        if self._pool is not None:
            # Kept referenced, never collected here: the pool's finaliser would signal
            # worker threads that exist only in the parent, through queues whose locks
            # a parent thread may have held at the fork.
            _ABANDONED.append(self._pool)
        self._pool, self._pid = None, os.getpid()

    def _get(self) -> ConnectionPool[psycopg.Connection[Any]]:
        with self._guard:
            if self.closed:
                raise ConfigurationError(self._closed_message)
            if self._pid != os.getpid():
                self._forget_after_fork()
            if self._pool is None:
                self._pool = self._open()
            return self._pool

    def _open(self) -> ConnectionPool[psycopg.Connection[Any]]:
        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            self._dsn,
            name=self._name,
            min_size=self.min_size,
            max_size=self.max_size,
            kwargs=self._kwargs,
            timeout=self._timeout,
            check=ConnectionPool.check_connection if self._check else None,
            open=True,
        )
        try:
            pool.wait(timeout=self._open_timeout)
        except PoolTimeout:
            pool.close()
            # The pool logs its connection errors but raises only a timeout: one direct
            # attempt gives the caller the reason (refused, bad password, no database).
            psycopg.connect(self._dsn, **self._kwargs).close()
            raise
        return pool


def _after_fork_in_child() -> None:
    for pool in list(_LIVE):
        pool._forget_after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)
