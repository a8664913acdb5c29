"""The outbound half of the accounting sync (:mod:`erpsync.sync.accounts`): invoices and
payments written to the ERP through the one ledger writer, customers matched by name.

Kept apart from the workflow so that :class:`~erpsync.sync.accounts.AccountingSync`
holds the passes and this module the per-record rules: which invoice is pushed, how a
changed one is treated, how a payment's invoices and customer are resolved to ERP ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from erpsync.backend import AccountingBackend, AmbiguousMatchError
from erpsync.errors import ConfigurationError, ConflictError, ErpSyncError, MappingError
from erpsync.models import Customer, Invoice, InvoiceStatus, Payment, PaymentApplication, Ref
from erpsync.store import LedgerKey, content_hash
from erpsync.sync._accounts_reports import CustomerMatchReport, Failure, PaymentReport, PushReport
from erpsync.sync.ledger import Ledger, WriteOutcome

__all__ = [
    "CUSTOMER",
    "IMPORTED",
    "INVOICE",
    "PAYMENT",
    "ChangedInvoicePolicy",
    "CustomerMatcher",
    "Pusher",
    "mark_imported",
    "ours",
]

ChangedInvoicePolicy = Literal["skip", "update", "report"]

#: Ledger record types: pushed invoices, imported invoices (keyed ``id:<erp id>`` and
#: ``ext:<external id>``), pushed payments, created customers (keyed by name).
INVOICE = "invoice"
IMPORTED = "invoice.imported"
PAYMENT = "payment"
CUSTOMER = "customer"

#: Invoice fields that do not make an invoice "changed": ERP-assigned ids and values that
#: move because of payments, not because someone edited the invoice.
_VOLATILE = frozenset({"id", "updated_at", "balance", "status", "remote_status", "total"})

M = TypeVar("M", Invoice, Customer, Payment)


class Pusher:
    """One push: the backend, the ledger and the policies it writes under."""

    def __init__(
        self,
        backend: AccountingBackend,
        ledger: Ledger,
        *,
        policy: ChangedInvoicePolicy,
        create_missing_customers: bool,
        report: CustomerMatchReport,
    ) -> None:
        self.backend = backend
        self.ledger = ledger
        self.policy = policy
        self.matcher = CustomerMatcher(backend, ledger, create_missing_customers, report)

    @property
    def _b(self) -> str:
        return self.backend.name

    # -- invoices ------------------------------------------------------------------------

    def invoice(self, invoice: Invoice, names: Mapping[str, str], report: PushReport) -> None:
        """Push one invoice and file the outcome in ``report``."""
        if not isinstance(invoice, Invoice):
            report.failed.append(Failure("?", f"expected an Invoice, got {type(invoice).__name__}"))
            return
        label = invoice.number or invoice.external_id or invoice.id or "?"
        key = invoice.external_id
        name = names.get(key or "") or invoice.customer.name
        digest = content_hash(
            {**invoice.model_dump(mode="json", exclude=set(_VOLATILE)), "customer": name}
        )
        if self._held_back(invoice, label, digest, report) or key is None:
            return
        outcome = _attempt(
            label, report.failed, lambda: self._write_invoice(invoice, key, name, digest)
        )
        if outcome is None:
            return
        if outcome.status == "in_progress":
            report.skipped.append(Failure(label, "another sync is writing this invoice now"))
        elif outcome.status == "updated":
            report.updated.append(key)
        elif outcome.status == "unchanged" or outcome.record is None:
            report.unchanged.append(key)  # (or written meanwhile by another pass)
        else:
            report.created.append(key)  # created now, or by an interrupted attempt

    def _held_back(self, invoice: Invoice, label: str, digest: str, report: PushReport) -> bool:
        """Whether the invoice is not written, filed in ``report`` with the reason: a
        draft, an imported invoice, no external id, or a change the policy keeps back."""
        if invoice.status is InvoiceStatus.DRAFT:
            report.skipped.append(Failure(label, "draft invoices are not synced"))
        elif self.is_imported(invoice):
            report.skipped.append(
                Failure(label, f"imported from {self._b}; local changes are not pushed back")
            )
        elif invoice.external_id is None:
            report.failed.append(
                Failure(label, "the invoice has no external_id to key it in the ERP")
            )
        else:
            entry = self.ledger.written(INVOICE, invoice.external_id)
            if entry is None:
                return False
            if entry.content_hash == digest:
                report.unchanged.append(invoice.external_id)
            elif self.policy == "update":
                return False
            elif self.policy == "skip":
                report.skipped.append(
                    Failure(label, "changed since it was pushed; policy is to skip changes")
                )
            else:
                report.needs_action.append(
                    Failure(
                        label,
                        f"changed locally since it was pushed to {self._b} "
                        f"(id {entry.remote_id}); update it there by hand",
                    )
                )
        return True

    def _write_invoice(
        self, invoice: Invoice, key: str, name: str | None, digest: str
    ) -> WriteOutcome[Invoice]:
        if name is None:
            raise MappingError(
                "the invoice has no customer name to match in the ERP",
                hint="pass customer_names={external_id: name} or set invoice.customer.name",
            )
        customer = self.matcher.match(name, invoice.currency)
        outgoing = copy_model(invoice, customer=customer, id=None, balance=None, updated_at=None)
        update: Callable[[str], Invoice] | None = None
        if self.policy == "update":

            def update(remote_id: str) -> Invoice:
                return self.backend.update_invoice(copy_model(outgoing, id=remote_id))

        return self.ledger.write(
            INVOICE,
            key,
            find=lambda: self.backend.find_invoice(key),
            create=lambda: self.backend.create_invoice(outgoing),
            update=update,
            content_hash=digest,
        )

    def is_imported(self, invoice: Invoice) -> bool:
        """Whether the invoice came from the ERP (it is never pushed back)."""
        keys = []
        if invoice.id is not None:
            keys.append(f"id:{invoice.id}")
        if invoice.external_id is not None:
            keys.append(f"ext:{invoice.external_id}")
        return any(self.ledger.get(IMPORTED, k) is not None for k in keys)

    # -- payments ------------------------------------------------------------------------

    def payment(self, payment: Payment, report: PaymentReport) -> None:
        """Push one payment and file the outcome in ``report``."""
        if not isinstance(payment, Payment):
            report.failed.append(Failure("?", f"expected a Payment, got {type(payment).__name__}"))
            return
        key = payment.external_id
        if key is None:
            report.failed.append(
                Failure(payment.id or "?", "the payment has no external_id to key it in the ERP")
            )
            return
        outcome = _attempt(
            key,
            report.failed,
            lambda: self.ledger.write(
                PAYMENT,
                key,
                find=lambda: self.backend.find_payment(key),
                create=lambda: self._create_payment(payment),
            ),
        )
        if outcome is None:
            return
        if outcome.status == "in_progress":
            report.skipped.append(Failure(key, "another sync is writing this payment now"))
        elif outcome.record is None:
            report.unchanged.append(key)  # answered from the ledger: written before
        else:
            report.created.append(key)  # created now, or by an interrupted attempt

    def _create_payment(self, payment: Payment) -> Payment:
        # Resolved only when the payment is really written: a payment known to the
        # ledger costs no request.
        applications = [
            PaymentApplication(invoice_id=self._erp_invoice_id(app.invoice_id), amount=app.amount)
            for app in payment.applications
        ]
        customer = self._payment_customer(payment, applications)
        return self.backend.create_payment(
            copy_model(
                payment, id=None, customer=customer, applications=applications, updated_at=None
            )
        )

    def _erp_invoice_id(self, reference: str) -> str:
        entry = self.ledger.written(INVOICE, reference)
        if entry is not None and entry.remote_id:
            return entry.remote_id
        if self.ledger.get(IMPORTED, f"id:{reference}") is not None:
            return reference
        imported = self.ledger.get(IMPORTED, f"ext:{reference}")
        if imported is not None and imported.remote_id:
            return imported.remote_id
        try:
            found = self.backend.find_invoice(reference)
        except ConfigurationError:
            found = None  # not usable as an external id; maybe an ERP id
        if found is not None and found.id is not None:
            return found.id
        return id_of(self.backend.get_invoice(reference))

    def _payment_customer(self, payment: Payment, applications: list[PaymentApplication]) -> Ref:
        if applications:
            return self.backend.get_invoice(applications[0].invoice_id).customer
        if payment.customer.name:
            return self.matcher.match(payment.customer.name, payment.currency)
        raise MappingError(
            "an unapplied payment needs payment.customer.name to find its ERP customer"
        )


class CustomerMatcher:
    """Finds (or creates) the ERP customer for a local customer name, once per name."""

    def __init__(
        self,
        backend: AccountingBackend,
        ledger: Ledger,
        create_missing: bool,
        report: CustomerMatchReport,
    ) -> None:
        self._backend = backend
        self._ledger = ledger
        self._create_missing = create_missing
        self._report = report
        self._known: dict[str, Ref | ErpSyncError] = {}

    def match(self, name: str, currency: str) -> Ref:
        if name not in self._known:
            self._known[name] = self._resolve(name, currency)
        result = self._known[name]
        if isinstance(result, ErpSyncError):
            raise result
        return result

    def _resolve(self, name: str, currency: str) -> Ref | ErpSyncError:
        backend, report = self._backend, self._report
        try:
            found = backend.find_customer(name)
        except AmbiguousMatchError as exc:
            ids = [str(getattr(c, "id", "?")) for c in exc.candidates]
            report.ambiguous[name] = ids
            return MappingError(
                f"{len(ids)} {backend.name} customers are named {name!r} (ids {', '.join(ids)})",
                hint="rename all but one in the ERP, or merge them",
            )
        except ErpSyncError as exc:
            report.errors[name] = str(exc)
            return exc
        if found is not None and found.id is not None:
            report.matched[name] = found.id
            return Ref(id=found.id, name=found.name)
        if not self._create_missing:
            report.missing.append(name)
            return MappingError(
                f"no {backend.name} customer is named {name!r}",
                hint="create it in the ERP, or let the sync create it "
                "(create_missing_customers=True; erpsync sync --create-customers)",
            )
        try:
            created = self._create(name, currency)
        except ErpSyncError as exc:
            report.errors[name] = str(exc)
            return exc
        report.created[name] = created.id
        return created

    def _create(self, name: str, currency: str) -> Ref:
        backend = self._backend
        external_id = "cust-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]
        outcome = self._ledger.write(
            CUSTOMER,
            name,
            external_id=external_id,
            find=lambda: backend.find_customer(name),
            create=lambda: backend.create_customer(
                Customer(name=name, external_id=external_id, currency=currency)
            ),
        )
        if outcome.remote_id is None:
            raise ConflictError(
                f"another sync is creating customer {name!r} now", backend=backend.name
            )
        return Ref(id=outcome.remote_id, name=outcome.record.name if outcome.record else name)


def ours(ledger: Ledger, record_type: str, remote_id: str | None, external_id: str | None) -> bool:
    """Whether an ERP record was written by this sync (an import leaves it out)."""
    if remote_id is not None and ledger.store.find_by_remote_id(
        ledger.backend, record_type, remote_id, tenant=ledger.tenant
    ):
        return True
    return external_id is not None and ledger.written(record_type, external_id) is not None


def mark_imported(ledger: Ledger, invoices: list[Invoice]) -> None:
    """Mark committed imports (by ERP id and by external id), so that
    :meth:`Pusher.is_imported` keeps local edits of them from being pushed back."""
    for invoice in invoices:
        if invoice.id is None:
            continue
        keys = [f"id:{invoice.id}"]
        if invoice.external_id is not None:
            keys.append(f"ext:{invoice.external_id}")
        for source_key in keys:
            ledger.store.mark_written(
                LedgerKey(ledger.backend, IMPORTED, source_key, ledger.tenant),
                invoice.id,
                number=invoice.number,
                external_id=invoice.external_id,
            )


def _attempt(
    label: str, failed: list[Failure], write: Callable[[], WriteOutcome[M]]
) -> WriteOutcome[M] | None:
    """Run one record's write; a failure the ERP or the document caused is filed under
    ``label`` (the pass goes on) and answered None."""
    try:
        return write()
    except ErpSyncError as exc:
        failed.append(Failure(label, str(exc)))
    except ValidationError as exc:
        failed.append(Failure(label, f"the document is not valid for the ERP: {exc}"))
    return None


def copy_model(model: M, **changes: Any) -> M:
    """A validated copy; a model the ERP would refuse becomes a MappingError here.

    (``model_copy(update=...)`` does not validate, so the copy is rebuilt from its data.)
    """
    try:
        return type(model).model_validate({**dict(model), **changes})
    except ValidationError as exc:
        raise MappingError(f"cannot prepare the document for the ERP: {exc}") from None


def id_of(record: Invoice | Payment | Customer) -> str:
    if record.id is None:
        raise MappingError(f"the ERP returned a {type(record).__name__.lower()} without an id")
    return record.id
