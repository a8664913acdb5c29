"""JSON text with every :class:`~decimal.Decimal` written as an exact number.

``json`` cannot write a Decimal as a number, and going through ``float`` turns ``0.1``
into ``0.1000000000000000055...`` on some paths and loses digits on large amounts. So
request bodies are written by a small emitter of their own: one pass over the body,
Decimals written in positional notation (``format(value, "f")``: ``1E+2`` goes out as
``100``, ``-0.00`` as ``-0.00``), strings through ``json``'s own C string encoder, the
compact separators ``,`` and ``:``, non-ASCII text as is. It costs about what
``json.dumps`` of the same body costs (an earlier version marked each Decimal with a
fresh random string and compiled a regular expression per body, ten times slower).

What it refuses, as a :class:`~erpsync.errors.ConfigurationError` naming the record and
the field: floats (not exact; send Decimal amounts), NaN and infinities, values JSON
has no form for (dates, sets, objects), bodies nested too deep or containing
themselves, and text that cannot be UTF-8 encoded (lone surrogates).
"""

from __future__ import annotations

import json.encoder
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Final

from erpsync.errors import ConfigurationError

__all__ = ["exact_json", "exact_json_bytes"]

#: The C string encoder ``json.dumps(..., ensure_ascii=False)`` uses: quotes, escapes
#: control characters, backslashes and quotes, leaves other text as is.
_encode_str: Final[Callable[[str], str]] = json.encoder.encode_basestring


class _Refused(Exception):
    """Internal: ``value`` cannot be written; ``why`` says why (caught in this module)."""

    def __init__(self, value: object, why: str) -> None:
        super().__init__(why)
        self.value = value
        self.why = why


def exact_json(body: Any, *, backend: str | None = None, record: str | None = None) -> str:
    """The JSON text of ``body``: dicts, lists, tuples, str, int, bool, None and Decimal.

    ``backend`` and ``record`` name what the body is for, in the error raised for a
    value that cannot be sent.
    """
    parts: list[str] = []
    try:
        _emit(body, parts.append)
    except _Refused as refused:
        raise ConfigurationError(
            refused.why, backend=backend, record=record, field=_path_to(body, refused.value)
        ) from None
    except RecursionError:
        raise ConfigurationError(
            "the body is nested too deep or contains itself", backend=backend, record=record
        ) from None
    except ValueError as exc:  # an int with more digits than Python will print
        raise ConfigurationError(
            f"the body holds a value JSON cannot carry ({exc})", backend=backend, record=record
        ) from None
    return "".join(parts)


def exact_json_bytes(body: Any, *, backend: str | None = None, record: str | None = None) -> bytes:
    """:func:`exact_json` as the UTF-8 bytes that go on the wire."""
    text = exact_json(body, backend=backend, record=record)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ConfigurationError(
            f"the body holds text that is not valid Unicode ({exc.reason})",
            backend=backend,
            record=record,
        ) from None


# -- the emitter: exact types first (the fast path), then subclasses and refusals ----------


def _emit(value: Any, out: Callable[[str], None]) -> None:
    kind = type(value)
    if kind is str:
        out(_encode_str(value))
    elif kind is Decimal:
        out(_decimal(value))
    elif kind is dict:
        _emit_object(value, out)
    elif kind is list or kind is tuple:
        _emit_array(value, out)
    elif value is None:
        out("null")
    elif value is True:
        out("true")
    elif value is False:
        out("false")
    elif kind is int:
        out(int.__repr__(value))
    else:
        _emit_other(value, out)


def _emit_object(value: Mapping[Any, Any], out: Callable[[str], None]) -> None:
    if not value:
        out("{}")
        return
    separator = "{"
    for key, item in value.items():
        out(separator)
        out(_encode_str(key if type(key) is str else str(key)))
        out(":")
        _emit(item, out)
        separator = ","
    out("}")


def _emit_array(value: list[Any] | tuple[Any, ...], out: Callable[[str], None]) -> None:
    if not value:
        out("[]")
        return
    separator = "["
    for item in value:
        out(separator)
        _emit(item, out)
        separator = ","
    out("]")


def _emit_other(value: Any, out: Callable[[str], None]) -> None:
    """Subclasses of the JSON types (str and int enums, other mappings), or a refusal."""
    if isinstance(value, Decimal):
        out(_decimal(value))
    elif isinstance(value, float):
        raise _Refused(value, "floats are not exact; send Decimal amounts")
    elif isinstance(value, str):
        out(_encode_str(value))
    elif isinstance(value, bool):  # pragma: no cover - bool cannot be subclassed
        out("true" if value else "false")
    elif isinstance(value, int):
        out(int.__repr__(value))
    elif isinstance(value, Mapping):
        _emit_object(value, out)
    elif isinstance(value, list | tuple):
        _emit_array(value, out)
    else:
        raise _Refused(value, f"a {type(value).__name__} value cannot be written as JSON")


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise _Refused(value, "NaN and infinities cannot be sent")
    return format(value, "f")


# -- naming the field of a refused value (only on the error path) --------------------------


def _path_to(body: Any, target: object) -> str | None:
    """The dotted path (``Line.0.Amount``) of ``target`` inside ``body``, found by identity."""
    for path, value in _walk(body, (), set()):
        if value is target:
            return ".".join(path) or None
    return None


def _walk(
    value: Any, path: tuple[str, ...], seen: set[int]
) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, value
    if isinstance(value, Mapping | list | tuple):
        if id(value) in seen:
            return
        seen.add(id(value))
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for key, item in items:
            yield from _walk(item, (*path, str(key)), seen)
