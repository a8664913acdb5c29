"""The real servers the tests need, one of each for the whole session (tests/servers.py).

* ``pg_cluster``: the DSN of a throwaway PostgreSQL cluster's ``postgres`` database;
* ``pg_dsn``: a fresh, empty database on that cluster for one test;
* ``redis_url``: a throwaway Redis (tests share it: key by a ``tenant`` of their own).

A server that cannot be started skips the tests that need it, with the reason, except in
CI (``CI`` set), where it fails them: the store contract must run over PostgreSQL and the
limiter tests over Redis there, never be skipped.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest

from .servers import ServerUnavailable, in_ci, postgres_server, redis_server

_databases = itertools.count()


def _serve(server: contextlib.AbstractContextManager[str], what: str) -> Iterator[str]:
    try:
        address = server.__enter__()
    except ServerUnavailable as exc:
        if in_ci():
            pytest.fail(f"{what} could not be started, and CI requires it: {exc}")
        pytest.skip(f"{what} is not available (these tests need one): {exc}")
    try:
        yield address
    finally:
        server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[str]:
    """The DSN of the session's PostgreSQL cluster (database ``postgres``)."""
    yield from _serve(postgres_server(), "PostgreSQL")


@pytest.fixture
def pg_dsn(pg_cluster: str) -> str:
    """A fresh, empty database on the session's cluster."""
    import psycopg

    name = f"t{os.getpid()}_{next(_databases)}"
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_cluster.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of the session's Redis."""
    yield from _serve(redis_server(), "Redis")


def pytest_report_header(config: Any) -> str:
    """Say up front whether a missing server will skip or fail."""
    mode = "fail (CI)" if in_ci() else "skip (not CI)"
    return f"erpsync servers: PostgreSQL and Redis started per session; if unavailable: {mode}"
