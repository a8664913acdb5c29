"""Dry runs (``push``, ``backfill``): check every row against the ERP, read-only, and say
why it would fail.

Local validation catches a malformed row; only the ERP knows whether customer 999999
exists, whether "Acme Robotic" is a customer's name, whether item 7 exists and which
currency a customer bills in. Each distinct reference is read once (cached), nothing
is written, and a row that would fail says which record, which field and why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from erpsync.errors import NotFoundError

if TYPE_CHECKING:
    from erpsync._cli.files import ParsedInvoice
    from erpsync.backend import AccountingBackend
    from erpsync.models import Invoice

__all__ = ["ReferenceCheck", "check_against_erp"]


def _cached(read: Callable[[str], Any]) -> Callable[[str], Any]:
    """``read(id)`` once per id; None when the ERP says it does not exist."""
    seen: dict[str, Any] = {}

    def lookup(key: str) -> Any:
        if key not in seen:
            try:
                seen[key] = read(key)
            except NotFoundError:
                seen[key] = None
        return seen[key]

    return lookup


class ReferenceCheck:
    """What the ERP says of an invoice's references, read-only: its customer exists (and
    bills in the invoice's currency), each line's item exists. Each distinct customer and
    item is read once. ``customer_hint`` says how to fix a missing customer in the words
    of the command (a CSV column for ``push``, a flag for ``backfill``)."""

    def __init__(
        self,
        backend: AccountingBackend,
        *,
        customer_hint: str = "fix customer_id, or give customer_name",
    ) -> None:
        self.erp = backend.name
        self._customer = _cached(backend.get_customer)
        self._item = _cached(backend.get_item)
        self._hint = customer_hint

    def problems(self, invoice: Invoice) -> list[str]:
        """Every reason the ERP would refuse ``invoice``, each naming the field."""
        problems: list[str] = []
        customer = self._customer(invoice.customer.id)
        if customer is None:
            problems.append(
                f"customer: there is no customer with id {invoice.customer.id!r} in "
                f"{self.erp} ({self._hint})"
            )
        elif customer.currency and invoice.currency != customer.currency:
            problems.append(
                f"currency: the invoice is in {invoice.currency} but customer "
                f"{customer.name!r} bills in {customer.currency} "
                f"(set currency to {customer.currency})"
            )
        for number, line in enumerate(invoice.lines, start=1):
            if line.item is None or not line.item.id:
                continue
            item = self._item(line.item.id)
            if item is None:
                problems.append(
                    f"lines.{number}.item_id: there is no item with id {line.item.id!r} "
                    f"in {self.erp}"
                )
            elif item.for_sale is False:
                problems.append(
                    f"lines.{number}.item_id: item {line.item.id!r} ({item.name}) is kept for "
                    f"purchases only in {self.erp} and cannot be invoiced (choose a sales item)"
                )
        return problems


def check_against_erp(
    backend: AccountingBackend, parsed: list[ParsedInvoice]
) -> list[tuple[str, str | None]]:
    """(status, error) per row: ``valid``, ``exists`` (already in the ERP: a push leaves
    it untouched) or ``invalid`` with every reason. Errors reading the ERP propagate: a
    dry run that cannot read the ERP checked nothing."""
    references = ReferenceCheck(backend)
    verdicts: list[tuple[str, str | None]] = []
    for entry in parsed:
        if entry.error is not None or entry.invoice is None:
            verdicts.append(("invalid", entry.error or "not valid"))
            continue
        invoice = entry.invoice
        problems = references.problems(invoice)
        existing = (
            backend.find_invoice(invoice.external_id)
            if invoice.external_id and not problems
            else None
        )
        if problems:
            verdicts.append(("invalid", "; ".join(problems)))
        elif existing is not None:
            verdicts.append(("exists", f"already in {backend.name} as {existing.id}: left as is"))
        else:
            verdicts.append(("valid", None))
    return verdicts
