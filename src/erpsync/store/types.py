"""The store's vocabulary: ledger keys and entries, claims, runs, and the content hash.

Shared by every :class:`~erpsync.store.SyncStore` implementation and by the workflows,
so a user's own store speaks the same types as SQLite's and PostgreSQL's.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, TypeAlias

from erpsync.errors import ConfigurationError, ConflictError, ErpSyncError

__all__ = [
    "DEFAULT_TENANT",
    "Claim",
    "EntryState",
    "KeyLike",
    "LedgerEntry",
    "LedgerKey",
    "LockLease",
    "RunError",
    "RunRecord",
    "RunStatus",
    "content_hash",
    "make_owner",
]

#: The tenant of a store call that names none: one store serving one company or account.
#: Workflows pass their backend's tenant (QuickBooks realm id, NetSuite account id).
DEFAULT_TENANT = "default"

EntryState: TypeAlias = Literal["claimed", "written", "failed"]
RunStatus: TypeAlias = Literal["running", "ok", "partial", "failed"]


# -- value types ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerKey:
    """Identifies one source record's write to one ERP.

    ``source_key`` is the caller's stable key for the record (a job id, an invoice id),
    usually the same string sent to the ERP as ``external_id``.
    """

    backend: str
    record_type: str
    source_key: str
    tenant: str = DEFAULT_TENANT

    def __str__(self) -> str:
        base = f"{self.backend}/{self.record_type}/{self.source_key}"
        return base if self.tenant == DEFAULT_TENANT else f"{self.tenant}:{base}"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """What the store knows about one source record in one ERP."""

    backend: str
    record_type: str
    source_key: str
    state: EntryState
    remote_id: str | None
    external_id: str | None
    content_hash: str | None
    number: str | None
    owner: str | None
    lease_expires_at: datetime | None
    attempts: int
    last_error: str | None
    updated_at: datetime
    tenant: str = DEFAULT_TENANT

    @property
    def key(self) -> LedgerKey:
        return LedgerKey(self.backend, self.record_type, self.source_key, self.tenant)


@dataclass(frozen=True, slots=True)
class Claim:
    """The right, until ``lease_expires_at``, to write one record to the ERP.

    ``attempt`` is the fencing token: completing the claim succeeds only while the
    ledger still shows this owner and this attempt. ``previous_state`` and the
    ``remote_id`` / ``content_hash`` carried over tell the workflow what happened
    before: ``"written"`` means this is an update of ``remote_id``.
    """

    key: LedgerKey
    owner: str
    attempt: int
    lease_expires_at: datetime
    previous_state: EntryState | None
    remote_id: str | None
    external_id: str | None
    content_hash: str | None

    @property
    def may_have_written(self) -> bool:
        """True when an earlier attempt may have reached the ERP before it died or failed.

        The workflow must then look the record up (by external id) before writing, or
        it risks a duplicate: the crash may have come after the ERP committed.
        """
        return self.previous_state in ("claimed", "failed") and self.attempt > 1

    def renewed(self, lease_expires_at: datetime) -> Claim:
        """This claim with a later lease (what ``SyncStore.renew`` returns)."""
        return replace(self, lease_expires_at=lease_expires_at)

    def lost_write(self, current: LedgerEntry | None, remote_id: str) -> LedgerEntry:
        """What a store answers when this claim was taken over before its write was
        recorded: the ledger as it is when the other owner recorded the same outcome,
        else a ConflictError (the ERP may now hold a duplicate)."""
        if current is not None and current.state == "written" and current.remote_id == remote_id:
            return current
        raise ConflictError(
            f"the claim (attempt {self.attempt} by {self.owner}) was taken "
            "over by another owner before the write was recorded",
            record=str(self.key),
            detail=f"this write produced remote id {remote_id}",
            hint="Check the ERP for a duplicate record",
        )


@dataclass(frozen=True, slots=True)
class RunError:
    """One record's failure inside a run, as shown on a "Recent Syncs" screen."""

    record: str
    message: str
    code: str | None = None

    @classmethod
    def from_exception(cls, record: str, error: BaseException) -> RunError:
        """Build from any exception; erpsync errors contribute their remote code."""
        code = error.code if isinstance(error, ErpSyncError) else None
        return cls(record=record, message=str(error) or type(error).__name__, code=code)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One sync run: when, how it ended, what it did, which records failed."""

    id: int
    kind: str
    backend: str
    started_at: datetime
    finished_at: datetime | None
    status: RunStatus
    counts: Mapping[str, int] = field(default_factory=dict)
    errors: tuple[RunError, ...] = ()
    tenant: str = DEFAULT_TENANT


@dataclass(frozen=True, slots=True)
class LockLease:
    """A named lock held until ``expires_at`` (the store's clock).

    ``fence`` is the fencing number: it grows every time the lock changes hands (never on
    a renewal by the holder), so a resource guarded by the lock can refuse work tagged
    with an older number from a holder that paused past its lease. A lease is truthy, so
    ``if store.lock(...)`` reads as before.
    """

    name: str
    owner: str
    fence: int
    expires_at: datetime
    tenant: str = DEFAULT_TENANT


KeyLike: TypeAlias = LedgerKey | tuple[str, str, str]


# -- helpers -------------------------------------------------------------------------------


def make_owner(label: str | None = None) -> str:
    """A claim owner unique to this process: ``host:pid:random`` (plus ``label``).

    Owners are compared for equality only; they make a stuck lease traceable to the
    machine and process that took it.
    """
    parts = [socket.gethostname(), str(os.getpid()), uuid.uuid4().hex[:8]]
    if label:
        parts.append(label)
    return ":".join(parts)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    raise TypeError(f"cannot hash a {type(value).__name__}")


def content_hash(data: Any) -> str:
    """A stable SHA-256 of ``data`` (dicts, lists, Decimals, dates, pydantic models).

    Workflows store it with each written record and compare on the next run, so an
    unchanged source record is not written again. Key order does not matter; the
    distinction between ``Decimal("1.0")`` and ``Decimal("1.00")`` does, deliberately,
    because an ERP stores what it is sent.
    """
    if callable(getattr(data, "model_dump", None)):
        data = data.model_dump(mode="json")
    try:
        text = json.dumps(
            data, sort_keys=True, separators=(",", ":"), default=_json_default, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"content_hash cannot hash this value: {exc}") from exc
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
