"""How an emulator misbehaves on purpose: latency and injected faults.

A :class:`FaultPlan` draws random faults at configured rates (seeded, so reproducible)
and plays scripted ones (``Emulator.inject``) first; :class:`Drop` is the answer to a
request whose connection dies, before or after the emulator committed it.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from erpsync.errors import ConfigurationError
from erpsync.testing.core.wire import WireRequest, WireResponse

__all__ = ["FAULT_KINDS", "Drop", "Fault", "FaultPlan", "Latency", "RequestMatcher", "non_negative"]


def non_negative(name: str, value: float) -> float:
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
        non_negative("Latency.fixed", self.fixed)
        non_negative("Latency.jitter", self.jitter)

    def sample(self, rng: random.Random) -> float:
        """One request's latency; never negative."""
        seconds = self.fixed
        if self.jitter:
            seconds += rng.uniform(0.0, self.jitter)
        if self.distribution is not None:
            seconds += float(self.distribution(rng))
        return seconds if math.isfinite(seconds) and seconds > 0 else 0.0


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
        non_negative("Fault.delay", self.delay)


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
