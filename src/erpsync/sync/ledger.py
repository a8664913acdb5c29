"""The one ledger writer: ledger claim, look-up, write, record, for every workflow.

A workflow writing a source record to the ERP (a job's invoice, a payout's payment, a
pushed invoice, an item receipt) is called again for the same record in three ways: a
duplicate event, a concurrent worker handling the same event, and a retry after a
crash. :func:`write_once` makes all three produce one ERP record, and is the only place
in ``erpsync.sync`` that sequences the ledger around an ERP write:

1. ``store.claim`` the source record: one writer at a time across threads, processes
   and hosts sharing the store. A record already written is answered from the ledger
   with no request to the ERP. A record another owner is writing is waited for (up to
   ``wait_seconds``), then reported as ``in_progress``.
2. When the claim says an earlier attempt may have reached the ERP (it died or failed
   after sending), the record is looked up by its external id first: the ERP may have
   committed it before the answer was lost.
3. Otherwise the record is created, under its external id, so even a create retried by
   the transport after a lost response lands on the same record. While steps 2 and 3
   run, the claim's lease is renewed every third of ``lease_seconds``, so a write
   slower than its lease (a throttled ERP) keeps its claim.
4. ``mark_written``. If recording fails after the ERP accepted the write, the claim is
   marked failed (best effort) and the error raised: the next call takes the claim
   again, finds the record by external id in step 2 and records it. If even that
   cannot be recorded (the process died), the lease expires and the same happens.

With ``update`` the write is an *upsert*: a record written before is claimed again, and
unless its content hash is unchanged (then nothing is sent: ``unchanged``) it is
updated in place (``updated``); a record found by the look-up of step 2 is brought up to
date the same way (``existed``), so the ledger's content hash always describes what the
ERP holds.

``precheck`` is a local validation that is only meaningful when no earlier attempt can
have reached the ERP (an over-receipt check is wrong once the earlier receipt may be
counted): it runs before a first create only, and an error it raises gives the claim
back untouched, since nothing was sent.

Building the document is deferred (``create`` is a callable) so that a record found in
step 1 or 2 is not rebuilt from source data that may have changed since (a payout whose
invoices are already paid).

Over ~400 lines only through its docstrings (about 340 of code): ``write_once`` and
``Ledger`` are one mechanism and are read together.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeAlias, TypeVar

from erpsync.backend import AccountingBackend
from erpsync.errors import ConfigurationError, ErpSyncError, MappingError
from erpsync.store import DEFAULT_TENANT, Claim, LedgerEntry, SyncStore

__all__ = [
    "Ledger",
    "LedgerTarget",
    "WriteOutcome",
    "WriteStatus",
    "document_identity",
    "resolve_tenant",
    "write_once",
]

T = TypeVar("T")

#: ``created``: written by this call; ``existed``: found in the ledger or in the ERP (an
#: earlier call wrote it); ``updated``: an upsert changed the record written before;
#: ``unchanged``: an upsert found the same content already written (nothing sent);
#: ``in_progress``: another owner holds the claim and did not finish within the wait.
WriteStatus: TypeAlias = Literal["created", "existed", "updated", "unchanged", "in_progress"]


def resolve_tenant(backend: AccountingBackend, tenant: str | None) -> str:
    """The tenant a workflow scopes its ledger keys, cursors, runs and locks by: the
    caller's ``tenant=`` when given, else the backend's (QuickBooks realm, NetSuite
    account). One home, so every workflow scopes the same way."""
    if tenant is None:
        tenant = backend.tenant
    if not isinstance(tenant, str) or not tenant.strip():
        raise ConfigurationError(f"tenant must be a non-empty string, not {tenant!r}")
    return tenant


@dataclass(frozen=True)
class LedgerTarget:
    """Which ledger entry guards a write, and the external id the ERP record carries.

    ``tenant`` is the ERP company or account written to (the backend's ``tenant``), so
    the same source key in two companies is two entries."""

    backend: str
    record_type: str
    source_key: str
    external_id: str
    tenant: str = DEFAULT_TENANT


@dataclass(frozen=True)
class WriteOutcome(Generic[T]):
    """What :func:`write_once` did. ``record`` is the ERP record when this call saw it
    (created, updated or looked up); an answer from the ledger alone has only
    ``remote_id`` and ``number``."""

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
    update: Callable[[str], T] | None = None,
    precheck: Callable[[], None] | None = None,
    lookup_first: bool = False,
    wait_seconds: float = 0.0,
    poll_interval: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> WriteOutcome[T]:
    """Write one record exactly once (see the module docstring).

    ``find`` looks the record up in the ERP by ``target.external_id`` (None if absent);
    ``create`` builds and writes it (idempotently by that external id); ``identify``
    gives a record's ``(remote id, document number)``; ``update(remote_id)`` (upserts
    only) rewrites the record the ERP holds under that id. ``lookup_first`` looks up
    even on a first attempt (for records that may predate the ledger, as in a backfill).

    Errors from ``find``, ``create`` and ``update`` mark the entry failed and propagate;
    the next call retries, looking the record up first. Errors from ``precheck`` release
    the claim and propagate.
    """
    deadline = monotonic() + max(wait_seconds, 0.0)
    while True:
        claim = store.claim(
            target.backend,
            target.record_type,
            target.source_key,
            owner=owner,
            lease_seconds=lease_seconds,
            external_id=target.external_id,
            reclaim_written=update is not None,
            tenant=target.tenant,
        )
        if claim is not None:
            with _LeaseKeeper(store, claim, lease_seconds):
                return _write_claimed(
                    store, claim, target, find, create, identify, content_hash, update,
                    precheck, lookup_first,
                )  # fmt: skip
        entry = store.get(
            target.backend, target.record_type, target.source_key, tenant=target.tenant
        )
        if (
            update is None
            and entry is not None
            and entry.state == "written"
            and entry.remote_id is not None
        ):
            return WriteOutcome("existed", entry.remote_id, entry.number, entry=entry)
        if monotonic() >= deadline:
            return WriteOutcome("in_progress", None, None, entry=entry)
        sleep(poll_interval)


class _LeaseKeeper:
    """Renews a claim every third of its lease while the ERP write runs, so a write
    slower than ``lease_seconds`` (a throttled ERP, a long retry) keeps its claim
    instead of letting another worker take it over and write a duplicate.

    A renewal that fails (the claim was lost, the store is down) stops the keeper
    quietly: the fenced ``mark_written`` then tells the writer what happened."""

    def __init__(self, store: SyncStore, claim: Claim, lease_seconds: float) -> None:
        self._store = store
        self._claim = claim
        self._interval = lease_seconds / 3
        self._lease_seconds = lease_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name=f"lease:{claim.key}", daemon=True)

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _keep(self) -> None:
        claim = self._claim
        while not self._stop.wait(self._interval):
            try:
                claim = self._store.renew(claim, self._lease_seconds)
            except Exception:  # lost or unreachable: mark_written's fence decides
                return


def _write_claimed(
    store: SyncStore,
    claim: Claim,
    target: LedgerTarget,
    find: Callable[[], T | None],
    create: Callable[[], T],
    identify: Callable[[T], tuple[str, str | None]],
    content_hash: str | None,
    update: Callable[[str], T] | None,
    precheck: Callable[[], None] | None,
    lookup_first: bool,
) -> WriteOutcome[T]:
    unchanged: WriteOutcome[T] | None = _unchanged(store, claim, target, content_hash)
    if unchanged is not None:
        return unchanged
    status: WriteStatus = "created"
    record: T | None = None
    try:
        if update is not None and claim.remote_id is not None:
            # Written before (or an update that failed): the ERP id is known.
            record = update(claim.remote_id)
            status = "updated"
        elif lookup_first or claim.may_have_written:
            record = find()
            if record is not None:
                status = "existed"
                if update is not None:
                    record = update(identify(record)[0])
    except BaseException as exc:
        _mark_failed_quietly(store, claim, exc)
        raise
    if record is None and precheck is not None and not claim.may_have_written:
        try:
            precheck()
        except BaseException:
            _release_quietly(store, claim)  # nothing was sent
            raise
    try:
        if record is None:
            record = create()
        remote_id, number = identify(record)
    except BaseException as exc:
        _mark_failed_quietly(store, claim, exc)
        raise
    entry = _record(store, claim, target, remote_id, number, content_hash)
    return WriteOutcome(status, remote_id, number, record=record, entry=entry)


def _unchanged(
    store: SyncStore, claim: Claim, target: LedgerTarget, content_hash: str | None
) -> WriteOutcome[T] | None:
    """An upsert of content already written: the claim is given back, nothing is sent."""
    if not (
        claim.previous_state == "written"  # only upserts reclaim a written record
        and claim.remote_id is not None
        and content_hash is not None
        and claim.content_hash == content_hash
    ):
        return None
    store.release(claim)
    entry = store.get(target.backend, target.record_type, target.source_key, tenant=target.tenant)
    number = entry.number if entry is not None else None
    return WriteOutcome("unchanged", claim.remote_id, number, entry=entry)


def _record(
    store: SyncStore,
    claim: Claim,
    target: LedgerTarget,
    remote_id: str,
    number: str | None,
    content_hash: str | None,
) -> LedgerEntry:
    """Step 4: record the ERP's write; a failure here says the ERP record exists."""
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
    return entry


def _mark_failed_quietly(
    store: SyncStore, claim: Claim, exc: BaseException, prefix: str = ""
) -> None:
    """Record the failure if the store still works; the original error is what matters,
    and a lease left behind expires on its own. (A claim already released or marked is
    no longer held, and the fenced store leaves it alone.)"""
    with contextlib.suppress(Exception):  # the caller re-raises the original error
        store.mark_failed(claim, prefix + (str(exc) or type(exc).__name__))


def _release_quietly(store: SyncStore, claim: Claim) -> None:
    with contextlib.suppress(Exception):  # the caller re-raises the original error
        store.release(claim)


def document_identity(record: Any) -> tuple[str, str | None]:
    """``(ERP id, document number)`` of a written erpsync document (an Invoice, a
    Payment, a Customer...), the ledger's default ``identify``; a record the ERP
    returned without an id is a MappingError naming its external id."""
    remote_id = getattr(record, "id", None)
    if not isinstance(remote_id, str) or not remote_id:
        kind = type(record).__name__.lower()
        external_id = getattr(record, "external_id", None)
        raise MappingError(
            f"the ERP returned the {kind} without an id",
            record=f"{kind} {external_id}" if external_id else None,
        )
    number = getattr(record, "number", None)
    return remote_id, number if isinstance(number, str) else None


class Ledger:
    """:func:`write_once` bound to one workflow's store, ledger namespace, tenant, owner
    and waiting rules, so a workflow names only what differs per record.

    Every workflow used to carry its own many-argument ``_write`` wrapper around
    :func:`write_once`; this is that wrapper, once. ``backend`` is the ledger
    namespace (usually the ERP backend's name; Xometry and purchasing name their own),
    ``identify`` gives a written record's ``(remote id, document number)`` (default:
    :func:`document_identity`). ``wait_seconds``, ``poll_interval``, ``sleep`` and
    ``monotonic`` say how long a write waits for another owner's claim.
    """

    def __init__(
        self,
        store: SyncStore,
        backend: str,
        *,
        tenant: str,
        owner: str,
        lease_seconds: float,
        identify: Callable[[Any], tuple[str, str | None]] = document_identity,
        wait_seconds: float = 0.0,
        poll_interval: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not lease_seconds > 0:
            raise ConfigurationError(f"lease_seconds must be positive, not {lease_seconds!r}")
        self.store = store
        self.backend = backend
        self.tenant = tenant
        self.owner = owner
        self.lease_seconds = float(lease_seconds)
        self.wait_seconds = wait_seconds
        self.poll_interval = poll_interval
        self._identify = identify
        self._sleep = sleep
        self._monotonic = monotonic

    def target(
        self, record_type: str, source_key: str, external_id: str | None = None
    ) -> LedgerTarget:
        """The ledger entry of one source record (its ERP external id defaults to the
        source key)."""
        return LedgerTarget(
            self.backend,
            record_type,
            source_key,
            source_key if external_id is None else external_id,
            self.tenant,
        )

    def get(self, record_type: str, source_key: str) -> LedgerEntry | None:
        """The entry of one source record in this ledger, or None."""
        return self.store.get(self.backend, record_type, source_key, tenant=self.tenant)

    def written(self, record_type: str, source_key: str) -> LedgerEntry | None:
        """The entry when the record was written (state ``written``, remote id known),
        else None."""
        entry = self.get(record_type, source_key)
        if entry is None or entry.state != "written" or entry.remote_id is None:
            return None
        return entry

    def write(
        self,
        record_type: str,
        source_key: str,
        *,
        find: Callable[[], T | None],
        create: Callable[[], T],
        external_id: str | None = None,
        identify: Callable[[T], tuple[str, str | None]] | None = None,
        update: Callable[[str], T] | None = None,
        content_hash: str | None = None,
        precheck: Callable[[], None] | None = None,
        lookup_first: bool = False,
    ) -> WriteOutcome[T]:
        """:func:`write_once` of one record (its arguments), keyed by ``record_type``
        and ``source_key`` in this ledger; ``identify`` overrides the ledger's."""
        return write_once(
            self.store,
            self.target(record_type, source_key, external_id),
            owner=self.owner,
            lease_seconds=self.lease_seconds,
            find=find,
            create=create,
            identify=identify or self._identify,
            update=update,
            content_hash=content_hash,
            precheck=precheck,
            lookup_first=lookup_first,
            wait_seconds=self.wait_seconds,
            poll_interval=self.poll_interval,
            sleep=self._sleep,
            monotonic=self._monotonic,
        )
