"""Many workers, many tenants: exactly-once writes and shared governance under SIGKILL.

    python benchmarks/many_workers.py [--quick] [--workers 1,4,8] [--tenants 20] ...

Each tenant is a served FakeQuickBooks company (one emulator per tenant, in a few
emulator host processes) enforcing Intuit's real limits (10 in flight, 500 requests a
minute, 10 a second) on a shrunk time scale (``--scale``: 0.5 makes a minute last 30 s).
N worker processes each push every tenant's invoices through ``AccountingSync`` at once
(``--threads`` threads per tenant per worker), so several workers write the same tenant
at the same moment, sharing:

* one ``PostgresSyncStore`` (the ledger that makes each write exactly once),
* one ``PostgresTokenStore`` (every worker starts with an expired access token, and each
  thread forces a refresh every ``--rotate-every`` invoices). The emulators hand out
  refresh tokens as Intuit documents them (the same one while it is younger than a day);
  with ``--single-use`` every refresh rotates it and the previous one dies at once, so a
  concurrent double refresh shows as ``invalid_grant``, and so does a worker SIGKILLed
  between the token endpoint's answer and the commit of the new token, a loss no
  client can prevent (tests/quickbooks/test_postgres_tokens_rotation.py checks the
  concurrency under strict single use, without kills),
* the governance: ``RedisLimiter``, and, side by side in the same run, the in-process
  ``LocalLimiter`` (one per worker process and tenant) as the peer.

Mid-run some workers are SIGKILLed and restarted (``--kills``); their claims are taken
over when their lease expires. The benchmark starts its own PostgreSQL and Redis
(tests/servers.py, the same code the test fixtures use) and prints, per configuration,
each figure with its target: duplicates, missing records, records in the wrong tenant,
429s the emulators sent, 429s that reached callers, invalid_grant, requests a second,
and each tenant's throughput as a fraction of its governance ceiling over the saturated
part of the run (target >= 0.90). ``--quick`` is the smoke mode the tests run (< 60 s).

The roles (emulator host, worker) are this same script run with ``--role``; see
benchmarks/_many_workers_roles.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent


def _load(name: str, path: Path) -> ModuleType:
    """Import a sibling file by path (benchmarks/ and tests/ are not packages)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


servers = _load("erpsync_test_servers", HERE.parent / "tests" / "servers.py")
roles = _load("_many_workers_roles", HERE / "_many_workers_roles.py")


@dataclass(frozen=True)
class Config:
    """One configuration of the benchmark (the command line's options)."""

    workers: int = 8
    tenants: int = 20
    invoices: int = 240  # per tenant
    threads: int = 2  # per tenant per worker process
    scale: float = 0.5
    latency: float = 0.02
    lease: float = 60.0  # a claim's lease: longer than any stall of a live worker
    kills: int = 2  # workers SIGKILLed (and restarted) at each of two moments
    rotate_every: int = 40
    pause: float = 0.5  # between passes, waiting for the leases of killed workers
    hosts: int = 4
    limiter: str = "redis"
    seed: int = 1
    single_use: bool = False  # strictly single-use refresh tokens (see the module docstring)


@dataclass
class Result:
    """What one configuration measured."""

    config: Config
    duplicates: int = 0
    missing: int = 0
    wrong_tenant: int = 0
    throttled_sent: int = 0
    throttled_callers: int = 0
    invalid_grant: int = 0
    other_failures: int = 0
    killed: int = 0
    seconds: float = 0.0
    requests: int = 0
    ratios: dict[str, float] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    timelines: dict[str, list[float]] = field(default_factory=dict)  # admitted, s from go

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# -- processes -----------------------------------------------------------------------------


def _spawn(role: str, spec: dict[str, Any]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--role", role, json.dumps(spec)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        env=env,
        bufsize=1,
    )


class Host:
    """An emulator host process serving some tenants; asked for its figures at the end."""

    def __init__(self, cfg: Config, realms: list[str]) -> None:
        spec = {"realms": realms, "scale": cfg.scale, "latency": cfg.latency, "seed": cfg.seed}
        spec["refresh_tokens"] = "single_use" if cfg.single_use else "rolling"
        self.process = _spawn("host", spec)
        self.tenants: list[dict[str, Any]] = []

    def ready(self) -> None:
        """Wait for the host to serve its tenants, and learn their URLs and credentials."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("an emulator host did not start")
        self.tenants = json.loads(line)

    def report(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write("report\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Workers:
    """The worker processes: started, read, SIGKILLed and restarted."""

    def __init__(self, spec: dict[str, Any], count: int) -> None:
        self.spec = spec
        self.lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self.live: dict[int, subprocess.Popen[str]] = {}
        self.readers: list[threading.Thread] = []
        self.killed = 0
        for index in range(count):
            self.start(index)

    def start(self, index: int) -> None:
        process = _spawn("worker", {**self.spec, "index": index})
        with self.lock:
            self.live[index] = process
        reader = threading.Thread(target=self._read, args=(process,), daemon=True)
        reader.start()
        self.readers.append(reader)

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self.lock:
                self.events.append(json.loads(line))

    def wait_ready(self, count: int, timeout: float) -> None:
        """Until ``count`` workers have built their backends (imports, pools, limiters)."""
        deadline = time.monotonic() + timeout
        while sum(1 for e in list(self.events) if e["event"] == "ready") < count:
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not get ready in time")
            time.sleep(0.02)

    def kill_and_restart(self, how_many: int, rng: random.Random) -> None:
        with self.lock:
            running = [i for i, p in self.live.items() if p.poll() is None]
        for index in rng.sample(running, min(how_many, len(running))):
            self.live[index].send_signal(signal.SIGKILL)
            self.live[index].wait()
            self.killed += 1
            self.start(index)

    def kill_all(self) -> None:
        with self.lock:
            processes = list(self.live.values())
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for process in list(self.live.values()):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                raise RuntimeError("a worker did not finish in time") from None
        for reader in self.readers:
            reader.join(10)


# -- one configuration ---------------------------------------------------------------------


def _realms(cfg: Config) -> list[str]:
    return [str(9130350000100000 + cfg.seed * 1000 + i) for i in range(cfg.tenants)]


@contextmanager
def _hosts(cfg: Config) -> Iterator[list[Host]]:
    realms = _realms(cfg)
    groups = [realms[i :: cfg.hosts] for i in range(min(cfg.hosts, len(realms)))]
    hosts: list[Host] = []
    try:
        for group in groups:
            hosts.append(Host(cfg, group))
        for host in hosts:
            host.ready()
        yield hosts
    finally:
        for host in hosts:
            host.close()


def _expected_seconds(cfg: Config) -> float:
    """How long the writes should take at the ceiling (about two requests an invoice)."""
    return 2.0 * cfg.invoices / roles.ceiling_rate(cfg.scale)


def run(cfg: Config, cluster_dsn: str, redis_url: str) -> Result:
    """Run one configuration and gather its figures."""
    name = f"bench_{cfg.limiter}_{cfg.workers}_{os.getpid()}"
    dsn = roles.fresh_database(cluster_dsn, name)
    tokens_dsn = dsn  # the store and the tokens share one database, as users run them
    result = Result(cfg)
    with _hosts(cfg) as hosts:
        tenants = [tenant for host in hosts for tenant in host.tenants]
        roles.seed_expired_tokens(tokens_dsn, tenants)
        run_id = f"{os.getpid()}-{cfg.limiter}-{cfg.workers}-{time.time_ns()}"
        spec = {"config": asdict(cfg), "dsn": dsn, "redis": redis_url, "tenants": tenants}
        spec["tokens_dsn"] = tokens_dsn
        spec["run"] = run_id
        workers = Workers(spec, cfg.workers)
        try:
            workers.wait_ready(cfg.workers, timeout=120)
            start = roles.go(redis_url, run_id)
            rng = random.Random(cfg.seed)
            expected = _expected_seconds(cfg)
            for moment in (0.3, 0.6):
                time.sleep(max(0.0, start + moment * expected - time.time()))
                if cfg.kills:
                    workers.kill_and_restart(cfg.kills, rng)
            workers.wait(timeout=cfg.lease + 60 + 6 * expected)
        finally:
            workers.kill_all()  # none left behind, even on an interrupt
        result.killed = workers.killed
        reports = [host.report() for host in hosts]
    roles.drop_database(cluster_dsn, dsn)
    roles.drop_database(cluster_dsn, tokens_dsn)
    _tally(result, start, workers.events, reports)
    return result


def _tally(
    result: Result, start: float, events: list[dict[str, Any]], reports: list[dict[str, Any]]
) -> None:
    cfg = result.config
    saturated: dict[str, float] = {}
    for event in events:
        if event["event"] == "pass":
            realm = event["realm"]
            saturated[realm] = min(saturated.get(realm, event["t"]), event["t"])
        elif event["event"] == "failures":
            kind = event["kind"]
            if kind == "429":
                result.throttled_callers += event["n"]
            elif kind == "invalid_grant":
                result.invalid_grant += event["n"]
            else:
                result.other_failures += event["n"]
            if len(result.samples) < 5:
                result.samples.append(f"{kind}: {event['sample']}")
    end = max((t for r in reports for tenant in r.values() for t in tenant["admitted"]), default=0)
    result.seconds = max(1e-9, end - start)
    expected_keys = {realm: roles.invoice_keys(realm, cfg.invoices) for realm in _realms(cfg)}
    for report in reports:
        for realm, tenant in report.items():
            result.throttled_sent += tenant["throttled"]
            result.requests += len(tenant["admitted"])
            keys = tenant["external_ids"]
            ours = [k for k in keys if k in expected_keys[realm]]
            result.wrong_tenant += len(keys) - len(ours)
            result.duplicates += len(ours) - len(set(ours))
            result.missing += len(expected_keys[realm] - set(ours))
            until = saturated.get(realm, end)
            result.timelines[realm] = [round(t - start, 3) for t in tenant["admitted"]]
            first = min(tenant["admitted"], default=start)
            admitted = sum(1 for t in tenant["admitted"] if t <= until)
            result.ratios[realm] = admitted / roles.ceiling(until - first, cfg.scale)


# -- output --------------------------------------------------------------------------------


def _line(name: str, value: float | int | str, target: str, ok: bool | None) -> str:
    verdict = "" if ok is None else ("ok" if ok else "MISSED")
    shown = f"{value:.2f}" if isinstance(value, float) else str(value)
    return f"  {name:46} {shown:>10}   target {target:>6}  {verdict}"


def timeline(result: Result) -> None:
    """Each tenant's admitted requests in each second from the start (``--timeline``)."""
    for realm, times in sorted(result.timelines.items()):
        buckets = Counter(int(t) for t in times)
        last = max(buckets, default=0)
        print(f"  {realm}: " + " ".join(str(buckets[i]) for i in range(last + 1)))


def report(result: Result) -> bool:
    """Print one configuration's figures; True when every target is met."""
    cfg = result.config
    ratios = sorted(result.ratios.values())
    worst, median = ratios[0], ratios[len(ratios) // 2]
    aggregate = sum(ratios) / len(ratios)
    zeros = [
        ("duplicates", result.duplicates),
        ("missing records", result.missing),
        ("records in the wrong tenant", result.wrong_tenant),
    ]
    print(
        f"\n== {cfg.limiter} limiter: {cfg.workers} worker processes x {cfg.tenants} tenants x "
        f"{cfg.threads} threads each, {cfg.invoices} invoices a tenant, {result.killed} "
        f"workers SIGKILLed and restarted, time scale {cfg.scale:g}"
    )
    lines = [_line(name, value, "0", value == 0) for name, value in zeros]
    lines.append(_line("429s the emulators sent", result.throttled_sent, "-", None))
    lines.append(
        _line(
            "429s that reached callers", result.throttled_callers, "0", not result.throttled_callers
        )
    )
    lines.append(_line("invalid_grant", result.invalid_grant, "0", result.invalid_grant == 0))
    lines.append(
        _line(
            "other failures that reached callers",
            result.other_failures,
            "0",
            not result.other_failures,
        )
    )
    lines.append(_line("requests a second (all tenants)", result.per_second, "-", None))
    lines.append(_line("throughput / ceiling, aggregate", aggregate, ">=0.90", aggregate >= 0.9))
    lines.append(_line("throughput / ceiling, median tenant", median, "-", None))
    lines.append(_line("throughput / ceiling, worst tenant", worst, "-", None))
    ok = (
        all(value == 0 for _, value in zeros)
        and result.throttled_callers == 0
        and result.invalid_grant == 0
        and result.other_failures == 0
        and aggregate >= 0.9
    )
    print("\n".join(lines))
    for sample in result.samples:
        print(f"  e.g. {sample[:160]}")
    return ok


def _parse(argv: list[str] | None) -> tuple[argparse.Namespace, list[Config]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the smoke mode (< 60 s)")
    parser.add_argument("--workers", default=None, help="comma-separated counts, e.g. 1,4,8")
    parser.add_argument("--tenants", type=int, default=None)
    parser.add_argument("--invoices", type=int, default=None, help="per tenant")
    parser.add_argument("--threads", type=int, default=None, help="per tenant per worker")
    parser.add_argument("--scale", type=float, default=None, help="1.0: real time")
    parser.add_argument("--kills", type=int, default=None, help="workers killed, twice a run")
    parser.add_argument(
        "--single-use", action="store_true", help="strictly single-use refresh tokens"
    )
    parser.add_argument("--lease", type=float, default=None, help="claim lease, seconds")
    parser.add_argument("--limiters", default="redis,local", help="redis, local or both")
    parser.add_argument("--postgres", default=None, help="a cluster's DSN (default: start one)")
    parser.add_argument("--redis", default=None, help="a Redis URL (default: start one)")
    parser.add_argument("--timeline", action="store_true", help="requests a second, per tenant")
    parser.add_argument("--role", default=None, help=argparse.SUPPRESS)
    parser.add_argument("spec", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = Config(tenants=3, invoices=40, workers=4, hosts=1, kills=1, lease=8.0)
    base = quick if args.quick else Config()
    options = {
        name: getattr(args, name)
        for name in ("tenants", "invoices", "threads", "scale", "kills", "lease")
        if getattr(args, name) is not None
    }
    base = replace(base, single_use=args.single_use, **options)
    counts = args.workers or ("4" if args.quick else "1,4,8")
    configs = [
        replace(base, workers=int(n), limiter=kind)
        for n in counts.split(",")
        for kind in args.limiters.split(",")
    ]
    return args, configs


def main(argv: list[str] | None = None) -> int:
    """Run every configuration; 0 when the Redis-governed runs met every target."""
    args, configs = _parse(argv)
    if args.role:
        return roles.serve_role(args.role, json.loads(args.spec))
    with ExitStack() as stack:
        try:
            cluster = args.postgres or stack.enter_context(
                servers.postgres_server(max_connections=1000)
            )
            redis_url = args.redis or stack.enter_context(servers.redis_server())
        except servers.ServerUnavailable as exc:
            print(f"cannot run: {exc}", file=sys.stderr)
            return 2
        verdicts = []
        for cfg in configs:
            result = run(cfg, cluster, redis_url)
            ok = report(result)
            if args.timeline:
                timeline(result)
            if cfg.limiter == "redis":
                verdicts.append(ok)
    print(f"\nRedisLimiter runs met every target: {'yes' if all(verdicts) else 'no'}")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
