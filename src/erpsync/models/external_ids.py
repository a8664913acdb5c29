"""The external-id codec: what NetSuite's ``eid:`` accepts, and a reversible encoding of
any other key into that alphabet."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

from erpsync.errors import ConfigurationError
from erpsync.models.base import _short

__all__ = ["ExternalId", "decode_external_id", "encode_external_id"]

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
