"""NetSuite bulk benchmark: writes at the concurrency limit, against a served FakeNetSuite.

    python benchmarks/netsuite_bulk.py [--quick] [--invoices N] [--skip-peers] [--profile]

The emulator runs in its own process (``benchmarks/_served.py``), answers after 50 ms
and enforces a Standard account's concurrency limit of 5 (NetSuite has no rate window
for REST, only the concurrency limit). The bound for a job of N one-request writes is
``ceil(N / 5) * 50 ms``: concurrency / latency = 100 invoices a second.

1. erpsync: ``create_invoices`` of N invoices (each with an external id), token-based
   auth (HMAC-SHA256, signed outside the concurrency slot): invoices/s, the ratio to the
   bound (target >= 0.95), the 429s that reached the caller (target 0) and those the
   account answered, and the CPU the client and the emulator spent.
2. The ``netsuite`` package (jacobsvante/netsuite, httpx + authlib), unmodified but for
   its host, the way its users write in bulk: ``asyncio.gather`` of ``POST
   /record/v1/invoice``, its ``concurrent_requests`` set to the account's 5 (its
   default of 10 draws a 429 for every other request); any 429 is counted and retried
   after 1 s (it does not retry itself).

``--quick`` uses 200 invoices (the smoke test runs it). Streaming 100,000 invoices is
``benchmarks/streaming.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import math
import pstats
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _served import NETSUITE_CUSTOMER, NETSUITE_ITEM, Served, quiet_erpsync

from erpsync.errors import RateLimitError
from erpsync.limits import LocalLimiter
from erpsync.models import Invoice, InvoiceLine, Ref
from erpsync.netsuite import NetSuiteBackend, TokenBasedAuth
from erpsync.netsuite import wire as ns_wire

LATENCY = 0.050
CONCURRENCY = ns_wire.DEFAULT_CONCURRENCY
TARGET = 0.95


def job_bound(invoices: int, *, latency: float = LATENCY, slots: int = CONCURRENCY) -> float:
    """The earliest any client can finish ``invoices`` one-request writes: ``slots``
    requests at a time, each taking ``latency``."""
    return math.ceil(invoices / slots) * latency


@dataclass
class Outcome:
    """What one run measured, for printing and for the smoke test."""

    label: str
    invoices: int
    created: int
    seconds: float
    caller_429s: int
    account_429s: int
    failed: int
    client_cpu: float
    emulator_cpu: float

    @property
    def rate(self) -> float:
        return self.created / self.seconds if self.seconds > 0 else 0.0

    @property
    def ratio(self) -> float:
        return job_bound(self.invoices) / self.seconds if self.created and self.seconds else 0.0


def backend(served: Served) -> NetSuiteBackend:
    """An erpsync backend for the served account, with a limiter of its own."""
    creds = served.credentials
    auth = TokenBasedAuth(
        creds.consumer_key, creds.consumer_secret, creds.token_id, creds.token_secret
    )
    return NetSuiteBackend(
        creds.account_id,
        auth,
        base_url=served.url,
        concurrency=CONCURRENCY,
        limiter=LocalLimiter(concurrency=CONCURRENCY),
    )


def invoices(count: int, prefix: str = "bench") -> Iterator[Invoice]:
    for n in range(count):
        yield Invoice(
            external_id=f"{prefix}-{n}",
            customer=Ref(id=NETSUITE_CUSTOMER),
            date=date(2026, 11, 3),
            lines=[
                InvoiceLine(
                    description=f"Job {n}",
                    amount=Decimal(100 + n % 900),
                    item=Ref(id=NETSUITE_ITEM),
                )
            ],
        )


def _measured(
    served: Served, label: str, count: int, job: Callable[[], tuple[int, int, int]]
) -> Outcome:
    """Run ``job`` (returning created, caller 429s, failed) with clean counters."""
    served.reset_runtime()
    emulator_cpu = served.cpu()
    cpu = time.process_time()
    started = time.perf_counter()
    created, seen, failed = job()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    return Outcome(
        label,
        count,
        created,
        seconds,
        seen,
        served.stats()["throttled"],
        failed,
        cpu,
        served.cpu() - emulator_cpu,
    )


def run_erpsync(served: Served, count: int, profile: bool = False) -> Outcome:
    ns = backend(served)
    ns.currencies()  # one-time account lookups are not part of the write rate
    profiler = cProfile.Profile() if profile else None

    def job() -> tuple[int, int, int]:
        if profiler is not None:
            profiler.enable()
        try:
            result = ns.create_invoices(invoices(count))
        finally:
            if profiler is not None:
                profiler.disable()
        seen = sum(1 for o in result.failed if isinstance(o.error, RateLimitError))
        return len(result) - len(result.failed), seen, len(result.failed)

    outcome = _measured(served, "erpsync create_invoices", count, job)
    ns.close()
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        print("profile of the erpsync run (own time, calling thread only):")
        print(out.getvalue())
    return outcome


def run_netsuite_package(served: Served, count: int) -> Outcome:
    from netsuite.exceptions import NetsuiteAPIRequestError
    from netsuite.rest_api import NetSuiteRestApi

    from netsuite import Config, TokenAuth

    class _Served(NetSuiteRestApi):  # type: ignore[misc]
        """The package builds ``https://<account>.suitetalk.api.netsuite.com``; the only
        change is the host, which is configuration in any client."""

        def _make_url(self, subpath: str) -> str:
            return f"{served.url}/services/rest{subpath}"

    creds = served.credentials
    api = _Served(
        Config(
            account=creds.account_id,
            auth=TokenAuth(
                consumer_key=creds.consumer_key,
                consumer_secret=creds.consumer_secret,
                token_id=creds.token_id,
                token_secret=creds.token_secret,
            ),
        ),
        concurrent_requests=CONCURRENCY,
    )
    seen = 0

    async def one(n: int) -> bool:
        nonlocal seen
        body = {
            "entity": {"id": NETSUITE_CUSTOMER},
            "tranDate": "2026-11-03",
            "externalId": f"pkg-{n}",
            "item": {"items": [{"item": {"id": NETSUITE_ITEM}, "quantity": 1, "rate": 100.0}]},
        }
        while True:
            try:
                await api.post("/record/v1/invoice", json=body)
                return True
            except NetsuiteAPIRequestError as exc:
                if exc.status_code != 429:
                    return False
                seen += 1
                await asyncio.sleep(1.0)

    def job() -> tuple[int, int, int]:
        async def every() -> list[bool]:
            return await asyncio.gather(*(one(n) for n in range(count)))

        done = asyncio.run(every())
        return sum(done), seen, len(done) - sum(done)

    return _measured(served, "netsuite package (gather)", count, job)


def report(ours: Outcome, peers: Sequence[Outcome]) -> list[str]:
    """The lines the script prints: figures and their ratio to the bound."""
    lines = [
        f"NetSuite bulk create: served FakeNetSuite (own process), {LATENCY * 1000:.0f} ms "
        f"latency, concurrency limit {CONCURRENCY}",
        f"job bound for {ours.invoices} invoices: {job_bound(ours.invoices):.2f} s "
        f"(concurrency / latency = {CONCURRENCY / LATENCY:.0f} invoices/s)",
        f"{'client':<30}{'N':>6}{'inv/s':>9}{'ratio':>7}{'429 seen':>9}{'429 sent':>9}"
        f"{'failed':>7}{'secs':>8}{'cpu':>7}{'emu cpu':>8}",
    ]
    for row in (ours, *peers):
        lines.append(
            f"{row.label:<30}{row.invoices:>6}{row.rate:>9.1f}{row.ratio:>7.2f}"
            f"{row.caller_429s:>9}{row.account_429s:>9}{row.failed:>7}{row.seconds:>8.2f}"
            f"{row.client_cpu:>7.2f}{row.emulator_cpu:>8.2f}"
        )
    lines.append(f"erpsync ratio to job bound: {ours.ratio:.3f} (target >= {TARGET})")
    lines.append(f"erpsync 429s seen by caller: {ours.caller_429s} (target 0)")
    for peer in peers:
        if peer.rate > 0:
            lines.append(f"speed ratio erpsync / {peer.label}: {ours.rate / peer.rate:.2f}x")
    if ours.ratio < TARGET:
        per_request = ours.client_cpu / max(ours.invoices, 1) * 1000
        lines.append(
            f"short of target: the client spent {per_request:.1f} ms of CPU per invoice; "
            "on a loaded machine the 5 slots wait for the GIL between answers (run "
            "--profile)"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small counts (a few seconds)")
    parser.add_argument("--invoices", type=int, default=None, help="job size (default 2000)")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--profile", action="store_true", help="profile the erpsync run")
    args = parser.parse_args(argv)
    count = args.invoices or (200 if args.quick else 2_000)
    with quiet_erpsync(), Served("netsuite", latency=LATENCY) as served:
        ours = run_erpsync(served, count, args.profile)
        peers = [] if args.skip_peers else [run_netsuite_package(served, count)]
    print("\n".join(report(ours, peers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
