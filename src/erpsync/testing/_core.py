"""The machinery shared by every emulator: clock, governance, latency, faults, and the two
ways in (in-process through ``responses``, and a loopback HTTP server).

CONTRACT (fixed; FakeQuickBooks and FakeNetSuite are written against it):

    class Emulator(abc.ABC):
        # subclasses set these
        intercept_prefixes: tuple[str, ...]          # URL prefixes caught in-process, e.g.
                                                     # ("https://quickbooks.api.intuit.com", ...)
        service_name: str                            # "QuickBooks" / "NetSuite", for messages

        def __init__(self, *, clock: Clock | None = None, latency: Latency | float | None = None,
                     faults: FaultPlan | None = None, governance: Governance | None = None,
                     seed: int = 0) -> None

        # public, implemented here
        clock: Clock                                  # FakeClock or SystemClock
        faults: FaultPlan
        def handle(self, request: WireRequest) -> WireResponse | Drop
            # governance -> fault plan -> latency -> self._dispatch -> fault plan (lost response)
        def start(self) -> None / stop(self) -> None / __enter__ / __exit__   # in-process
        def serve(self, host: str = "127.0.0.1", port: int = 0) -> str      # base URL
        def shutdown(self) -> None
        served_url: str | None
        def inject(self, kind: str, *, times: int = 1,
                   match: Callable[[WireRequest], bool] | None = None,
                   status: int = 503, delay: float = 0.0) -> None          # scripted fault

        # subclasses implement
        @abc.abstractmethod
        def _dispatch(self, request: WireRequest) -> WireResponse
        @abc.abstractmethod
        def _throttled(self, request: WireRequest, reason: str) -> WireResponse
            # the service's own 429 answer (QBO: XML 3001; NetSuite: CONCURRENCY_LIMIT_EXCEEDED)
        def _server_error(self, request: WireRequest, status: int) -> WireResponse
            # the service's own 5xx body; default a plain text body
        def _governance_scope(self, request: WireRequest) -> str | None
            # which extra rate window applies ("batch" for QBO /batch); default None
        def _governed(self, request: WireRequest) -> bool
            # whether the request counts against governance (OAuth endpoints do not); default True

Compatible extensions of the contract (all optional for subclasses):

* ``governance``, ``latency``, ``seed`` and ``rng`` (a ``random.Random(seed)`` the subclass
  may use for ids) are public attributes; ``stats`` is a snapshot of the counters
  (:class:`EmulatorStats`) for benchmarks; ``reset_runtime()`` puts governance, counters,
  latency randomness and the fault plan back to how they were constructed (subclasses call it
  from their own ``reset()``).
* ``handle`` adds a ``Date`` header (from the emulator clock) when the answer has none.
* With no ``clock`` the emulator runs on real time (:class:`SystemClock`), which is what a
  third-party client talking to :meth:`Emulator.serve` expects; tests pass a
  :class:`FakeClock` so that latency, token expiry and rate windows cost no real time.

Why one shared ``responses`` mock: ``responses`` patches ``HTTPAdapter.send`` and two of its
mocks nested inside each other hide each other's routes, so every active emulator adds its
routes to one reference-counted mock (started by the first emulator, stopped by the last).
Loopback ``http://`` URLs pass through it so a served emulator stays reachable while another
is in-process; any other URL no emulator claims is refused, so a test cannot reach the real
Internet by accident. A test that also starts its *own* ``responses`` mock while an emulator
is in-process hides the emulator (the later mock sees requests first, and its passthrough
goes to the network, not to us): register the emulator's answers there with
``add_callback`` and :meth:`Emulator.handle`, or use :meth:`Emulator.serve` instead.
"""

from __future__ import annotations

import abc
import collections
import contextlib
import http.server
import ipaddress
import logging
import math
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from http.client import RemoteDisconnected
from types import MappingProxyType, TracebackType
from typing import Any, ClassVar, Protocol, runtime_checkable

import requests
import responses
from responses.registries import FirstMatchRegistry
from urllib3.exceptions import ProtocolError

from erpsync._redact import redact
from erpsync.errors import ConfigurationError
from erpsync.testing._wire import WireRequest, WireResponse

__all__ = [
    "FAULT_KINDS",
    "Clock",
    "Drop",
    "Emulator",
    "EmulatorStats",
    "FakeClock",
    "Fault",
    "FaultPlan",
    "Governance",
    "Latency",
    "SystemClock",
    "Window",
    "clock_datetime",
]

_log = logging.getLogger("erpsync.testing")

# ---------------------------------------------------------------------------------------
# Clocks
# ---------------------------------------------------------------------------------------


@runtime_checkable
class Clock(Protocol):
    """Where an emulator gets the time and how it waits.

    Everything time-dependent in an emulator (token expiry, rate windows, latency,
    ``LastUpdatedTime``) goes through one of these so that a test can make hours pass in
    microseconds.
    """

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """Real time. ``time_scale`` shrinks (or stretches) every wait, so a benchmark can
    model a 300 ms round trip as 3 ms with ``time_scale=0.01`` while ``now()`` stays true
    wall-clock time."""

    def __init__(self, time_scale: float = 1.0) -> None:
        if not math.isfinite(time_scale) or time_scale < 0:
            raise ConfigurationError(f"time_scale must be a finite number >= 0, not {time_scale}")
        self.time_scale = float(time_scale)

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0 and self.time_scale > 0:
            time.sleep(seconds * self.time_scale)

    def __repr__(self) -> str:
        return f"SystemClock(time_scale={self.time_scale})"


_DEFAULT_START = datetime(2026, 11, 1, tzinfo=UTC)


class FakeClock:
    """Time that moves only when told to: ``advance()``, or ``sleep()``, which returns at
    once after moving the clock. Safe to share between threads."""

    def __init__(self, start: float | datetime = _DEFAULT_START) -> None:
        self._lock = threading.Lock()
        self._now = _epoch(start)

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward; returns the new time. Time never runs backwards."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ConfigurationError(f"a FakeClock only moves forward, not by {seconds}")
        with self._lock:
            self._now += seconds
            return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)

    def __repr__(self) -> str:
        return f"FakeClock({clock_datetime(self).isoformat()})"


def _epoch(value: float | datetime) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(f"a clock starts at a datetime or epoch seconds, not {value!r}")
    return float(value)


def clock_datetime(clock: Clock) -> datetime:
    """The clock's current time as an aware UTC datetime (for timestamps in records)."""
    return datetime.fromtimestamp(clock.now(), tz=UTC)


# ---------------------------------------------------------------------------------------
# Latency
# ---------------------------------------------------------------------------------------


def _non_negative(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be a number of seconds, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ConfigurationError(f"{name} must be a finite number >= 0, not {value}")
    return float(value)


@dataclass(frozen=True)
class Latency:
    """How long the service takes to answer, in seconds: ``fixed`` plus a uniform draw in
    ``[0, jitter]`` plus ``distribution(rng)`` when given (a long tail, say
    ``lambda r: r.expovariate(20)``). The wait goes through the emulator clock, so under a
    :class:`FakeClock` it costs no real time but still moves time forward."""

    fixed: float = 0.0
    jitter: float = 0.0
    distribution: Callable[[random.Random], float] | None = None

    def __post_init__(self) -> None:
        _non_negative("Latency.fixed", self.fixed)
        _non_negative("Latency.jitter", self.jitter)

    def sample(self, rng: random.Random) -> float:
        """One request's latency; never negative."""
        seconds = self.fixed
        if self.jitter:
            seconds += rng.uniform(0.0, self.jitter)
        if self.distribution is not None:
            seconds += float(self.distribution(rng))
        return seconds if math.isfinite(seconds) and seconds > 0 else 0.0


# ---------------------------------------------------------------------------------------
# Governance
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """At most ``count`` requests in any ``seconds``-long sliding window. With a ``scope``
    the window counts only requests the emulator puts in that scope (QBO's 40 batch
    requests a minute); without one it counts every governed request."""

    count: int
    seconds: float
    scope: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ConfigurationError(f"Window.count must be an integer >= 1, not {self.count!r}")
        if _non_negative("Window.seconds", self.seconds) <= 0:
            raise ConfigurationError("Window.seconds must be > 0")


@dataclass(frozen=True)
class Governance:
    """The service's limits, enforced when a request arrives.

    ``concurrency`` caps requests in flight (latency included); each :class:`Window` caps
    arrivals in a sliding window whose length is ``seconds * time_scale`` of the emulator
    clock, so a benchmark on real time can shrink "500 a minute" to "500 in 0.6 s".
    A request over any limit gets the service's 429 and is not processed. Throttled
    requests do not count against the windows.
    """

    concurrency: int | None = None
    windows: tuple[Window, ...] = ()
    time_scale: float = 1.0
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.concurrency is not None and (
            isinstance(self.concurrency, bool)
            or not isinstance(self.concurrency, int)
            or self.concurrency < 1
        ):
            raise ConfigurationError(
                f"Governance.concurrency must be None or an integer >= 1, not {self.concurrency!r}"
            )
        object.__setattr__(self, "windows", tuple(self.windows))
        for window in self.windows:
            if not isinstance(window, Window):
                raise ConfigurationError(f"Governance.windows holds Window objects, not {window!r}")
        if _non_negative("Governance.time_scale", self.time_scale) <= 0:
            raise ConfigurationError("Governance.time_scale must be > 0")


class _Gate:
    """The live state behind a :class:`Governance`: requests in flight and the arrival
    times each window remembers. One lock makes check-and-admit atomic."""

    def __init__(self, governance: Governance) -> None:
        self.governance = governance
        self._lock = threading.Lock()
        self._hits: list[collections.deque[float]] = [
            collections.deque() for _ in governance.windows
        ]
        self.in_flight = 0
        self.max_in_flight = 0

    def admit(self, scope: str | None, now: float) -> str | None:
        """Admit the request (returning None) or say why it is refused."""
        gov = self.governance
        with self._lock:
            if gov.enabled:
                if gov.concurrency is not None and self.in_flight >= gov.concurrency:
                    return f"concurrency limit of {gov.concurrency} requests in flight exceeded"
                applicable = [
                    i for i, w in enumerate(gov.windows) if w.scope is None or w.scope == scope
                ]
                for i in applicable:
                    window = gov.windows[i]
                    hits = self._hits[i]
                    horizon = now - window.seconds * gov.time_scale
                    while hits and hits[0] <= horizon:
                        hits.popleft()
                    if len(hits) >= window.count:
                        where = f" for {window.scope} requests" if window.scope else ""
                        return (
                            f"rate limit of {window.count} requests per {window.seconds:g} s"
                            f"{where} exceeded"
                        )
                for i in applicable:
                    self._hits[i].append(now)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return None

    def release(self) -> None:
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)

    def clear(self) -> None:
        """Forget the windows and the peak; requests still in flight stay counted."""
        with self._lock:
            for hits in self._hits:
                hits.clear()
            self.max_in_flight = self.in_flight


# ---------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------

#: The fault kinds, in the order a rate draw considers them.
FAULT_KINDS: tuple[str, ...] = ("server_error", "throttle", "drop", "lose_response", "slow")

RequestMatcher = Callable[[WireRequest], bool]


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour.

    * ``server_error``: the service's own 5xx (``status``); the request is not processed.
    * ``throttle``: the service's own 429; not processed.
    * ``drop``: the connection closes before the request is processed.
    * ``lose_response``: the request IS processed and committed, then the connection closes
      before the answer is sent: the case idempotent writes exist for.
    * ``slow``: the answer comes ``delay`` seconds late (any kind may carry a ``delay``).
    """

    kind: str
    status: int = 503
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ConfigurationError(
                f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}"
            )
        if (
            isinstance(self.status, bool)
            or not isinstance(self.status, int)
            or not (100 <= self.status <= 599)
        ):
            raise ConfigurationError(f"Fault.status must be an HTTP status, not {self.status!r}")
        _non_negative("Fault.delay", self.delay)


@dataclass(frozen=True)
class _Scripted:
    fault: Fault | None
    match: RequestMatcher | None


_NO_RATES: Mapping[str, float] = MappingProxyType({})


class FaultPlan:
    """Which requests misbehave, and how.

    ``script`` entries are handed out in order, one per matching request (``None`` lets
    that request through untouched); :meth:`inject` queues more, each with its own
    ``match``. When no scripted entry applies, ``rates`` give each kind a per-request
    probability, drawn from ``random.Random(seed)`` with one draw per matching request so a
    run repeats exactly. ``match`` limits the constructor's script and the rates to some
    requests (say, only writes). Rate-drawn faults use ``status`` and, for ``slow``,
    ``slow_delay``.
    """

    def __init__(
        self,
        seed: int = 0,
        rates: Mapping[str, float] = _NO_RATES,
        script: Sequence[Fault | None] = (),
        match: RequestMatcher | None = None,
        *,
        status: int = 503,
        slow_delay: float = 1.0,
    ) -> None:
        self.seed = seed
        self.match = match
        clean: dict[str, float] = {}
        for kind, rate in dict(rates).items():
            if kind not in FAULT_KINDS:
                raise ConfigurationError(
                    f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}"
                )
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
                raise ConfigurationError(f"the rate of {kind} must be within [0, 1], not {rate!r}")
            clean[kind] = float(rate)
        if sum(clean.values()) > 1.0 + 1e-9:
            raise ConfigurationError("fault rates add up to more than 1")
        self.rates: Mapping[str, float] = MappingProxyType(clean)
        for entry in script:
            if entry is not None and not isinstance(entry, Fault):
                raise ConfigurationError(f"a fault script holds Fault or None, not {entry!r}")
        self.script: tuple[Fault | None, ...] = tuple(script)
        # Validated through Fault so a bad status or delay fails here, not mid-run.
        self._rate_faults = {
            kind: Fault(kind, status=status, delay=slow_delay if kind == "slow" else 0.0)
            for kind in FAULT_KINDS
        }
        self.status = status
        self.slow_delay = slow_delay
        self._lock = threading.Lock()
        self._queue: list[_Scripted] = []
        self._rng = random.Random(seed)
        self.reset()

    def reset(self) -> None:
        """Back to as constructed: the script re-armed, injections dropped, rng reseeded."""
        with self._lock:
            self._queue = [_Scripted(f, self.match) for f in self.script]
            self._rng = random.Random(self.seed)

    def inject(self, fault: Fault, *, times: int = 1, match: RequestMatcher | None = None) -> None:
        """Queue ``fault`` for the next ``times`` requests that ``match`` accepts."""
        if not isinstance(fault, Fault):
            raise ConfigurationError(f"inject takes a Fault, not {fault!r}")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ConfigurationError(f"times must be an integer >= 1, not {times!r}")
        with self._lock:
            self._queue.extend(_Scripted(fault, match) for _ in range(times))

    @property
    def pending(self) -> int:
        """Scripted entries not yet consumed."""
        with self._lock:
            return len(self._queue)

    def draw(self, request: WireRequest) -> Fault | None:
        """The fault for this request, if any (consumes a scripted entry or one draw)."""
        with self._lock:
            for index, entry in enumerate(self._queue):
                if entry.match is None or entry.match(request):
                    del self._queue[index]
                    return entry.fault
            if not self.rates or (self.match is not None and not self.match(request)):
                return None
            point = self._rng.random()
            edge = 0.0
            for kind in FAULT_KINDS:
                edge += self.rates.get(kind, 0.0)
                if point < edge:
                    return self._rate_faults[kind]
            return None

    def __repr__(self) -> str:
        return (
            f"FaultPlan(seed={self.seed}, rates={dict(self.rates)}, "
            f"script={len(self.script)} entries, pending={self.pending})"
        )


@dataclass(frozen=True)
class Drop:
    """What :meth:`Emulator.handle` returns when the connection must close unanswered.

    ``kind`` is ``"drop"`` (nothing was processed) or ``"lose_response"`` (processed and
    committed; ``response`` is the answer the client never sees, kept for assertions).
    """

    kind: str
    response: WireResponse | None = None


# ---------------------------------------------------------------------------------------
# Counters
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmulatorStats:
    """A snapshot of what an emulator has seen since construction or ``reset_runtime()``.

    ``max_concurrent`` is the peak of governed requests in flight (measured even when
    governance is disabled), the number a benchmark compares with the service's limit.
    """

    requests: int = 0
    dispatched: int = 0
    throttled: int = 0
    faults: int = 0
    faults_by_kind: Mapping[str, int] = field(default_factory=dict)
    errors: int = 0
    in_flight: int = 0
    max_concurrent: int = 0


# ---------------------------------------------------------------------------------------
# The emulator
# ---------------------------------------------------------------------------------------


def _plain(status: int, text: str) -> WireResponse:
    return WireResponse.text(status, text)


class Emulator(abc.ABC):
    """The base of an offline ERP: subclasses say how the service answers (``_dispatch``,
    ``_throttled``...), this class makes it reachable and realistically unreliable."""

    intercept_prefixes: ClassVar[tuple[str, ...]] = ()
    service_name: ClassVar[str] = "ERP"

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        latency: Latency | float | None = None,
        faults: FaultPlan | None = None,
        governance: Governance | None = None,
        seed: int = 0,
    ) -> None:
        if clock is not None and not isinstance(clock, Clock):
            raise ConfigurationError(f"clock must have now() and sleep(), not {clock!r}")
        self.clock: Clock = clock if clock is not None else SystemClock()
        if latency is None:
            latency = Latency()
        elif not isinstance(latency, Latency):
            latency = Latency(fixed=_non_negative("latency", latency))
        self.latency: Latency = latency
        if faults is not None and not isinstance(faults, FaultPlan):
            raise ConfigurationError(f"faults must be a FaultPlan, not {faults!r}")
        self.faults: FaultPlan = faults if faults is not None else FaultPlan(seed=seed)
        if governance is not None and not isinstance(governance, Governance):
            raise ConfigurationError(f"governance must be a Governance, not {governance!r}")
        self.governance: Governance = governance if governance is not None else Governance()
        self.seed = seed
        self.rng = random.Random(seed)
        self._gate = _Gate(self.governance)
        self._latency_rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()
        self._fault_counts: collections.Counter[str] = collections.Counter()
        self._routes: list[_Route] = []
        self._starts = 0
        self._route_lock = threading.Lock()
        self._serve_lock = threading.Lock()
        self._server: _Server | None = None
        self._server_thread: threading.Thread | None = None
        self.served_url: str | None = None

    # -- the hooks ----------------------------------------------------------------------

    @abc.abstractmethod
    def _dispatch(self, request: WireRequest) -> WireResponse:
        """Answer the request as the service would (it passed governance and faults)."""

    @abc.abstractmethod
    def _throttled(self, request: WireRequest, reason: str) -> WireResponse:
        """The service's own 429 answer."""

    def _server_error(self, request: WireRequest, status: int) -> WireResponse:
        """The service's own 5xx answer."""
        return _plain(status, f"{self.service_name} is temporarily unavailable ({status}).")

    def _governance_scope(self, request: WireRequest) -> str | None:
        return None

    def _governed(self, request: WireRequest) -> bool:
        return True

    # -- handling -----------------------------------------------------------------------

    def handle(self, request: WireRequest) -> WireResponse | Drop:
        """Answer one request: governance, fault plan, latency, the service logic, and the
        lost-response fault, in that order. Never raises: a failure inside becomes the
        service's 500, as a real server would send."""
        try:
            return self._handle(request)
        except Exception:
            _log.exception(
                "%s emulator failed on %s %s",
                self.service_name,
                request.method,
                redact(request.url),
            )
            with self._stats_lock:
                self._counts["errors"] += 1
            return self._finish(_plain(500, f"{self.service_name} internal error."))

    def _handle(self, request: WireRequest) -> WireResponse | Drop:
        with self._stats_lock:
            self._counts["requests"] += 1
        admitted = False
        if self._governed(request):
            reason = self._gate.admit(self._governance_scope(request), self.clock.now())
            if reason is not None:
                with self._stats_lock:
                    self._counts["throttled"] += 1
                self._wait(0.0)
                return self._finish(self._answer_throttled(request, reason))
            admitted = True
        try:
            fault = self.faults.draw(request)
            if fault is not None:
                with self._stats_lock:
                    self._counts["faults"] += 1
                    self._fault_counts[fault.kind] += 1
            self._wait(fault.delay if fault is not None else 0.0)
            kind = fault.kind if fault is not None else None
            if kind == "drop":
                return Drop("drop")
            if fault is not None and kind == "server_error":
                response = self._answer_server_error(request, fault.status)
            elif kind == "throttle":
                response = self._answer_throttled(request, "injected throttle fault")
            else:
                response = self._safe_dispatch(request)
            response = self._finish(response)
            if kind == "lose_response":
                return Drop("lose_response", response)
            return response
        finally:
            if admitted:
                self._gate.release()

    def _wait(self, extra: float) -> None:
        with self._rng_lock:
            seconds = self.latency.sample(self._latency_rng)
        seconds += extra
        if seconds > 0:
            self.clock.sleep(seconds)

    def _safe_dispatch(self, request: WireRequest) -> WireResponse:
        with self._stats_lock:
            self._counts["dispatched"] += 1
        try:
            response = self._dispatch(request)
            if not isinstance(response, WireResponse):
                raise TypeError(f"_dispatch returned {type(response).__name__}, not WireResponse")
            return response
        except Exception:
            _log.exception(
                "%s emulator failed while answering %s %s",
                self.service_name,
                request.method,
                redact(request.url),
            )
            with self._stats_lock:
                self._counts["errors"] += 1
            return self._answer_server_error(request, 500)

    def _answer_server_error(self, request: WireRequest, status: int) -> WireResponse:
        try:
            response = self._server_error(request, status)
            if isinstance(response, WireResponse):
                return response
        except Exception:
            _log.exception("%s emulator could not build its %s answer", self.service_name, status)
        return _plain(status, f"{self.service_name} internal error.")

    def _answer_throttled(self, request: WireRequest, reason: str) -> WireResponse:
        try:
            response = self._throttled(request, reason)
            if isinstance(response, WireResponse):
                return response
        except Exception:
            _log.exception("%s emulator could not build its 429 answer", self.service_name)
        return _plain(429, f"Too many requests: {reason}.")

    def _finish(self, response: WireResponse) -> WireResponse:
        """Headers every answer carries."""
        if not any(name.lower() == "date" for name in response.headers):
            response.headers["Date"] = formatdate(self.clock.now(), usegmt=True)
        return response

    # -- faults, counters, reset --------------------------------------------------------

    def inject(
        self,
        kind: str,
        *,
        times: int = 1,
        match: RequestMatcher | None = None,
        status: int = 503,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``times`` requests accepted by ``match`` misbehave as ``kind``."""
        self.faults.inject(Fault(kind, status=status, delay=delay), times=times, match=match)

    @property
    def stats(self) -> EmulatorStats:
        with self._stats_lock:
            counts = dict(self._counts)
            by_kind = dict(self._fault_counts)
        return EmulatorStats(
            requests=counts.get("requests", 0),
            dispatched=counts.get("dispatched", 0),
            throttled=counts.get("throttled", 0),
            faults=counts.get("faults", 0),
            faults_by_kind=MappingProxyType(by_kind),
            errors=counts.get("errors", 0),
            in_flight=self._gate.in_flight,
            max_concurrent=self._gate.max_in_flight,
        )

    def reset_runtime(self) -> None:
        """Forget governance history and counters and re-arm the fault plan and latency
        randomness, so a reset emulator behaves exactly as a new one."""
        self._gate.clear()
        with self._stats_lock:
            self._counts.clear()
            self._fault_counts.clear()
        with self._rng_lock:
            self._latency_rng = random.Random(self.seed)
        self.faults.reset()

    # -- in-process ---------------------------------------------------------------------

    def start(self) -> None:
        """Catch ``requests`` calls to ``intercept_prefixes`` in this process. Calls nest:
        each ``start()`` needs its ``stop()``."""
        with self._route_lock:
            self._starts += 1
            if self._starts > 1:
                return
            if not self.intercept_prefixes:
                self._starts = 0
                raise ConfigurationError(
                    f"{type(self).__name__} declares no intercept_prefixes to catch"
                )
            self._routes = [_Route(prefix, self) for prefix in self.intercept_prefixes]
            _INTERCEPTOR.add(self._routes)

    def stop(self) -> None:
        with self._route_lock:
            if self._starts == 0:
                return
            self._starts -= 1
            if self._starts == 0:
                _INTERCEPTOR.remove(self._routes)
                self._routes = []

    @property
    def active(self) -> bool:
        """Whether the emulator is intercepting in-process."""
        return self._starts > 0

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- loopback server ----------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve this emulator over HTTP on a loopback address; returns the base URL.

        Only loopback addresses are accepted: the emulator checks credentials but is not a
        hardened server. Serving again while serving returns the existing URL.
        """
        with self._serve_lock:
            if self._server is not None and self.served_url is not None:
                return self.served_url
            return self._start_server(_loopback(host), port)

    def _start_server(self, address: str, port: int) -> str:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigurationError(f"port must be an integer in [0, 65535], not {port!r}")
        server_cls = _Server6 if ":" in address else _Server
        try:
            server = server_cls((address, port), _Handler)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot serve the {self.service_name} emulator on {address}:{port}: {exc}"
            ) from exc
        server.emulator = self
        bound_port = server.server_address[1]
        shown = f"[{address}]" if ":" in address else address
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.service_name}-emulator:{bound_port}",
            daemon=True,
        )
        thread.start()
        self._server, self._server_thread = server, thread
        self.served_url = f"http://{shown}:{bound_port}"
        return self.served_url

    def shutdown(self) -> None:
        """Stop serving and close every open connection (a pooled keep-alive connection
        must not keep reaching a stopped emulator)."""
        with self._serve_lock:
            server, thread = self._server, self._server_thread
            self._server = self._server_thread = None
            self.served_url = None
        if server is None:
            return
        server.stopping = True
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)


# ---------------------------------------------------------------------------------------
# In-process: one shared responses mock
# ---------------------------------------------------------------------------------------

_LOOPBACK_PASSTHRU = re.compile(
    r"^http://(?:127(?:\.\d{1,3}){3}|localhost|\[::1\])(?::\d+)?(?:[/?#]|$)", re.IGNORECASE
)


def _prefix_matches(prefix: str, url: str) -> bool:
    """``url`` starts with ``prefix`` at a boundary (so ``https://a.com`` does not catch
    ``https://a.com.evil``); compared case-insensitively like host names."""
    if len(url) < len(prefix) or url[: len(prefix)].lower() != prefix.lower():
        return False
    rest = url[len(prefix) :]
    return prefix.endswith("/") or rest == "" or rest[0] in "/?#"


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return _body_bytes(body.read())
    if isinstance(body, Iterable):
        return b"".join(_body_bytes(chunk) for chunk in body)
    raise TypeError(f"cannot read a request body of type {type(body).__name__}")


def _header_text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _connection_aborted(request: Any) -> requests.exceptions.ConnectionError:
    """The exception ``requests`` raises when a server closes without answering."""
    reason = ProtocolError(
        "Connection aborted.", RemoteDisconnected("Remote end closed connection without response")
    )
    return requests.exceptions.ConnectionError(reason, request=request)


class _NullCallList(responses.CallList):
    """Recording every call would grow without bound in a long benchmark; nobody reads
    the shared mock's history (the emulators keep their own state)."""

    def add(self, request: Any, response: Any) -> None:
        return None

    def add_call(self, call: Any) -> None:
        return None


class _Route(responses.CallbackResponse):
    """One intercepted prefix of one emulator, for every method."""

    def __init__(self, prefix: str, emulator: Emulator) -> None:
        super().__init__(method="GET", url=prefix, callback=self._respond, content_type=None)
        self._calls = _NullCallList()
        self.prefix = prefix
        self.emulator = emulator

    def matches(self, request: Any) -> tuple[bool, str]:
        if _prefix_matches(self.prefix, str(request.url)):
            return True, ""
        return False, "URL does not match"

    def _respond(self, prepared: Any) -> Any:
        try:
            headers = {str(k): _header_text(v) for k, v in (prepared.headers or {}).items()}
            wire = WireRequest.build(
                str(prepared.method or "GET"),
                str(prepared.url),
                headers,
                _body_bytes(prepared.body),
            )
        except Exception:
            _log.exception("the emulator could not read an intercepted request")
            return 400, [("Content-Type", "text/plain")], b"Malformed request."
        result = self.emulator.handle(wire)
        if isinstance(result, Drop):
            return _connection_aborted(prepared)
        # As on the wire, a HEAD answer (or a 204/304) carries headers only.
        bodiless = wire.method == "HEAD" or result.status in (204, 304)
        return result.status, list(result.headers.items()), b"" if bodiless else result.body


class _RouteRegistry(FirstMatchRegistry):
    """First match wins and nothing is consumed (``responses``' default registry pops a
    response when two match); removal is by identity, since routes of two emulators for
    the same host compare equal in ``responses``' eyes."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._responses = []

    def find(self, request: Any) -> tuple[Any, list[str]]:
        with self._lock:
            routes = list(self._responses)
        for route in routes:
            matched, _ = route.matches(request)
            if matched:
                return route, []
        return None, ["no emulator intercepts this URL"]

    def add(self, response: Any) -> Any:
        with self._lock:
            # Newest first: an emulator started inside another's ``with`` wins.
            self._responses = [response, *self._responses]
        return response

    def remove(self, response: Any) -> list[Any]:
        with self._lock:
            kept = [r for r in self._responses if r is not response]
            removed = [r for r in self._responses if r is response]
            self._responses = kept
        return removed


class _Interceptor:
    """The one ``responses`` mock every in-process emulator shares, alive while any is."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mock: responses.RequestsMock | None = None
        self._registry: _RouteRegistry | None = None

    def add(self, routes: Sequence[_Route]) -> None:
        with self._lock:
            if self._mock is None:
                mock = responses.RequestsMock(
                    assert_all_requests_are_fired=False,
                    registry=_RouteRegistry,
                )
                mock.add_passthru(_LOOPBACK_PASSTHRU)
                mock._calls = _NullCallList()
                registry = mock.get_registry()
                assert isinstance(registry, _RouteRegistry)
                mock.start()
                self._mock, self._registry = mock, registry
            assert self._registry is not None
            for route in reversed(routes):
                self._registry.add(route)

    def remove(self, routes: Sequence[_Route]) -> None:
        with self._lock:
            if self._registry is None or self._mock is None:
                return
            for route in routes:
                self._registry.remove(route)
            if not self._registry.registered:
                self._mock.stop(allow_assert=False)
                self._mock = self._registry = None

    @property
    def active(self) -> bool:
        with self._lock:
            return self._mock is not None


_INTERCEPTOR = _Interceptor()


# ---------------------------------------------------------------------------------------
# Loopback server
# ---------------------------------------------------------------------------------------


def _loopback(host: str) -> str:
    """The address to bind for ``host``, refusing anything that is not loopback."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(str(host).strip("[]"))
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ConfigurationError(
            f"the emulators serve only on a loopback address (127.0.0.1, ::1), not {host!r}",
            hint="they are test doubles, not hardened servers",
        )
    return str(address)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    emulator: Emulator
    stopping = False

    def __init__(self, address: tuple[str, int], handler: type[_Handler]) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def track(self, sock: socket.socket, open_: bool) -> None:
        with self._open_lock:
            if open_:
                self._open.add(sock)
            else:
                self._open.discard(sock)

    def close_connections(self) -> None:
        with self._open_lock:
            open_socks = list(self._open)
            self._open.clear()
        for sock in open_socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-request is routine for a fault-injecting server.
        _log.debug("emulator connection from %s ended with an error", client_address, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


_HOP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


#: The largest request body the loopback server reads (a bigger one is answered 413
#: unread rather than buffered: the real services refuse far smaller bodies).
MAX_BODY_BYTES = 64 * 1024 * 1024


class _BodyTooLarge(Exception):
    pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    _headers_buffer: list[bytes]

    def setup(self) -> None:
        super().setup()
        # Small answers written as headers then body would otherwise meet the client's
        # delayed ACK (Nagle): ~40 ms per request on loopback.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s %s", self.address_string(), redact(format % args))

    def _serve_one(self) -> None:
        if self.server.stopping:  # raced with shutdown(): behave as a closed server
            self.close_connection = True
            return
        try:
            body = self._read_body()
        except _BodyTooLarge:
            self.close_connection = True
            self._write(WireResponse.text(413, "Request body too large."))
            return
        except (ValueError, OSError):
            self.close_connection = True
            self._write(WireResponse.text(400, "Malformed request body."))
            return
        host = self.headers.get("Host") or _host_port(self.server.server_address)
        url = self.path if "://" in self.path else f"http://{host}{self.path}"
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        result = self.server.emulator.handle(WireRequest.build(self.command, url, headers, body))
        if isinstance(result, Drop):
            # Close without a byte of answer: the client sees the connection aborted.
            self.close_connection = True
            return
        self._write(result)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"x", 16)
                total += size
                if total > MAX_BODY_BYTES:
                    raise _BodyTooLarge
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_BODY_BYTES:
            raise _BodyTooLarge
        return self.rfile.read(length) if length else b""

    def _write(self, response: WireResponse) -> None:
        self.send_response_only(response.status)
        for name, value in response.headers.items():
            if name.lower() not in _HOP_HEADERS:
                self.send_header(name, value)
        no_body = response.status in (204, 304) or response.status < 200
        if not no_body:
            self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD" and not no_body and response.body:
            self._headers_buffer.append(response.body)
        # One write for status line, headers and body.
        self.wfile.write(b"".join(self._headers_buffer))
        self._headers_buffer = []
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve_one


def _host_port(address: Any) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
