"""A throwaway PostgreSQL cluster for the store tests: one per session, made with
initdb as user ``postgres`` on a free loopback port, removed at the end. Each test gets
a fresh database. Missing binaries FAIL the tests that need the cluster: the store
contract must run over PostgreSQL, not be skipped."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

PG_BIN = Path(os.environ.get("ERPSYNC_PG_BIN", "/usr/lib/postgresql/15/bin"))
_names = itertools.count()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(*argv: str) -> None:
    command = list(argv) if os.getuid() != 0 else ["runuser", "-u", "postgres", "--", *argv]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[str]:
    """The DSN of the cluster's ``postgres`` database."""
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL binaries not found in {PG_BIN} (set ERPSYNC_PG_BIN)")
    root = Path(tempfile.mkdtemp(prefix="erpsync-pg-"))
    data = root / "data"
    if os.getuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    _as_postgres(
        str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=200"
    )
    _as_postgres(
        str(PG_BIN / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-w",
        "-l",
        str(root / "log"),
        "start",
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_dsn(pg_cluster: str) -> str:
    """A fresh, empty database on the session's cluster."""
    name = f"t{os.getpid()}_{next(_names)}"
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_cluster.rsplit("/", 1)[0] + f"/{name}"
