"""Money and currency rules: what an amount is, and how a document fits it to its currency.

Money is :class:`~decimal.Decimal`, never float. An amount on its own may have at most
4 decimal places (the finest ISO 4217 exponent); the document holding it narrows that to
its currency's exponent and re-spells it there (``1250`` -> ``1250.00``), never rounding
a value the caller gave. Every computation runs in :data:`_CTX`, wide enough that
products and sums of bounded values are exact. See :mod:`erpsync.models` for the rules
as a whole.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Annotated, Any, Protocol, Self, TypeVar

from pydantic import BeforeValidator
from pydantic_core import InitErrorDetails

from erpsync.models.base import _error, _is_derived, _Private, _short

__all__ = ["Currency", "Money", "Quantity", "currency_exponent", "round_money"]

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
#: Wide enough that products and sums of bounded values are exact. Every computation
#: the models make runs in it, never in the caller's thread context (whose precision or
#: traps a program may have changed).
_CTX = Context(prec=120, rounding=ROUND_HALF_UP)
#: Its operations, bound once: ``_ctx_quantize(value, quantum)`` is
#: ``value.quantize(quantum, context=_CTX)`` without a keyword call per amount.
_ctx_quantize = _CTX.quantize
_ctx_multiply = _CTX.multiply
_ctx_add = _CTX.add
#: ``Decimal("1E-n")`` for every number of places a value is ever fitted to, made once.
_QUANTA: tuple[Decimal, ...] = tuple(Decimal((0, (1,), -n)) for n in range(_MAX_FACTOR_PLACES + 1))

_CURRENCY_RE = re.compile(r"[A-Za-z]{3}")


def currency_exponent(currency: str) -> int:
    """Decimal places the currency allows (2 when ISO 4217 says nothing else)."""
    return _EXPONENTS.get(currency.upper(), _DEFAULT_EXPONENT)


def round_money(value: Decimal, currency: str) -> Decimal:
    """Round HALF-UP to the currency's exponent: the rounding to use when *you* compute an
    amount (a tax, a share of a payout) that a model will then check."""
    # currency_exponent and _quantize, inlined: the wire readers round every amount.
    return _ctx_quantize(value, _QUANTA[_EXPONENTS.get(currency.upper(), _DEFAULT_EXPONENT)])


def _quantize(value: Decimal, places: int) -> Decimal:
    return _ctx_quantize(value, _QUANTA[places])


def _exponent(currency: str) -> int:
    """:func:`currency_exponent` of a code the models already upper-cased."""
    return _EXPONENTS.get(currency, _DEFAULT_EXPONENT)


def _fit(value: Decimal, places: int) -> Decimal | None:
    """``value`` spelt with exactly ``places`` decimals, or None when it has more
    significant decimals than that (trailing zeros do not count: ``1.50`` fits 1).

    A value already spelt so is returned as it is (the common case: no arithmetic).
    Otherwise the quantized value equals the original exactly when nothing was rounded
    off. This is exact for every finite value and, unlike :meth:`Decimal.as_tuple`, does
    not build a tuple of digits per check (the models run it for every amount).
    """
    quantum = _QUANTA[places]
    if value.same_quantum(quantum):
        return value
    fitted = _ctx_quantize(value, quantum)
    return fitted if fitted == value else None


# -- field types --------------------------------------------------------------------------


def _as_decimal(value: object) -> Decimal:
    """Any accepted input (a Decimal subclass, an int, a numeric str) as a Decimal;
    floats and bools are refused: they cannot hold an exact amount."""
    if isinstance(value, bool | float):
        raise ValueError(
            f"a {type(value).__name__} cannot hold an exact amount; pass a Decimal, a str or an int"
        )
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except (InvalidOperation, ValueError):
            raise ValueError(f"{_short(value)} is not a decimal number") from None
    raise ValueError(f"expected a Decimal, a str or an int, got {type(value).__name__}")


def _decimal_field(max_places: int) -> Callable[[object], Decimal]:
    """The validator of a decimal field: exact, finite, below :data:`_LIMIT`, at most
    ``max_places`` decimals. One definition for :data:`Money` and :data:`Quantity`, made
    as a closure so that each value costs one Python call (pydantic calls it for every
    amount, quantity and price of every document)."""
    quantum = _QUANTA[max_places]

    def check(value: object) -> Decimal:
        # A Decimal (the common case) is decided without the type checks of _as_decimal.
        number = value if type(value) is Decimal else _as_decimal(value)
        if not number.is_finite():
            raise ValueError("NaN and infinities are not amounts")
        if number.copy_abs() >= _LIMIT:
            raise ValueError(f"{_short(str(number))} is too large (the limit is 10**18)")
        # _fit, inlined: spelt with at most max_places, or equal to its quantized self.
        if not number.same_quantum(quantum) and _ctx_quantize(number, quantum) != number:
            raise ValueError(f"{_short(str(number))} has more than {max_places} decimal places")
        return number

    return check


_money = _decimal_field(_MAX_MONEY_PLACES)
_factor = _decimal_field(_MAX_FACTOR_PLACES)


def _currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY_RE.fullmatch(value):
        raise ValueError(f"currency must be a 3-letter ISO 4217 code, got {_short(value)}")
    return value.upper()


#: holding it narrows that to its currency's exponent.
Money = Annotated[Decimal, BeforeValidator(_money)]
#: A quantity, unit price or rate: exact and finite, up to 12 decimal places.
Quantity = Annotated[Decimal, BeforeValidator(_factor)]
#: An ISO 4217 code, upper-cased.
Currency = Annotated[str, BeforeValidator(_currency)]


def _sum(values: list[Decimal]) -> Decimal:
    return functools.reduce(_ctx_add, values, _ZERO)


_ZERO = Decimal(0)


def _derive(quantity: Decimal, price: Decimal, places: int) -> Decimal:
    return _ctx_quantize(_ctx_multiply(quantity, price), _QUANTA[places])


#: The exponents a lone line is checked against, the usual one first (most lines match it).
_LINE_EXPONENTS = (_DEFAULT_EXPONENT, *(e for e in _ALL_EXPONENTS if e != _DEFAULT_EXPONENT))


def _check_line_alone(
    amount: Decimal | None, quantity: Decimal | None, price: Decimal | None, price_name: str
) -> tuple[Decimal | None, str | None]:
    """A line's own check, before it knows its currency: (amount, error)."""
    if quantity is None or price is None:
        return amount, None
    product = _ctx_multiply(quantity, price)
    if amount is None:
        derived = _quantize(product, _DEFAULT_EXPONENT)
        if derived.copy_abs() >= _LIMIT:
            return None, f"quantity * {price_name} is too large (the limit is 10**18)"
        return derived, None
    for places in _LINE_EXPONENTS:
        if amount == _quantize(product, places):
            return amount, None
    return amount, (
        f"amount {amount} does not equal quantity * {price_name} "
        f"({quantity} * {price} = {product}) rounded for any currency"
    )


class _Line(_Private, Protocol):
    """What :func:`_settle_lines` reads of a line (invoice and purchase order lines)."""

    @property
    def amount(self) -> Decimal | None: ...

    @property
    def quantity(self) -> Decimal | None: ...

    def _replace(self, **changes: Any) -> Self: ...


_L = TypeVar("_L", bound=_Line)


def _settle_lines(
    lines: list[_L], currency: str, price_name: str, errors: list[InitErrorDetails]
) -> list[_L]:
    """Every line of a document fitted to its currency: the one loop invoices and
    purchase orders share. A derived amount is derived again at the currency's exponent;
    an explicit one must fit it exactly and, with a quantity and price, equal their
    product rounded there. A line whose amount needs no change is kept as it is (no
    copy), and the list itself when no line changed; a line without an amount (a
    purchase order line with neither amount nor rate) is kept too. Problems are added
    to ``errors`` at ``lines.<index>.amount``."""
    places = _exponent(currency)
    quantum = _QUANTA[places]
    settled: list[_L] | None = None
    for index, line in enumerate(lines):
        amount = line.amount
        if amount is None:
            continue
        quantity: Decimal | None = line.quantity
        price: Decimal | None = getattr(line, price_name)
        value: Decimal | None = amount
        problem: str | None = None
        if quantity is not None and price is not None and _is_derived(line):
            if not amount.same_quantum(quantum) or places != _DEFAULT_EXPONENT:
                # (Derived at the usual exponent already, by the line itself or by a
                # document with the same exponent, it would derive to itself.)
                value = _ctx_quantize(_ctx_multiply(quantity, price), quantum)
                if value.copy_abs() >= _LIMIT:
                    problem = f"quantity * {price_name} is too large (the limit is 10**18)"
        else:
            if not amount.same_quantum(quantum):
                value = _ctx_quantize(amount, quantum)
                if value != amount:
                    value, problem = None, _too_precise(amount, currency, places)
            if value is not None and quantity is not None and price is not None:
                expected = _ctx_quantize(_ctx_multiply(quantity, price), quantum)
                if value != expected:
                    problem = (
                        f"amount {amount} does not equal quantity * {price_name} "
                        f"({quantity} * {price}) = {expected} in {currency}"
                    )
        if problem:
            errors.append(_error(("lines", index, "amount"), problem, str(amount)))
        elif value is not amount:
            if settled is None:
                settled = list(lines)
            settled[index] = line._replace(amount=value)
    return lines if settled is None else settled


def _too_precise(amount: Decimal, currency: str, places: int) -> str:
    return (
        f"{amount} has more decimal places than {currency} allows ({places}); "
        "round it explicitly (erpsync.models.round_money) before building the model"
    )


def _settle_money(
    value: Decimal, currency: str, loc: tuple[str | int, ...], errors: list[InitErrorDetails]
) -> Decimal:
    places = _exponent(currency)
    quantum = _QUANTA[places]
    if value.same_quantum(quantum):
        return value
    fitted = _ctx_quantize(value, quantum)
    if fitted != value:
        errors.append(_error(loc, _too_precise(value, currency, places), str(value)))
        return value
    return fitted
