"""An exclusive lock on an open file, on every platform, with no module-level import.

:class:`~erpsync.quickbooks.FileTokenStore` locks ``<path>.lock`` so that several
processes refresh one company's token one at a time. ``fcntl`` exists on POSIX only,
and importing it at module level made ``import erpsync.quickbooks`` fail on Windows;
so the platform's mechanism is looked up when a lock is first taken:

* POSIX: ``fcntl.flock`` (released by the kernel if the process dies);
* Windows: ``msvcrt.locking`` on the first byte (likewise released by the OS);
* anything else: an ``O_CREAT | O_EXCL`` marker file next to the lock file, polled
  until it can be created, and taken over once older than ``stale_after`` seconds
  (a crashed holder cannot release it).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import time
from collections.abc import Callable
from types import ModuleType

__all__ = ["acquire", "release"]

_POLL = 0.05


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def acquire(fd: int, path: str, *, stale_after: float = 120.0) -> Callable[[], None]:
    """Block until ``fd`` (open on ``path``) is locked exclusively; returns the release.

    Raises ``OSError`` when the platform refuses the lock.
    """
    fcntl = _module("fcntl")
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return lambda: fcntl.flock(fd, fcntl.LOCK_UN)
    msvcrt = _module("msvcrt")
    if msvcrt is not None:
        while True:
            try:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                break
            except OSError:
                time.sleep(_POLL)

        def unlock() -> None:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

        return unlock
    return _marker_lock(path + ".held", stale_after)


def release(unlock: Callable[[], None]) -> None:
    """Run a release returned by :func:`acquire`."""
    unlock()


def _marker_lock(marker: str, stale_after: float) -> Callable[[], None]:
    while True:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            break
        except FileExistsError:
            with contextlib.suppress(OSError):
                if time.time() - os.stat(marker).st_mtime > stale_after:
                    os.unlink(marker)  # its holder died without releasing it
                    continue
            time.sleep(_POLL)

    def unlock() -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(marker)

    return unlock
