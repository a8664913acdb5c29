"""Emulator time: a Clock is where an emulator reads the time and how it waits.

Real time (:class:`SystemClock`) for third-party clients talking to a served emulator;
:class:`FakeClock` for tests, so latency, token expiry and rate windows cost nothing.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from erpsync.errors import ConfigurationError

__all__ = ["Clock", "FakeClock", "SystemClock", "clock_datetime"]


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
