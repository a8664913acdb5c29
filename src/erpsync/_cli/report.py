"""The per-row report of a file command (``push``, ``backfill``) and its summary.

Each input row gets one line in the report (a CSV file next to the input, or ``-`` for
stdout), and the command prints the counts per status and the rows that were not
written, or, with ``--json``, one document holding all of it. The exit code is 1 when
any row failed or was invalid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from erpsync._cli.exits import EXIT_OK, EXIT_PARTIAL
from erpsync._cli.files import STDOUT
from erpsync._cli.output import Output

__all__ = ["PROBLEMS", "counts_of", "report_path", "summarise"]

#: The statuses that make a row a problem (exit code 1).
PROBLEMS = ("failed", "invalid")

_SHOWN = 20


def report_path(source: Path, given: Path | None) -> Path:
    """Where the report goes: ``given``, else next to the input, named after it
    (``orders.csv`` -> ``orders.report.csv``)."""
    return given if given is not None else source.with_name(f"{source.stem}.report.csv")


def counts_of(rows: Sequence[Mapping[str, object]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row["status"])] = counts.get(str(row["status"]), 0) + 1
    return counts


def summarise(
    out: Output,
    rows: Sequence[Mapping[str, object]],
    path: Path,
    *,
    titles: tuple[str, str],
    key: str,
    as_json: bool,
    document: Mapping[str, Any] | None = None,
    kind: Callable[[Mapping[str, object]], str] | None = None,
) -> int:
    """Print the counts and the problem rows (``titles``: of the counts table, of the
    problems table; ``key`` the row field naming the record), or the JSON document
    (``document`` adds fields); return the exit code. ``kind`` names what a row is
    (``job``, ``payout``) when a report mixes several, for the counts table."""
    counts = counts_of(rows)
    problems = [r for r in rows if r["status"] in PROBLEMS]
    code = EXIT_PARTIAL if problems else EXIT_OK
    if as_json:
        out.json({**(document or {}), "counts": counts, "report": str(path), "rows": rows})
        return code
    if kind is None:
        out.table(titles[0], ["status", "rows"], sorted(counts.items()))
    else:
        by_kind: dict[tuple[str, str], int] = {}
        for row in rows:
            group = (kind(row), str(row["status"]))
            by_kind[group] = by_kind.get(group, 0) + 1
        shown = [[what, status, n] for (what, status), n in sorted(by_kind.items())]
        out.table(titles[0], ["record", "status", "rows"], shown)
    if problems:
        out.table(
            titles[1],
            ["row", key.replace("_", " "), "status", "error"],
            [[r["row"], r[key], r["status"], r["error"]] for r in problems[:_SHOWN]],
        )
        if len(problems) > _SHOWN:
            out.line(f"... and {len(problems) - _SHOWN} more in the report")
    if path != STDOUT:
        out.line(f"Report: {path}")
    return code
