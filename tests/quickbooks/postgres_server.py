"""A throwaway PostgreSQL 15 cluster for tests: ``with postgres_server() as dsn: ...``.

initdb in a temporary directory owned by ``postgres`` (the tests run as root, and
PostgreSQL refuses to run as root), started on a free loopback port with its socket in
the same directory, stopped and removed afterwards. Raises ``PostgresUnavailable`` when
the binaries are missing, for the caller to skip (outside CI) or fail (in CI).
(The sync helper writes a similar fixture for the store; the lead unifies them.)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

BIN = Path(os.environ.get("ERPSYNC_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries (or no way to run them) on this machine."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(*args: str) -> list[str]:
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root without runuser")
        return ["runuser", "-u", "postgres", "--", *args]
    return list(args)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a cluster; yield its DSN (database ``postgres``, user ``postgres``)."""
    if not (BIN / "initdb").exists():
        raise PostgresUnavailable(f"no initdb in {BIN}")
    root = Path(tempfile.mkdtemp(prefix="erpsync-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    try:
        subprocess.run(
            _as_postgres(str(BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"),
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
        subprocess.run(
            _as_postgres(
                str(BIN / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "-l",
                str(root / "log"),
                "start",
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailable(f"could not start PostgreSQL: {exc}") from exc
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)
