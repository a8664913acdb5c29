"""The machinery shared by every emulator: clock, governance, latency, faults, and the two
ways in (in-process through ``responses``, and a loopback HTTP server).

This module holds the :class:`Emulator` base and re-exports the rest, which lives in
one small module per job: :mod:`.clock`, :mod:`.faults` (latency and faults),
:mod:`.governance`, :mod:`.intercept` (the shared ``responses`` mock) and
:mod:`.server` (the HTTP server).

Subclasses (FakeQuickBooks, FakeNetSuite) set ``intercept_prefixes`` (the URL prefixes
caught in-process) and ``service_name``, and implement ``_dispatch`` (the service's
answer) and ``_throttled`` (its own 429: QBO's XML 3001, NetSuite's
CONCURRENCY_LIMIT_EXCEEDED); they may override ``_server_error`` (its 5xx body),
``_governance_scope`` (an extra rate window: ``"batch"``), ``_governance_key`` (whose
limits a request counts against: QuickBooks counts per company) and ``_governed``
(OAuth endpoints are not). :meth:`Emulator.handle` applies governance, the fault plan,
``_dispatch``, latency (counted from the request's arrival, so the emulator's own work
is part of it) and the lost-response fault, in that order, and never raises.
``governance``, ``latency``, ``seed`` and ``rng`` are public attributes; ``stats`` is a
snapshot of the counters; ``reset_runtime()`` puts governance, counters, latency
randomness and the fault plan back as constructed. With no ``clock`` the emulator runs
on real time (what a third-party client talking to :meth:`Emulator.serve` expects);
tests pass a :class:`FakeClock` so latency, token expiry and rate windows cost nothing.

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
import logging
import random
import threading
import time
from email.utils import formatdate
from types import MappingProxyType, TracebackType
from typing import ClassVar

from erpsync._redact import redact
from erpsync.errors import ConfigurationError
from erpsync.testing.core.clock import Clock, FakeClock, SystemClock, clock_datetime
from erpsync.testing.core.faults import (
    FAULT_KINDS,
    Drop,
    Fault,
    FaultPlan,
    Latency,
    RequestMatcher,
    non_negative,
)
from erpsync.testing.core.governance import EmulatorStats, Governance, Window, _Gate
from erpsync.testing.core.intercept import _INTERCEPTOR, _Route, intercepting
from erpsync.testing.core.server import _Server, bind_address, local_url, start_server, stop_server
from erpsync.testing.core.wire import WireRequest, WireResponse

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
    "intercepting",
]

_log = logging.getLogger("erpsync.testing")


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
            latency = Latency(fixed=non_negative("latency", latency))
        self.latency: Latency = latency
        if faults is not None and not isinstance(faults, FaultPlan):
            raise ConfigurationError(f"faults must be a FaultPlan, not {faults!r}")
        self.faults: FaultPlan = faults if faults is not None else FaultPlan(seed=seed)
        if governance is not None and not isinstance(governance, Governance):
            raise ConfigurationError(f"governance must be a Governance, not {governance!r}")
        self.governance: Governance = governance if governance is not None else Governance()
        self.seed = seed
        self.rng = random.Random(seed)
        self._gates: dict[str | None, _Gate] = {}
        self._gates_lock = threading.Lock()
        self._flight = _Gate(Governance(enabled=False))  # counts every admitted request
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

    def _governance_key(self, request: WireRequest) -> str | None:
        """Whose limits a request counts against: one set per key (QuickBooks: per
        company, so a realm id); default one set for the whole emulator."""
        return None

    def _gate_for(self, key: str | None) -> _Gate:
        with self._gates_lock:
            gate = self._gates.get(key)
            if gate is None:
                gate = self._gates[key] = _Gate(self.governance)
            return gate

    # -- handling -----------------------------------------------------------------------

    def handle(self, request: WireRequest) -> WireResponse | Drop:
        """Answer one request: governance, fault plan, the service logic, latency and the
        lost-response fault, in that order. Never raises: a failure inside becomes the
        service's 500, as a real server would send.

        Latency is the time from the request's arrival to its answer leaving, the
        service's own work included (as a real service's latency includes its
        processing): the answer is computed first and the rest of the latency is waited
        after it, counted from ``request.arrived`` (the loopback server stamps the
        request line) or else from this call."""
        arrived = request.arrived
        started = time.perf_counter() if arrived is None else arrived
        try:
            return self._handle(request, started)
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

    def _handle(self, request: WireRequest, started: float) -> WireResponse | Drop:
        with self._stats_lock:
            self._counts["requests"] += 1
        gate: _Gate | None = None
        if self._governed(request):
            gate = self._gate_for(self._governance_key(request))
            reason = gate.admit(self._governance_scope(request), self.clock.now())
            if reason is not None:
                with self._stats_lock:
                    self._counts["throttled"] += 1
                response = self._answer_throttled(request, reason)
                self._wait(started, 0.0)
                return self._finish(response)
            self._flight.admit(None, 0.0)
        try:
            return self._answer(request, started)
        finally:
            if gate is not None:
                gate.release()
                self._flight.release()

    def _answer(self, request: WireRequest, started: float) -> WireResponse | Drop:
        """The admitted request's answer (or its drop), left when its latency is over."""
        fault = self.faults.draw(request)
        if fault is not None:
            with self._stats_lock:
                self._counts["faults"] += 1
                self._fault_counts[fault.kind] += 1
        kind = fault.kind if fault is not None else None
        response: WireResponse | None = None
        if fault is not None and kind == "server_error":
            response = self._answer_server_error(request, fault.status)
        elif kind == "throttle":
            response = self._answer_throttled(request, "injected throttle fault")
        elif kind != "drop":
            response = self._safe_dispatch(request)
        self._wait(started, fault.delay if fault is not None else 0.0)
        if response is None:
            return Drop("drop")
        response = self._finish(response)
        if kind == "lose_response":
            return Drop("lose_response", response)
        return response

    def _wait(self, started: float, extra: float) -> None:
        """Wait out the rest of one request's latency (plus ``extra``), counted from
        ``started``: on real time the emulator's own work is part of it; on any other
        clock (a :class:`FakeClock`) work takes no time, so the whole latency is waited."""
        with self._rng_lock:
            seconds = self.latency.sample(self._latency_rng)
        seconds += extra
        clock = self.clock
        if isinstance(clock, SystemClock) and clock.time_scale > 0:
            seconds -= (time.perf_counter() - started) / clock.time_scale
        if seconds > 0:
            clock.sleep(seconds)

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
            in_flight=self._flight.in_flight,
            max_concurrent=self._flight.max_in_flight,
        )

    def reset_runtime(self) -> None:
        """Forget governance history and counters and re-arm the fault plan and latency
        randomness, so a reset emulator behaves exactly as a new one."""
        with self._gates_lock:
            for gate in self._gates.values():
                gate.clear()
        self._flight.clear()
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

    def serve(self, host: str = "127.0.0.1", port: int = 0, *, allow_remote: bool = False) -> str:
        """Serve this emulator over HTTP; returns the base URL this process reaches it at.

        Only loopback addresses unless ``allow_remote=True`` (an explicit opt-in, logged
        as a warning): the emulator checks credentials but is not a hardened server.
        Serving again while serving returns the existing URL.
        """
        with self._serve_lock:
            if self._server is not None and self.served_url is not None:
                return self.served_url
            address = bind_address(host, allow_remote=allow_remote)
            server, thread = start_server(self, address, port)
            self._server, self._server_thread = server, thread
            self.served_url = local_url(address, server.server_address[1])
            return self.served_url

    def shutdown(self) -> None:
        """Stop serving and close every open connection."""
        with self._serve_lock:
            server, thread = self._server, self._server_thread
            self._server = self._server_thread = None
            self.served_url = None
        if server is not None:
            stop_server(server, thread)
