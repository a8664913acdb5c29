"""The documents erpsync moves, as immutable, self-checking values.

A model either holds a document an ERP would accept (amounts that fit their currency,
lines that add up, ids in the alphabet the ERP understands) or it was never built: every
constructor raises :class:`pydantic.ValidationError` and nothing else. Catching bad data
here, with the field named (``lines.0.amount``), is cheaper than catching it as a remote
error after a round trip, and it is the same for NetSuite and QuickBooks.

Money
    Money is :class:`~decimal.Decimal`. Floats are refused (``0.1`` is not a tenth), so are
    NaN and infinities; ``str`` and ``int`` are accepted so that JSON round-trips. An
    amount with more decimals than its currency has (2 for USD, 0 for JPY, 3 for KWD) is
    an error, never a silent rounding. Inside a document, amounts are re-expressed at the
    currency's exponent (``Decimal("1250")`` becomes ``Decimal("1250.00")``): the value
    never changes, only its spelling, so that dumps are canonical.

Line amounts and currency
    A line does not know its currency, the document that holds it does. So a line works
    in two steps:

    * alone, an omitted ``amount`` is derived as ``quantity * unit_price`` rounded
      HALF-UP to 2 places, and an explicit one is only checked to be consistent with
      ``quantity * unit_price`` rounded for *some* currency exponent (0, 2, 3 or 4);
    * the document then re-derives every derived amount at its own currency's exponent
      (a JPY invoice turns 100.50 into 101) and checks every explicit one exactly
      against its currency.

    Whether an amount was derived is remembered privately on the line (it survives
    ``model_copy``); a dumped line carries the derived amount explicitly, which then
    agrees with its quantity and price by construction. Equality ignores that flag.

External ids
    ``external_id`` accepts exactly what NetSuite's ``eid:`` accepts: ASCII letters,
    digits, ``_`` and ``-``, 1 to 255 characters. Keys with other characters go through
    :func:`encode_external_id` first (reversible by :func:`decode_external_id`).

Statuses
    Status enums are open: a value the enum does not know becomes ``UNKNOWN`` and the raw
    value is kept in ``remote_status``. Known values are matched case- and
    punctuation-insensitively (``"Pending Receipt"`` is ``PENDING_RECEIPT``); translating
    ERP codes such as NetSuite's ``"B"`` is :mod:`erpsync.mapping`'s job.

Timestamps
    ``updated_at`` and ``deleted_at`` are stored in UTC. A naive datetime is taken to be
    UTC already (ERP timestamps are compared with each other, and mixing naive and aware
    values would raise at comparison time, far from the cause).

Copies
    Models are frozen. ``model.model_copy(update={...})`` re-validates the result, so a
    copy is held to the same rules as the original (a plain pydantic copy would not be).
"""

from __future__ import annotations

import copy
import datetime as _dt
import functools
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    computed_field,
    model_validator,
)
from pydantic_core import InitErrorDetails

from erpsync.errors import ConfigurationError

__all__ = [
    "Currency",
    "Customer",
    "DeletedRecord",
    "ExternalId",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "Item",
    "ItemReceipt",
    "ItemReceiptLine",
    "Money",
    "Payment",
    "PaymentApplication",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderStatus",
    "Quantity",
    "Ref",
    "Vendor",
    "currency_exponent",
    "decode_external_id",
    "encode_external_id",
    "round_money",
]

# -- currencies ---------------------------------------------------------------------------

#: ISO 4217 minor units that differ from the usual 2. Codes not listed here (including
#: valid codes we have never heard of) use 2.
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        (
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
            "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}  # fmt: skip
_DEFAULT_EXPONENT = 2
#: Every exponent a currency can have; a line that does not know its currency must be
#: consistent with one of them.
_ALL_EXPONENTS = tuple(sorted({_DEFAULT_EXPONENT, *_EXPONENTS.values()}))
_MAX_MONEY_PLACES = max(_ALL_EXPONENTS)

#: Amounts, quantities and prices must be below this in magnitude. It is far above any
#: real document and keeps every computation exact inside ``_CTX``.
_LIMIT = Decimal(10) ** 18
#: Quantities and unit prices may be finer than a currency, but not unboundedly.
_MAX_FACTOR_PLACES = 12
#: Wide enough that products and sums of bounded values are exact.
_CTX = Context(prec=120, rounding=ROUND_HALF_UP)

_CURRENCY_RE = re.compile(r"[A-Za-z]{3}")


def currency_exponent(currency: str) -> int:
    """Decimal places the currency allows (2 when ISO 4217 says nothing else)."""
    return _EXPONENTS.get(currency.upper(), _DEFAULT_EXPONENT)


def round_money(value: Decimal, currency: str) -> Decimal:
    """Round HALF-UP to the currency's exponent: the rounding to use when *you* compute an
    amount (a tax, a share of a payout) that a model will then check."""
    return _quantize(value, currency_exponent(currency))


def _quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal((0, (1,), -places)), rounding=ROUND_HALF_UP, context=_CTX)


def _places(value: Decimal) -> int:
    """Significant decimal places: trailing zeros do not count (``1.50`` has 1)."""
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0 or not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - trailing)


# -- field types --------------------------------------------------------------------------


def _to_decimal(value: object, *, max_places: int) -> Decimal:
    if isinstance(value, bool | float):
        raise ValueError(
            f"a {type(value).__name__} cannot hold an exact amount; pass a Decimal, a str or an int"
        )
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value)
        except (InvalidOperation, ValueError):
            raise ValueError(f"{_short(value)} is not a decimal number") from None
    else:
        raise ValueError(f"expected a Decimal, a str or an int, got {type(value).__name__}")
    if not number.is_finite():
        raise ValueError("NaN and infinities are not amounts")
    if number.copy_abs() >= _LIMIT:
        raise ValueError(f"{_short(str(number))} is too large (the limit is 10**18)")
    if _places(number) > max_places:
        raise ValueError(f"{_short(str(number))} has more than {max_places} decimal places")
    return number


def _money(value: object) -> Decimal:
    return _to_decimal(value, max_places=_MAX_MONEY_PLACES)


def _factor(value: object) -> Decimal:
    return _to_decimal(value, max_places=_MAX_FACTOR_PLACES)


def _currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY_RE.fullmatch(value):
        raise ValueError(f"currency must be a 3-letter ISO 4217 code, got {_short(value)}")
    return value.upper()


def _identifier(value: object) -> str:
    """ERP ids: NetSuite's are integers, QuickBooks' numeric strings; keep both as str."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"an id must be a str or an int, got {type(value).__name__}")
    if not value.strip():
        raise ValueError("an id cannot be blank")
    return value


def _text(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        raise ValueError("cannot be blank")
    return value


def _utc(value: _dt.datetime) -> _dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=_dt.UTC)
    try:
        return value.astimezone(_dt.UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"{value.isoformat()} cannot be expressed in UTC") from None


#: An amount of money: exact, finite, at most 4 decimal places on its own; the document
#: holding it narrows that to its currency's exponent.
Money = Annotated[Decimal, BeforeValidator(_money)]
#: A quantity, unit price or rate: exact and finite, up to 12 decimal places.
Quantity = Annotated[Decimal, BeforeValidator(_factor)]
#: An ISO 4217 code, upper-cased.
Currency = Annotated[str, BeforeValidator(_currency)]
_Id = Annotated[str, BeforeValidator(_identifier)]
_Name = Annotated[str, AfterValidator(_text)]
_Timestamp = Annotated[_dt.datetime, AfterValidator(_utc)]


# -- external ids -------------------------------------------------------------------------

_EXTERNAL_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,255}")
_EXTERNAL_ID_MAX = 255
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
_HEX = frozenset("0123456789ABCDEF")


def _external_id(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and _EXTERNAL_ID_RE.fullmatch(value):
        return value
    raise ValueError(
        f"external_id {_short(value)} is not usable as a NetSuite eid: it must be 1-255 "
        "ASCII letters, digits, '_' or '-'; pass it through "
        "erpsync.models.encode_external_id() (reversible with decode_external_id())"
    )


#: A caller's stable key for a record: letters, digits, ``_``, ``-``; 1-255 characters.
ExternalId = Annotated[str, BeforeValidator(_external_id)]


def encode_external_id(key: str) -> str:
    """Turn any key into a valid ``external_id``, reversibly.

    The encoding: ASCII letters, digits and ``-`` stay as they are; ``_`` becomes ``__``;
    every other character becomes, for each byte of its UTF-8 form, ``_`` followed by two
    upper-case hex digits (``"a/b"`` -> ``"a_2Fb"``, ``"é"`` -> ``"_C3_A9"``). Keys that
    are already safe and have no ``_`` come out unchanged, so encoding can be adopted
    without renaming existing records.

    Raises ConfigurationError when the key is empty, is not encodable as UTF-8 (lone
    surrogates) or encodes to more than 255 characters (hash long keys instead and keep
    the mapping), so that a returned value is always a valid ``external_id``.
    """
    if not isinstance(key, str) or not key:
        raise ConfigurationError("an external id key must be a non-empty str")
    parts: list[str] = []
    for char in key:
        if char in _PLAIN:
            parts.append(char)
        elif char == "_":
            parts.append("__")
        else:
            try:
                raw = char.encode("utf-8")
            except UnicodeEncodeError:
                raise ConfigurationError(
                    "an external id key must be valid Unicode (it has a lone surrogate)"
                ) from None
            parts.extend(f"_{byte:02X}" for byte in raw)
    encoded = "".join(parts)
    if len(encoded) > _EXTERNAL_ID_MAX:
        raise ConfigurationError(
            f"{_short(key)} encodes to {len(encoded)} characters; external ids allow "
            f"{_EXTERNAL_ID_MAX}",
            hint="use a hash of the key as the external id and keep the key alongside",
        )
    return encoded


def decode_external_id(encoded: str) -> str:
    """Invert :func:`encode_external_id`.

    Only canonical encodings are accepted (upper-case hex, no escaped safe characters),
    so ``encode_external_id(decode_external_id(x)) == x`` whenever decoding succeeds;
    anything else raises ConfigurationError.
    """
    if not isinstance(encoded, str):
        raise ConfigurationError("an encoded external id must be a str")
    out: list[str] = []
    pending = bytearray()
    i, n = 0, len(encoded)
    while i < n:
        char = encoded[i]
        if char == "_" and encoded[i + 1 : i + 2] == "_":
            _flush(pending, out, encoded)
            out.append("_")
            i += 2
        elif char == "_":
            pair = encoded[i + 1 : i + 3]
            if len(pair) != 2 or not set(pair) <= _HEX:
                raise ConfigurationError(
                    f"{_short(encoded)} is not an encoded external id: "
                    f"'_' at {i} must be followed by '_' or two upper-case hex digits"
                )
            pending.append(int(pair, 16))
            i += 3
        elif char in _PLAIN:
            _flush(pending, out, encoded)
            out.append(char)
            i += 1
        else:
            raise ConfigurationError(
                f"{_short(encoded)} is not an encoded external id: {char!r} is not allowed"
            )
    _flush(pending, out, encoded)
    return "".join(out)


def _flush(pending: bytearray, out: list[str], encoded: str) -> None:
    if not pending:
        return
    try:
        text = bytes(pending).decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(
            f"{_short(encoded)} is not an encoded external id: escapes are not UTF-8"
        ) from None
    if any(char in _PLAIN or char == "_" for char in text):
        raise ConfigurationError(
            f"{_short(encoded)} is not a canonical encoded external id: "
            "it escapes a character that needs no escaping"
        )
    out.append(text)
    pending.clear()


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- statuses -----------------------------------------------------------------------------


class InvoiceStatus(StrEnum):
    """Where an invoice stands, in terms common to every ERP."""

    DRAFT = "draft"
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOIDED = "voided"
    UNKNOWN = "unknown"


class PurchaseOrderStatus(StrEnum):
    """NetSuite's purchase order statuses, plus QuickBooks' ``Open`` (its ``Closed`` is
    ``CLOSED``)."""

    PENDING_APPROVAL = "pending_approval"
    REJECTED = "rejected"
    PENDING_RECEIPT = "pending_receipt"
    PARTIALLY_RECEIVED = "partially_received"
    PENDING_BILLING_PARTIALLY_RECEIVED = "pending_billing_partially_received"
    PENDING_BILL = "pending_bill"
    FULLY_BILLED = "fully_billed"
    CLOSED = "closed"
    OPEN = "open"
    UNKNOWN = "unknown"


_PUNCTUATION = re.compile(r"[^a-z0-9]+")


def _open_status(data: Any, enum: type[InvoiceStatus] | type[PurchaseOrderStatus]) -> Any:
    """Map a status string onto the enum, or onto UNKNOWN keeping the raw value."""
    if not isinstance(data, dict) or "status" not in data:
        return data
    raw = data["status"]
    if isinstance(raw, enum) or not isinstance(raw, str):
        return data  # members pass; non-strings are refused by the field itself
    key = _PUNCTUATION.sub("_", raw.lower()).strip("_")
    data = dict(data)
    try:
        data["status"] = enum(key)
    except ValueError:
        data["status"] = enum("unknown")
        if data.get("remote_status") is None:
            data["remote_status"] = raw
    return data


# -- plumbing -----------------------------------------------------------------------------


_MISSING = object()


def _error(loc: tuple[str | int, ...], message: str, value: Any) -> InitErrorDetails:
    return {"type": "value_error", "loc": loc, "input": value, "ctx": {"error": message}}


def _raise(title: str, errors: list[InitErrorDetails]) -> None:
    if errors:
        raise ValidationError.from_exception_data(title, errors)


class _Model(BaseModel):
    """Frozen, strict about unknown fields, and re-validating on copy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update``, a re-validated one (raises ValidationError)."""
        if not update:
            return super().model_copy(deep=deep)
        data: dict[str, Any] = {name: getattr(self, name) for name in type(self).model_fields}
        if getattr(self, "_derived", False) and "amount" not in update:
            # A derived amount follows its quantity and price: derive it again rather
            # than freeze the old value into the copy (where a changed quantity would
            # then contradict it).
            del data["amount"]
        if deep:
            data = copy.deepcopy(data)
        data.update(update)
        return self.model_validate(data)

    def _replace(self, **changes: Any) -> Self:
        """Internal copy without validation, for values a validator already checked."""
        return super().model_copy(update=changes)

    def __eq__(self, other: object) -> bool:
        # Private bookkeeping (whether an amount was derived) is not part of the value.
        if not isinstance(other, BaseModel):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        # Frozen models are usable as set members and dict keys; list fields (lines,
        # applications) hash as tuples so that documents are hashable too.
        return hash((type(self), *(_hashable(v) for v in self.__dict__.values())))


def _hashable(value: object) -> object:
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def _sum(values: list[Decimal]) -> Decimal:
    return functools.reduce(_CTX.add, values, Decimal(0))


def _derive(quantity: Decimal, price: Decimal, places: int) -> Decimal:
    return _quantize(_CTX.multiply(quantity, price), places)


def _check_line_alone(
    amount: Decimal | None, quantity: Decimal | None, price: Decimal | None, price_name: str
) -> tuple[Decimal | None, str | None]:
    """A line's own check, before it knows its currency: (amount, error)."""
    if quantity is None or price is None:
        return amount, None
    if amount is None:
        derived = _derive(quantity, price, _DEFAULT_EXPONENT)
        if derived.copy_abs() >= _LIMIT:
            return None, f"quantity * {price_name} is too large (the limit is 10**18)"
        return derived, None
    if any(amount == _derive(quantity, price, places) for places in _ALL_EXPONENTS):
        return amount, None
    return amount, (
        f"amount {amount} does not equal quantity * {price_name} "
        f"({quantity} * {price} = {_CTX.multiply(quantity, price)}) rounded for any currency"
    )


def _settle_amount(
    amount: Decimal,
    quantity: Decimal | None,
    price: Decimal | None,
    *,
    derived: bool,
    currency: str,
    price_name: str,
) -> tuple[Decimal, str | None]:
    """A line amount in its document's currency: (amount, error)."""
    places = currency_exponent(currency)
    if derived and quantity is not None and price is not None:
        value = _derive(quantity, price, places)
        if value.copy_abs() >= _LIMIT:
            return amount, f"quantity * {price_name} is too large (the limit is 10**18)"
        return value, None
    if _places(amount) > places:
        return amount, _too_precise(amount, currency, places)
    if quantity is not None and price is not None:
        expected = _derive(quantity, price, places)
        if amount != expected:
            return amount, (
                f"amount {amount} does not equal quantity * {price_name} "
                f"({quantity} * {price}) = {expected} in {currency}"
            )
    return _quantize(amount, places), None


def _too_precise(amount: Decimal, currency: str, places: int) -> str:
    return (
        f"{amount} has more decimal places than {currency} allows ({places}); "
        "round it explicitly (erpsync.models.round_money) before building the model"
    )


def _settle_money(
    value: Decimal, currency: str, loc: tuple[str | int, ...], errors: list[InitErrorDetails]
) -> Decimal:
    places = currency_exponent(currency)
    if _places(value) > places:
        errors.append(_error(loc, _too_precise(value, currency, places), str(value)))
        return value
    return _quantize(value, places)


# -- references and parties ---------------------------------------------------------------


class Ref(_Model):
    """A pointer to a record in the ERP: its internal id, and its name when known."""

    id: _Id
    name: str | None = None


class Customer(_Model):
    """A customer; ``name`` is the display name (unique in QuickBooks across customers,
    vendors and employees)."""

    id: _Id | None = None
    external_id: ExternalId | None = None
    name: _Name
    email: str | None = None
    currency: Currency = "USD"
    updated_at: _Timestamp | None = None


class Vendor(_Model):
    """A vendor (supplier); the same shape as a customer."""

    id: _Id | None = None
    external_id: ExternalId | None = None
    name: _Name
    email: str | None = None
    currency: Currency = "USD"
    updated_at: _Timestamp | None = None


class Item(_Model):
    """A product or service; ``kind`` is e.g. ``"service"``, ``"inventory"``,
    ``"non_inventory"``."""

    id: _Id | None = None
    external_id: ExternalId | None = None
    name: _Name
    kind: str | None = None
    updated_at: _Timestamp | None = None


# -- invoices -----------------------------------------------------------------------------


class InvoiceLine(_Model):
    """One line of an invoice.

    ``amount`` may be omitted when ``quantity`` and ``unit_price`` are given: it is then
    derived (see the module docstring for how the invoice's currency refines it). When all
    three are given they must agree. Lines may be negative (discounts); the invoice total
    may not.
    """

    description: str | None = None
    amount: Money | None = None
    quantity: Quantity | None = None
    unit_price: Quantity | None = None
    item: Ref | None = None
    tax_code: Ref | None = None

    _derived: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _derive_amount(self) -> Self:
        if self.amount is None and (self.quantity is None or self.unit_price is None):
            _raise(
                type(self).__name__,
                [_error(("amount",), "give amount, or both quantity and unit_price", None)],
            )
        amount, problem = _check_line_alone(
            self.amount, self.quantity, self.unit_price, "unit_price"
        )
        if problem:
            _raise(type(self).__name__, [_error(("amount",), problem, str(self.amount))])
        if self.amount is None:
            self.__dict__["amount"] = amount
            self._derived = True
        return self


class Invoice(_Model):
    """A sales invoice.

    ``total`` is computed (sum of line amounts plus ``tax``, the tax the ERP added) and is
    part of dumps; validating a dump back checks it against the recomputed value.
    ``balance`` is what remains unpaid, as the ERP reports it.
    """

    id: _Id | None = None
    external_id: ExternalId | None = None
    number: str | None = None
    customer: Ref
    date: _dt.date
    due_date: _dt.date | None = None
    currency: Currency = "USD"
    lines: list[InvoiceLine] = Field(min_length=1)
    memo: str | None = None
    status: InvoiceStatus = InvoiceStatus.OPEN
    remote_status: str | None = None
    tax: Money = Field(default=Decimal(0), ge=0)
    balance: Money | None = Field(default=None, ge=0)
    updated_at: _Timestamp | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> Decimal:
        """Sum of the line amounts plus tax, in the invoice's currency."""
        amounts = [line.amount for line in self.lines if line.amount is not None]
        return _quantize(_sum([*amounts, self.tax]), currency_exponent(self.currency))

    @model_validator(mode="wrap")
    @classmethod
    def _check_stated_total(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        # ``total`` is computed, but it is in every dump; accept it back when it agrees.
        stated: object = _MISSING
        if isinstance(data, dict) and "total" in data:
            data = dict(data)
            stated = data.pop("total")
        invoice = handler(_open_status(data, InvoiceStatus))
        if stated is not _MISSING and isinstance(invoice, Invoice):
            try:
                matches = _money(stated) == invoice.total
            except ValueError as exc:
                raise ValidationError.from_exception_data(
                    cls.__name__, [_error(("total",), str(exc), stated)]
                ) from None
            if not matches:
                raise ValidationError.from_exception_data(
                    cls.__name__,
                    [
                        _error(
                            ("total",),
                            f"stated total {_short(stated)} differs from the lines plus tax "
                            f"({invoice.total})",
                            stated,
                        )
                    ],
                )
        return invoice

    @model_validator(mode="after")
    def _fit_currency(self) -> Self:
        errors: list[InitErrorDetails] = []
        lines: list[InvoiceLine] = []
        for index, line in enumerate(self.lines):
            assert line.amount is not None  # guaranteed by InvoiceLine's validator
            amount, problem = _settle_amount(
                line.amount,
                line.quantity,
                line.unit_price,
                derived=line._derived,
                currency=self.currency,
                price_name="unit_price",
            )
            if problem:
                errors.append(_error(("lines", index, "amount"), problem, str(line.amount)))
            lines.append(line._replace(amount=amount))
        tax = _settle_money(self.tax, self.currency, ("tax",), errors)
        balance = (
            None
            if self.balance is None
            else _settle_money(self.balance, self.currency, ("balance",), errors)
        )
        _raise(type(self).__name__, errors)
        self.__dict__.update(lines=lines, tax=tax, balance=balance)
        total = self.total
        if total < 0:
            errors.append(
                _error(
                    ("total",),
                    f"the total is negative ({total}); issue a credit memo instead",
                    str(total),
                )
            )
        elif total >= _LIMIT:
            errors.append(_error(("total",), "the total is too large", str(total)))
        _raise(type(self).__name__, errors)
        return self


# -- payments -----------------------------------------------------------------------------


class PaymentApplication(_Model):
    """The part of a payment applied to one invoice (by the invoice's ERP id)."""

    invoice_id: _Id
    amount: Money = Field(ge=0)


class Payment(_Model):
    """A customer payment, possibly applied to invoices; what is not applied stays as an
    unapplied credit in the ERP."""

    id: _Id | None = None
    external_id: ExternalId | None = None
    customer: Ref
    date: _dt.date
    amount: Money = Field(gt=0)
    currency: Currency = "USD"
    applications: list[PaymentApplication] = Field(default_factory=list)
    memo: str | None = None
    updated_at: _Timestamp | None = None

    @model_validator(mode="after")
    def _fit_currency(self) -> Self:
        errors: list[InitErrorDetails] = []
        amount = _settle_money(self.amount, self.currency, ("amount",), errors)
        applications = [
            app._replace(
                amount=_settle_money(
                    app.amount, self.currency, ("applications", i, "amount"), errors
                )
            )
            for i, app in enumerate(self.applications)
        ]
        _raise(type(self).__name__, errors)
        applied = _sum([app.amount for app in applications])
        if applied > amount:
            errors.append(
                _error(
                    ("applications",),
                    f"the applications add up to {applied}, more than the payment ({amount})",
                    str(applied),
                )
            )
        _raise(type(self).__name__, errors)
        self.__dict__.update(amount=amount, applications=applications)
        return self


# -- purchasing ---------------------------------------------------------------------------


class PurchaseOrderLine(_Model):
    """One line of a purchase order. ``line_id`` is the ERP's line key (NetSuite's
    ``line``), which receipts refer to. ``amount`` is derived from ``quantity * rate``
    when omitted and a rate is given, as for invoice lines."""

    line_id: _Id | None = None
    item: Ref
    description: str | None = None
    quantity: Quantity = Field(ge=0)
    quantity_received: Quantity = Field(default=Decimal(0), ge=0)
    rate: Quantity | None = None
    amount: Money | None = None
    receivable: bool = True

    _derived: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _derive_amount(self) -> Self:
        amount, problem = _check_line_alone(self.amount, self.quantity, self.rate, "rate")
        if problem:
            _raise(type(self).__name__, [_error(("amount",), problem, str(self.amount))])
        if self.amount is None and amount is not None:
            self.__dict__["amount"] = amount
            self._derived = True
        return self


class PurchaseOrder(_Model):
    """A purchase order to a vendor. ``lines`` may be empty only when the ERP listed the
    order without its lines."""

    id: _Id | None = None
    external_id: ExternalId | None = None
    number: str | None = None
    vendor: Ref
    date: _dt.date
    status: PurchaseOrderStatus
    remote_status: str | None = None
    currency: Currency = "USD"
    lines: list[PurchaseOrderLine] = Field(default_factory=list)
    memo: str | None = None
    updated_at: _Timestamp | None = None

    @model_validator(mode="before")
    @classmethod
    def _status(cls, data: Any) -> Any:
        return _open_status(data, PurchaseOrderStatus)

    @model_validator(mode="after")
    def _fit_currency(self) -> Self:
        errors: list[InitErrorDetails] = []
        lines: list[PurchaseOrderLine] = []
        seen: set[str] = set()
        for index, line in enumerate(self.lines):
            if line.line_id is not None:
                if line.line_id in seen:
                    errors.append(
                        _error(("lines", index, "line_id"), "duplicate line_id", line.line_id)
                    )
                seen.add(line.line_id)
            if line.amount is None:
                lines.append(line)
                continue
            amount, problem = _settle_amount(
                line.amount,
                line.quantity,
                line.rate,
                derived=line._derived,
                currency=self.currency,
                price_name="rate",
            )
            if problem:
                errors.append(_error(("lines", index, "amount"), problem, str(line.amount)))
            lines.append(line._replace(amount=amount))
        _raise(type(self).__name__, errors)
        self.__dict__["lines"] = lines
        return self


class ItemReceiptLine(_Model):
    """A quantity received against one purchase order line (``line_id``)."""

    line_id: _Id
    quantity: Quantity = Field(gt=0)


class ItemReceipt(_Model):
    """Goods received against a purchase order."""

    id: _Id | None = None
    purchase_order_id: _Id
    date: _dt.date
    lines: list[ItemReceiptLine] = Field(min_length=1)
    external_id: ExternalId | None = None

    @model_validator(mode="after")
    def _unique_lines(self) -> Self:
        seen: set[str] = set()
        errors: list[InitErrorDetails] = []
        for index, line in enumerate(self.lines):
            if line.line_id in seen:
                errors.append(
                    _error(("lines", index, "line_id"), "duplicate line_id", line.line_id)
                )
            seen.add(line.line_id)
        _raise(type(self).__name__, errors)
        return self


# -- change tracking ----------------------------------------------------------------------


class DeletedRecord(_Model):
    """A record the ERP reports as deleted (NetSuite ``DeletedRecord``, QuickBooks CDC
    entries with ``status: Deleted``)."""

    record_type: _Name
    id: _Id
    external_id: ExternalId | None = None
    deleted_at: _Timestamp
