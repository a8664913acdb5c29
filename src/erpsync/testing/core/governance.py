"""Governance: the service's concurrency limit and sliding rate windows, and the gate
that applies them to requests as they arrive.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from erpsync.errors import ConfigurationError
from erpsync.testing.core.faults import non_negative

__all__ = ["EmulatorStats", "Governance", "Window"]


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
        if non_negative("Window.seconds", self.seconds) <= 0:
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
        if non_negative("Governance.time_scale", self.time_scale) <= 0:
            raise ConfigurationError("Governance.time_scale must be > 0")


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
