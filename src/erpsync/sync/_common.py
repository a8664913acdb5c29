"""The exactly-once write every workflow needs: ledger claim, look-up, write, record.

A workflow reacting to events (a job accepted, a payout made) is called again for the
same record in three ways: a duplicate event, a concurrent worker handling the same
event, and a retry after a crash. :func:`write_once` makes all three produce one ERP
record:

1. ``store.claim`` the source record: one writer at a time across threads, processes
   and hosts sharing the store. A record already written is answered from the ledger
   with no request to the ERP. A record another owner is writing is waited for (up to
   ``wait_seconds``), then reported as ``in_progress``.
2. When the claim says an earlier attempt may have reached the ERP (it died or failed
   after sending), the record is looked up by its external id first: the ERP may have
   committed it before the answer was lost.
3. Otherwise the record is created, under its external id, so even a create retried by
   the transport after a lost response lands on the same record.
4. ``mark_written``. If recording fails after the ERP accepted the write, the claim is
   marked failed (best effort) and the error raised: the next call takes the claim
   again, finds the record by external id in step 2 and records it. If even that
   cannot be recorded (the process died), the lease expires and the same happens.

Building the document is deferred (``create`` is a callable) so that a record found in
step 1 or 2 is not rebuilt from source data that may have changed since (a payout whose
invoices are already paid).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeAlias, TypeVar

from erpsync.errors import ErpSyncError
from erpsync.store import Claim, LedgerEntry, SyncStore

__all__ = ["LedgerTarget", "WriteOutcome", "WriteStatus", "write_once"]

T = TypeVar("T")

#: ``created``: written by this call; ``existed``: found in the ledger or in the ERP (an
#: earlier call wrote it); ``in_progress``: another owner holds the claim and did not
#: finish within the wait.
WriteStatus: TypeAlias = Literal["created", "existed", "in_progress"]


@dataclass(frozen=True)
class LedgerTarget:
    """Which ledger entry guards a write, and the external id the ERP record carries."""

    backend: str
    record_type: str
    source_key: str
    external_id: str


@dataclass(frozen=True)
class WriteOutcome(Generic[T]):
    """What :func:`write_once` did. ``record`` is the ERP record when this call saw it
    (created or looked up); an answer from the ledger alone has only ``remote_id`` and
    ``number``."""

    status: WriteStatus
    remote_id: str | None
    number: str | None
    record: T | None = None
    entry: LedgerEntry | None = None


def write_once(
    store: SyncStore,
    target: LedgerTarget,
    *,
    owner: str,
    lease_seconds: float,
    find: Callable[[], T | None],
    create: Callable[[], T],
    identify: Callable[[T], tuple[str, str | None]],
    content_hash: str | None = None,
    lookup_first: bool = False,
    wait_seconds: float = 0.0,
    poll_interval: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> WriteOutcome[T]:
    """Write one record exactly once (see the module docstring).

    ``find`` looks the record up in the ERP by ``target.external_id`` (None if absent);
    ``create`` builds and writes it (idempotently by that external id); ``identify``
    gives a record's ``(remote id, document number)``. ``lookup_first`` looks up even on
    a first attempt (for records that may predate the ledger, as in a backfill).

    Errors from ``find`` and ``create`` mark the entry failed and propagate; the next
    call retries, looking the record up first.
    """
    deadline = monotonic() + max(wait_seconds, 0.0)
    while True:
        claim = _claim(store, target, owner, lease_seconds)
        if claim is not None:
            return _write_claimed(
                store, claim, target, find, create, identify, content_hash, lookup_first
            )
        entry = store.get(target.backend, target.record_type, target.source_key)
        if entry is not None and entry.state == "written" and entry.remote_id is not None:
            return WriteOutcome("existed", entry.remote_id, entry.number, entry=entry)
        if monotonic() >= deadline:
            return WriteOutcome("in_progress", None, None, entry=entry)
        sleep(poll_interval)


def _claim(store: SyncStore, target: LedgerTarget, owner: str, lease: float) -> Claim | None:
    return store.claim(
        target.backend,
        target.record_type,
        target.source_key,
        owner=owner,
        lease_seconds=lease,
        external_id=target.external_id,
    )


def _write_claimed(
    store: SyncStore,
    claim: Claim,
    target: LedgerTarget,
    find: Callable[[], T | None],
    create: Callable[[], T],
    identify: Callable[[T], tuple[str, str | None]],
    content_hash: str | None,
    lookup_first: bool,
) -> WriteOutcome[T]:
    status: WriteStatus = "created"
    try:
        record = find() if (lookup_first or claim.may_have_written) else None
        if record is not None:
            status = "existed"
        else:
            record = create()
        remote_id, number = identify(record)
    except BaseException as exc:
        _mark_failed_quietly(store, claim, exc)
        raise
    try:
        entry = store.mark_written(
            claim, remote_id, content_hash, number, external_id=target.external_id
        )
    except BaseException as exc:
        _mark_failed_quietly(
            store,
            claim,
            exc,
            prefix=f"the ERP holds {remote_id} but the ledger write failed; "
            "the next attempt finds it by external id: ",
        )
        if isinstance(exc, ErpSyncError):
            exc.with_context(
                record=str(claim.key),
                hint=f"The ERP record {remote_id} exists; retrying records it without a duplicate",
            )
        raise
    return WriteOutcome(status, remote_id, number, record=record, entry=entry)


def _mark_failed_quietly(
    store: SyncStore, claim: Claim, exc: BaseException, prefix: str = ""
) -> None:
    """Record the failure if the store still works; the original error is what matters,
    and a lease left behind expires on its own."""
    with contextlib.suppress(Exception):  # the caller re-raises the original error
        store.mark_failed(claim, prefix + (str(exc) or type(exc).__name__))
