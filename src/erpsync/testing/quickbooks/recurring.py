"""RecurringTransaction: a template that makes its transactions when their day comes.

A template holds one transaction (``{"Invoice": {..., "RecurringInfo": {...}}}``) whose
``RecurringInfo`` says how it recurs, as QuickBooks writes it::

    {"Name": "Monthly rent", "RecurType": "Automated", "Active": true,
     "ScheduleInfo": {"IntervalType": "Monthly", "NumInterval": 1, "DayOfMonth": 1,
                      "StartDate": "2026-01-01", "EndDate": "2026-12-31",
                      "MaxOccurrences": 12}}

``IntervalType`` is Daily, Weekly (``DayOfWeek``), Monthly (``DayOfMonth``, clamped to
the month's last day) or Yearly (``MonthOfYear`` and ``DayOfMonth``), every
``NumInterval`` of them from ``StartDate``; the held transaction is checked by its own
entity's rules when the template is written (a missing customer is a 610 then, not on
the day it recurs); ``EndDate`` and ``MaxOccurrences`` end it.
The server keeps ``NextDate`` and ``PreviousDate``. An ``Automated``, active template
makes its transaction (through the entity's own rules, ``TxnDate`` the scheduled day)
whenever the emulator clock has passed ``NextDate`` in the company's time zone: checked
on every data API request, so advancing a ``FakeClock`` and asking is enough.
``Reminded`` and ``UnScheduled`` templates never make anything (QuickBooks only
reminds a user). A transaction the rules refuse on its day (a customer made inactive
since) is skipped and logged; the schedule moves on.

On the wire a template has no fields of its own: ``Id``, ``SyncToken`` and ``MetaData``
live in the held transaction (``{"RecurringTransaction": {"Bill": {"Id": "7", ...}}}``),
and an update or delete names the template by them (python-quickbooks, written against
the real service, reads ``saved.Bill.Id`` and sends ``{"Bill": {"Id", "SyncToken", ...}}``
back). The books keep them at the top, as for every entity; :func:`from_wire` and
:func:`to_wire` move them across. A query may filter on ``Type``, the held
transaction's entity (``WHERE Type = 'Bill'``).
"""

from __future__ import annotations

import calendar
import copy
import logging
from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from erpsync.testing.quickbooks.catalogue import ENTITIES
from erpsync.testing.quickbooks.clock import local_date
from erpsync.testing.quickbooks.errors import (
    QboFault,
    invalid_value,
    malformed_request,
    required_missing,
)
from erpsync.testing.quickbooks.values import optional_date

if TYPE_CHECKING:
    from erpsync.testing.quickbooks.company import Company

__all__ = ["INTERVALS", "RECUR_TYPES", "from_wire", "recurring", "run_due", "to_wire"]

ENTITY = "RecurringTransaction"
INTERVALS = ("Daily", "Weekly", "Monthly", "Yearly")
RECUR_TYPES = ("Automated", "Reminded", "UnScheduled")
_DAYS = tuple(calendar.day_name)  # Monday ... Sunday
_MONTHS = tuple(calendar.month_name)[1:]  # January ... December
_log = logging.getLogger("erpsync.testing")


#: The server-owned fields a template's wire form carries inside its transaction.
_OWN = ("Id", "SyncToken", "domain", "sparse", "MetaData")


def from_wire(body: Any) -> Any:
    """A request body as the books take it: the held transaction's ``Id`` and
    ``SyncToken`` lifted to the top (a body already naming them there is kept)."""
    if not isinstance(body, dict):
        return body
    held = [name for name in body if name in ENTITIES and name != ENTITY]
    if len(held) != 1 or not isinstance(body[held[0]], dict):
        return body
    inner = dict(body[held[0]])
    out = {k: v for k, v in body.items() if k != held[0]}
    for name in ("Id", "SyncToken"):
        value = inner.pop(name, None)
        if value not in (None, "") and out.get(name) in (None, ""):
            out[name] = value
    for name in ("domain", "sparse", "MetaData"):
        inner.pop(name, None)
    out[held[0]] = inner
    return out


def to_wire(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored template as QuickBooks answers it: only the held transaction, which
    carries the template's ``Id``, ``SyncToken`` and ``MetaData``."""
    entity = next((n for n in stored if n in ENTITIES and n != ENTITY), None)
    if entity is None or not isinstance(stored[entity], dict):
        return stored  # a tombstone ({"status": "Deleted", "Id": ...}) is answered as is
    own = {k: stored[k] for k in _OWN if k in stored}
    return {entity: {**own, **stored[entity]}}


def _held(record: dict[str, Any]) -> str:
    held = [name for name in record if name in ENTITIES and name != ENTITY]
    if len(held) != 1 or not isinstance(record[held[0]], dict):
        raise malformed_request("A RecurringTransaction holds exactly one transaction.")
    return held[0]


def _choice(info: dict[str, Any], name: str, options: tuple[str, ...], default: str) -> str:
    value = str(info.get(name) or default)
    if value not in options:
        raise invalid_value(f"ScheduleInfo.{name}", f"Invalid Enumeration : {value}")
    return value


def _positive_int(info: dict[str, Any], name: str, default: int | None) -> int | None:
    raw = info.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError:
        value = 0
    if value < 1:
        raise invalid_value(f"ScheduleInfo.{name}", f"{name} must be a whole number >= 1.")
    return value


def _occurrences(info: dict[str, Any]) -> Iterator[date]:
    """Every scheduled day from ``StartDate`` (until ``EndDate`` / ``MaxOccurrences``)."""
    start = date.fromisoformat(info["StartDate"])
    end = date.fromisoformat(info["EndDate"]) if info.get("EndDate") else None
    step, kind = int(info["NumInterval"]), info["IntervalType"]
    made = 0
    for k in range(100_000):
        day = _nth(info, kind, start, step * k)
        if day is None or day < start:
            continue
        if (end is not None and day > end) or made >= int(info.get("MaxOccurrences") or 10**9):
            return
        made += 1
        yield day


def _nth(info: dict[str, Any], kind: str, start: date, k: int) -> date | None:
    """The ``k``-th unit (day, week, month, year) after ``start``'s, on the schedule's day."""
    if kind == "Daily":
        return start + timedelta(days=k)
    if kind == "Weekly":
        weekday = _DAYS.index(info.get("DayOfWeek") or _DAYS[start.weekday()])
        return start + timedelta(days=(weekday - start.weekday()) % 7 + 7 * k)
    if kind == "Monthly":
        month0 = start.month - 1 + k
        year, month = start.year + month0 // 12, month0 % 12 + 1
    else:
        month = _MONTHS.index(info.get("MonthOfYear") or _MONTHS[start.month - 1]) + 1
        year = start.year + k
    wanted = int(info.get("DayOfMonth") or start.day)
    return date(year, month, min(wanted, calendar.monthrange(year, month)[1]))


def _schedule(info: Any) -> dict[str, Any]:
    """The ScheduleInfo checked, with the defaults QuickBooks fills in."""
    if not isinstance(info, dict):
        raise required_missing("RecurringInfo.ScheduleInfo")
    out = dict(info)
    out["IntervalType"] = _choice(info, "IntervalType", INTERVALS, "")
    out["NumInterval"] = _positive_int(info, "NumInterval", 1)
    for name in ("MaxOccurrences", "DayOfMonth"):
        value = _positive_int(info, name, None)
        if value is not None:
            out[name] = value
    if info.get("DayOfWeek"):
        out["DayOfWeek"] = _choice(info, "DayOfWeek", _DAYS, "")
    if info.get("MonthOfYear"):
        out["MonthOfYear"] = _choice(info, "MonthOfYear", _MONTHS, "")
    if optional_date(out, "StartDate") is None:
        raise required_missing("RecurringInfo.ScheduleInfo.StartDate")
    optional_date(out, "EndDate")
    out.pop("NextDate", None)
    return out


def _checked(company: Company, entity: str, inner: dict[str, Any]) -> dict[str, Any]:
    """The held transaction as its own entity's rules store it (references must exist,
    lines are numbered, totals computed), but as a template: it takes no document
    number from the company's sequence and has no date of its own unless it was given
    one (each transaction made from it gets its scheduled day)."""
    from erpsync.testing.quickbooks import generic  # generic's hooks import this module

    body = {k: v for k, v in inner.items() if k not in ("RecurringInfo", "RecurDataRef")}
    # A "previous" version makes the rules treat it as an existing document: no number
    # is drawn from the sequence, and nothing has been applied to it.
    checked = generic.normalize(company, entity, body, {"Id": ""}, frozenset())
    for name in ("TxnDate", "DueDate"):
        if inner.get(name) in (None, ""):
            checked.pop(name, None)
    return checked


def _next_date(info: dict[str, Any]) -> str | None:
    previous = info.get("PreviousDate")
    for day in _occurrences(info):
        if previous is None or day.isoformat() > previous:
            return day.isoformat()
    return None


def recurring(
    company: Company, record: dict[str, Any], previous: Any, total: Any
) -> dict[str, Any]:
    """The catalogue hook: check the template and keep its ``NextDate``."""
    entity = _held(record)
    inner = copy.deepcopy(record[entity])
    info = inner.get("RecurringInfo")
    if not isinstance(info, dict):
        raise required_missing(f"{entity}.RecurringInfo")
    inner = {**_checked(company, entity, inner), "RecurringInfo": info}
    info = dict(info)
    info["RecurType"] = _choice(info, "RecurType", RECUR_TYPES, "Automated")
    info["Active"] = info.get("Active", True) not in (False, "false")
    if not str(info.get("Name") or "").strip():
        raise required_missing(f"{entity}.RecurringInfo.Name")
    schedule = _schedule(info.get("ScheduleInfo"))
    schedule.pop("PreviousDate", None)  # the server's: kept from the stored template
    if previous is not None:
        before = previous.get(entity, {}).get("RecurringInfo", {}).get("ScheduleInfo", {})
        if before.get("PreviousDate"):
            schedule["PreviousDate"] = before["PreviousDate"]
    if info["RecurType"] != "UnScheduled":
        next_date = _next_date(schedule)
        if next_date is not None:
            schedule["NextDate"] = next_date
    info["ScheduleInfo"] = schedule
    inner["RecurringInfo"] = info
    record[entity] = inner
    record["Type"] = entity  # what a query's WHERE Type = 'Bill' reads; not answered
    return record


def run_due(company: Company) -> int:
    """Make every transaction whose day has come; how many were made."""
    today = local_date(company.now())
    made = 0
    for template_id in list(company.records[ENTITY]):
        template = company.records[ENTITY].get(template_id)
        while template is not None and _due(template, today):
            made += _make_one(company, template)
            template = company.records[ENTITY].get(template_id)
    return made


def _due(template: dict[str, Any], today: str) -> bool:
    entity = next((n for n in template if n in ENTITIES and n != ENTITY), None)
    info = (template.get(entity) or {}).get("RecurringInfo") if entity else None
    if not isinstance(info, dict) or info.get("RecurType") != "Automated":
        return False
    if info.get("Active", True) is False:
        return False
    next_date = (info.get("ScheduleInfo") or {}).get("NextDate")
    return isinstance(next_date, str) and next_date <= today


def _make_one(company: Company, template: dict[str, Any]) -> int:
    """Make the transaction of ``NextDate`` and move the schedule on (1 if one was made)."""
    entity = _held(template)
    inner = copy.deepcopy(template[entity])
    info = inner.pop("RecurringInfo")
    day = info["ScheduleInfo"]["NextDate"]
    body = {k: v for k, v in inner.items() if k not in ("Id", "SyncToken", "MetaData", "DueDate")}
    body["TxnDate"] = day
    body["RecurDataRef"] = {"value": template["Id"]}
    made = 1
    try:
        company.create(entity, body)
    except QboFault as fault:
        made = 0
        _log.warning(
            "FakeQuickBooks skipped recurring %s %s of %s: %s",
            entity,
            info.get("Name"),
            day,
            fault.detail,
        )
    schedule = {**info["ScheduleInfo"], "PreviousDate": day}
    schedule.pop("NextDate", None)
    next_date = _next_date(schedule)
    if next_date is not None:
        schedule["NextDate"] = next_date
    updated = copy.deepcopy(template)
    updated[entity]["RecurringInfo"] = {**info, "ScheduleInfo": schedule}
    company.replace(ENTITY, template["Id"], updated)
    return made
