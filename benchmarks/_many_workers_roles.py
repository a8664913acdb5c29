"""The processes of benchmarks/many_workers.py: emulator hosts and workers, and the sums.

* ``host``: serves one FakeQuickBooks per tenant (Intuit's limits, time-scaled; refresh
  tokens as Intuit documents them, or strictly single use) and, asked for its
  ``report``, answers each tenant's 429s, the times of the data requests it admitted and
  the external ids of the invoices it holds.
* ``worker``: for each tenant, ``threads`` threads push the tenant's invoices through
  ``AccountingSync`` over the shared PostgresSyncStore, PostgresTokenStore and limiter,
  pass after pass until every invoice is written; it prints one JSON event a line.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import Counter, deque
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from erpsync import AuthenticationError, Invoice, InvoiceLine, RateLimitError, Ref
from erpsync.quickbooks import wire

#: QuickBooks' windows per company and app (the batch window is unused here).
WINDOWS = ((wire.REQUESTS_PER_MINUTE, 60.0), (wire.REQUESTS_PER_SECOND, 1.0))
_MARKER = re.compile(r"\[erpsync external_id=([^\]]+)\]")


# -- the sums --------------------------------------------------------------------------------


def ceiling_rate(scale: float) -> float:
    """A tenant's steady-state ceiling, requests a second: the tightest window's rate."""
    return min(count / (per * scale) for count, per in WINDOWS)


def ceiling(seconds: float, scale: float) -> float:
    """The most requests the windows admit in ``seconds`` from empty windows: a greedy
    admission simulated against every window (a burst of a window's count at once, then
    each request as soon as the oldest of the last count leaves its window)."""
    logs = [deque[float]() for _ in WINDOWS]
    now, admitted = 0.0, 0
    while now <= seconds:
        wait = 0.0
        for (count, per), log in zip(WINDOWS, logs, strict=True):
            while log and log[0] <= now - per * scale:
                log.popleft()
            if len(log) >= count:
                wait = max(wait, log[len(log) - count] + per * scale - now)
        if wait > 0:
            now += wait + 1e-9
            continue
        for log in logs:
            log.append(now)
        admitted += 1
    return float(max(1, admitted))


def invoice_keys(realm: str, count: int) -> set[str]:
    return {f"r{realm[-4:]}-{i:05d}" for i in range(count)}


# -- PostgreSQL ------------------------------------------------------------------------------


def fresh_database(cluster_dsn: str, name: str) -> str:
    import psycopg

    with psycopg.connect(cluster_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return cluster_dsn.rsplit("/", 1)[0] + f"/{name}"


def drop_database(cluster_dsn: str, dsn: str) -> None:
    import psycopg

    with psycopg.connect(cluster_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {dsn.rsplit('/', 1)[1]} WITH (FORCE)")


def seed_expired_tokens(dsn: str, tenants: list[dict[str, Any]]) -> None:
    """Every tenant's token pair, its access token already expired: every worker's first
    request needs a refresh, all at once (single-flight across processes)."""
    from erpsync.quickbooks import PostgresTokenStore, QuickBooksToken

    now = datetime.now(UTC)
    store = PostgresTokenStore(dsn)
    try:
        for tenant in tenants:
            creds = tenant["credentials"]
            store.save(
                creds["realm_id"],
                QuickBooksToken(
                    access_token=creds["access_token"],
                    refresh_token=creds["refresh_token"],
                    access_expires_at=now - timedelta(minutes=5),
                    refresh_expires_at=now + timedelta(days=100),
                    realm_id=creds["realm_id"],
                    obtained_at=now - timedelta(hours=1),
                ),
            )
    finally:
        store.close()


# -- the emulator host -------------------------------------------------------------------------


def _host(spec: dict[str, Any]) -> int:
    import logging
    from dataclasses import asdict

    from erpsync.testing import FakeQuickBooks
    from erpsync.testing.core.emulator import Governance, Window

    logging.basicConfig(level=logging.ERROR)  # "FakeQuickBooks answered 429": counted instead
    governance = Governance(
        concurrency=wire.MAX_CONCURRENT_REQUESTS,
        windows=tuple(Window(count, per) for count, per in WINDOWS),
        time_scale=spec["scale"],
    )
    admitted: dict[str, list[float]] = {}

    class Counting(FakeQuickBooks):
        """Notes when each data request it let through arrived."""

        def handle(self, request: Any) -> Any:
            arrived = time.time()
            response = super().handle(request)
            if request.path.startswith("/v3/company/") and getattr(response, "status", 0) != 429:
                admitted[self.credentials.realm_id].append(arrived)
            return response

    fakes, tenants = [], []
    for realm in spec["realms"]:
        fake = Counting(
            realm_id=realm,
            governance=governance,
            latency=spec["latency"],
            refresh_tokens=spec["refresh_tokens"],
            seed=spec["seed"],
        )
        admitted[realm] = []
        url = fake.serve()
        customer = fake.records("Customer")[0]["DisplayName"]
        item = fake.records("Item")[0]["Id"]
        creds = asdict(fake.credentials)
        tenants.append({"url": url, "credentials": creds, "customer": customer, "item": item})
        fakes.append(fake)
    print(json.dumps(tenants), flush=True)
    for line in sys.stdin:
        if line.strip() == "report":
            answer = {
                fake.credentials.realm_id: {
                    "throttled": fake.stats.throttled,
                    "admitted": admitted[fake.credentials.realm_id],
                    "external_ids": [
                        m.group(1)
                        for row in fake.records("Invoice")
                        if (m := _MARKER.search(str(row.get("PrivateNote", ""))))
                    ],
                }
                for fake in fakes
            }
            print(json.dumps(answer), flush=True)
    for fake in fakes:
        fake.shutdown()
    return 0


# -- the worker ------------------------------------------------------------------------------


class _Out:
    """One JSON event a line on stdout, whole lines only across threads."""

    lock = threading.Lock()

    @classmethod
    def emit(cls, **event: Any) -> None:
        with cls.lock:
            sys.stdout.write(json.dumps(event) + "\n")
            sys.stdout.flush()


def _limiter(cfg: dict[str, Any], redis_url: str, run: str, realm: str) -> Any:
    from erpsync.limits import LocalLimiter, RateLimit, RedisLimiter

    # The windows are exactly the emulator's: both limiters count a request until a window
    # after its answer, so no margin is needed for the time it takes to arrive.
    rates = [RateLimit(count, per * cfg["scale"]) for count, per in WINDOWS]
    options = {"concurrency": wire.MAX_CONCURRENT_REQUESTS, "rates": rates}
    if cfg["limiter"] == "local":
        return LocalLimiter(name=f"local:{realm}", **options)
    # a killed worker's slots come back after 5 s (live workers renew theirs)
    return RedisLimiter(redis_url, key=f"{run}:{realm}", lease=5.0, **options)


def _classify(message: str) -> str:
    if "invalid_grant" in message:
        return "invalid_grant"
    if "429" in message or "throttl" in message.lower() or "too many" in message.lower():
        return "429"
    return "other"


def _invoices(tenant: dict[str, Any], count: int) -> list[Invoice]:
    realm = tenant["credentials"]["realm_id"]
    first = date(2020, 1, 1)
    return [
        Invoice(
            external_id=f"r{realm[-4:]}-{i:05d}",
            customer=Ref(id="local", name=tenant["customer"]),
            date=first + timedelta(days=i),  # one invoice a day: each lookup stays small
            lines=[
                InvoiceLine(
                    description=f"job {i}", amount=Decimal("12.50"), item=Ref(id=tenant["item"])
                )
            ],
        )
        for i in range(count)
    ]


def _lane(spec: dict[str, Any], tenant: dict[str, Any], shared: dict[str, Any]) -> Any:
    """One thread's AccountingSync for one tenant, built before the run starts."""
    from erpsync.sync import AccountingSync
    from erpsync.testing import QuickBooksCredentials, connect_quickbooks
    from erpsync.transport import RetryPolicy

    cfg, realm = spec["config"], tenant["credentials"]["realm_id"]
    backend = connect_quickbooks(
        tenant["url"],
        QuickBooksCredentials(**tenant["credentials"]),
        token_store=shared["tokens"],
        limiter=shared["limiters"][realm],
        retry=RetryPolicy(max_attempts=6, base_delay=0.1 * cfg["scale"], max_delay=2.0),
    )
    return AccountingSync(
        backend, shared["store"], lease_seconds=cfg["lease"], owner=shared["owner"]
    )


def _push_tenant(cfg: dict[str, Any], sync: Any, invoices: list[Invoice]) -> None:
    """One thread's passes over one tenant's invoices, until all of them are written."""
    realm = sync.backend.realm_id
    first_pass = True
    while True:
        done, failures = 0, Counter[str]()
        samples: dict[str, str] = {}
        for start in range(0, len(invoices), cfg["rotate_every"]):
            try:
                report = sync.push_invoices(invoices[start : start + cfg["rotate_every"]])
            except Exception as exc:  # reached the caller: counted, and the lane goes on
                kind = _classify(f"{type(exc).__name__}: {exc}")
                failures[kind] += 1
                samples.setdefault(kind, f"{type(exc).__name__}: {exc}")
                continue
            done += len(report.created) + len(report.unchanged)
            for failure in report.failed:
                kind = _classify(str(failure.reason))
                failures[kind] += 1
                samples.setdefault(kind, str(failure.reason))
            _rotate(sync.backend, realm, failures, samples)
        if first_pass:
            _Out.emit(event="pass", realm=realm, t=time.time())
            first_pass = False
        for kind, n in failures.items():
            _Out.emit(event="failures", realm=realm, kind=kind, n=n, sample=samples[kind])
        if done == len(invoices):
            return
        time.sleep(cfg["pause"])  # claims of a killed worker: wait for their lease


def _rotate(backend: Any, realm: str, failures: Counter[str], samples: dict[str, str]) -> None:
    """Force a token refresh now (an hour passing, compressed): single-flight across
    every process through PostgresTokenStore, or invalid_grant."""
    try:
        backend.client.auth.auth.refresh(realm)  # the QuickBooksAuth behind the backend
    except (AuthenticationError, RateLimitError) as exc:
        kind = _classify(str(exc) + " " + str(getattr(exc, "remote_code", "")))
        failures[kind] += 1
        samples.setdefault(kind, str(exc))


def _worker(spec: dict[str, Any]) -> int:
    import logging
    import os

    from erpsync.quickbooks import PostgresTokenStore
    from erpsync.store import PostgresSyncStore

    logging.basicConfig(level=logging.ERROR)  # each 429 retried is a warning: not news here
    cfg = spec["config"]
    shared = {
        "store": PostgresSyncStore(spec["dsn"], pool_size=min(16, 2 + len(spec["tenants"]))),
        "tokens": PostgresTokenStore(spec["tokens_dsn"]),
        "owner": f"worker-{spec['index']}-{os.getpid()}",
        "limiters": {
            t["credentials"]["realm_id"]: _limiter(
                cfg, spec["redis"], spec["run"], t["credentials"]["realm_id"]
            )
            for t in spec["tenants"]
        },
    }
    count, each = cfg["invoices"], cfg["threads"]
    lanes = cfg["workers"] * each
    threads = []
    for tenant in spec["tenants"]:
        invoices = _invoices(tenant, count)
        for j in range(each):
            # each lane starts at its own place in the list, and meets the others there
            offset = (spec["index"] * each + j) * count // lanes
            ordered = invoices[offset:] + invoices[:offset]
            sync = _lane(spec, tenant, shared)
            threads.append(
                threading.Thread(target=_push_tenant, args=(cfg, sync, ordered), daemon=True)
            )
    _Out.emit(event="ready", index=spec["index"])
    _wait_for_go(spec["redis"], spec["run"])
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _Out.emit(event="done", index=spec["index"])
    return 0


def _wait_for_go(redis_url: str, run: str) -> None:
    """Block until the benchmark says go (at once for a worker restarted mid-run)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    while not client.exists(f"{run}:go"):
        time.sleep(0.005)
    client.close()


def go(redis_url: str, run: str) -> float:
    """Start every worker of ``run`` now; returns the moment."""
    import redis

    now = time.time()
    client = redis.Redis.from_url(redis_url)
    client.set(f"{run}:go", repr(now), ex=3600)
    client.close()
    return now


def serve_role(role: str, spec: dict[str, Any]) -> int:
    """Run this process as an emulator ``host`` or a ``worker``."""
    if role == "host":
        return _host(spec)
    if role == "worker":
        return _worker(spec)
    raise SystemExit(f"unknown role {role!r}")


__all__ = ["ceiling", "ceiling_rate", "invoice_keys", "serve_role"]
