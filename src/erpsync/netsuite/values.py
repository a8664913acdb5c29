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

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, NoReturn, TypeVar

from pydantic import ValidationError

from erpsync.errors import InvalidRequestError, ServiceError
from erpsync.models import Ref, round_money
from erpsync.netsuite.errors import BACKEND

__all__ = [
    "WireReader",
    "currency_code",
    "currency_ref",
    "json_number",
    "put",
    "status_parts",
    "usable_external_id",
]

_Date = date  # the WireReader has a method named ``date``; annotations use this alias
_M = TypeVar("_M")

#: No amount, quantity or rate reaches this (the models' own bound).
_MAGNITUDE_LIMIT: Final = Decimal(10) ** 18

_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


# -- reading -----------------------------------------------------------------------------


class WireReader:
    """Typed access to one wire record's fields; a failure names the record and the field."""

    def __init__(self, data: Any, record: str) -> None:
        self.record = record
        if not isinstance(data, Mapping):
            self.fail(None, f"is not a JSON object ({type(data).__name__})")
        self.data: Mapping[str, Any] = data

    def fail(self, field: str | None, problem: str) -> NoReturn:
        where = f" field {field!r}" if field else ""
        raise ServiceError(
            f"sent {self.record} with{where} that {problem}"
            if field
            else f"sent {self.record} that {problem}",
            backend=BACKEND,
            record=self.record,
            field=field,
            raw=_short(self.data if hasattr(self, "data") else None),
            retryable=False,
        )

    def has(self, field: str) -> bool:
        return self.data.get(field) is not None

    def text(self, field: str, *, required: bool = False) -> str | None:
        value = self.data.get(field)
        if value is None or value == "":
            if required:
                self.fail(field, "is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(field, f"is not text ({type(value).__name__})")
        return str(value)

    def required_text(self, field: str) -> str:
        value = self.text(field, required=True)
        assert value is not None
        return value

    def ref(self, field: str, *, required: bool = False) -> Ref | None:
        """A REST reference ``{"id": .., "refName": ..}``."""
        value = self.data.get(field)
        if value is None:
            if required:
                self.fail(field, "is missing")
            return None
        if not isinstance(value, Mapping) or value.get("id") in (None, ""):
            self.fail(field, "is not a reference with an id")
        ref_id = value["id"]
        if isinstance(ref_id, bool) or not isinstance(ref_id, str | int):
            self.fail(field, "has an id that is not text")
        name = value.get("refName")
        try:
            return Ref(id=str(ref_id), name=name if isinstance(name, str) and name else None)
        except ValidationError:
            self.fail(field, "has an id that is blank or not a valid reference")

    def required_ref(self, field: str) -> Ref:
        value = self.ref(field, required=True)
        assert value is not None
        return value

    def ref_id(self, field: str) -> str | None:
        """A reference given either as a REST object or as a SuiteQL string."""
        value = self.data.get(field)
        if isinstance(value, Mapping):
            found = self.ref(field)
            return found.id if found is not None else None
        return self.text(field)

    def decimal(self, field: str, *, required: bool = False) -> Decimal | None:
        value = self.data.get(field)
        if value is None or value == "":
            if required:
                self.fail(field, "is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.fail(field, "is not a number")
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON writes whole quantities as 1.0; keep them whole
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            self.fail(field, "is not a number")
        if not number.is_finite():
            self.fail(field, "is not a finite number")
        if abs(number) >= _MAGNITUDE_LIMIT:
            # The models refuse such values anyway; failing here names the field and keeps
            # the arithmetic below (rounding, quantity x rate) from overflowing.
            self.fail(field, f"is out of range ({value!r})")
        return number

    def money(self, field: str, currency: str, *, required: bool = False) -> Decimal | None:
        """Money read from JSON floats: rounded to the currency, which only removes float
        noise (NetSuite stores amounts at the currency's precision)."""
        number = self.decimal(field, required=required)
        return None if number is None else round_money(number, currency)

    def date(self, field: str, *, required: bool = False) -> _Date | None:
        value = self.text(field, required=required)
        if value is None:
            return None
        text = value.strip()
        us = _US_DATE.match(text)
        try:
            if us:
                month, day, year = (int(part) for part in us.groups())
                return date(year, month, day)
            return date.fromisoformat(text[:10])
        except ValueError:
            self.fail(field, f"is not a date ({value!r})")

    def required_date(self, field: str) -> _Date:
        value = self.date(field, required=True)
        assert value is not None
        return value

    def timestamp(self, field: str) -> datetime | None:
        value = self.text(field)
        if value is None:
            return None
        text = value.strip()
        us = _US_DATE.match(text)
        try:
            if us:
                month, day, year = (int(part) for part in us.groups())
                moment = datetime(year, month, day)
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.fail(field, f"is not a timestamp ({value!r})")
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def flag(self, field: str) -> bool | None:
        value = self.data.get(field)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if value in ("T", "t", "true", "True"):
            return True
        if value in ("F", "f", "false", "False"):
            return False
        self.fail(field, f"is not a boolean ({value!r})")

    def sublist(self, field: str) -> list[Any]:
        """``{"items": [...]}`` (an unexpanded sublist, links only, reads as empty)."""
        value = self.data.get(field)
        if value is None:
            return []
        if not isinstance(value, Mapping):
            self.fail(field, "is not a sublist object")
        items = value.get("items")
        if items is None:
            return []
        if not isinstance(items, list):
            self.fail(field, "has items that are not a list")
        return items

    def build(self, factory: Callable[..., _M], **values: Any) -> _M:
        """A model, with a validation failure turned into a ServiceError."""
        try:
            return factory(**values)
        except ValidationError as exc:
            errors = exc.errors()
            first: Mapping[str, Any] = errors[0] if errors else {}
            location = ".".join(str(p) for p in first.get("loc", ()))
            name = getattr(factory, "__name__", "record")
            self.fail(location or None, f"does not make a valid {name}: {first.get('msg', exc)}")


_EXTERNAL_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")


def usable_external_id(value: str | None) -> str | None:
    """An external id the models can hold; ids set in NetSuite with other characters
    (spaces, slashes) read as None rather than failing the whole record."""
    return value if value is not None and _EXTERNAL_ID.fullmatch(value) else None


def _short(value: Any) -> str:
    """The record as the error's ``raw``, cut short so one huge record cannot flood logs."""
    text = repr(value)
    return text if len(text) <= 1000 else text[:1000] + "..."


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
    if isinstance(value, Mapping):
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


def put(body: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` only when there is a value, so a body never sends ``null`` for what
    the model left out."""
    if value is not None:
        body[key] = value
