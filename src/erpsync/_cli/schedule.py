"""Run a pass every INTERVAL until told to stop: ``erpsync sync --every``.

The schedule loop is the workflow's own (:meth:`AccountingSync.run_every`, on
:func:`erpsync.sync.runs.repeat`: one loop, not two). It runs in a worker thread; the
main thread only waits, so Ctrl-C (SIGINT) and SIGTERM reach it at once and set the stop
event: the pass in flight is finished, no new one starts, and the caller prints the
summary with the true number of passes. ``max_passes`` ends the schedule by itself (a
cron-like "run 3 passes and exit").
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

__all__ = ["Schedule", "supervise"]


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

    def record(self, status: str) -> None:
        """Count one pass (``skipped``: another pass held the lock)."""
        if status == "skipped":
            self.skipped += 1
        else:
            self.statuses.append(status)

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


def supervise(
    work: Callable[[], None],
    *,
    stop: threading.Event,
    schedule: Schedule,
    on_stopping: Callable[[], None] = lambda: None,
) -> Schedule:
    """Run ``work`` (the schedule loop itself, :meth:`AccountingSync.run_every`, which
    records each pass in ``schedule``) in a worker thread until it returns.

    ``stop`` is the loop's stop event: Ctrl-C and SIGTERM set it, so the pass in flight
    is finished and no new one starts. ``on_stopping`` is called once when that happens
    while the loop is still running. An exception from ``work`` is raised here.
    """
    failure: list[BaseException] = []

    def loop() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the main thread below
            failure.append(exc)

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
    if failure:
        raise failure[0]
    if stop.is_set() and schedule.stopped_by == "max-passes":
        schedule.stopped_by = "stop"
    return schedule
