"""QuickBooks wire values <-> Python values: the readers and writers every record mapping shares.

Turning one wire value into a Python value (text, a ``Decimal``, a date, a reference, a
timestamp) and back (a reference) is the same job for every record type, so it lives
here and :mod:`erpsync.quickbooks.records` keeps only the per-record-type mappings.

A value that is not what QuickBooks documents raises :class:`~erpsync.errors.ServiceError`
naming the record and the field (a wire path such as ``Line[2].Amount``). Never a
``KeyError`` or a pydantic ``ValidationError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import ValidationError

from erpsync.errors import ServiceError
from erpsync.models import Ref, currency_exponent
from erpsync.quickbooks.errors import BACKEND

__all__ = [
    "WireReader",
    "line_locator",
    "money_places",
    "parse_timestamp",
    "put",
    "read_decimal",
    "read_ref",
    "ref_to_wire",
]

_M = TypeVar("_M")


# -- reading -----------------------------------------------------------------------------


class WireReader:
    """Typed access to one wire record's fields; a failure names the record and the field."""

    def __init__(self, entity: str, wire: Any) -> None:
        if not isinstance(wire, Mapping):
            raise ServiceError(
                f"a {entity} record is not a JSON object",
                backend=BACKEND,
                record=entity,
                retryable=False,
            )
        self.entity = entity
        self.wire = wire
        self.label = f"{entity} {wire.get('Id')}" if wire.get("Id") else f"{entity} (no Id)"

    def fail(self, field: str, why: str) -> ServiceError:
        return ServiceError(
            f"malformed {self.entity} record: {field} {why}",
            backend=BACKEND,
            record=self.label,
            field=field,
            retryable=False,
        )

    def text(self, field: str, *, required: bool = False) -> str | None:
        value = self.wire.get(field)
        if value is None or value == "":
            if required:
                raise self.fail(field, "is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.fail(field, f"is not text ({type(value).__name__})")
        return str(value)

    def ref(self, field: str, *, required: bool = False) -> Ref | None:
        return read_ref(self, self.wire.get(field), field, required)

    def money(self, field: str, source: Mapping[str, Any] | None = None) -> Decimal | None:
        return read_decimal(self, (source if source is not None else self.wire).get(field), field)

    def day(self, field: str, *, required: bool = False) -> date | None:
        value = self.text(field, required=required)
        if value is None:
            return None
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            raise self.fail(field, f"is not a yyyy-MM-dd date ({value!r})") from None

    def updated_at(self) -> datetime | None:
        meta = self.wire.get("MetaData")
        if not isinstance(meta, Mapping):
            return None
        value = meta.get("LastUpdatedTime")
        if value is None:
            return None
        parsed = parse_timestamp(value)
        if parsed is None:
            raise self.fail("MetaData.LastUpdatedTime", f"is not a timestamp ({value!r})")
        return parsed

    def currency(self, default: str) -> str:
        ref = self.wire.get("CurrencyRef")
        if isinstance(ref, Mapping) and ref.get("value"):
            return str(ref["value"]).upper()
        return default

    def build(self, factory: Callable[..., _M], **fields: Any) -> _M:
        return self.build_located(".".join, factory, **fields)

    def build_at(self, paths: Mapping[str, str], factory: Callable[..., _M], **fields: Any) -> _M:
        """:meth:`build` for a part of the record (a line): ``paths`` maps the model's
        field names to where they came from on the wire (``Line[2].Amount``; ``""``: the
        part itself), so the error names the line and the wire field, not the model's."""
        return self.build_located(lambda loc: _wire_path(paths, loc), factory, **fields)

    def build_located(
        self, locate: Callable[[list[str]], str], factory: Callable[..., _M], **fields: Any
    ) -> _M:
        """:meth:`build` with ``locate`` turning a model error location into a wire path."""
        try:
            return factory(**fields)
        except ValidationError as exc:
            errors = exc.errors()
            loc = [str(p) for p in errors[0]["loc"]] if errors else []
            why = errors[0]["msg"] if errors else str(exc)
            raise self.fail(locate(loc) or "?", f"does not fit the model: {why}") from None


def _wire_path(paths: Mapping[str, str], loc: list[str]) -> str:
    if loc and loc[0] in paths:
        return ".".join([paths[loc[0]], *loc[1:]])
    prefix = paths.get("")
    if prefix:
        return ".".join([prefix, *loc])
    return ".".join(loc)


def read_ref(reader: WireReader, value: Any, field: str, required: bool) -> Ref | None:
    """A ``{"value", "name"}`` reference (a bare id is taken as its value) found
    anywhere in the record, so a failure names ``field`` as the wire path given."""
    if value is None or value == "":
        if required:
            raise reader.fail(field, "is missing")
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = {"value": value}
    if not isinstance(value, Mapping) or value.get("value") in (None, ""):
        raise reader.fail(field, "has no value")
    name = value.get("name")
    try:
        return Ref(id=str(value["value"]), name=str(name) if name else None)
    except ValidationError as exc:
        raise reader.fail(field, f"is not a reference: {exc.errors()[0]['msg']}") from None


def read_decimal(reader: WireReader, value: Any, field: str) -> Decimal | None:
    """A number found anywhere in the record (None when absent); a failure names
    ``field`` as the wire path given."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise reader.fail(field, "is not a number")
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise reader.fail(field, f"is not a number ({value!r})") from None
    if not number.is_finite():
        raise reader.fail(field, "is not a finite number")
    return number


def parse_timestamp(value: Any) -> datetime | None:
    """QuickBooks' ISO-8601 timestamps (company-local with an offset) as aware datetimes."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def money_places(amount: Decimal, currency: str) -> Decimal:
    """Wire amounts are JSON numbers (``350.5``); the model wants the currency's places,
    which only changes the spelling of an exact value. More places than the currency
    has cannot be expressed and are left for the model to refuse."""
    places = currency_exponent(currency)
    quantum = Decimal(1).scaleb(-places)
    try:
        shaped = amount.quantize(quantum)
    except InvalidOperation:
        return amount
    return shaped if shaped == amount else amount


def line_locator(line_paths: list[dict[str, str]]) -> Callable[[list[str]], str]:
    """Turns a model error location (``lines.1.amount``) into the wire path of that line
    (``Line[2].Amount``): lines the model leaves out shift the model's indexes."""

    def locate(loc: list[str]) -> str:
        if len(loc) >= 2 and loc[0] == "lines" and loc[1].isdigit():
            position = int(loc[1])
            if position < len(line_paths):
                return _wire_path(line_paths[position], loc[2:])
        return ".".join(loc)

    return locate


# -- writing -----------------------------------------------------------------------------


def ref_to_wire(ref: Ref) -> dict[str, str]:
    """A reference as QuickBooks takes it: the id alone (QuickBooks fills in the name)."""
    return {"value": ref.id}


def put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` only when there is a value, so a body never sends ``null`` for what
    the model left out."""
    if value is not None:
        target[key] = value
