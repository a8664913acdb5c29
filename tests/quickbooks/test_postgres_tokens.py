"""PostgresTokenStore on a real PostgreSQL: the token store contract, and 4 processes
refreshing one company at once against a served FakeQuickBooks whose refresh tokens
are single use."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from erpsync.errors import ConfigurationError
from erpsync.quickbooks import PostgresTokenStore, QuickBooksToken
from erpsync.testing.contracts import TokenStoreContract
from erpsync.testing.quickbooks import FakeQuickBooks

_TABLES = itertools.count()


@pytest.fixture
def table() -> str:
    return f"tokens_{os.getpid()}_{next(_TABLES)}"


class TestPostgresTokenStore(TokenStoreContract):
    @pytest.fixture
    def token_store(self, pg_dsn: str, table: str) -> Any:
        store = PostgresTokenStore(pg_dsn, table=table)
        yield store
        store.close()


def test_import_quickbooks_does_not_import_psycopg() -> None:
    code = "import sys, erpsync.quickbooks; print('psycopg' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        PostgresTokenStore("")
    with pytest.raises(ConfigurationError):
        PostgresTokenStore("postgresql://x", table="tokens; drop table x")


def test_the_table_is_versioned_and_saves_are_committed_at_once(pg_dsn: str, table: str) -> None:
    store = PostgresTokenStore(pg_dsn, table=table)
    token = _seed_token("r" * 20)
    with store.lock("1"):
        store.save("1", token)
        # Another connection sees it while the lock is still held: committed, and no
        # transaction is open on the lock's session.
        with psycopg.connect(pg_dsn, autocommit=True) as other:
            rows = other.execute(f"SELECT count(*) FROM {table}").fetchone()
            states = other.execute(
                "SELECT state FROM pg_stat_activity WHERE datname = 'postgres' "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).fetchall()
    assert rows == (1,)
    assert all(state != "idle in transaction" for (state,) in states), states
    with psycopg.connect(pg_dsn, autocommit=True) as other:
        version = other.execute(
            "SELECT version FROM erpsync_schema WHERE component = %s",
            (f"quickbooks_tokens:{table}",),
        ).fetchone()
    assert version == (1,)
    store.close()


def test_an_unreachable_database_is_a_service_error_without_the_password() -> None:
    store = PostgresTokenStore("postgresql://u:hunter2secret@127.0.0.1:1/x", connect_timeout=2)
    with pytest.raises(Exception) as caught:
        store.load("1")
    assert "hunter2secret" not in str(caught.value) + repr(caught.value)
    assert type(caught.value).__module__.startswith("erpsync")


def _seed_token(refresh_token: str, access_token: str = "expired-access-token") -> QuickBooksToken:
    now = datetime.now(UTC)
    return QuickBooksToken(
        access_token=access_token,
        refresh_token=refresh_token,
        access_expires_at=now - timedelta(minutes=5),  # every worker must refresh
        refresh_expires_at=now + timedelta(days=100),
        realm_id="1",
        obtained_at=now - timedelta(hours=1),
    )


_WORKER = """
import json, sys, time
from erpsync.quickbooks import PostgresTokenStore, QuickBooksAuth
from erpsync.quickbooks.client import QuickBooksClient
dsn, table, url, client_id, secret, realm, start = sys.argv[1:8]
store = PostgresTokenStore(dsn, table=table)
auth = QuickBooksAuth(client_id, secret, token_store=store,
                      token_url=url + "/oauth2/v1/tokens/bearer")
while time.time() < float(start):
    time.sleep(0.005)
token = auth.get_token(realm)
client = QuickBooksClient(realm, auth, base_url=url)
name = client.company_info().get("CompanyName")
print(json.dumps({"access": token.access_token, "company": name}))
"""


def test_four_processes_refresh_one_company_once(pg_dsn: str, table: str) -> None:
    # a slow token endpoint widens every race; single-use tokens make a lost rotation visible
    fake = FakeQuickBooks(latency=0.2, refresh_tokens="single_use")
    url = fake.serve()
    creds = fake.credentials
    store = PostgresTokenStore(pg_dsn, table=table)
    store.save(creds.realm_id, _seed_token(creds.refresh_token, creds.access_token))
    seen_states: set[str] = set()
    stop = threading.Event()

    def watch() -> None:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            while not stop.is_set():
                rows = conn.execute(
                    "SELECT state FROM pg_stat_activity WHERE backend_type = 'client backend' "
                    "AND pid <> pg_backend_pid()"
                ).fetchall()
                seen_states.update(state for (state,) in rows if state)
                time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.time() + 3.0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [pg_dsn, table, url, creds.client_id, creds.client_secret, creds.realm_id]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, *args, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    try:
        results = [w.communicate(timeout=90) for w in workers]  # no process hangs
    finally:
        stop.set()
        for w in workers:
            if w.poll() is None:
                w.kill()
        fake.shutdown()
    for worker, (out, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err[-2000:]
    answers = [json.loads(out.strip().splitlines()[-1]) for out, _ in results]
    # One refresh: with single-use refresh tokens a second one would have failed with
    # invalid_grant or handed some process a different access token.
    assert len({a["access"] for a in answers}) == 1
    assert answers[0]["access"] != creds.access_token
    assert all(a["company"] for a in answers)  # the token works on the data API
    stored = store.load(creds.realm_id)
    assert stored is not None and stored.access_token == answers[0]["access"]
    assert stored.refresh_token != creds.refresh_token
    watcher.join(5)
    assert "idle in transaction" not in seen_states, seen_states
    store.close()
