"""NetSuite wire values <-> Python values: the readers and writers every record mapping shares.

Turning one wire value into a Python value (text, a ``Decimal``, a date, a reference, a
currency code) and back (a JSON number, a currency reference) is the same job for every
record type, so it lives here and :mod:`erpsync.netsuite.records` keeps only the
per-record-type mappings. Both wire shapes are read: REST records (JSON numbers,
``{"id", "refName"}`` references) and SuiteQL rows (every value a string).

A value that is not what NetSuite documents raises :class:`~erpsync.errors.ServiceError`
naming the record and the field; a value the wire cannot carry raises
:class:`~erpsync.errors.InvalidRequestError` naming them too. Never a ``KeyError`` or a
pydantic ``ValidationError``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from erpsync._wire_reader import EXACT, is_mapping, parse_date, parse_iso_timestamp, put
from erpsync._wire_reader import WireReader as SharedReader
from erpsync.errors import InvalidRequestError
from erpsync.models import Ref, round_money
from erpsync.netsuite.errors import BACKEND

__all__ = [
    "EXACT",
    "WireReader",
    "currency_code",
    "currency_ref",
    "is_mapping",
    "json_number",
    "label_key",
    "put",
    "status_parts",
    "usable_external_id",
]

_Date = date  # the WireReader has a method named ``date``; annotations use this alias


# -- reading -----------------------------------------------------------------------------


class WireReader(SharedReader):
    """NetSuite's shapes on the shared reader: REST references ``{"id", "refName"}``,
    sublists ``{"items": [...]}``, money rounded off float noise, naive timestamps as UTC."""

    backend: ClassVar[str] = BACKEND
    us_dates: ClassVar[bool] = True

    def ref(self, field: str, *, required: bool = False) -> Ref | None:
        """A REST reference ``{"id": .., "refName": ..}``."""
        values = self.ref_values_of(field, required=required)
        return None if values is None else self.make_ref(values["id"], values["name"], field)

    def ref_values_of(self, field: str, *, required: bool = False) -> dict[str, str | None] | None:
        """:meth:`ref`'s checks, giving the reference's values (``{"id", "name"}``) for
        a document validated whole (:meth:`build_once`)."""
        value = self.data.get(field)
        if value is None:
            if required:
                self.fail(field, "is missing")
            return None
        if not is_mapping(value) or value.get("id") in (None, ""):
            self.fail(field, "is not a reference with an id")
        return self.ref_values(value["id"], value.get("refName"), field)

    def required_ref(self, field: str) -> Ref:
        value = self.ref(field, required=True)
        assert value is not None
        return value

    def ref_id(self, field: str) -> str | None:
        """A reference's id, given either as a REST object or as a SuiteQL string."""
        value = self.data.get(field)
        if is_mapping(value):
            ref_id = value.get("id")
            if ref_id is None or ref_id == "":
                self.fail(field, "is not a reference with an id")
            return self.id_of(ref_id, field)
        return self.text(field)

    def any_ref(self, field: str) -> Ref | None:
        """A reference given either as a REST object (with its name) or as a SuiteQL id."""
        values = self.any_ref_values(field)
        return None if values is None else self.make_ref(values["id"], values["name"], field)

    def any_ref_values(self, field: str) -> dict[str, str | None] | None:
        """:meth:`any_ref`'s checks, giving the reference's values (``{"id", "name"}``)
        for a document validated whole (:meth:`build_once`)."""
        if is_mapping(self.data.get(field)):
            return self.ref_values_of(field)
        found = self.text(field)
        return None if found is None else self.ref_values(found, None, field)

    def money(self, field: str, currency: str, *, required: bool = False) -> Decimal | None:
        """Money read from JSON floats: rounded to the currency, which only removes float
        noise (NetSuite stores amounts at the currency's precision)."""
        number = self.decimal_of(self.data.get(field), field, required=required)
        return None if number is None else round_money(number, currency)

    def required_date(self, field: str) -> _Date:
        value = self.date(field, required=True)
        assert value is not None
        return value

    def timestamp(self, field: str) -> datetime | None:
        """``lastModifiedDate`` (ISO) or a SuiteQL ``11/3/2026``; naive means UTC."""
        value = self.text(field)
        if value is None:
            return None
        moment = parse_iso_timestamp(value)
        if moment is None:
            day = parse_date(value, us=True) if "/" in value else None
            if day is None:
                self.fail(field, f"is not a timestamp ({value!r})")
            moment = datetime(day.year, day.month, day.day)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def sublist(self, field: str) -> list[Any]:
        """``{"items": [...]}`` (an unexpanded sublist, links only, reads as empty)."""
        value = self.data.get(field)
        if value is None:
            return []
        if not is_mapping(value):
            self.fail(field, "is not a sublist object")
        items = value.get("items")
        if items is None:
            return []
        if not isinstance(items, list):
            self.fail(field, "has items that are not a list")
        return items


_NON_WORD = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=512)
def label_key(label: str) -> str:
    """A status or type label reduced to what compares (``Paid In Full`` -> ``paidinfull``),
    since NetSuite spells labels differently in REST, SuiteQL and the UI. Cached: an
    account has a few dozen labels, and every record read reduces one or two."""
    return _NON_WORD.sub("", label.lower())


_EXTERNAL_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")


def usable_external_id(value: str | None) -> str | None:
    """An external id the models can hold; ids set in NetSuite with other characters
    (spaces, slashes) read as None rather than failing the whole record."""
    return value if value is not None and _EXTERNAL_ID.fullmatch(value) else None


def currency_code(
    currencies: Mapping[str, str],
    currency_id: str | None,
    reader: WireReader,
    field: str,
    ref_name: str | None = None,
) -> str:
    """The ISO code of a currency id; an id the map does not know fails loudly, since a
    guess would put amounts in the wrong currency."""
    if currency_id is None:
        return next(iter(currencies.values()), "USD") if len(currencies) == 1 else "USD"
    code = currencies.get(str(currency_id))
    if code is not None:
        return code
    if ref_name and re.fullmatch(r"[A-Za-z]{3}", ref_name):
        return ref_name.upper()
    reader.fail(field, f"is a currency ({currency_id}) this account's currency list lacks")


def status_parts(
    reader: WireReader, field: str, label_field: str | None = None
) -> tuple[str | None, str | None]:
    """(code, label) of a status from REST ``{"id","refName"}`` or SuiteQL columns."""
    value = reader.data.get(field)
    if is_mapping(value):
        code = value.get("id")
        label = value.get("refName")
        return (
            str(code) if isinstance(code, str | int) and code != "" else None,
            label if isinstance(label, str) and label else None,
        )
    code = reader.text(field)
    label = reader.text(label_field) if label_field else None
    if label and " : " in label:  # BUILTIN.DF gives "Invoice : Open"
        label = label.split(" : ", 1)[1]
    return code, label


# -- writing -----------------------------------------------------------------------------


def json_number(value: Decimal, field: str, record: str) -> int | float:
    """A Decimal as a JSON number, refusing values a double cannot carry exactly."""
    if value == value.to_integral_value() and abs(value) < 2**53:
        return int(value)
    as_float = float(value)
    if Decimal(repr(as_float)) != value:
        raise InvalidRequestError(
            f"{value} has more digits than NetSuite's JSON numbers carry exactly",
            backend=BACKEND,
            record=record,
            field=field,
        )
    return as_float


def currency_ref(
    currency: str, currency_ids: Mapping[str, str] | None, record: str
) -> dict[str, str] | None:
    """The ``{"id": ..}`` reference of an ISO code (None without a map); a currency the
    account lacks fails before the request, naming the field."""
    if currency_ids is None:
        return None
    currency_id = currency_ids.get(currency.upper())
    if currency_id is None:
        raise InvalidRequestError(
            f"the currency {currency} is not enabled in this NetSuite account "
            f"(it has {', '.join(sorted(currency_ids)) or 'none'})",
            backend=BACKEND,
            record=record,
            field="currency",
        )
    return {"id": currency_id}
