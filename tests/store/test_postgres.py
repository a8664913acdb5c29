"""PostgresSyncStore on a real PostgreSQL server: the store contract, server time,
migrations, fork safety, no transaction left open, and claims across processes."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator

import psycopg
import pytest

from erpsync.store import PostgresSyncStore, SyncStore
from erpsync.testing.contracts import SyncStoreContract


class TestPostgresSyncStore(SyncStoreContract):
    @pytest.fixture
    def store(self, pg_dsn: str) -> Iterator[PostgresSyncStore]:
        with PostgresSyncStore(pg_dsn) as opened:
            yield opened

    def let_time_pass(self, store: SyncStore, seconds: float) -> None:
        time.sleep(seconds)  # leases run on the server's clock: only real time moves it


def test_migrations_are_versioned_and_idempotent(pg_dsn: str) -> None:
    with PostgresSyncStore(pg_dsn, migrate=False) as store:
        assert store.schema_version() == 0
        assert store.migrate() == 1
        assert store.migrate() == 1
        assert store.schema_version() == 1


def test_no_transaction_is_left_open_between_calls(pg_dsn: str) -> None:
    with PostgresSyncStore(pg_dsn) as store:
        claim = store.claim("ERP", "invoice", "k", owner="w", lease_seconds=60)
        assert claim is not None
        store.set_cursor("c", "v")
        list(store.iter_entries())
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            states = conn.execute(
                "SELECT state FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ).fetchall()
        assert states and all(state == "idle" for (state,) in states), states


def _claim_all(dsn: str, worker: int, keys: int, out: multiprocessing.Queue[list[str]]) -> None:
    with PostgresSyncStore(dsn, migrate=False) as store:
        won = []
        for n in range(keys):
            claim = store.claim("ERP", "invoice", f"k{n}", owner=f"w{worker}", lease_seconds=60)
            if claim is not None:
                store.mark_written(claim, f"r{n}")
                won.append(f"k{n}")
        out.put(won)


def test_four_processes_claim_each_of_200_keys_exactly_once(pg_dsn: str) -> None:
    PostgresSyncStore(pg_dsn).close()  # migrated once, before the workers start
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[list[str]] = ctx.Queue()
    workers = [ctx.Process(target=_claim_all, args=(pg_dsn, w, 200, out)) for w in range(4)]
    for process in workers:
        process.start()
    won = [key for _ in workers for key in out.get(timeout=60)]
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert sorted(won) == sorted(f"k{n}" for n in range(200))


def _use_after_fork(store: PostgresSyncStore, out: multiprocessing.Queue[str | None]) -> None:
    out.put(store.get_cursor("c"))


def test_a_forked_child_opens_its_own_pool(pg_dsn: str) -> None:
    with PostgresSyncStore(pg_dsn) as store:
        store.set_cursor("c", "parent")
        ctx = multiprocessing.get_context("fork")
        out: multiprocessing.Queue[str | None] = ctx.Queue()
        child = ctx.Process(target=_use_after_fork, args=(store, out))
        child.start()
        assert out.get(timeout=30) == "parent"
        child.join(timeout=30)
        assert child.exitcode == 0
        assert store.get_cursor("c") == "parent"  # the parent's pool still works
