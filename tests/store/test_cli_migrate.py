"""``erpsync store migrate`` on both stores, through the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from erpsync.cli import main
from erpsync.store import PostgresSyncStore


def test_migrate_brings_a_postgres_store_up_to_date(
    pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["store", "migrate", "--store", pg_dsn]
    assert main(argv) == 0
    assert "migrated from schema version 0 to 1" in capsys.readouterr().out
    assert main(argv) == 0
    assert "already up to date" in capsys.readouterr().out
    with PostgresSyncStore(pg_dsn, migrate=False) as store:
        assert store.schema_version() == 1


def test_migrate_an_sqlite_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "migrate", "--store", str(tmp_path / "s.db")]) == 0
    assert "schema version 2" in capsys.readouterr().out


def test_an_unreachable_server_is_an_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["store", "migrate", "--store", "postgresql://nobody@127.0.0.1:1/x?connect_timeout=1"]
    assert main(argv) == 1
    assert "error:" in capsys.readouterr().err
