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
Users who keep state elsewhere (Postgres, DynamoDB) implement :class:`SyncStore`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from erpsync._lazy import lazy_exports
from erpsync.store.protocol import (
    DEFAULT_TENANT,
    Claim,
    EntryState,
    KeyLike,
    LedgerEntry,
    LedgerKey,
    RunError,
    RunRecord,
    RunStatus,
    SyncStore,
    content_hash,
    make_owner,
)

__all__ = [
    "DEFAULT_TENANT",
    "Claim",
    "EntryState",
    "KeyLike",
    "LedgerEntry",
    "LedgerKey",
    "RunError",
    "RunRecord",
    "RunStatus",
    "SQLiteSyncStore",
    "SyncStore",
    "content_hash",
    "make_owner",
]

# The SQLite store (erpsync.store.sqlite) imports the protocol above; loading it on first
# use (PEP 562) keeps ``from erpsync.store import SQLiteSyncStore`` free of import cycles
# and of the SQLite code for users who bring their own store.
if TYPE_CHECKING:
    from erpsync.store.sqlite import SCHEMA_VERSION, SQLiteSyncStore

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SQLiteSyncStore": "erpsync.store.sqlite",
        "SCHEMA_VERSION": "erpsync.store.sqlite",
    },
    globals(),
)
