"""4 processes x 16 threads rotating one company's QuickBooks tokens through
PostgresTokenStore at once, against a served FakeQuickBooks whose refresh tokens are
single use: a refresh that spent a stale refresh token would get invalid_grant, a
rotation lost before its commit would leave the company disconnected. Neither happens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from erpsync.quickbooks import PostgresTokenStore, QuickBooksAuth, QuickBooksToken
from erpsync.quickbooks.client import QuickBooksClient
from erpsync.testing.quickbooks import FakeQuickBooks

PROCESSES, THREADS, ROUNDS = 4, 16, 3

_WORKER = """
import json, sys, threading, time
from erpsync.quickbooks import PostgresTokenStore, QuickBooksAuth
from erpsync.quickbooks.client import QuickBooksClient
dsn, url, client_id, secret, realm, start, threads, rounds = sys.argv[1:9]
store = PostgresTokenStore(dsn)
results, lock = [], threading.Lock()

def lane():
    # each thread is its own client: its own cache, as separate workers would be
    auth = QuickBooksAuth(client_id, secret, token_store=store,
                          token_url=url + "/oauth2/v1/tokens/bearer")
    client = QuickBooksClient(realm, auth, base_url=url)
    seen, errors = [], []
    while time.time() < float(start):
        time.sleep(0.002)
    for _ in range(int(rounds)):
        try:
            seen.append(auth.refresh(realm).access_token)
            client.company_info()          # the token works on the data API
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    with lock:
        results.append({"seen": seen, "errors": errors})

lanes = [threading.Thread(target=lane) for _ in range(int(threads))]
for t in lanes: t.start()
for t in lanes: t.join()
print(json.dumps(results))
"""


def _seed(store: PostgresTokenStore, realm: str, access: str, refresh: str) -> None:
    now = datetime.now(UTC)
    store.save(
        realm,
        QuickBooksToken(
            access_token=access,
            refresh_token=refresh,
            access_expires_at=now + timedelta(minutes=50),
            refresh_expires_at=now + timedelta(days=100),
            realm_id=realm,
            obtained_at=now - timedelta(minutes=10),
        ),
    )


def test_64_threads_in_4_processes_rotate_without_invalid_grant(pg_dsn: str) -> None:
    fake = FakeQuickBooks(latency=0.01, refresh_tokens="single_use", governance=None)
    url = fake.serve()
    creds = fake.credentials
    store = PostgresTokenStore(pg_dsn)
    _seed(store, creds.realm_id, creds.access_token, creds.refresh_token)
    start = time.time() + 4.0  # every process imported and connected by then
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = [pg_dsn, url, creds.client_id, creds.client_secret, creds.realm_id, str(start)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, *argv, str(THREADS), str(ROUNDS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(PROCESSES)
    ]
    try:
        outputs = [w.communicate(timeout=120) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    try:
        for worker, (_, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err[-2000:]
        lanes = [lane for out, _ in outputs for lane in json.loads(out.strip().splitlines()[-1])]
        assert len(lanes) == PROCESSES * THREADS
        errors = [e for lane in lanes for e in lane["errors"]]
        assert errors == [], errors[:5]  # no invalid_grant, nor anything else
        seen = {token for lane in lanes for token in lane["seen"]}
        assert len(seen) >= ROUNDS * 2, "the refreshes did not rotate: the test proves nothing"
        # the company is still connected: the stored refresh token is the live one
        auth = QuickBooksAuth(
            creds.client_id,
            creds.client_secret,
            token_store=store,
            token_url=f"{url}/oauth2/v1/tokens/bearer",
        )
        final = auth.refresh(creds.realm_id)
        assert final.access_token not in seen
        assert QuickBooksClient(creds.realm_id, auth, base_url=url).company_info()
    finally:
        store.close()
        fake.shutdown()
