"""Progress of a long command: a rich bar on a terminal, plain lines in a pipe.

Every command that can run for more than a few seconds (``import``, ``push``,
``backfill``, ``sync``) reports its progress through :func:`track` (reached as
:meth:`erpsync._cli.output.Output.progress`), so they all look and behave alike:

* nothing at all while the run is younger than ``after`` seconds (the
  ``progress_after`` setting, ``ERPSYNC_PROGRESS_AFTER``, default 2): a quick command
  prints its result, not a bar that flashes by;
* then, when stderr is a terminal and rich is installed (and ``--plain`` is not given),
  a rich bar with the count, the rate and the time left; rich is imported here lazily,
  only then, because it is an optional extra (``erpsync[cli]``);
* otherwise (a pipe, a log file, no rich) one plain line every ``every`` seconds and a
  last one at the end, each with the count, the rate and the time left, which reads
  well in a CI log.

Progress always goes to stderr: stdout keeps the command's result (a table, ``--out -``
CSV, or the ``--json`` document and nothing else). rich's own ``TTY_COMPATIBLE=1``
(or ``FORCE_COLOR``) makes it treat stderr as a terminal, which is how the bar is
tested.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Protocol, TextIO, TypeVar

from erpsync.errors import ConfigurationError

__all__ = ["DEFAULT_AFTER", "PLAIN_EVERY", "Progress", "counted", "progress_after", "track"]

#: Seconds a run lasts before any progress is shown.
DEFAULT_AFTER = 2.0
#: Seconds between two plain progress lines.
PLAIN_EVERY = 5.0

T = TypeVar("T")


class Progress(Protocol):
    def advance(self, steps: int = 1) -> None: ...


def progress_after(value: str | None) -> float:
    """The ``progress_after`` setting as seconds (unset: :data:`DEFAULT_AFTER`)."""
    if value is None or not value.strip():
        return DEFAULT_AFTER
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses NaN
        raise ConfigurationError(
            f"progress_after (ERPSYNC_PROGRESS_AFTER) is a number of seconds >= 0, not {value!r}"
        )
    return seconds


def counted(items: Iterable[T], progress: Progress) -> Iterator[T]:
    """``items``, advancing ``progress`` once each has been handed out (and so handled
    by a consumer that takes the next one only when done with the previous)."""
    for item in items:
        yield item
        progress.advance()


def _figures(done: int, total: int | None, elapsed: float) -> str:
    """``120/500 (24%), 40.0/s, 0:00:09 left``: count, rate and time left."""
    rate = done / elapsed if elapsed > 0 else 0.0
    if total is None:
        return f"{done} so far, {rate:.1f}/s"
    share = f" ({100 * done // total}%)" if total else ""
    left = ""
    if rate > 0 and total > done:
        left = f", {timedelta(seconds=round((total - done) / rate))} left"
    return f"{done}/{total}{share}, {rate:.1f}/s{left}"


class _Tracker:
    """Counts; shows a rich bar or plain lines once the run is ``after`` seconds old."""

    def __init__(
        self,
        description: str,
        total: int | None,
        *,
        stream: TextIO,
        console: Any,
        after: float,
        every: float,
        clock: Callable[[], float],
    ) -> None:
        self.description, self.total, self.done = description, total, 0
        self._stream, self._console, self._after, self._every = stream, console, after, every
        self._clock = clock
        self._started = clock()
        self._last_line: float | None = None
        self._bar: Any = None
        self._task: Any = None
        self._tick()

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        self._tick()

    def _tick(self) -> None:
        now = self._clock()
        if now - self._started < self._after:
            return
        if self._console is not None:
            if self._bar is None:
                self._start_bar()
            self._bar.update(self._task, completed=self.done)
        elif self._last_line is None or now - self._last_line >= self._every:
            self._line(now)

    def _start_bar(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            ProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task: Any) -> Text:
                speed = task.finished_speed or task.speed
                return Text(f"{speed:.1f}/s" if speed else "-/s")

        self._bar = RichProgress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            Rate(),
            TimeRemainingColumn(),
            console=self._console,
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(self.description, total=self.total, completed=0)

    def _line(self, now: float) -> None:
        self._last_line = now
        figures = _figures(self.done, self.total, now - self._started)
        print(f"{self.description}: {figures}", file=self._stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
            self._bar.stop()
        elif self._last_line is not None or self._clock() - self._started >= self._after:
            self._line(self._clock())  # the last line: the final count


@contextmanager
def track(
    description: str,
    total: int | None,
    *,
    stream: TextIO,
    console: Any = None,
    after: float = DEFAULT_AFTER,
    every: float = PLAIN_EVERY,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Progress]:
    """Progress of ``total`` steps (None: unknown) on ``stream`` (stderr).

    ``console`` is a rich console writing to a terminal, or None for plain lines.
    """
    tracker = _Tracker(
        description,
        total,
        stream=stream,
        console=console,
        after=after,
        every=every,
        clock=clock,
    )
    try:
        yield tracker
    finally:
        tracker.close()
