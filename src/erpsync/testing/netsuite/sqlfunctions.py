"""The Oracle functions SuiteQL queries use, on SQLite, in the account's time zone.

NetSuite stores instants and REST shows them in UTC (``2026-11-03T18:15:00Z``), but
SuiteQL shows and reads date-times in the account's time zone (a setting of the
account, ``FakeNetSuite(time_zone=...)``; WIRE.md: unconfirmed for SuiteQL, so it is
a setting, UTC by default). So here:

* ``TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS')`` writes the account's local time;
  a ``lastmodifieddate`` selected as it is shows its local date (``M/D/YYYY``);
* ``TO_TIMESTAMP('2026-11-03 10:15:00', ...)`` and a ``TO_DATE`` with a time read the
  text as local time, so a filter ``lastmodifieddate >= TO_TIMESTAMP(...)`` compares
  instants; a bare date (``TO_DATE('2026-11-03')``, a ``trandate``) has no zone;
* ``SYSDATE`` is now and ``CURRENT_DATE`` the account's local today; ``TRUNC`` of a
  date-time is its local date.

Not reproduced: a bare ``TO_DATE`` compared with a date-time column means UTC midnight
here, where NetSuite would take local midnight.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from erpsync.errors import ConfigurationError
from erpsync.testing.netsuite.db import display_date

__all__ = ["OracleFunctions", "account_zone", "format_value"]

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2})?$")
_STORED = "%Y-%m-%d %H:%M:%S"
_ORACLE_FORMAT = (
    ("YYYY", "%Y"),
    ("HH24", "%H"),
    ("HH12", "%I"),
    ("MONTH", "%B"),
    ("MON", "%b"),
    ("MM", "%m"),
    ("DD", "%d"),
    ("DY", "%a"),
    ("HH", "%I"),
    ("MI", "%M"),
    ("SS", "%S"),
    ("YY", "%y"),
    ("AM", "%p"),
    ("PM", "%p"),
)


def account_zone(name: object) -> tzinfo:
    """The zone an IANA name (``America/Los_Angeles``, ``UTC``) means, or a
    ConfigurationError naming the setting."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"time_zone is an IANA zone name, not {name!r}")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"time_zone {name!r} is not a known IANA zone (e.g. 'America/Los_Angeles')",
            field="time_zone",
        ) from None


def _strftime_format(oracle: str) -> str:
    out, i = [], 0
    upper = oracle.upper()
    while i < len(oracle):
        for token, replacement in _ORACLE_FORMAT:
            if upper.startswith(token, i):
                out.append(replacement)
                i += len(token)
                break
        else:
            out.append(oracle[i].replace("%", "%%"))
            i += 1
    return "".join(out)


def _parse_stored(value: Any) -> datetime | None:
    if isinstance(value, str) and _ISO.match(value):
        return datetime.fromisoformat(value)
    return None


def _has_time(fmt: Any, text: str) -> bool:
    return len(text) > 10 if fmt is None else "HH" in str(fmt).upper()


def format_value(value: Any) -> str:
    """How SuiteQL writes a value: always a string, numbers without a trailing ``.0``."""
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, float):
        as_decimal = Decimal(repr(value))
        if as_decimal == as_decimal.to_integral_value():
            return str(int(as_decimal))
        return format(as_decimal.normalize(), "f")
    return str(value)


def _to_number(value: Any, fmt: Any = None) -> float | None:
    return None if value is None else float(str(value).replace(",", ""))


def _decode(*args: Any) -> Any:
    if not args:
        return None
    subject, rest = args[0], list(args[1:])
    while len(rest) >= 2:
        if rest[0] == subject:
            return rest[1]
        rest = rest[2:]
    return rest[0] if rest else None


class OracleFunctions:
    """The functions of one account's query connection, in its time zone."""

    def __init__(self, now: Callable[[], datetime], time_zone: str = "UTC") -> None:
        self._now = now
        self.zone = account_zone(time_zone)

    def register(self, conn: sqlite3.Connection) -> None:
        conn.create_function("to_date", -1, self.to_date)
        conn.create_function("to_timestamp", -1, self.to_date)
        conn.create_function("to_char", -1, self.to_char)
        conn.create_function("to_number", -1, _to_number)
        conn.create_function("trunc", -1, self.trunc)
        conn.create_function("decode", -1, _decode)
        conn.create_function("nvl", 2, lambda a, b: b if a is None else a)
        conn.create_function("nvl2", 3, lambda a, b, c: c if a is None else b)
        conn.create_function("ns_sysdate", 0, lambda: self._now().strftime(_STORED))
        conn.create_function("ns_current_date", 0, self.current_date)

    # -- the zone ---------------------------------------------------------------------------

    def local(self, stored: datetime) -> datetime:
        """A stored (UTC) instant in the account's zone."""
        return stored.replace(tzinfo=UTC).astimezone(self.zone)

    def stored(self, local: datetime) -> str:
        """A local wall time of the account as the stored (UTC) text."""
        return local.replace(tzinfo=self.zone).astimezone(UTC).strftime(_STORED)

    def display_date(self, stored: str) -> str:
        """A stored date-time as SuiteQL shows it: the local date, ``M/D/YYYY``."""
        moment = _parse_stored(stored)
        if moment is None or len(stored) <= 10:
            return display_date(stored)
        return display_date(self.local(moment).strftime("%Y-%m-%d"))

    def current_date(self) -> str:
        return self._now().astimezone(self.zone).strftime("%Y-%m-%d")

    # -- the SQL functions ----------------------------------------------------------------------

    def to_date(self, value: Any, fmt: Any = None) -> str | None:
        if value is None:
            return None
        text = str(value)
        moment = _parse_stored(text)
        if moment is None:
            try:
                moment = datetime.strptime(text, _strftime_format(str(fmt or "MM/DD/YYYY")))
            except ValueError as exc:
                raise ValueError(f"TO_DATE could not read {text!r} as {fmt!r}") from exc
        if _has_time(fmt, text):
            stored = self.stored(moment)
            # A UTC midnight stays a bare date, so it still compares equal to a trandate.
            return stored[:10] if stored.endswith(" 00:00:00") else stored
        return moment.strftime("%Y-%m-%d")

    def to_char(self, value: Any, fmt: Any = None) -> str | None:
        if value is None:
            return None
        moment = _parse_stored(value)
        if moment is not None:
            if len(str(value)) > 10:  # an instant: shown in the account's zone
                moment = self.local(moment)
            return moment.strftime(_strftime_format(str(fmt or "MM/DD/YYYY")))
        return format_value(value)

    def trunc(self, value: Any, fmt: Any = None) -> Any:
        if isinstance(value, str) and (moment := _parse_stored(value)) is not None:
            if len(value) > 10:
                return self.local(moment).strftime("%Y-%m-%d")
            return value[:10]
        if isinstance(value, int | float):
            return int(value)
        return value
