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
from typing import Any, ClassVar, TypeVar

from erpsync._wire_reader import EXACT, is_mapping, parse_iso_timestamp, put
from erpsync._wire_reader import WireReader as SharedReader
from erpsync.models import Ref, currency_exponent
from erpsync.models.money import _fit
from erpsync.quickbooks.errors import BACKEND

__all__ = [
    "EXACT",
    "WireReader",
    "is_mapping",
    "line_locator",
    "money_places",
    "parse_timestamp",
    "put",
    "read_decimal",
    "read_ref",
    "read_ref_values",
    "ref_to_wire",
]

_M = TypeVar("_M")


# -- reading -----------------------------------------------------------------------------


class WireReader(SharedReader):
    """QuickBooks' shapes on the shared reader: ``{"value", "name"}`` references,
    ``MetaData.LastUpdatedTime``, ``CurrencyRef``; the error's record is the entity and
    its ``Id`` (``Invoice 130``)."""

    backend: ClassVar[str] = BACKEND

    def __init__(self, data: Any, entity: str) -> None:
        found = data.get("Id") if is_mapping(data) else None
        label = f"{entity} {found}" if isinstance(found, str | int) and found != "" else entity
        super().__init__(data, label)
        self.entity = entity

    def ref(self, field: str, *, required: bool = False) -> Ref | None:
        return read_ref(self, self.data.get(field), field, required)

    def money(self, field: str, source: Mapping[str, Any] | None = None) -> Decimal | None:
        return self.decimal_of((source if source is not None else self.data).get(field), field)

    def day(self, field: str, *, required: bool = False) -> date | None:
        return self.date(field, required=required)

    def updated_at(self) -> datetime | None:
        meta = self.data.get("MetaData")
        if not is_mapping(meta):
            return None
        value = meta.get("LastUpdatedTime")
        if value is None:
            return None
        parsed = parse_timestamp(value)
        if parsed is None:
            self.fail("MetaData.LastUpdatedTime", f"is not a timestamp ({value!r})")
        return parsed

    def currency(self, default: str) -> str:
        ref = self.data.get("CurrencyRef")
        if is_mapping(ref) and ref.get("value"):
            return str(ref["value"]).upper()
        return default

    def build_at(self, paths: Mapping[str, str], factory: Callable[..., _M], **fields: Any) -> _M:
        """:meth:`build` for a part of the record (a line): ``paths`` maps the model's
        field names to where they came from on the wire (``Line[2].Amount``; ``""``: the
        part itself), so the error names the line and the wire field, not the model's."""
        return self.build_located(lambda loc: _wire_path(paths, loc), factory, **fields)


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
    values = read_ref_values(reader, value, field, required)
    return None if values is None else reader.make_ref(values["id"], values["name"], field)


def read_ref_values(
    reader: WireReader, value: Any, field: str, required: bool
) -> dict[str, str | None] | None:
    """:func:`read_ref`'s checks, giving the reference's values (``{"id", "name"}``) for
    a document validated whole (:meth:`~erpsync._wire_reader.WireReader.build_once`)."""
    if value is None or value == "":
        if required:
            reader.fail(field, "is missing")
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = {"value": value}
    if not is_mapping(value) or value.get("value") in (None, ""):
        reader.fail(field, "has no value")
    name = value.get("name")
    return reader.ref_values(value["value"], str(name) if name else None, field)


def read_decimal(reader: WireReader, value: Any, field: str) -> Decimal | None:
    """A number found anywhere in the record (None when absent); a failure names
    ``field`` as the wire path given."""
    return reader.decimal_of(value, field)


def parse_timestamp(value: Any) -> datetime | None:
    """QuickBooks' ISO-8601 timestamps (company-local with an offset) as aware datetimes;
    None for anything else (a naive time is ambiguous)."""
    if not isinstance(value, str) or not value.strip():
        return None
    parsed = parse_iso_timestamp(value)
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def money_places(amount: Decimal, currency: str) -> Decimal:
    """Wire amounts are JSON numbers (``350.5``); the model wants the currency's places,
    which only changes the spelling of an exact value. More places than the currency
    has cannot be expressed and are left for the model to refuse.

    The models' own fitting, in their exact context: the result does not depend on the
    caller's decimal context (a program that lowered its precision, or trapped
    ``Inexact``, reads the same amounts)."""
    try:
        fitted = _fit(amount, currency_exponent(currency))
    except InvalidOperation:  # not a finite amount of sensible size: the model refuses it
        return amount
    return amount if fitted is None else fitted


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
