"""The sync store's vocabulary: ledger keys and entries, claims, runs, and the
:class:`SyncStore` interface that the SQLite store (and a user's own) implements.

See :mod:`erpsync.store` for how a workflow uses it.
"""

from __future__ import annotations

import abc
import hashlib
import json
import os
import socket
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, TypeAlias

from erpsync.errors import ConfigurationError, ErpSyncError

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
    "SyncStore",
    "content_hash",
    "make_owner",
]

EntryState: TypeAlias = Literal["claimed", "written", "failed"]
RunStatus: TypeAlias = Literal["running", "ok", "partial", "failed"]

#: The tenant of a backend that serves one company (``AccountingBackend.tenant``'s
#: default) and of store calls that name none.
DEFAULT_TENANT = "default"


# -- value types ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerKey:
    """Identifies one source record's write to one ERP.

    ``source_key`` is the caller's stable key for the record (a job id, an invoice id),
    usually the same string sent to the ERP as ``external_id``. ``tenant`` is the ERP
    company or account the record is written to (a QuickBooks realm id, a NetSuite
    account id): two companies sharing a store never share a key, since the same
    invoice number in both is two different records.
    """

    backend: str
    record_type: str
    source_key: str
    tenant: str = DEFAULT_TENANT

    def __str__(self) -> str:
        # The default tenant is left out, so single-company messages read as they did.
        scope = self.backend if self.tenant == DEFAULT_TENANT else f"{self.backend}:{self.tenant}"
        return f"{scope}/{self.record_type}/{self.source_key}"


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


KeyLike: TypeAlias = LedgerKey | tuple[str, str, str] | tuple[str, str, str, str]


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


# -- the interface -------------------------------------------------------------------------


class SyncStore(abc.ABC):
    """Where a sync keeps its memory. Implementations must make ``claim`` and ``lock``
    atomic across every process that shares the store; everything else follows.

    Ledger entries, cursors and runs are scoped by ``tenant`` (keyword, default
    :data:`DEFAULT_TENANT`); workflows pass their backend's ``tenant``."""

    # ledger
    @abc.abstractmethod
    def get(
        self, backend: str, record_type: str, source_key: str, *, tenant: str = DEFAULT_TENANT
    ) -> LedgerEntry | None:
        """The ledger entry for one source record, or None if it was never claimed."""

    @abc.abstractmethod
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

    @abc.abstractmethod
    def renew(self, claim: Claim, lease_seconds: float) -> Claim:
        """Extend a live claim's lease (a long write); ConflictError if it was lost."""

    @abc.abstractmethod
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

    @abc.abstractmethod
    def mark_failed(self, target: Claim | KeyLike, error_text: str) -> LedgerEntry:
        """Record a failed write (the text is redacted). A lost claim changes nothing."""

    @abc.abstractmethod
    def release(self, claim: Claim) -> None:
        """Give a claim back unused: the entry returns to its state before the claim."""

    @abc.abstractmethod
    def iter_entries(
        self,
        backend: str | None = None,
        record_type: str | None = None,
        state: EntryState | None = None,
        *,
        tenant: str | None = None,
    ) -> Iterator[LedgerEntry]:
        """Ledger entries matching the filters (``tenant=None``: every tenant), by key."""

    @abc.abstractmethod
    def find_by_remote_id(
        self, backend: str, record_type: str, remote_id: str, *, tenant: str = DEFAULT_TENANT
    ) -> LedgerEntry | None:
        """The entry that produced ``remote_id`` (reconciliation runs ERP -> source)."""

    # cursors
    @abc.abstractmethod
    def get_cursor(self, name: str, *, tenant: str = DEFAULT_TENANT) -> str | None:
        """The stored value of an opaque cursor."""

    @abc.abstractmethod
    def set_cursor(self, name: str, value: str, *, tenant: str = DEFAULT_TENANT) -> None:
        """Store an opaque cursor value."""

    # run log
    @abc.abstractmethod
    def start_run(self, kind: str, backend: str, *, tenant: str = DEFAULT_TENANT) -> int:
        """Open a run (status ``running``) and return its id."""

    @abc.abstractmethod
    def finish_run(
        self,
        run_id: int,
        *,
        status: RunStatus,
        counts: Mapping[str, int] | None = None,
        errors: Sequence[RunError] = (),
    ) -> RunRecord:
        """Close a run with its outcome."""

    @abc.abstractmethod
    def abandon_runs(
        self, kind: str, backend: str, reason: str, *, tenant: str = DEFAULT_TENANT
    ) -> list[int]:
        """Close every run of ``kind`` for ``backend`` and ``tenant`` still ``running`` as failed.

        A workflow calls this right after taking its pass lock: while it holds the lock
        no other pass of that kind can be running, so such a run belonged to a process
        that died mid-pass and would otherwise show as running forever.
        """

    @abc.abstractmethod
    def get_run(self, run_id: int) -> RunRecord | None:
        """One run by id."""

    @abc.abstractmethod
    def runs(
        self,
        limit: int = 20,
        kind: str | None = None,
        backend: str | None = None,
        *,
        tenant: str | None = None,
    ) -> list[RunRecord]:
        """Recent runs, newest first (``tenant=None``: every tenant)."""

    # advisory locks
    @abc.abstractmethod
    def lock(self, name: str, owner: str, ttl: float) -> bool:
        """Take or renew a named lease-lock; False while another owner holds it."""

    @abc.abstractmethod
    def unlock(self, name: str, owner: str) -> bool:
        """Release a lock this owner holds; False if it did not hold it."""
