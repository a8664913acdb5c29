"""Reading marketplace jobs and payouts from CSV or JSON files, for ``erpsync backfill``.

Jobs are read row by row, as ``push`` reads invoices, so that one bad row is a line in
the report and not the end of the run: each :class:`ParsedJob` holds the validated
:class:`~erpsync.mapping.xometry.XometryJob` or why it could not be built. Payouts are
read all or nothing (a payout settles several jobs; guessing around a broken one would
put money on the wrong invoices).

CSV, one row per job (header required, column order free)::

    job_id, price, accepted_date, expected_ship_date, ship_date, status, description

and one row per payout, its jobs separated by spaces or semicolons::

    payout_id, date, amount, job_ids

JSON: a list of objects with the same fields (or ``{"jobs": [...]}`` /
``{"payouts": [...]}``), as the models dump them; numbers are read as decimals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from erpsync._cli.files import csv_rows, json_list, read_text, validation_message
from erpsync.errors import ConfigurationError
from erpsync.mapping.xometry import XometryJob, XometryPayout

__all__ = ["JOB_COLUMNS", "PAYOUT_COLUMNS", "ParsedJob", "read_jobs", "read_payouts"]

JOB_COLUMNS = (
    "job_id",
    "price",
    "accepted_date",
    "expected_ship_date",
    "ship_date",
    "status",
    "description",
)
PAYOUT_COLUMNS = ("payout_id", "date", "amount", "job_ids")
_REQUIRED_JOB = ("job_id", "price", "accepted_date", "expected_ship_date", "status")
_SEPARATORS = re.compile(r"[\s;,]+")


@dataclass
class ParsedJob:
    """One job of the input: ``row`` is its line (CSV) or position (JSON)."""

    row: int
    job_id: str | None
    job: XometryJob | None = None
    error: str | None = None


def _records(path: Path, columns: tuple[str, ...], required: tuple[str, ...], key: str) -> Any:
    """(row number, fields) of every record of the file."""
    suffix, text = read_text(path)
    if suffix == ".csv":
        return csv_rows(text, path, columns, required)[1]
    return list(enumerate(json_list(text, path, key), start=1))


def read_jobs(path: Path) -> list[ParsedJob]:
    """Every job of ``path``, each validated or with the reason it is not valid."""
    parsed: list[ParsedJob] = []
    for row, fields in _records(path, JOB_COLUMNS, _REQUIRED_JOB, "jobs"):
        if not isinstance(fields, dict):
            parsed.append(ParsedJob(row, None, error="expected a JSON object for the job"))
            continue
        key = fields.get("job_id")
        item = ParsedJob(row, str(key) if key is not None else None)
        try:
            item.job = XometryJob.model_validate({k: v for k, v in fields.items() if v is not None})
        except ValidationError as exc:
            item.error = validation_message(exc)
        parsed.append(item)
    return parsed


def read_payouts(path: Path) -> list[XometryPayout]:
    """Every payout of ``path``; the first bad one raises ConfigurationError naming the
    file, the row, the payout and the field."""
    payouts: list[XometryPayout] = []
    for row, fields in _records(path, PAYOUT_COLUMNS, PAYOUT_COLUMNS, "payouts"):
        if not isinstance(fields, dict):
            raise ConfigurationError(f"{path}: payout {row}: expected a JSON object")
        data = dict(fields)
        if isinstance(data.get("job_ids"), str):
            data["job_ids"] = tuple(j for j in _SEPARATORS.split(data["job_ids"]) if j)
        try:
            payouts.append(XometryPayout.model_validate(data))
        except ValidationError as exc:
            name = data.get("payout_id") or "no payout id"
            raise ConfigurationError(
                f"{path}: row {row} (payout {name}): {validation_message(exc)}"
            ) from None
    return payouts
