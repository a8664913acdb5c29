"""NetSuite query building: SuiteQL text that the values in it cannot break.

SuiteQL (``SELECT ... FROM customer c WHERE c.companyname = 'x'``) has no bind
parameters over REST: values are spliced into the text. A customer called ``Adam's
Candy`` therefore breaks naive formatting, and one called ``x' OR '1'='1`` changes the
query's meaning. :func:`suiteql_literal` is the one place that writes a literal: it
doubles the quote (SuiteQL is Oracle SQL), writes dates with ``TO_DATE`` and refuses
anything it cannot write exactly, so a value can never change the shape of a query.

SuiteQL shows and reads date-times in the account's time zone (a setting of the
account; REST stays UTC): a datetime cursor is written in that zone
(``suiteql_literal(moment, time_zone="America/Los_Angeles")``) and a ``TO_CHAR`` stamp
read back from it (:func:`parse_suiteql_timestamp`). UTC unless told otherwise.

A query cannot page past NetSuite's 100,000-row cap by offset, so long reads page by
key instead: :func:`keyset_page_query` wraps a query as ``SELECT * FROM (query) WHERE
key > last ORDER BY key``, which has no cap and no offset cost. The key column is
checked by :func:`keyset_column` before any text is built.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from erpsync.errors import ConfigurationError
from erpsync.netsuite.errors import BACKEND

__all__ = [
    "account_time_zone",
    "keyset_column",
    "keyset_page_query",
    "parse_suiteql_timestamp",
    "suiteql_literal",
]

_IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_INTEGER: Final = re.compile(r"-?\d+")


def account_time_zone(name: str | tzinfo | None) -> tzinfo:
    """The account time zone a setting names (an IANA name or a tzinfo; None is UTC)."""
    if name is None:
        return UTC
    if isinstance(name, tzinfo):
        return name
    try:
        return ZoneInfo(str(name).strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"time_zone {name!r} is not a known IANA zone (e.g. 'America/Los_Angeles')",
            field="time_zone",
            backend=BACKEND,
        ) from None


def suiteql_literal(value: object, *, time_zone: str | tzinfo | None = None) -> str:
    """``value`` written as a SuiteQL literal: strings quoted with ``'`` doubled.

    Numbers are written as numbers, dates with ``TO_DATE``, datetimes with
    ``TO_TIMESTAMP`` in the account's ``time_zone`` (a naive datetime is taken as UTC),
    ``None`` as ``NULL``. Anything else is refused rather than stringified, so that a
    value can never change the shape of a query.
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "'T'" if value else "'F'"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ConfigurationError(f"{value} cannot be written in SuiteQL")
        return format(value, "f")
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        moment = aware.astimezone(account_time_zone(time_zone))
        stamp = moment.strftime("%Y-%m-%d %H:%M:%S")
        return f"TO_TIMESTAMP('{stamp}', 'YYYY-MM-DD HH24:MI:SS')"
    if isinstance(value, date):
        return f"TO_DATE('{value.isoformat()}', 'YYYY-MM-DD')"
    if isinstance(value, str):
        if "\x00" in value:
            raise ConfigurationError("a SuiteQL string cannot contain a NUL character")
        return "'" + value.replace("'", "''") + "'"
    raise ConfigurationError(f"cannot write a {type(value).__name__} as a SuiteQL literal")


def parse_suiteql_timestamp(text: str, *, time_zone: str | tzinfo | None = None) -> datetime | None:
    """A ``TO_CHAR(..., 'YYYY-MM-DD HH24:MI:SS')`` value, written in the account's
    ``time_zone``, as an aware UTC datetime; None when ``text`` is not one."""
    try:
        local = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    except (ValueError, AttributeError):
        return None
    return local.replace(tzinfo=account_time_zone(time_zone)).astimezone(UTC)


def keyset_column(key: str) -> str:
    """The column a keyset page orders by: ``key``'s last segment, lower case.

    ``key`` may be qualified (``c.id``); the wrapping ``SELECT *`` sees only the column
    name, which NetSuite answers in lower case. Anything but an identifier is refused,
    because the name goes into the text as it is.
    """
    if not isinstance(key, str) or not _IDENTIFIER.match(key):
        raise ConfigurationError(f"{key!r} is not a column name", backend=BACKEND)
    return key.rsplit(".", 1)[-1].lower()


def keyset_page_query(query: str, column: str, after: str | None) -> str:
    """The query for the page of ``query``'s rows whose ``column`` comes after ``after``.

    ``column`` must come from :func:`keyset_column`; ``after`` is the last key seen (as
    NetSuite sent it), or ``None`` for the first page.
    """
    where = f" WHERE {column} > {_key_literal(after)}" if after is not None else ""
    # The column name is checked by keyset_column and the key value goes through a literal.
    return f"SELECT * FROM ({query}){where} ORDER BY {column}"  # noqa: S608


def _key_literal(value: str) -> str:
    """Keys are compared as numbers when they are numbers (internal ids), else as text."""
    if _INTEGER.fullmatch(value):
        return value
    return suiteql_literal(value)
