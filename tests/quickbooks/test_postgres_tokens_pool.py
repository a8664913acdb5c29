"""PostgresTokenStore's connections: a bounded pool per process, safe across fork, no
session ever idle in transaction, a dead lock holder's lock released by the server, and
the DSN's password in no repr or error.

Sessions are counted in pg_stat_activity by a distinctive ``application_name`` put in
the DSN, so each test sees only its own store's connections."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from erpsync.errors import ConfigurationError, ServiceError
from erpsync.quickbooks import PostgresTokenStore, QuickBooksToken

_NAMES = itertools.count()


@pytest.fixture
def app() -> str:
    return f"erpsync_test_{os.getpid()}_{next(_NAMES)}"


def _named(dsn: str, app: str) -> str:
    return f"{dsn}{'&' if '?' in dsn else '?'}application_name={app}"


def _token(n: int = 0) -> QuickBooksToken:
    now = datetime.now(UTC)
    return QuickBooksToken(
        access_token=f"access-{n}",
        refresh_token=f"refresh-{n}",
        access_expires_at=now + timedelta(hours=1),
        refresh_expires_at=now + timedelta(days=100),
        realm_id="1",
        obtained_at=now,
    )


def _advisory_locks(dsn: str, app: str) -> list[bool]:
    """``granted`` of every advisory lock a session of ``app`` holds or waits for."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT l.granted FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND a.application_name = %s",
            (app,),
        ).fetchall()
    return sorted(granted for (granted,) in rows)


def _sessions(dsn: str, app: str) -> list[str]:
    """The state of every session of ``app`` (seen from a connection of our own)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT coalesce(state, '') FROM pg_stat_activity WHERE application_name = %s",
            (app,),
        ).fetchall()
    return [state for (state,) in rows]


class _Watcher:
    """Samples the sessions of ``app`` until stopped: the peak count and every state."""

    def __init__(self, dsn: str, app: str) -> None:
        self.peak, self.states = 0, set[str]()
        self._dsn, self._app, self._stop = dsn, app, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            while not self._stop.is_set():
                rows = conn.execute(
                    "SELECT coalesce(state, '') FROM pg_stat_activity WHERE application_name = %s",
                    (self._app,),
                ).fetchall()
                self.peak = max(self.peak, len(rows))
                self.states.update(state for (state,) in rows)
                time.sleep(0.005)


def test_sixteen_threads_refreshing_use_at_most_max_size_connections(pg_dsn: str, app: str) -> None:
    store = PostgresTokenStore(_named(pg_dsn, app), max_size=3)
    errors: list[BaseException] = []

    def lane(n: int) -> None:
        try:
            for round_ in range(8):
                realm = str((n + round_) % 6)  # several threads on one company at once
                with store.lock(realm):
                    store.load(realm)
                    time.sleep(0.005)  # the refresh POST
                    store.save(realm, _token(n))
                store.load(str(n))
        except BaseException as exc:
            errors.append(exc)

    with _Watcher(pg_dsn, app) as watcher:
        lanes = [threading.Thread(target=lane, args=(n,)) for n in range(16)]
        for thread in lanes:
            thread.start()
        for thread in lanes:
            thread.join(60)
    assert not errors, errors
    assert 1 <= watcher.peak <= 3, watcher.peak
    assert "idle in transaction" not in watcher.states, watcher.states
    assert "idle in transaction" not in _sessions(pg_dsn, app)
    assert store.realms() == [str(n) for n in range(6)]
    store.close()


def test_no_session_is_idle_in_transaction_while_a_refresh_holds_the_lock(
    pg_dsn: str, app: str
) -> None:
    store = PostgresTokenStore(_named(pg_dsn, app), max_size=2)
    store.save("1", _token())
    with store.lock("1"):
        store.save("1", _token(1))
        # another thread queues for the same company meanwhile
        waiter_done = threading.Event()

        def wait_for_it() -> None:
            with store.lock("1"):
                waiter_done.set()

        waiting = threading.Thread(target=wait_for_it)
        waiting.start()
        time.sleep(0.2)
        during = _sessions(pg_dsn, app)
        locks_during = _advisory_locks(pg_dsn, app)
        assert not waiter_done.is_set()
        # committed already: a connection of another client sees the rotated token
        with PostgresTokenStore(pg_dsn) as other:
            seen = other.load("1")
    waiting.join(10)
    assert waiter_done.is_set()
    assert seen is not None and seen.access_token == "access-1"
    assert during and "idle in transaction" not in during, during
    assert locks_during == [True]  # the holder's; the waiter queues in the process
    after = _sessions(pg_dsn, app)
    assert after and all(state == "idle" for state in after), after
    # released before the connection went back to the pool: the pool holds no lock
    assert _advisory_locks(pg_dsn, app) == []
    store.close()


def test_close_closes_the_pool_and_the_store_is_a_context_manager(pg_dsn: str, app: str) -> None:
    with PostgresTokenStore(_named(pg_dsn, app)) as store:
        store.save("1", _token())
        assert _sessions(pg_dsn, app)
    deadline = time.monotonic() + 5
    while _sessions(pg_dsn, app) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sessions(pg_dsn, app) == []
    with pytest.raises(ConfigurationError, match="closed"):
        store.load("1")


def _in_child(store: PostgresTokenStore, out: multiprocessing.Queue[str]) -> None:
    try:
        token = store.load("1")
        with store.lock("1"):
            store.save("1", _token(2))
        out.put(token.access_token if token else "none")
    except BaseException as exc:
        out.put(f"{type(exc).__name__}: {exc}")


def test_a_forked_child_uses_its_own_connections(pg_dsn: str, app: str) -> None:
    store = PostgresTokenStore(_named(pg_dsn, app), max_size=2)
    store.save("1", _token(1))  # the parent's pool is open and holds a connection
    with store.lock("9"):  # ...and a thread of it holds a lock while the child forks
        ctx = multiprocessing.get_context("fork")
        out: multiprocessing.Queue[str] = ctx.Queue()
        child = ctx.Process(target=_in_child, args=(store, out))
        child.start()
        assert out.get(timeout=30) == "access-1"
        child.join(30)
        assert child.exitcode == 0
    # the parent's connections were neither used nor closed by the child
    loaded = store.load("1")
    assert loaded is not None and loaded.access_token == "access-2"
    store.close()


_HOLDER = """
import sys, time
from erpsync.quickbooks import PostgresTokenStore
store = PostgresTokenStore(sys.argv[1])
with store.lock("1"):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder(pg_dsn: str) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, pg_dsn], stdout=subprocess.PIPE, text=True, env=env
    )
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(10)


def test_a_killed_holder_releases_the_lock(pg_dsn: str, holder: subprocess.Popen[str]) -> None:
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    impatient = PostgresTokenStore(pg_dsn, lock_timeout=0.5)
    with pytest.raises(ServiceError, match="held the token lock") as caught, impatient.lock("1"):
        pass
    assert caught.value.retryable
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    started = time.monotonic()
    with PostgresTokenStore(pg_dsn, lock_timeout=10) as store, store.lock("1"):
        store.save("1", _token())
    assert time.monotonic() - started < 5
    impatient.close()


def test_the_password_is_in_no_repr_and_no_error() -> None:
    for dsn in (
        "postgresql://u:hunter2secret@127.0.0.1:1/x",
        "host=127.0.0.1 port=1 user=u password=hunter2secret dbname=x",
    ):
        store = PostgresTokenStore(dsn, connect_timeout=1, lock_timeout=2)
        assert "hunter2secret" not in repr(store) + str(store)
        for call in (lambda: store.load("1"), lambda: store.lock("1").__enter__()):
            with pytest.raises(ServiceError) as caught:
                call()
            text = str(caught.value) + repr(caught.value) + repr(caught.value.__cause__)
            assert "hunter2secret" not in text
            assert caught.value.retryable
        store.close()


@pytest.mark.parametrize(
    "options",
    [{"max_size": 0}, {"min_size": -1}, {"min_size": 5, "max_size": 4}, {"max_size": "4"}],
)
def test_bad_pool_sizes_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="size"):
        PostgresTokenStore("postgresql://x", **options)  # type: ignore[arg-type]
