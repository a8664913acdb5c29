"""The one exclusive run: a pass that never overlaps another pass of its kind, and the
run-log entry ("Recent Syncs") that says how it went.

Every periodic workflow (the accounting sync, the purchasing run) needs the same three
things, kept here once:

* **Exclusion.** A pass takes a named store lock (:meth:`SyncStore.lock`), scoped by
  tenant, so two passes of one company never overlap, across threads, processes and
  hosts sharing the store, while two companies run side by side. A second pass is
  refused with :class:`SyncBusyError`. Within one process a thread lock refuses a second
  pass of the same workflow object too, since the store lock is re-entrant for its owner.
* **A lease that outlives slow writes.** The lock is a lease (``ttl`` seconds) so that a
  dead holder does not block its successors forever. A live pass therefore renews it:
  :meth:`RunLease.renew` between records (cheap, it renews only once a third of the TTL
  has gone), and a background thread every third of the TTL while one slow write (a
  throttled ERP) blocks the pass. A lease that lapsed and was taken by another pass is
  detected by its fencing number (:attr:`~erpsync.store.LockLease.fence`) and the pass
  stops with :class:`LockLostError` at its next renewal instead of overlapping the new
  holder.
* **The schedule.** :func:`repeat` runs passes every interval, start to start, until a
  stop event is set or a number of passes has run; it is the only schedule loop
  (``AccountingSync.run_every`` and ``erpsync sync --every`` both run on it).
* **The run log.** A pass opens a run (``running``), and closes it ``ok``, ``partial``
  (some records failed or need a manual action) or ``failed`` (the pass itself broke;
  the exception still propagates). A run still ``running`` when the lock is taken
  belonged to a process that died mid-pass and is closed as failed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from erpsync.errors import ConfigurationError, ConflictError, ErpSyncError
from erpsync.store import LockLease, RunError, RunRecord, RunStatus, SyncStore

__all__ = [
    "ABANDONED",
    "ActiveRun",
    "ExclusiveRun",
    "LockLostError",
    "RunLease",
    "RunLog",
    "SyncBusyError",
    "repeat",
]

_log = logging.getLogger(__name__)

#: Recorded on a run found still "running" when the next pass takes the lock.
ABANDONED = "the process running this pass stopped before it finished"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SyncBusyError(ConflictError):
    """Another pass of the same sync holds the lock (in this process or another)."""


class LockLostError(SyncBusyError):
    """The pass's lock lapsed and another pass took it: this pass stopped where it was.

    A :class:`SyncBusyError`, since another pass now holds the lock; the records
    written before the stop are in the ledger, the rest are left to the new holder."""


class _Waiter(Protocol):
    def wait(self, timeout: float | None = None) -> bool: ...

    def set(self) -> None: ...


class RunLease:
    """A held run lock, renewed as the pass goes (see the module docstring).

    ``renew()`` is the hook a workflow calls between records; the background thread
    (when enabled) keeps the lease through one long write. Either one finding the lease
    lost makes every later ``renew()`` raise :class:`LockLostError`.
    """

    def __init__(
        self,
        store: SyncStore,
        lease: LockLease,
        *,
        ttl: float,
        clock: Callable[[], datetime],
        what: str,
    ) -> None:
        self.store = store
        self.lease = lease
        self.ttl = ttl
        self._clock = clock
        self._what = what
        self._renewed_at = clock()
        self._lost: str | None = None
        self._lock = threading.Lock()
        self._stop: _Waiter = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lost(self) -> bool:
        """True once the lease was found taken by another owner."""
        return self._lost is not None

    def renew(self, *, force: bool = False) -> None:
        """Renew the lease when a third of its TTL has gone (or now, with ``force``);
        LockLostError if another owner took it."""
        with self._lock:
            if self._lost is None:
                now = self._clock()
                if force or (now - self._renewed_at).total_seconds() >= self.ttl / 3:
                    self._extend(now)
            lost = self._lost
        if lost is not None:
            raise LockLostError(
                f"the {self._what} lost its lock to another pass; it stops here",
                record=self.lease.name,
                detail=lost,
                hint="raise the lock TTL above the longest gap between two records of a pass",
            )

    def _extend(self, now: datetime) -> None:
        lease = self.lease
        renewed = self.store.lock(lease.name, lease.owner, self.ttl, tenant=lease.tenant)
        if renewed is None:
            self._lost = "another owner holds the lock now"
        elif renewed.fence != lease.fence:
            # We got it back, but someone else held it in between (the fence moved).
            self._lost = f"the lock changed hands (fence {lease.fence} -> {renewed.fence})"
            self.lease = renewed
        else:
            self.lease = renewed
            self._renewed_at = now

    def start_background(self, interval: float, waiter: _Waiter | None = None) -> None:
        """Renew every ``interval`` seconds on a daemon thread until :meth:`stop`."""
        if interval <= 0:
            raise ConfigurationError(f"the renewal interval must be positive, not {interval}")
        self._stop = waiter if waiter is not None else threading.Event()
        self._thread = threading.Thread(
            target=self._background, args=(interval,), name=f"renew:{self.lease.name}", daemon=True
        )
        self._thread.start()

    def _background(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.renew(force=True)
            except LockLostError:
                return  # the pass sees it at its next renew()
            except Exception:  # a store hiccup: the next tick tries again
                _log.warning("could not renew %s; retrying", self.lease.name, exc_info=True)

    def stop(self) -> None:
        """Stop the background renewal (idempotent)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None


class RunLog:
    """The run-log entries of one kind of pass for one backend and tenant."""

    def __init__(self, store: SyncStore, kind: str, backend: str, *, tenant: str) -> None:
        self.store = store
        self.kind = kind
        self.backend = backend
        self.tenant = tenant

    def start(self) -> int:
        """Open a run (``running``)."""
        return self.store.start_run(self.kind, self.backend, tenant=self.tenant)

    def finish(
        self,
        run_id: int,
        *,
        counts: Mapping[str, int] | None = None,
        errors: Sequence[RunError] = (),
        status: RunStatus | None = None,
    ) -> RunRecord:
        """Close a run: ``partial`` when it has errors, else ``ok`` (unless ``status``)."""
        if status is None:
            status = "partial" if errors else "ok"
        return self.store.finish_run(run_id, status=status, counts=counts, errors=errors)

    def fail(
        self,
        run_id: int,
        error: BaseException,
        *,
        label: str,
        counts: Mapping[str, int] | None = None,
        errors: Sequence[RunError] = (),
    ) -> RunRecord:
        """Close a run as ``failed``: the records' errors, then the pass's own."""
        return self.store.finish_run(
            run_id,
            status="failed",
            counts=counts,
            errors=[*errors, RunError.from_exception(label, error)],
        )

    def record_failure(self, error: BaseException, *, label: str) -> None:
        """Log a pass that broke before it could start (its input failed), so that it
        shows on "Recent Syncs"; a store that fails too is only logged."""
        try:
            self.fail(self.start(), error, label=label)
        except ErpSyncError:
            _log.exception("could not record the failed %s pass in the run log", self.kind)

    def abandon(self, reason: str = ABANDONED) -> list[int]:
        """Close the runs left ``running`` by a dead process (call it holding the lock)."""
        return self.store.abandon_runs(self.kind, self.backend, reason, tenant=self.tenant)

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """Recent runs, newest first."""
        return self.store.runs(
            limit=limit, kind=self.kind, backend=self.backend, tenant=self.tenant
        )


#: What a pass has done so far: its counts and its records' errors.
Progress = tuple[Mapping[str, int], Sequence[RunError]]


class ActiveRun:
    """A pass in progress: its run id, its lease, and how it ends.

    Set :attr:`progress` to a callable giving the pass's counts and errors so far; a pass
    that ends with an exception is then recorded with them. ``finish`` closes it
    normally (a pass that ends without calling it is closed from ``progress``)."""

    def __init__(self, log: RunLog, run_id: int, lease: RunLease) -> None:
        self.log = log
        self.id = run_id
        self.lease = lease
        self.record: RunRecord | None = None
        self.progress: Callable[[], Progress] = lambda: ({}, ())

    def renew(self) -> None:
        """The renewal hook: call it between records (LockLostError when lost)."""
        self.lease.renew()

    def started_at(self) -> datetime | None:
        """When the run started, on the store's clock."""
        record = self.log.store.get_run(self.id)
        return record.started_at if record is not None else None

    def finish(
        self,
        *,
        counts: Mapping[str, int] | None = None,
        errors: Sequence[RunError] = (),
        status: RunStatus | None = None,
    ) -> RunRecord:
        """Close the run (``partial`` with errors, else ``ok``, unless ``status``)."""
        self.record = self.log.finish(self.id, counts=counts, errors=errors, status=status)
        return self.record


class ExclusiveRun:
    """Passes of one kind for one backend and tenant: never two at once, each logged.

    ``owner`` names this process in the lock; ``ttl`` is the lease in seconds;
    ``background_renewal`` keeps it alive through a long write (off: only the
    ``renew()`` calls between records do). ``lock_name`` defaults to
    ``"<kind>:<backend>:<tenant>"``: the tenant is in the name, and the lock itself is
    taken in the store's default tenant scope, where every earlier version of the
    workflows took it, so a store shared with processes of an earlier version still
    keeps their passes and these apart.
    """

    def __init__(
        self,
        store: SyncStore,
        kind: str,
        backend: str,
        *,
        tenant: str,
        owner: str,
        ttl: float,
        lock_name: str | None = None,
        what: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
        background_renewal: bool = True,
    ) -> None:
        if not ttl > 0:
            raise ConfigurationError(f"a run lock's ttl must be positive, not {ttl!r}")
        self.store = store
        self.log = RunLog(store, kind, backend, tenant=tenant)
        self.owner = owner
        self.ttl = float(ttl)
        self.lock_name = lock_name or f"{kind}:{backend}:{tenant}"
        self.what = what or f"{kind} pass"
        self.background_renewal = background_renewal
        self._clock = clock
        self._thread_lock = threading.Lock()

    @property
    def tenant(self) -> str:
        return self.log.tenant

    @contextmanager
    def hold(self) -> Iterator[RunLease]:
        """Hold the lock for a block (no run log); SyncBusyError when another holds it."""
        if not self._thread_lock.acquire(blocking=False):
            raise self._busy("in this process")
        try:
            lease = self.store.lock(self.lock_name, self.owner, self.ttl)
            if lease is None:
                raise self._busy("elsewhere")
            held = RunLease(self.store, lease, ttl=self.ttl, clock=self._clock, what=self.what)
            if self.background_renewal:
                held.start_background(self.ttl / 3)
            try:
                yield held
            finally:
                held.stop()
                if not held.lost:
                    self.store.unlock(self.lock_name, self.owner)
        finally:
            self._thread_lock.release()

    @contextmanager
    def start(self, label: str | None = None) -> Iterator[ActiveRun]:
        """Take the lock, close runs a dead process left open, open a run; on the way
        out close it (``failed`` with the exception, which propagates) and release the
        lock. ``label`` names the pass in a failure's run-log error."""
        with self.hold() as lease:
            self.log.abandon()
            run = ActiveRun(self.log, self.log.start(), lease)
            try:
                yield run
            except BaseException as exc:
                counts, errors = run.progress()
                run.record = self.log.fail(
                    run.id, exc, label=label or self.what, counts=counts, errors=errors
                )
                raise
            if run.record is None:
                counts, errors = run.progress()
                run.finish(counts=counts, errors=errors)

    def _busy(self, where: str) -> SyncBusyError:
        return SyncBusyError(
            f"another {self.what} is in progress {where}",
            backend=self.log.backend,
            record=self.lock_name,
            hint="wait for it to finish; a dead holder's lock expires after its TTL",
        )


class _Pass(Protocol):
    @property
    def ran(self) -> bool: ...


P = TypeVar("P", bound=_Pass)


def repeat(
    one_pass: Callable[[int], P],
    interval: timedelta | float,
    *,
    stop: threading.Event,
    on_pass: Callable[[P], None] | None = None,
    max_passes: int | None = None,
) -> int:
    """Call ``one_pass(n)`` (n = 1, 2, ...) every ``interval`` (start to start) until
    ``stop`` is set or ``max_passes`` passes ran; return how many ran.

    ``one_pass`` returns an outcome whose ``ran`` says whether the pass counts (a pass
    skipped because another one held the lock does not); it should not raise, since an
    exception ends the schedule, as one from ``on_pass`` (which sees each outcome)
    does. Setting ``stop`` ends a wait between passes at once; the pass in flight is
    finished first. The interval is measured on the monotonic clock.
    """
    seconds = interval.total_seconds() if isinstance(interval, timedelta) else float(interval)
    if not seconds >= 0:
        raise ConfigurationError(f"a schedule needs a non-negative interval, not {interval!r}")
    if max_passes is not None and max_passes < 1:
        raise ConfigurationError(f"max_passes must be at least 1, not {max_passes}")
    number = passes = 0
    while not stop.is_set():
        number += 1
        started = time.monotonic()
        outcome = one_pass(number)
        passes += bool(outcome.ran)
        if on_pass is not None:
            on_pass(outcome)
        if max_passes is not None and passes >= max_passes:
            break
        stop.wait(max(0.0, seconds - (time.monotonic() - started)))
    return passes
