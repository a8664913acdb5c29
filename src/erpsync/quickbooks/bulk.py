"""QuickBooks' batch sender for the one bulk engine (:mod:`erpsync.backend.bulk`).

Each call of :meth:`InvoiceBatchSender.send` writes up to :data:`BATCH_LIMIT` (30)
invoices in ONE batch request, through the write-at-most-once engine's group mode
(:meth:`~erpsync.backend.write_once.WriteOnce.many`): the batch's ``requestid`` is made
once and re-sent while the same batch is re-sent unanswered; invoices QuickBooks
refuses are reported as failed; when the batch's outcome is unknown its invoices are
looked up and only the ones not found go again, so a retried batch never duplicates an
invoice that has an external id. Invoices without one are re-sent only unchanged, under
the same ``requestid``.

Invoices already in QuickBooks are found by external id: in the ``PrivateNote`` layout
by a lookup before sending (at most one query per chunk: the chunk's customers and
dates, each customer and day fetched once per run), in the ``DocNumber`` layout after
QuickBooks refused them as duplicate numbers (6140). The engine runs up to 10 senders at
once; the tenant limiter keeps the run within 10 requests in flight, 500 a minute and
40 batches a minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from erpsync.backend import BulkItem, Settled
from erpsync.errors import ErpSyncError, ServiceError
from erpsync.models import Invoice
from erpsync.quickbooks.client import BATCH_LIMIT, BatchItem

if TYPE_CHECKING:
    from erpsync.quickbooks.writes import QuickBooksWrites

__all__ = ["InvoiceBatchSender"]

#: A bulk chunk gets this many times the single-write rounds: besides unanswered
#: batches, single items inside answered batches may come back unknown and go again.
_BULK_ROUNDS: Final = 3


@dataclass(frozen=True)
class _Prepared:
    """One invoice of a batch, ready to send: its position in the batch and body."""

    position: int
    item: BulkItem[Invoice]
    body: dict[str, Any]


class InvoiceBatchSender:
    """Sends invoices 30 to a batch request; one instance per ``create_invoices`` run."""

    batch_size = BATCH_LIMIT

    def __init__(self, backend: QuickBooksWrites) -> None:
        self._backend = backend
        self._keys = backend.external_ids.for_run()

    def send(self, batch: Sequence[BulkItem[Invoice]]) -> list[Settled[Invoice]]:
        answers: list[Settled[Invoice] | None] = [None] * len(batch)
        prepared: list[_Prepared] = []
        for position, item in enumerate(batch):
            try:
                body = self._backend._invoice_body(item.record)
            except ErpSyncError as exc:  # refused before sending: nothing to write
                answers[position] = exc
                continue
            prepared.append(_Prepared(position, item, body))
        try:
            self._write(prepared, answers)
        except ErpSyncError as exc:  # a lookup failed: what is not settled fails with it
            for p in prepared:
                if answers[p.position] is None:
                    answers[p.position] = exc
        return [answer if answer is not None else _unsettled() for answer in answers]

    def _write(self, prepared: list[_Prepared], answers: list[Settled[Invoice] | None]) -> None:
        backend, client = self._backend, self._backend.client
        if not self._keys.server_guard:
            # No server-side guard in this layout: find what an earlier run wrote.
            keyed = [p.item.record for p in prepared if p.item.key and not p.item.repeat]
            found = self._keys.find(client, keyed) if keyed else {}
            # Written earlier in this stream: only QuickBooks knows (the run's memo holds
            # what was there before the run).
            again = [p.item.record for p in prepared if p.item.key and p.item.repeat]
            if again:
                found.update(self._keys.find(client, again, fresh=True))
            for p in prepared:
                if p.item.key in found:
                    answers[p.position] = (
                        backend._invoice(found[p.item.key], p.item.key),
                        "existed",
                    )
            prepared = [p for p in prepared if answers[p.position] is None]
        if not prepared:
            return

        def send(group: Sequence[_Prepared], request_id: str, resend: bool) -> list[Any]:
            results = client.send_batch(
                [BatchItem.create("Invoice", p.body) for p in group],
                request_id=request_id,
                retry_unknown=resend,
            )
            return [r.record if r.record is not None else r.error for r in results]

        def lookup(group: Sequence[_Prepared]) -> list[dict[str, Any] | None]:
            found = self._keys.find(client, [p.item.record for p in group], fresh=True)
            return [found.get(str(p.item.key)) for p in group]

        settled = backend._write.many(
            prepared,
            send,
            lookup,
            keyed=lambda p: p.item.key is not None,
            rounds=_BULK_ROUNDS * backend._write.retry.max_attempts,
        )
        for p, outcome in zip(prepared, settled, strict=True):
            answers[p.position] = (
                outcome
                if isinstance(outcome, ErpSyncError)
                else self._read(outcome[0], p, outcome[1])
            )

    def _read(self, wire: dict[str, Any], p: _Prepared, status: Any) -> Settled[Invoice]:
        """The model of a written invoice; an unreadable answer fails only this invoice
        (and says it exists), never the rest of the batch."""
        try:
            return self._backend._invoice(wire, p.item.key), status
        except ErpSyncError as exc:
            return exc.with_context(
                hint=f"QuickBooks created the invoice (Id {wire.get('Id')!s}) but its "
                "answer could not be read: do not create it again"
            )


def _unsettled() -> ErpSyncError:
    return ServiceError("the batch left this invoice without an outcome", retryable=False)
