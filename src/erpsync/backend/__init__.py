"""Backends: the contract (:class:`AccountingBackend`, :class:`Capabilities`), bulk
results, the one bulk engine and the one write-at-most-once engine.

* :mod:`erpsync.backend.base`: AccountingBackend, Capabilities, AmbiguousMatchError;
* :mod:`erpsync.backend.names`: resolving a typed name to a Ref (UnknownNameError);
* :mod:`erpsync.backend.results`: BulkResult, BulkOutcome, BulkStatus;
* :mod:`erpsync.backend.bulk`: BulkEngine and the BatchSender a backend plugs into it;
* :mod:`erpsync.backend.write_once`: WriteOnce (write, look up on an unknown outcome,
  back off, rewrite).
"""

from __future__ import annotations

from erpsync.backend.base import AccountingBackend, AmbiguousMatchError, Capabilities
from erpsync.backend.bulk import BatchSender, BulkEngine, BulkItem, OneAtATime, bulk_workers
from erpsync.backend.names import UnknownNameError
from erpsync.backend.results import BulkOutcome, BulkResult, BulkStatus, WriteStatus
from erpsync.backend.write_once import Settled, WriteOnce, outcome_unknown

__all__ = [
    "AccountingBackend",
    "AmbiguousMatchError",
    "BatchSender",
    "BulkEngine",
    "BulkItem",
    "BulkOutcome",
    "BulkResult",
    "BulkStatus",
    "Capabilities",
    "OneAtATime",
    "Settled",
    "UnknownNameError",
    "WriteOnce",
    "WriteStatus",
    "bulk_workers",
    "outcome_unknown",
]
