"""The one wire reader both ERPs' ``values.py`` build on.

Reading a wire value into a Python value (text, a ``Decimal``, a date, a timestamp, a
reference, a boolean) is the same job for NetSuite and QuickBooks; only the shapes
differ (NetSuite references are ``{"id", "refName"}``, QuickBooks' ``{"value", "name"}``;
NetSuite's SuiteQL rows spell dates ``11/3/2026``). The checks live here once, so a bug
fixed for one ERP is fixed for both: every bad value raises
:class:`~erpsync.errors.ServiceError` naming the record and the field, never a
``KeyError``, ``ValueError`` or pydantic ``ValidationError``.

Each ERP subclasses :class:`WireReader`, setting :attr:`WireReader.backend` and adding
its own shapes (:mod:`erpsync.netsuite.values`, :mod:`erpsync.quickbooks.values`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Final, NoReturn, TypeGuard, TypeVar

from pydantic import ValidationError

from erpsync.errors import ServiceError
from erpsync.models import Ref
from erpsync.models.money import _CTX

__all__ = ["EXACT", "WireReader", "is_mapping", "parse_date", "parse_iso_timestamp", "put"]

_M = TypeVar("_M")
_Date = date  # the reader has a method named ``date``; annotations use this alias

#: The models' exact decimal context (prec 120, HALF-UP): reads add, subtract and
#: multiply wire amounts in it, never in the caller's thread context (whose precision a
#: program may have lowered), so a read gives the same model in any context.
EXACT: Final = _CTX

#: No amount, quantity or rate reaches this (the models' own bound).
MAGNITUDE_LIMIT: Final = Decimal(10) ** 18

_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_RAW_MAX: Final = 1000
_TRUE: Final = frozenset({"T", "t", "true", "True"})
_FALSE: Final = frozenset({"F", "f", "false", "False"})


def _short(value: Any) -> str:
    """The record as the error's ``raw``, cut short so one huge record cannot flood logs."""
    text = repr(value)
    return text if len(text) <= _RAW_MAX else text[:_RAW_MAX] + "..."


def parse_date(text: str, *, us: bool = False) -> date | None:
    """An ISO date (``2026-11-03``, a timestamp's date part) or, with ``us``, a US
    ``11/3/2026`` (NetSuite's SuiteQL spelling); None when it is neither."""
    text = text.strip()
    spelt_us = _US_DATE.match(text) if us and "/" in text else None
    try:
        if spelt_us:
            month, day, year = (int(part) for part in spelt_us.groups())
            return date(year, month, day)
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def parse_iso_timestamp(text: str) -> datetime | None:
    """An ISO-8601 timestamp (``Z`` or an offset, or naive); None when it is not one."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


class WireReader:
    """Typed access to one wire record's fields; a failure names the record and the field.

    ``record`` is what the error's ``record`` says (``invoice``, ``Invoice 130``). The
    ``*_of`` methods read a value found anywhere in the record (a line's field), named by
    the wire path given; the plain methods read a top-level field.
    """

    #: The ERP's name in errors (each subclass sets it).
    backend: ClassVar[str] = ""
    #: Whether dates may be spelt ``11/3/2026`` (NetSuite's SuiteQL rows; not QuickBooks).
    us_dates: ClassVar[bool] = False

    def __init__(self, data: Any, record: str) -> None:
        self.record = record
        if not is_mapping(data):
            self.data: Mapping[str, Any] = {}
            self._raise(None, f"is not a JSON object ({type(data).__name__})", data)
        self.data = data

    def fail(self, field: str | None, problem: str) -> NoReturn:
        """Raise the ServiceError for ``field`` (None: the record as a whole)."""
        self._raise(field, problem, self.data)

    def _raise(self, field: str | None, problem: str, raw: Any) -> NoReturn:
        where = f" with field {field!r}" if field else ""
        raise ServiceError(
            f"sent {self.record}{where} that {problem}",
            backend=self.backend,
            record=self.record,
            field=field,
            raw=_short(raw),
            retryable=False,
        )

    # -- values found anywhere ------------------------------------------------------------

    def text_of(self, value: Any, field: str, *, required: bool = False) -> str | None:
        if type(value) is str and value:  # the common case, first
            return value
        if value is None or value == "":
            if required:
                self.fail(field, "is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(field, f"is not text ({type(value).__name__})")
        return str(value)

    def decimal_of(self, value: Any, field: str, *, required: bool = False) -> Decimal | None:
        """A JSON number, a Decimal (QuickBooks' client parses floats so) or a numeric
        string (SuiteQL), finite and within the models' bound."""
        kind = type(value)
        number: Decimal
        if kind is Decimal:  # the wire types, by exact type first: no ABC or union checks
            number = value
        elif kind is int:
            number = Decimal(value)
        elif kind is float:
            # JSON writes whole quantities as 1.0: keep them whole. Any other float is the
            # number its shortest repr spells, which is what the JSON text said.
            number = Decimal(int(value)) if value.is_integer() else Decimal(repr(value))
        elif value is None or value == "":
            if required:
                self.fail(field, "is missing")
            return None
        elif isinstance(value, bool) or not isinstance(value, int | float | str):
            self.fail(field, "is not a number")
        else:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            try:
                number = Decimal(value) if isinstance(value, int) else Decimal(str(value))
            except (InvalidOperation, ValueError):
                self.fail(field, f"is not a number ({value!r})")
        if not number.is_finite():
            self.fail(field, "is not a finite number")
        if number.copy_abs() >= MAGNITUDE_LIMIT:
            # The models refuse such values anyway; failing here names the field and keeps
            # the arithmetic after it (rounding, quantity x rate) from overflowing.
            self.fail(field, f"is out of range ({value!r})")
        return number

    def date_of(self, value: Any, field: str, *, required: bool = False) -> _Date | None:
        text = self.text_of(value, field, required=required)
        if text is None:
            return None
        found = parse_date(text, us=self.us_dates)
        if found is None:
            self.fail(field, f"is not a date ({text!r})")
        return found

    def flag_of(self, value: Any, field: str) -> bool | None:
        """A JSON boolean or SuiteQL's ``T``/``F``."""
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value in _TRUE:
            return True
        if isinstance(value, str) and value in _FALSE:
            return False
        self.fail(field, f"is not a boolean ({value!r})")

    def make_ref(self, ref_id: Any, name: Any, field: str) -> Ref:
        """A :class:`~erpsync.models.Ref` from a wire id and name; an id that is not
        usable text (``" "``, a list, a boolean) fails naming ``field``."""
        try:
            return Ref(**self.ref_values(ref_id, name, field))
        except ValidationError as exc:
            self.fail(field, f"is not a reference: {_first_message(exc)}")

    def ref_values(self, ref_id: Any, name: Any, field: str) -> dict[str, str | None]:
        """The values of a :class:`~erpsync.models.Ref` (``{"id", "name"}``), checked as
        :meth:`make_ref` checks them, for a document validated whole (:meth:`build_once`):
        its ``Ref`` is then built inside that one pass instead of on its own."""
        text = self.id_of(ref_id, field)
        return {"id": text, "name": name if isinstance(name, str) and name else None}

    def id_of(self, ref_id: Any, field: str) -> str:
        """A reference's id as text (a reader that only needs the id builds no Ref);
        one that is not usable text fails naming ``field``."""
        if type(ref_id) is not str and (isinstance(ref_id, bool) or not isinstance(ref_id, int)):
            self.fail(field, "has an id that is not text")
        text = str(ref_id)
        if not text.strip():
            self.fail(field, "is not a reference: its id is blank")
        return text

    # -- top-level fields -----------------------------------------------------------------

    def has(self, field: str) -> bool:
        return self.data.get(field) is not None

    def text(self, field: str, *, required: bool = False) -> str | None:
        value = self.data.get(field)
        if type(value) is str and value:  # text_of's common case, without its call
            return value
        return self.text_of(value, field, required=required)

    def required_text(self, field: str) -> str:
        value = self.text(field, required=True)
        assert value is not None
        return value

    def decimal(self, field: str, *, required: bool = False) -> Decimal | None:
        return self.decimal_of(self.data.get(field), field, required=required)

    def date(self, field: str, *, required: bool = False) -> _Date | None:
        return self.date_of(self.data.get(field), field, required=required)

    def flag(self, field: str) -> bool | None:
        return self.flag_of(self.data.get(field), field)

    # -- models ---------------------------------------------------------------------------

    def build(self, factory: Callable[..., _M], **values: Any) -> _M:
        """A model, with a validation failure turned into a ServiceError."""
        return self.build_located(".".join, factory, **values)

    def build_once(
        self, factory: Callable[..., _M], values: dict[str, Any], by_parts: Callable[[], _M]
    ) -> _M:
        """A whole document (an invoice and its lines, refs as values) validated in one
        pydantic pass, the cost of a good document: no model built on its own, no
        error handling per part.

        Only when that pass fails is ``by_parts`` called: it builds the same values part
        by part (each line through :meth:`build` or :meth:`build_located`, then the
        document), the slower way that names the record and the wire field of the fault
        (``Line[2].Amount``), or that recovers where a reader does (a line read again
        without a rounded price). A bad document costs two passes and fails as it always
        did.
        """
        try:
            return factory(**values)
        except ValidationError:
            return by_parts()

    def build_located(
        self, locate: Callable[[list[str]], str], factory: Callable[..., _M], **values: Any
    ) -> _M:
        """:meth:`build` with ``locate`` turning a model error location into a wire path."""
        try:
            return factory(**values)
        except ValidationError as exc:
            errors = exc.errors()
            location = locate([str(p) for p in errors[0]["loc"]]) if errors else ""
            name = getattr(factory, "__name__", "record")
            self.fail(location or None, f"does not make a valid {name}: {_first_message(exc)}")


def _first_message(exc: ValidationError) -> str:
    errors = exc.errors()
    return str(errors[0]["msg"]) if errors else str(exc)


def is_mapping(value: object) -> TypeGuard[Mapping[Any, Any]]:
    """``isinstance(value, Mapping)``, with the JSON case (a ``dict``) decided without
    the ABC check, which costs more than the rest of reading a field."""
    return type(value) is dict or isinstance(value, Mapping)


def put(body: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` only when there is a value, so a body never sends ``null`` for what
    the model left out."""
    if value is not None:
        body[key] = value
