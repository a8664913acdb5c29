"""Reading invoices from CSV or JSON files, and writing records out as CSV or JSON.

Input is parsed row by row so that one bad row is a line in the report, not the end of
the run: :func:`read_invoices` yields a :class:`ParsedInvoice` for each invoice, holding
either the validated :class:`~erpsync.models.Invoice` or the error that kept it from
being built.

CSV layout (header required; column order free; one row per invoice line, rows sharing
an ``external_id`` are the lines of one invoice, as in NetSuite's CSV import template):

    external_id, customer_id | customer_name, date, due_date, currency, number, memo,
    description, amount, quantity, unit_price, item_id, tax_code

JSON: a list of invoices (or ``{"invoices": [...]}``) shaped as the model dumps them
(``{"external_id": ..., "customer": {"id": "58"}, "date": "2026-11-03", "lines":
[{"description": ..., "amount": "1250.00", "item": {"id": "1"}}]}``). Numbers are read
as decimals, never floats. In both formats a customer may be given by name only
(``customer_name`` / ``{"customer": {"name": "Acme"}}``); it is then resolved in the ERP
at push time, as the source documents pick customers by name.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from erpsync.errors import ConfigurationError
from erpsync.models import Invoice

__all__ = [
    "CSV_COLUMNS",
    "ParsedInvoice",
    "csv_rows",
    "json_list",
    "read_invoices",
    "read_text",
    "validation_message",
    "write_records",
]

_HEADER_FIELDS = (
    "external_id",
    "customer_id",
    "customer_name",
    "date",
    "due_date",
    "currency",
    "number",
    "memo",
)
_LINE_FIELDS = ("description", "amount", "quantity", "unit_price", "item_id", "tax_code")
CSV_COLUMNS = _HEADER_FIELDS + _LINE_FIELDS

#: The customer id an invoice given by customer name carries until it is looked up.
PLACEHOLDER_CUSTOMER = "0"


@dataclass
class ParsedInvoice:
    """One invoice of the input: ``row`` is its first CSV line (header = 1) or its
    1-based position in the JSON list."""

    row: int
    external_id: str | None
    data: dict[str, Any]
    invoice: Invoice | None = None
    error: str | None = None
    customer_name: str | None = None

    def build(self) -> None:
        """Validate ``data`` into ``invoice`` (or set ``error``)."""
        try:
            self.invoice = Invoice.model_validate(self.data)
            self.error = None
        except ValidationError as exc:
            self.invoice, self.error = None, validation_message(exc)

    def build_by_name(self) -> None:
        """Validate now when the customer is given by name only, with a placeholder id.

        Commands that match customers by name later (``sync``, ``reconcile``) or look
        them up themselves (``push``) still want every other field checked first.
        """
        if self.error is None and self.invoice is None and self.customer_name:
            self.data["customer"] = {"id": PLACEHOLDER_CUSTOMER, "name": self.customer_name}
            self.build()

    def resolve_customer(self, lookup: Callable[[str], str | None]) -> None:
        """Fill the customer id from its name (``lookup(name) -> id``) and build."""
        placeholder = self.data.get("customer", {}).get("id") in (None, "", PLACEHOLDER_CUSTOMER)
        if self.customer_name and placeholder:
            found = lookup(self.customer_name)
            if found is None:
                self.error = (
                    f"customer_name: no customer named {self.customer_name!r} in the ERP "
                    "(check the spelling, or give customer_id)"
                )
                return
            self.data["customer"] = {"id": found, "name": self.customer_name}
            self.build()


def validation_message(exc: ValidationError) -> str:
    """pydantic's errors as one line: ``lines.0.amount: ...; date: ...``."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ())) or "invoice"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def read_text(path: Path) -> tuple[str, str]:
    """(``.csv`` or ``.json``, the text) of an input file; anything else, or a file
    that cannot be read, is a ConfigurationError naming the file."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ConfigurationError(f"{path}: expected a .csv or .json file")
    try:
        return suffix, path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigurationError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from None


def json_list(text: str, path: Path, key: str) -> list[Any]:
    """A JSON file holding a list, or ``{key: [...]}``; numbers read as decimals."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        raise ConfigurationError(f"{path} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get(key), list):
        data = data[key]
    if not isinstance(data, list):
        raise ConfigurationError(f'{path}: expected a list of {key} or {{"{key}": [...]}}')
    return data


def read_invoices(path: Path) -> list[ParsedInvoice]:
    """Every invoice in ``path`` (``.csv`` or ``.json``), each built or with its error."""
    suffix, text = read_text(path)
    parsed = _from_csv(text, path) if suffix == ".csv" else _from_json(text, path)
    for item in parsed:
        if item.error is None and not (item.customer_name and "customer" not in item.data):
            item.build()
    return parsed


def read_local_invoices(path: Path) -> list[ParsedInvoice]:
    """Every invoice of ``path``, each built (customers by name get a placeholder id).

    For commands that need every row valid: the first bad row raises
    ConfigurationError naming the file, the row, the external id and the field.
    """
    parsed = read_invoices(path)
    for item in parsed:
        item.build_by_name()
        if item.invoice is None:
            raise ConfigurationError(
                f"{path}: row {item.row} ({item.external_id or 'no external id'}): {item.error}"
            )
    return parsed


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def csv_rows(
    text: str, path: Path, known: Sequence[str], required: Sequence[str]
) -> tuple[list[str], list[tuple[int, dict[str, str | None]]]]:
    """The header and the non-blank rows of a CSV file as (line number, cells), cells
    stripped (blank: None). Unknown or missing required columns name the file."""
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip() for c in (reader.fieldnames or [])]
    if not columns:
        raise ConfigurationError(f"{path} is empty: expected a header row")
    unknown = sorted(set(columns) - set(known))
    if unknown:
        raise ConfigurationError(
            f"{path}: unknown column(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    for needed in required:
        if needed not in columns:
            raise ConfigurationError(f"{path}: the {needed} column is required")
    rows = []
    for number, raw in enumerate(reader, start=2):
        row = {k.strip(): _clean(v) for k, v in raw.items() if k is not None}
        if any(row.values()):
            rows.append((number, row))
    return columns, rows


def _from_csv(text: str, path: Path) -> list[ParsedInvoice]:
    columns, rows = csv_rows(text, path, CSV_COLUMNS, ("external_id", "date"))
    if "customer_id" not in columns and "customer_name" not in columns:
        raise ConfigurationError(f"{path}: a customer_id or customer_name column is required")
    invoices: dict[str, ParsedInvoice] = {}
    order: list[ParsedInvoice] = []
    for number, row in rows:
        key = row.get("external_id")
        line = {
            "description": row.get("description"),
            "amount": row.get("amount"),
            "quantity": row.get("quantity"),
            "unit_price": row.get("unit_price"),
            "item": {"id": row["item_id"]} if row.get("item_id") else None,
            "tax_code": {"id": row["tax_code"]} if row.get("tax_code") else None,
        }
        line = {k: v for k, v in line.items() if v is not None}
        if key is not None and key in invoices:
            invoices[key].data["lines"].append(line)
            continue
        header: dict[str, Any] = {
            "external_id": key,
            "date": row.get("date"),
            "due_date": row.get("due_date"),
            "currency": row.get("currency"),
            "number": row.get("number"),
            "memo": row.get("memo"),
            "lines": [line],
        }
        header = {k: v for k, v in header.items() if v is not None}
        item = ParsedInvoice(row=number, external_id=key, data=header)
        if row.get("customer_id"):
            header["customer"] = {"id": row["customer_id"], "name": row.get("customer_name")}
        elif row.get("customer_name"):
            item.customer_name = row["customer_name"]
        if key is None:
            item.error = "external_id is empty (it is what makes a retried push safe)"
        else:
            invoices[key] = item
        order.append(item)
    return order


def _from_json(text: str, path: Path) -> list[ParsedInvoice]:
    data = json_list(text, path, "invoices")
    parsed: list[ParsedInvoice] = []
    for index, entry in enumerate(data, start=1):
        if not isinstance(entry, dict):
            parsed.append(
                ParsedInvoice(index, None, {}, error="expected a JSON object for the invoice")
            )
            continue
        key = entry.get("external_id")
        item = ParsedInvoice(index, key if isinstance(key, str) else None, dict(entry))
        customer = entry.get("customer")
        if isinstance(customer, Mapping) and not customer.get("id") and customer.get("name"):
            item.customer_name = str(customer["name"])
            item.data.pop("customer")
        if item.external_id is None:
            item.error = "external_id is missing (it is what makes a retried push safe)"
        parsed.append(item)
    return parsed


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


STDOUT = Path("-")


def write_records(
    path: Path,
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    stdout: TextIO | None = None,
) -> None:
    """``records`` to ``path``: JSON for ``.json``, else CSV with ``columns`` (nested
    values as JSON text). ``-`` is standard output (``stdout``), as CSV."""
    if path == STDOUT:
        _write_csv(stdout if stdout is not None else sys.stdout, records, columns)
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".json":
            path.write_text(
                json.dumps(list(records), indent=2, default=_jsonable) + "\n", encoding="utf-8"
            )
            return
        with path.open("w", newline="", encoding="utf-8") as handle:
            _write_csv(handle, records, columns)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write_csv(
    handle: TextIO, records: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> None:
    writer = csv.writer(handle)
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record.get(c)) for c in columns])


def jsonable(value: Any) -> Any:
    """``json.dumps(default=...)`` for the values records hold (Decimal, dates)."""
    return _jsonable(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, default=_jsonable)
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
