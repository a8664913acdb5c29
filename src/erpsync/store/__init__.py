"""The sync store: the ledger that makes writes exactly once, feed cursors, the run log
and named locks (see :mod:`erpsync.store.protocol` for the contract).

Two implementations ship: :class:`SQLiteSyncStore`, the embedded default (one file on
one host), and :class:`PostgresSyncStore`, for workers on many hosts (extra
``postgres``; psycopg is imported only when it is first used). Both load lazily, so
``import erpsync.store`` costs nothing and needs no database driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from erpsync._lazy import lazy_exports
from erpsync.store.protocol import SyncStore
from erpsync.store.types import (
    DEFAULT_TENANT,
    Claim,
    EntryState,
    KeyLike,
    LedgerEntry,
    LedgerKey,
    LockLease,
    RunError,
    RunRecord,
    RunStatus,
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
    "LockLease",
    "PostgresSyncStore",
    "RunError",
    "RunRecord",
    "RunStatus",
    "SQLiteSyncStore",
    "SyncStore",
    "content_hash",
    "make_owner",
]

if TYPE_CHECKING:
    from erpsync.store.postgres import PostgresSyncStore
    from erpsync.store.sqlite import SCHEMA_VERSION, SQLiteSyncStore

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SQLiteSyncStore": "erpsync.store.sqlite",
        "SCHEMA_VERSION": "erpsync.store.sqlite",
        "PostgresSyncStore": "erpsync.store.postgres",
    },
    globals(),
)
