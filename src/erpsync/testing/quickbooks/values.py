"""Reading the loosely-typed values clients send: money, dates, references.

QuickBooks accepts ``100``, ``100.0`` and ``"100.00"`` for an amount (python-quickbooks
sends Decimals as strings) and ``""`` for an absent date (the same client sends empty
strings for unset fields), and answers with plain JSON numbers. These helpers accept
what the real service accepts and turn the rest into the real service's faults.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from erpsync.testing.quickbooks.errors import invalid_value

CENT = Decimal("0.01")


def to_decimal(value: Any, name: str) -> Decimal:
    """An amount, quantity or rate as a Decimal; anything else is a 2010 fault."""
    if isinstance(value, bool) or value is None:
        raise invalid_value(name, f"Invalid number for {name}: {value!r}")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise invalid_value(name, f"Invalid number for {name}: {value!r}") from None
    if not number.is_finite():
        raise invalid_value(name, f"Invalid number for {name}: {value!r}")
    return number


def money(value: Decimal) -> float:
    """A JSON number with at most two decimals, as QuickBooks answers amounts."""
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def number(value: Decimal) -> float | int:
    """A quantity or rate as JSON: integral values as ints (``Qty: 1``)."""
    return int(value) if value == value.to_integral_value() else float(value)


def optional_date(record: dict[str, Any], name: str) -> str | None:
    """Validate ``yyyy-MM-dd`` in place; an empty string counts as absent and is dropped."""
    value = record.get(name)
    if value is None or value == "":
        record.pop(name, None)
        return None
    text = str(value)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text[:10]):
        raise invalid_value(name, f"Invalid date format for {name}: {text}. Use yyyy-MM-dd.")
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        raise invalid_value(name, f"Invalid date for {name}: {text}") from None
    record[name] = text[:10]
    return text[:10]


def ref_value(value: Any) -> str | None:
    """The id inside a reference (``{"value": "58", "name": ...}``), or None."""
    if isinstance(value, dict):
        inner = value.get("value")
        if inner is not None and str(inner).strip():
            return str(inner).strip()
    return None
