"""Throwaway PostgreSQL and Redis servers: the one place the tests and the benchmarks start them.

``with postgres_server() as dsn:`` makes a cluster with ``initdb`` in a temporary
directory, starts it on a free loopback port with its socket in that directory, and
stops and removes it afterwards. PostgreSQL refuses to run as root, so when we are root
the directory is given to the ``postgres`` user and every binary runs through
``runuser -u postgres``. ``with redis_server() as url:`` starts ``redis-server`` on a
free loopback port with persistence off, and stops it by its own pid.

Both raise :class:`ServerUnavailable` (with the reason) when the server cannot be
started, so that the caller decides: the test fixtures (``tests/conftest.py``) skip
outside CI and fail in CI; ``benchmarks/many_workers.py`` stops with the message.

This is a plain module, not a conftest, so that a benchmark can load it by path
(:func:`load_from` in ``benchmarks/many_workers.py``); it imports nothing beyond the
standard library.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["ServerUnavailable", "in_ci", "postgres_server", "redis_server"]

#: Where a PostgreSQL install keeps initdb and pg_ctl (ERPSYNC_PG_BIN overrides it).
_PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


class ServerUnavailable(RuntimeError):
    """A server could not be started on this machine; the message says why."""


def in_ci() -> bool:
    """Whether we run in CI (``CI`` set to anything but empty, 0, false or no): there a
    server that cannot start is a failure, never a skip."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- PostgreSQL ------------------------------------------------------------------------------


def _pg_bin() -> Path:
    configured = os.environ.get("ERPSYNC_PG_BIN")
    if configured:
        candidates = [configured]
    else:
        # the newest installed major version first (sorted numerically, not as text)
        found = glob.glob(_PG_BIN_GLOB)
        candidates = sorted(found, key=lambda p: int(Path(p).parent.name), reverse=True)
        if shutil.which("initdb"):
            candidates.append(str(Path(str(shutil.which("initdb"))).parent))
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    where = configured or f"{_PG_BIN_GLOB} or on PATH"
    raise ServerUnavailable(
        f"no PostgreSQL initdb/pg_ctl in {where} "
        "(apt-get install postgresql, or set ERPSYNC_PG_BIN)"
    )


def _as_postgres(argv: list[str]) -> list[str]:
    """``argv`` run as the ``postgres`` user when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return argv
    if shutil.which("runuser") is None:
        raise ServerUnavailable("running as root, and no runuser to become user postgres")
    return ["runuser", "-u", "postgres", "--", *argv]


def _run(argv: list[str], what: str) -> None:
    try:
        subprocess.run(_as_postgres(argv), check=True, capture_output=True, timeout=120)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace").strip()[-800:]
        raise ServerUnavailable(f"{what} failed (exit {exc.returncode}): {detail}") from None
    except (subprocess.TimeoutExpired, OSError) as exc:
        raise ServerUnavailable(f"{what} failed: {exc}") from None


def _postgres_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="erpsync-pg-"))
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            raise ServerUnavailable("running as root, and there is no user postgres") from None
        shutil.chown(root, "postgres", "postgres")
    return root


def _stop_postgres(bin_dir: Path, data: Path) -> None:
    """Stop the cluster; if pg_ctl cannot, kill the postmaster by the pid it wrote."""
    stop = [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
    with contextlib.suppress(subprocess.SubprocessError, OSError, ServerUnavailable):
        done = subprocess.run(_as_postgres(stop), capture_output=True, timeout=60)
        if done.returncode == 0:
            return
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def postgres_server(*, max_connections: int = 300) -> Iterator[str]:
    """A throwaway cluster; yields the DSN of its ``postgres`` database (user ``postgres``,
    trust authentication, loopback only, ``fsync`` off: it is thrown away anyway)."""
    bin_dir = _pg_bin()
    root = _postgres_root()
    data = root / "data"
    started = False
    try:
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres"]
        _run([*initdb, "--auth=trust", "-E", "UTF8"], "initdb")
        port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
            f"-c synchronous_commit=off -c max_connections={max_connections}"
        )
        start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-t", "60"]
        _run([*start, "-l", str(root / "log"), "start"], "pg_ctl start")
        started = True
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            _stop_postgres(bin_dir, data)
        shutil.rmtree(root, ignore_errors=True)


# -- Redis -----------------------------------------------------------------------------------


def _redis_answers(port: int) -> bool:
    """Whether a Redis on ``port`` answers PING (raw protocol: no client library needed)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway ``redis-server``; yields its ``redis://127.0.0.1:PORT/0`` URL."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise ServerUnavailable("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--maxclients", "2000"]
    # its log goes to a file, not a pipe: nobody reads it while the server runs
    with tempfile.TemporaryFile() as log:
        try:
            server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        except OSError as exc:
            raise ServerUnavailable(f"redis-server could not run: {exc}") from None
        try:
            deadline = time.monotonic() + 15
            while not _redis_answers(port):
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    server.wait()
                    log.seek(0)
                    out = log.read().decode(errors="replace")
                    raise ServerUnavailable(f"redis-server did not start on {port}: {out[-800:]}")
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            if server.poll() is None:
                server.terminate()
                try:
                    server.wait(10)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
