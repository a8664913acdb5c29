"""NetSuite's batch sender for the one bulk engine (:mod:`erpsync.backend.bulk`).

NetSuite's REST API has no batch write: each invoice is its own ``POST`` (through the
write-at-most-once engine), sent one record at a time, and the engine runs as many of
them at once as the account's concurrency limit allows. NetSuite assigns the document
number (``tranid``, ``INV1001``) at create and answers 204 with only a Location, so
:func:`with_numbers` reads the numbers of a run's new invoices afterwards in one SuiteQL
query per 1000 (instead of a read-back per invoice). ``bulk_read_back=True`` reads every
new invoice back in full instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from erpsync.backend import BulkOutcome, BulkResult, OneAtATime, WriteStatus
from erpsync.errors import ErpSyncError
from erpsync.models import Invoice, InvoiceStatus

if TYPE_CHECKING:
    from erpsync.netsuite.writes import NetSuiteWrites

__all__ = ["invoice_sender", "numbered", "with_numbers"]

_log = logging.getLogger("erpsync.netsuite")


def invoice_sender(backend: NetSuiteWrites, *, read_back: bool) -> OneAtATime[Invoice]:
    """One invoice per request; the outcome holds the invoice as written and its new id
    (``read_back``: as NetSuite now holds it, at one more request per invoice)."""

    def write(invoice: Invoice) -> tuple[Invoice, WriteStatus]:
        result, ext, status = backend._write_invoice(invoice)
        if isinstance(result, Invoice):
            return result, status
        if read_back:
            return backend.get_invoice(result), status
        written = invoice.model_copy(
            update={
                "id": result,
                "external_id": ext,
                "status": InvoiceStatus.OPEN,
                "balance": invoice.total,
            }
        )
        return written, status

    return OneAtATime(write)


def with_numbers(backend: NetSuiteWrites, result: BulkResult[Invoice]) -> BulkResult[Invoice]:
    """``result`` with NetSuite's document numbers on the invoices that lack one.

    A failed read leaves them unnumbered (the invoices exist: failing their outcomes
    would invite a repeat), with a warning."""
    outcomes = _numbered_chunk(backend, list(result))
    return result if outcomes is None else BulkResult(outcomes)


def numbered(
    backend: NetSuiteWrites, outcomes: Iterable[BulkOutcome[Invoice]]
) -> Iterator[BulkOutcome[Invoice]]:
    """A stream of outcomes with document numbers, read one query per ``page_size``
    outcomes (so a stream holds at most one page of them)."""
    chunk: list[BulkOutcome[Invoice]] = []
    for outcome in outcomes:
        chunk.append(outcome)
        if len(chunk) >= backend.page_size:
            yield from _numbered_chunk(backend, chunk) or chunk
            chunk = []
    if chunk:
        yield from _numbered_chunk(backend, chunk) or chunk


def _numbered_chunk(
    backend: NetSuiteWrites, chunk: Sequence[BulkOutcome[Invoice]]
) -> list[BulkOutcome[Invoice]] | None:
    """These outcomes with numbers filled in (None: nothing to fill)."""
    missing = [o for o in chunk if o.record is not None and o.record.number is None]
    numbers: dict[str, str] = {}
    step = backend.page_size
    try:
        for start in range(0, len(missing), step):
            ids = [str(o.record.id) for o in missing[start : start + step] if o.record]
            numbers.update(backend._document_numbers(ids))
    except ErpSyncError as exc:
        _log.warning("NetSuite: could not read the new invoices' numbers: %s", exc)
    if not numbers:
        return None
    outcomes: list[BulkOutcome[Invoice]] = []
    for outcome in chunk:
        record = outcome.record
        if record is not None and record.number is None and str(record.id) in numbers:
            record = record.model_copy(update={"number": numbers[str(record.id)]})
            outcome = BulkOutcome(outcome.index, outcome.key, outcome.status, record)
        outcomes.append(outcome)
    return outcomes
