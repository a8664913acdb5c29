"""Old private home of the ledger writer and the feed position: moved to
:mod:`erpsync.sync.ledger` and :mod:`erpsync.sync.feed`. Kept only while
``erpsync.sync.purchasing`` still imports from here; delete it once nothing does."""

from __future__ import annotations

from erpsync.sync.feed import FeedPosition
from erpsync.sync.ledger import (
    LedgerTarget,
    WriteOutcome,
    WriteStatus,
    resolve_tenant,
    write_once,
)

__all__ = [
    "FeedPosition",
    "LedgerTarget",
    "WriteOutcome",
    "WriteStatus",
    "resolve_tenant",
    "write_once",
]
