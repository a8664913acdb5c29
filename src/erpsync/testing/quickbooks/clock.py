"""How QuickBooks writes time: company-local ISO-8601 with an offset, and epoch ms.

QuickBooks stamps ``MetaData`` and response ``time`` in the company's time zone (the
sandbox companies live in US Pacific time), so clients that compare timestamps as
strings instead of instants break against it; the emulator reproduces that.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo


def _company_zone() -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("America/Los_Angeles")
    except Exception:  # no tz database on this machine: the winter offset is close enough
        return timezone(timedelta(hours=-8))


COMPANY_TZ = _company_zone()


def iso(moment: datetime) -> str:
    """``2026-11-03T09:15:02-08:00``: the form of ``MetaData`` timestamps."""
    return moment.astimezone(COMPANY_TZ).isoformat(timespec="seconds")


def iso_ms(moment: datetime) -> str:
    """``2026-11-03T09:15:02.123-08:00``: the form of a response's ``time``."""
    return moment.astimezone(COMPANY_TZ).isoformat(timespec="milliseconds")


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def local_date(moment: datetime) -> str:
    """The company-local calendar date (the default ``TxnDate``)."""
    return moment.astimezone(COMPANY_TZ).date().isoformat()


def parse_instant(text: str) -> datetime | None:
    """An ISO-8601 date or date-time as an aware instant; naive means company-local."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=COMPANY_TZ)
    return parsed.astimezone(UTC)
