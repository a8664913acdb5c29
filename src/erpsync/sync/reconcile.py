"""Reconciliation: the local documents and the ERP, joined by external id (seed 003).

Every record erpsync writes carries the caller's key as its external id, so the two
sides can be joined without trusting either side's memory (the sync ledger can be lost,
a person can edit the ERP). :func:`reconcile` reads the ERP's invoices and payments and
reports, per external id:

``missing_in_erp``       a local document with no ERP record
``missing_locally``      an ERP record of ours with no local document
``amount_mismatch``      invoice totals or payment amounts differ
``balance_mismatch``     invoice balances differ (a payment recorded on one side only)
``status_mismatch``      invoice statuses differ (open here, paid there)
``duplicate_in_erp``     several ERP records carry one external id
``duplicate_locally``    several local documents carry one external id
``no_external_id``       a local document that cannot be joined at all

Which ERP records are "ours": those whose external id passes ``ours`` (a prefix string,
or a predicate); by default every record that has an external id, since records typed
into the ERP by hand usually have none. With ``since``, only ERP records modified since
then are read, and each local document not found among them is looked up by external id
before it is called missing, so a narrow window gives no false "missing" (but
``missing_locally`` then only covers the window).

Local payments settle local invoices. A local invoices file usually holds the invoices
as issued (open, no balance), while the ERP has also recorded the payments: the ones a
sync pushed from the same payments file. So when local payments are given, each local
invoice that states no balance of its own is compared as it stands after the local
payments applied to it (matched by its external id, its local id or its ERP id): its
balance is the total less those payments, its status ``paid`` or ``partially_paid``.
Without this, every paid invoice is a false ``status_mismatch`` (local open, ERP paid).
An invoice that states its balance is taken as written (its own system already counted
its payments).

The report is data (:class:`Discrepancy` values) for code, and CSV
(:meth:`ReconciliationReport.to_csv`) or text (:meth:`ReconciliationReport.to_text`)
for people.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO, Literal

from erpsync.backend import AccountingBackend
from erpsync.errors import ConfigurationError
from erpsync.models import Invoice, InvoiceStatus, Payment

__all__ = [
    "Discrepancy",
    "DiscrepancyKind",
    "ReconciliationReport",
    "reconcile",
]

DiscrepancyKind = Literal[
    "missing_in_erp",
    "missing_locally",
    "amount_mismatch",
    "balance_mismatch",
    "status_mismatch",
    "duplicate_in_erp",
    "duplicate_locally",
    "no_external_id",
]
RecordType = Literal["invoice", "payment"]

_CSV_COLUMNS = ("kind", "record_type", "external_id", "erp_ids", "local", "erp", "detail")


@dataclass(frozen=True)
class Discrepancy:
    """One difference. ``local`` and ``erp`` are the differing values as text (empty
    when that side has no record); ``erp_ids`` the ERP record ids involved."""

    kind: DiscrepancyKind
    record_type: RecordType
    external_id: str | None
    detail: str
    local: str = ""
    erp: str = ""
    erp_ids: tuple[str, ...] = ()


@dataclass
class ReconciliationReport:
    """The outcome: ``matched`` counts documents that agree on both sides."""

    backend: str
    discrepancies: list[Discrepancy] = field(default_factory=list)
    matched: int = 0
    local_count: int = 0
    erp_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    def by_kind(self, kind: DiscrepancyKind) -> list[Discrepancy]:
        return [d for d in self.discrepancies if d.kind == kind]

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(d.kind for d in self.discrepancies).items()))

    def to_csv(self, stream: IO[str]) -> None:
        """One row per discrepancy, with a header row."""
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(_CSV_COLUMNS)
        for d in self.discrepancies:
            writer.writerow(
                (
                    d.kind,
                    d.record_type,
                    d.external_id or "",
                    " ".join(d.erp_ids),
                    d.local,
                    d.erp,
                    d.detail,
                )
            )

    def to_text(self) -> str:
        """A summary and one line per discrepancy, for a person or a log."""
        head = (
            f"Reconciliation with {self.backend}: {self.local_count} local documents, "
            f"{self.erp_count} ERP records, {self.matched} matched, "
            f"{len(self.discrepancies)} discrepancies"
        )
        if not self.discrepancies:
            return head + ".\n"
        lines = [head + ":"]
        for kind, count in self.counts().items():
            lines.append(f"  {kind}: {count}")
        for d in self.discrepancies:
            ids = f" (ERP id {', '.join(d.erp_ids)})" if d.erp_ids else ""
            figures = f" (local {d.local}, ERP {d.erp})" if d.local and d.erp else ""
            lines.append(
                f"- {d.kind} {d.record_type} {d.external_id or '?'}{ids}: {d.detail}{figures}"
            )
        return "\n".join(lines) + "\n"


def reconcile(
    local_documents: Iterable[Invoice | Payment],
    backend: AccountingBackend,
    *,
    since: datetime | None = None,
    ours: str | Callable[[str], bool] | None = None,
    payments: bool = True,
) -> ReconciliationReport:
    """Join local documents with the ERP's by external id and list what differs.

    ``payments=False`` skips reading the ERP's payments (local payments are then not
    checked either).
    """
    is_ours = _ours(ours)
    report = ReconciliationReport(backend=backend.name)
    local: dict[RecordType, dict[str, list[Invoice | Payment]]] = {
        "invoice": defaultdict(list),
        "payment": defaultdict(list),
    }
    for document in local_documents:
        record_type = _type_of(document)
        if record_type == "payment" and not payments:
            continue
        report.local_count += 1
        if document.external_id is None:
            report.discrepancies.append(
                Discrepancy(
                    "no_external_id",
                    record_type,
                    None,
                    f"local {record_type} {document.id or '(no id)'} has no external id",
                )
            )
            continue
        local[record_type][document.external_id].append(document)

    remote: dict[RecordType, dict[str, list[Invoice | Payment]]] = {
        "invoice": _index(backend.iter_invoices(modified_since=since), is_ours, report),
        "payment": (
            _index(backend.iter_payments(modified_since=since), is_ours, report) if payments else {}
        ),
    }
    _settle(local["invoice"], local["payment"], remote["invoice"])
    for record_type in ("invoice", "payment"):
        _compare(record_type, local[record_type], remote[record_type], backend, since, report)
    return report


def _compare(
    record_type: RecordType,
    local: dict[str, list[Invoice | Payment]],
    remote: dict[str, list[Invoice | Payment]],
    backend: AccountingBackend,
    since: datetime | None,
    report: ReconciliationReport,
) -> None:
    for key in sorted(local):
        documents = local[key]
        if len(documents) > 1:
            report.discrepancies.append(
                Discrepancy(
                    "duplicate_locally",
                    record_type,
                    key,
                    f"{len(documents)} local {record_type}s carry this external id",
                )
            )
        found = remote.get(key)
        if not found and since is not None:
            extra = _lookup(backend, record_type, key)
            found = [extra] if extra is not None else None
        if not found:
            report.discrepancies.append(
                Discrepancy(
                    "missing_in_erp",
                    record_type,
                    key,
                    f"no {backend.name} {record_type} has this external id",
                    local=_amount(documents[0]),
                )
            )
            continue
        ids = tuple(str(record.id) for record in found)
        if len(found) > 1:
            report.discrepancies.append(
                Discrepancy(
                    "duplicate_in_erp",
                    record_type,
                    key,
                    f"{len(found)} {backend.name} {record_type}s carry this external id",
                    erp_ids=ids,
                )
            )
            continue
        problems = _differences(record_type, key, documents[0], found[0])
        report.discrepancies.extend(problems)
        if not problems:
            report.matched += 1
    for key in sorted(set(remote) - set(local)):
        records = remote[key]
        report.discrepancies.append(
            Discrepancy(
                "missing_locally",
                record_type,
                key,
                f"{backend.name} has this {record_type} but no local document does",
                erp=_amount(records[0]),
                erp_ids=tuple(str(record.id) for record in records),
            )
        )


def _settle(
    invoices: dict[str, list[Invoice | Payment]],
    payments: dict[str, list[Invoice | Payment]],
    remote_invoices: dict[str, list[Invoice | Payment]],
) -> None:
    """Replace each local invoice by its state after the local payments applied to it
    (see the module docstring), a $0 invoice paid; invoices that state a balance, or are
    voided or drafts, stay as written."""
    applied: dict[str, Decimal] = defaultdict(Decimal)
    for documents in payments.values():
        for payment in documents:
            if isinstance(payment, Payment):
                for application in payment.applications:
                    applied[application.invoice_id] += application.amount
    for key, documents in invoices.items():
        erp_ids = {str(r.id) for r in remote_invoices.get(key, ()) if r.id is not None}
        for index, invoice in enumerate(documents):
            if not isinstance(invoice, Invoice):
                continue
            references = {key, *erp_ids} | ({invoice.id} if invoice.id else set())
            paid = sum((applied.get(reference, Decimal(0)) for reference in references), Decimal(0))
            documents[index] = _after_payments(invoice, paid)


def _after_payments(invoice: Invoice, paid: Decimal) -> Invoice:
    """The invoice as it stands after ``paid``; a $0 invoice owes nothing, so both ERPs
    show it paid the moment it exists, and so is it here."""
    if invoice.balance is not None or invoice.status in (InvoiceStatus.VOIDED, InvoiceStatus.DRAFT):
        return invoice
    if paid <= 0 and invoice.total != 0:
        return invoice
    balance = max(invoice.total - paid, Decimal(0))
    status = InvoiceStatus.PAID if balance == 0 else InvoiceStatus.PARTIALLY_PAID
    return invoice.model_copy(update={"balance": balance, "status": status})


def _differences(
    record_type: RecordType, key: str, mine: Invoice | Payment, theirs: Invoice | Payment
) -> list[Discrepancy]:
    ids = (str(theirs.id),)
    found: list[Discrepancy] = []
    if _amount(mine) != _amount(theirs) or mine.currency != theirs.currency:
        found.append(
            Discrepancy(
                "amount_mismatch",
                record_type,
                key,
                "the amounts differ",
                local=_amount(mine),
                erp=_amount(theirs),
                erp_ids=ids,
            )
        )
    if isinstance(mine, Invoice) and isinstance(theirs, Invoice):
        if (
            mine.balance is not None
            and theirs.balance is not None
            and mine.balance != theirs.balance
        ):
            found.append(
                Discrepancy(
                    "balance_mismatch",
                    record_type,
                    key,
                    "the open balances differ",
                    local=str(mine.balance),
                    erp=str(theirs.balance),
                    erp_ids=ids,
                )
            )
        comparable = {InvoiceStatus.UNKNOWN, InvoiceStatus.DRAFT}
        if (
            mine.status not in comparable
            and theirs.status not in comparable
            and mine.status != theirs.status
        ):
            found.append(
                Discrepancy(
                    "status_mismatch",
                    record_type,
                    key,
                    "the statuses differ",
                    local=mine.status.value,
                    erp=theirs.status.value,
                    erp_ids=ids,
                )
            )
    return found


def _index(
    records: Iterable[Invoice | Payment],
    is_ours: Callable[[str], bool],
    report: ReconciliationReport,
) -> dict[str, list[Invoice | Payment]]:
    index: dict[str, list[Invoice | Payment]] = defaultdict(list)
    for record in records:
        if record.external_id is not None and is_ours(record.external_id):
            index[record.external_id].append(record)
            report.erp_count += 1
    return index


def _lookup(
    backend: AccountingBackend, record_type: RecordType, key: str
) -> Invoice | Payment | None:
    if record_type == "invoice":
        return backend.find_invoice(key)
    return backend.find_payment(key)


def _type_of(document: object) -> RecordType:
    if isinstance(document, Invoice):
        return "invoice"
    if isinstance(document, Payment):
        return "payment"
    raise ConfigurationError(
        f"reconcile compares Invoice and Payment documents, not {type(document).__name__}"
    )


def _amount(document: Invoice | Payment) -> str:
    value: Decimal = document.total if isinstance(document, Invoice) else document.amount
    return f"{value} {document.currency}"


def _ours(ours: str | Callable[[str], bool] | None) -> Callable[[str], bool]:
    if ours is None:
        return lambda external_id: True
    if isinstance(ours, str):
        prefix = ours
        return lambda external_id: external_id.startswith(prefix)
    if callable(ours):
        return ours
    raise ConfigurationError("ours must be a prefix string or a predicate")
