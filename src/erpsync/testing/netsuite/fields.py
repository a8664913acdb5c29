"""The REST fields of each record type, and turning JSON values into column values.

NetSuite REST names fields in camelCase (``tranDate``, ``companyName``) and stores them
in SuiteQL columns in lower case (``trandate``, ``companyname``); a reference such as
``entity`` is ``{"id": "614"}`` (or ``{"externalId": "x"}``) on the way in and
``{"links": [...], "id": "614", "refName": "Acme"}`` on the way out. A field spec
says, once per field, how a value is checked, where it is stored and how it is shown.

Money is computed with :class:`~decimal.Decimal` and stored rounded to cents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from erpsync.testing.netsuite.errors import invalid_content, invalid_field_value

CENT = Decimal("0.01")

#: Kinds of field: how a value is validated, stored and rendered.
#: ``LABEL`` is a select shown with its label as its id too, as the REST purchase
#: order's ``status`` is (``{"id": "Pending Receipt", "refName": "Pending Receipt"}``).
TEXT, BOOL, DATE, DATETIME, MONEY, NUMBER, INT, REF, SELECT, LABEL = (
    "text",
    "bool",
    "date",
    "datetime",
    "money",
    "number",
    "int",
    "ref",
    "select",
    "label",
)

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Field:
    """One REST field: its JSON name, its column, its kind and, for references, the
    table it points into. ``readonly`` fields are shown but ignored on input."""

    rest: str
    column: str | None
    kind: str = TEXT
    target: str | None = None
    readonly: bool = False
    max_length: int | None = None


def money(value: Any) -> Decimal:
    """A stored amount (float or None) as cents."""
    if value is None:
        return Decimal(0)
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def number(value: Any) -> Decimal:
    return Decimal(0) if value is None else Decimal(str(value))


def json_number(value: Any) -> float | None:
    """How REST writes a stored number: a JSON number (``100.0``)."""
    return None if value is None else float(value)


def parse_scalar(field: Field, value: Any, path: str) -> Any:
    """The column value for a JSON scalar, or the INVALID_CONTENT fault NetSuite sends."""
    if value is None:
        return None
    kind = field.kind
    if kind == TEXT:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise invalid_field_value(field.rest, path)
        text = str(value)
        if field.max_length is not None and len(text) > field.max_length:
            raise invalid_content(
                f"The field {field.rest} contained more than the maximum number "
                f"({field.max_length}) of characters allowed.",
                path,
            )
        return text
    if kind == BOOL:
        if not isinstance(value, bool):
            raise invalid_field_value(field.rest, path)
        return "T" if value else "F"
    if kind == DATE:
        if not isinstance(value, str) or not _DATE_RE.match(value):
            raise invalid_field_value(field.rest, path)
        try:
            date.fromisoformat(value)
        except ValueError:
            raise invalid_field_value(field.rest, path) from None
        return value
    if kind in (MONEY, NUMBER):
        decimal_value = _decimal(value, field, path)
        if kind == MONEY:
            decimal_value = decimal_value.quantize(CENT, rounding=ROUND_HALF_UP)
        return float(decimal_value)
    if kind == INT:
        if isinstance(value, bool):
            raise invalid_field_value(field.rest, path)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise invalid_field_value(field.rest, path)
    raise invalid_field_value(field.rest, path)


def _decimal(value: Any, field: Field, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise invalid_field_value(field.rest, path)
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise invalid_field_value(field.rest, path) from None
    if not result.is_finite():
        raise invalid_field_value(field.rest, path)
    return result


def ref_key(field: Field, value: Any, path: str) -> tuple[str, str]:
    """``("id", "614")`` or ``("externalId", "x")`` from a reference object."""
    if not isinstance(value, dict):
        raise invalid_field_value(field.rest, path)
    if "id" in value and value["id"] is not None:
        raw = value["id"]
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise invalid_field_value(field.rest, path)
        return "id", str(raw).strip()
    external = value.get("externalId")
    if isinstance(external, str) and external:
        return "externalId", external
    raise invalid_field_value(field.rest, path)


def render_datetime(stored: str | None) -> str | None:
    """``2026-11-03 10:15:00`` (UTC, as stored) -> ``2026-11-03T10:15:00Z`` (REST)."""
    if stored is None:
        return None
    return stored.replace(" ", "T") + "Z"


def stored_datetime(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def render_scalar(field: Field, stored: Any) -> Any:
    if stored is None:
        return None
    if field.kind == BOOL:
        return stored == "T"
    if field.kind == DATETIME:
        return render_datetime(str(stored))
    if field.kind in (MONEY, NUMBER):
        return json_number(stored)
    if field.kind == INT:
        return int(stored)
    return stored


def custom_value(name: str, value: Any, path: str) -> Any:
    """A custom field's stored value: scalars as themselves, a list/record ref as its id."""
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return value
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, dict) and isinstance(value.get("id"), str | int):
        return str(value["id"])
    raise invalid_field_value(name, path)


def render_custom(stored: Any) -> Any:
    if stored in ("T", "F"):
        return stored == "T"
    return stored
