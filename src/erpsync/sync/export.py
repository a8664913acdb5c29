"""A NetSuite CSV import file of invoices (seed 003, the "export path").

The billing platform's data export gives three tables: finalized invoices, their line
items and the products. Joined (``SourceInvoice.from_mapping`` reads an invoice with its
lines and products), filtered (invoices with a zero total, zero-amount lines and repeats
of an invoice already written are dropped) and mapped (products and customers carry
NetSuite internal ids in custom fields, see :class:`~erpsync.mapping.fields.FieldMapping`),
they become the rows of NetSuite's CSV Import Assistant for transactions of type *Invoice*.

The template (:data:`NETSUITE_INVOICE_COLUMNS`), one row per invoice line:

================  ===========================================================
External ID       the invoice's external id; the same on every line of an
                  invoice, which is how the Import Assistant groups lines into
                  one transaction (map it to "External ID" and choose it as the
                  grouping key). ``encode_external_id(prefix + invoice id)``.
Customer          the customer's NetSuite internal id (map as "Internal ID").
Date              the invoice date, ``date_format`` (default ``%m/%d/%Y``, the
                  US date preference; match your account's preference).
Item              the line's item internal id (map as "Internal ID").
Quantity          the line quantity, blank when the source has none.
Rate              the unit price; blank when unknown, so NetSuite keeps Amount.
Amount            the line amount, plain decimal in the invoice currency.
Description       the line description.
Memo              the invoice memo (header field, repeated on each row).
================  ===========================================================

``columns`` picks and orders a subset of these, and may add ``Currency``. Output is
deterministic: invoices and lines keep their input order, numbers are written as plain
decimals (never exponents), the ``csv`` module quotes what needs quoting, rows end in
CRLF (RFC 4180), and a path is written atomically (temporary file, then rename).
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from erpsync.errors import ConfigurationError, ErpSyncError, InvalidRequestError
from erpsync.mapping.fields import FieldMapping
from erpsync.models import InvoiceLine, currency_exponent, encode_external_id
from erpsync.sync.webhooks import SourceInvoice

__all__ = [
    "NETSUITE_INVOICE_COLUMNS",
    "DroppedInvoice",
    "ExportReport",
    "write_netsuite_invoice_csv",
]

#: The default column template, in order.
NETSUITE_INVOICE_COLUMNS: tuple[str, ...] = (
    "External ID",
    "Customer",
    "Date",
    "Item",
    "Quantity",
    "Rate",
    "Amount",
    "Description",
    "Memo",
)
_KNOWN = frozenset({*NETSUITE_INVOICE_COLUMNS, "Currency"})


@dataclass(frozen=True)
class DroppedInvoice:
    """An invoice left out of the file, and why (zero total, or a mapping problem)."""

    invoice_id: str
    reason: str


@dataclass
class ExportReport:
    """What went into the file: ``rows`` written, the external ids of the invoices
    written, the invoices dropped (with reasons) and how many zero lines were left out."""

    rows: int = 0
    invoices: list[str] = field(default_factory=list)
    dropped: list[DroppedInvoice] = field(default_factory=list)
    zero_lines_dropped: int = 0


def write_netsuite_invoice_csv(
    invoices: Iterable[SourceInvoice | Mapping[str, Any]],
    out: str | os.PathLike[str] | IO[str],
    mapping: FieldMapping,
    *,
    columns: Sequence[str] = NETSUITE_INVOICE_COLUMNS,
    products: Mapping[str, Mapping[str, Any]] | None = None,
    customers: Mapping[str, Mapping[str, Any]] | None = None,
    external_id_prefix: str = "",
    date_format: str = "%m/%d/%Y",
    minor_units: bool = False,
) -> ExportReport:
    """Write the import file; returns what was written and what was dropped.

    ``invoices`` are :class:`SourceInvoice` values or mappings (read with
    ``products``, ``customers`` and ``minor_units``, see
    :meth:`SourceInvoice.from_mapping`). An invoice that cannot be mapped (a product
    without its item id, say) is dropped with the reason, so one bad record does not
    hold up the file; the report says which.
    """
    chosen = _columns(columns)
    rows: list[list[str]] = []
    report = ExportReport()
    written: set[str] = set()
    for raw in invoices:
        invoice_rows = _invoice_rows(
            raw,
            mapping,
            report,
            written,
            products=products,
            customers=customers,
            prefix=external_id_prefix,
            date_format=date_format,
            minor_units=minor_units,
        )
        rows.extend([row[name] for name in chosen] for row in invoice_rows)
    report.rows = len(rows)
    if isinstance(out, str | os.PathLike):
        _write_path(Path(out), chosen, rows)
    else:
        _write(out, chosen, rows)
    return report


def _columns(columns: Sequence[str]) -> list[str]:
    if isinstance(columns, str) or not columns:
        raise ConfigurationError("columns must be a non-empty sequence of column names")
    chosen = list(columns)
    unknown = [name for name in chosen if name not in _KNOWN]
    if unknown:
        raise ConfigurationError(
            f"unknown column(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(_KNOWN))}"
        )
    if len(set(chosen)) != len(chosen):
        raise ConfigurationError("a column is listed twice")
    if "External ID" not in chosen:
        raise ConfigurationError(
            "the External ID column is required: it groups lines into invoices"
        )
    return chosen


def _invoice_rows(
    raw: SourceInvoice | Mapping[str, Any],
    mapping: FieldMapping,
    report: ExportReport,
    written: set[str],
    *,
    products: Mapping[str, Mapping[str, Any]] | None,
    customers: Mapping[str, Mapping[str, Any]] | None,
    prefix: str,
    date_format: str,
    minor_units: bool,
) -> list[dict[str, str]]:
    if isinstance(raw, SourceInvoice):
        label = raw.id
    else:
        label = str(raw.get("id", "?")) if isinstance(raw, Mapping) else "?"
    try:
        source = (
            raw
            if isinstance(raw, SourceInvoice)
            else SourceInvoice.from_mapping(
                raw, products=products, customers=customers, minor_units=minor_units
            )
        )
        if source.total == 0:
            report.dropped.append(DroppedInvoice(source.id, "the invoice total is zero"))
            return []
        external_id = encode_external_id(prefix + source.id)
        if external_id in written:
            # The Import Assistant groups rows by External ID: a second copy would be
            # merged into the first invoice as extra lines, doubling its total.
            report.dropped.append(
                DroppedInvoice(source.id, "the invoice appears more than once in the input")
            )
            return []
        customer = mapping.customer_ref(source.customer).id
        header = {
            "External ID": external_id,
            "Customer": customer,
            "Date": source.date.strftime(date_format),
            "Memo": source.memo or "",
            "Currency": source.currency,
        }
        rows = _line_rows(source, header, mapping, report)
    except ErpSyncError as exc:
        report.dropped.append(DroppedInvoice(label, str(exc)))
        return []
    if not rows:
        report.dropped.append(DroppedInvoice(source.id, "every line amount is zero"))
        return []
    report.invoices.append(external_id)
    written.add(external_id)
    return rows


def _line_rows(
    source: SourceInvoice, header: dict[str, str], mapping: FieldMapping, report: ExportReport
) -> list[dict[str, str]]:
    """One CSV row per non-zero line (zero lines are counted as dropped)."""
    rows: list[dict[str, str]] = []
    for line in source.lines:
        if line.amount == 0:
            report.zero_lines_dropped += 1
            continue
        if line.product is None:
            raise ConfigurationError(f"a line of invoice {source.id} has no product")
        _check_line_money(source.id, line.amount, line.quantity, line.unit_price)
        rate = line.unit_price
        if rate is None and line.quantity in (None, Decimal(1)):
            rate = line.amount
        rows.append(
            {
                **header,
                "Item": mapping.item_ref(line.product, line.raw).id,
                "Quantity": _number(line.quantity),
                "Rate": _number(rate),
                "Amount": _money(line.amount, source.currency),
                "Description": line.description or "",
            }
        )
    return rows


def _check_line_money(
    invoice_id: str, amount: Decimal, quantity: Decimal | None, price: Decimal | None
) -> None:
    """The line money rule every other path applies (the model's): amount must equal
    quantity x unit price, rounded for some currency; else the invoice is dropped."""
    try:
        InvoiceLine(description="check", amount=amount, quantity=quantity, unit_price=price)
    except ValueError as exc:  # pydantic's ValidationError
        detail = str(exc).splitlines()[2:3] or [str(exc)]
        raise InvalidRequestError(
            f"a line of invoice {invoice_id}: {detail[0].strip()}",
            field="lines.amount",
            record=f"invoice {invoice_id}",
        ) from exc


def _number(value: Decimal | None) -> str:
    """A plain decimal: never ``1E+3``, no trailing zeros beyond what was given."""
    return "" if value is None else format(value, "f")


def _money(value: Decimal, currency: str) -> str:
    """An amount at its currency's decimals (``12.50``) when that loses nothing."""
    places = Decimal(1).scaleb(-currency_exponent(currency))
    padded = value.quantize(places)
    return _number(padded if padded == value else value)


def _write(stream: IO[str], header: list[str], rows: list[list[str]]) -> None:
    writer = csv.writer(stream, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)


def _write_path(path: Path, header: list[str], rows: list[list[str]]) -> None:
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            _write(stream, header, rows)
        os.replace(temp, path)
    except BaseException as exc:
        Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ConfigurationError(f"cannot write {path}: {exc}") from exc
        raise
