"""Run a pass every INTERVAL until told to stop: ``erpsync sync --every``.

The passes run in a worker thread; the main thread only waits, so Ctrl-C (SIGINT) and
SIGTERM reach it at once and set the stop event: the pass in flight is finished, no new
one starts, and the caller prints the summary with the true number of passes.
``max_passes`` ends the schedule by itself (a cron-like "run 3 passes and exit").
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

__all__ = ["Schedule", "repeat"]


@dataclass
class Schedule:
    """What a schedule did: one status per pass run (``ok``, ``partial``, ``failed``),
    the passes skipped because another one held the lock, and why it stopped."""

    statuses: list[str] = field(default_factory=list)
    skipped: int = 0
    stopped_by: str = "max-passes"

    @property
    def passes(self) -> int:
        return len(self.statuses)

    def count(self, status: str) -> int:
        return self.statuses.count(status)

    @property
    def ok(self) -> bool:
        return all(status == "ok" for status in self.statuses)


@contextmanager
def _stop_on_sigterm(stop: threading.Event, schedule: Schedule) -> Iterator[None]:
    """SIGTERM sets ``stop`` (only the main thread may install a handler)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        schedule.stopped_by = "SIGTERM"
        stop.set()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def repeat(
    one_pass: Callable[[int], str],
    *,
    interval: float,
    stop: threading.Event,
    max_passes: int | None = None,
    on_stopping: Callable[[], None] = lambda: None,
) -> Schedule:
    """Call ``one_pass(n)`` (n = 1, 2, ...) every ``interval`` seconds, start to start.

    ``one_pass`` returns the pass's status, or ``skipped``; it must not raise (a pass
    that broke is a ``failed`` status: the schedule goes on). ``on_stopping`` is called
    once when Ctrl-C or SIGTERM asks to stop while the schedule is still running.
    """
    schedule = Schedule()

    def loop() -> None:
        number = 0
        while not stop.is_set():
            number += 1
            started = time.monotonic()
            status = one_pass(number)
            if status == "skipped":
                schedule.skipped += 1
            else:
                schedule.statuses.append(status)
            if max_passes is not None and schedule.passes >= max_passes:
                return
            stop.wait(max(0.0, interval - (time.monotonic() - started)))

    worker = threading.Thread(target=loop, name="erpsync-sync-every", daemon=True)
    announced = False
    with _stop_on_sigterm(stop, schedule):
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.1)
                if stop.is_set() and worker.is_alive() and not announced:
                    announced = True
                    on_stopping()
        except KeyboardInterrupt:
            schedule.stopped_by = "Ctrl-C"
            stop.set()
            if not announced:
                on_stopping()
            worker.join()
    if stop.is_set() and schedule.stopped_by == "max-passes":
        schedule.stopped_by = "stop"
    return schedule
