"""The servers the tests start (tests/servers.py, tests/conftest.py): a server that cannot
start skips its tests with the reason outside CI and fails them in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .servers import ServerUnavailable, in_ci, postgres_server, redis_server

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", False), ("0", False), ("false", False), ("No", False), ("1", True), ("true", True)],
)
def test_in_ci_reads_the_ci_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv("CI", value)
    assert in_ci() is expected


def test_missing_postgres_binaries_say_where_they_were_looked_for(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ERPSYNC_PG_BIN", str(tmp_path))
    with pytest.raises(ServerUnavailable, match="ERPSYNC_PG_BIN"), postgres_server():
        pass


def test_missing_redis_server_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    if Path("/usr/bin/redis-server").exists():
        pytest.skip("redis-server is at its fixed fallback path")
    with pytest.raises(ServerUnavailable, match="redis-server"), redis_server():
        pass


def test_the_servers_start_answer_and_are_removed(pg_cluster: str, redis_url: str) -> None:
    import psycopg
    import redis

    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert redis.Redis.from_url(redis_url).ping()


_PROBE = """
def test_needs_postgres(pg_cluster):
    pass
"""


@pytest.mark.parametrize(("ci", "outcome"), [("", "1 skipped"), ("1", "1 error")])
def test_an_unstartable_server_skips_outside_ci_and_fails_in_ci(
    tmp_path: Path, ci: str, outcome: str
) -> None:
    suite = tmp_path / "tests"
    suite.mkdir()
    for name in ("conftest.py", "servers.py"):
        shutil.copy(HERE / name, suite / name)
    (suite / "test_probe.py").write_text(_PROBE)
    env = {**os.environ, "CI": ci, "ERPSYNC_PG_BIN": str(tmp_path / "no-postgres")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--import-mode=importlib",
            "-rs",
            str(suite),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert outcome in done.stdout, done.stdout[-2000:]
    assert "ERPSYNC_PG_BIN" in done.stdout  # the reason is printed
