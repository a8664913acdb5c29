"""The sync store: what was written where, where each feed stopped, and what each run did.

An ERP gives weak guarantees about duplicates: QuickBooks forgets a ``requestid`` after
a while and NetSuite only deduplicates records that carry an external id. "Exactly once"
across crashes and restarts therefore rests on a local *ledger* that a workflow consults
before every write:

1. ``claim()`` the source record. Only one writer (thread, process or host sharing the
   file) can hold a claim; a claim is a lease, so a writer that crashed mid-write does
   not block the record forever.
2. If the claim says a previous attempt *may have reached the ERP*
   (``claim.may_have_written``), look the record up by its external id before writing,
   because the crash may have happened after the ERP committed.
3. Write, then ``mark_written()`` (or ``mark_failed()``).

Claims are fenced: every claim carries the attempt number it created, and completing a
claim whose lease was meanwhile taken over by another owner raises
:class:`~erpsync.errors.ConflictError` instead of silently overwriting the newer
outcome.

The same store keeps opaque *cursors* (``modified_since`` watermarks, written by the
workflows as ISO timestamps with an id tie-break), the *run log* behind a "Recent Syncs"
screen with per-record errors, and *advisory locks* so that a scheduled ``run_every``
never overlaps itself across processes.

:class:`SQLiteSyncStore` is the default: one SQLite file in WAL mode, safe for several
threads (one connection per store, serialised by a lock) and several processes (writes
run in ``BEGIN IMMEDIATE`` transactions and wait up to ``busy_timeout`` for each other).
:class:`PostgresSyncStore` serves workers on many hosts. Users who keep state elsewhere
(DynamoDB, their own database) implement :class:`SyncStore` and run
:class:`erpsync.testing.contracts.SyncStoreContract` over it.

Every key, cursor, run and lock belongs to a *tenant* (one QuickBooks company, one
NetSuite account): two tenants sharing one store never see each other's records, so
tenant B's invoice ``AR-1`` is not mistaken for tenant A's. Calls that name no tenant use
:data:`~erpsync.store.types.DEFAULT_TENANT`; the workflows pass their backend's tenant.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

from erpsync.store.types import (
    DEFAULT_TENANT,
    Claim,
    EntryState,
    KeyLike,
    LedgerEntry,
    LockLease,
    RunError,
    RunRecord,
    RunStatus,
)

__all__ = ["SyncStore"]


@runtime_checkable
class SyncStore(Protocol):
    """Where a sync keeps its memory. Implementations must make ``claim`` and ``lock``
    atomic across every process that shares the store; everything else follows.

    Every method is scoped by ``tenant``; a key, cursor, run or lock of one tenant is
    invisible to every other."""

    # ledger
    def get(
        self, backend: str, record_type: str, source_key: str, *, tenant: str = DEFAULT_TENANT
    ) -> LedgerEntry | None:
        """The ledger entry for one source record, or None if it was never claimed."""

    def claim(
        self,
        backend: str,
        record_type: str,
        source_key: str,
        *,
        owner: str,
        lease_seconds: float,
        external_id: str | None = None,
        reclaim_written: bool = False,
        tenant: str = DEFAULT_TENANT,
    ) -> Claim | None:
        """Take the right to write the record, or None when another owner holds a live
        lease or (unless ``reclaim_written``) the record is already written."""

    def renew(self, claim: Claim, lease_seconds: float) -> Claim:
        """Extend a live claim's lease (a long write); ConflictError if it was lost."""

    def mark_written(
        self,
        target: Claim | KeyLike,
        remote_id: str,
        content_hash: str | None = None,
        number: str | None = None,
        *,
        external_id: str | None = None,
    ) -> LedgerEntry:
        """Record a successful write. With a Claim, fenced; with a key, unconditional."""

    def mark_failed(self, target: Claim | KeyLike, error_text: str) -> LedgerEntry:
        """Record a failed write (the text is redacted). A lost claim changes nothing."""

    def release(self, claim: Claim) -> None:
        """Give a claim back unused: the entry returns to its state before the claim."""

    def iter_entries(
        self,
        backend: str | None = None,
        record_type: str | None = None,
        state: EntryState | None = None,
        *,
        tenant: str | None = None,
    ) -> Iterator[LedgerEntry]:
        """Ledger entries matching the filters (``tenant=None``: every tenant's), ordered
        by key."""

    def find_by_remote_id(
        self, backend: str, record_type: str, remote_id: str, *, tenant: str = DEFAULT_TENANT
    ) -> LedgerEntry | None:
        """The entry that produced ``remote_id`` (reconciliation runs ERP -> source)."""

    # cursors
    def get_cursor(self, name: str, *, tenant: str = DEFAULT_TENANT) -> str | None:
        """The stored value of an opaque cursor."""

    def set_cursor(self, name: str, value: str, *, tenant: str = DEFAULT_TENANT) -> None:
        """Store an opaque cursor value."""

    # run log
    def start_run(self, kind: str, backend: str, *, tenant: str = DEFAULT_TENANT) -> int:
        """Open a run (status ``running``) and return its id."""

    def finish_run(
        self,
        run_id: int,
        *,
        status: RunStatus,
        counts: Mapping[str, int] | None = None,
        errors: Sequence[RunError] = (),
    ) -> RunRecord:
        """Close a run with its outcome."""

    def abandon_runs(
        self, kind: str, backend: str, reason: str, *, tenant: str = DEFAULT_TENANT
    ) -> list[int]:
        """Close every run of ``kind`` for ``backend`` still marked ``running`` as failed.

        A workflow calls this right after taking its pass lock: while it holds the lock
        no other pass of that kind can be running, so such a run belonged to a process
        that died mid-pass and would otherwise show as running forever.
        """

    def get_run(self, run_id: int) -> RunRecord | None:
        """One run by id."""

    def runs(
        self,
        limit: int = 20,
        kind: str | None = None,
        backend: str | None = None,
        *,
        tenant: str | None = None,
    ) -> list[RunRecord]:
        """Recent runs, newest first (``tenant=None``: every tenant's)."""

    # advisory locks
    def lock(
        self, name: str, owner: str, ttl: float, *, tenant: str = DEFAULT_TENANT
    ) -> LockLease | None:
        """Take or renew a named lease-lock; None while another owner holds it. The lease
        carries a fencing number that grows each time the lock changes hands."""

    def unlock(self, name: str, owner: str, *, tenant: str = DEFAULT_TENANT) -> bool:
        """Release a lock this owner holds; False if it did not hold it."""
