"""``erpsync runs``: the run log ("Recent Syncs") of the sync store."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from erpsync._cli.config import Config
from erpsync._cli.exits import EXIT_OK
from erpsync._cli.options import json_option
from erpsync._cli.output import Output
from erpsync.errors import ConfigurationError

__all__ = ["add_parser", "run", "show_runs"]


def add_parser(subparsers: Any) -> None:
    text = "the run log (recent syncs, pushes and their errors)"
    parser = subparsers.add_parser("runs", help=text, description=text)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--show", type=int, default=None, metavar="ID", help="one run's errors")
    json_option(parser, "the runs")


def run(args: argparse.Namespace) -> int:
    from erpsync._cli.registry import context

    out, config = context(args).out, context(args).config
    return show_runs(out, config, limit=args.limit, run_id=args.show, as_json=args.json)


def _document(run: Any) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind,
        "erp": run.backend,
        "tenant": run.tenant,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "status": run.status,
        "counts": dict(run.counts),
        "errors": [{"record": e.record, "code": e.code, "message": e.message} for e in run.errors],
    }


def show_runs(
    out: Output, config: Config, *, limit: int, run_id: int | None, as_json: bool = False
) -> int:
    from erpsync.store import SQLiteSyncStore

    path = Path(config.require("store", "the run log")).expanduser()
    if not path.exists():
        if as_json:
            out.json({"store": str(path), "runs": []})
        else:
            out.line(f"No runs yet (no sync store at {path}).")
        return EXIT_OK
    with SQLiteSyncStore(path) as store:
        if run_id is not None:
            run = store.get_run(run_id)
            if run is None:
                raise ConfigurationError(f"there is no run {run_id} in {path}")
            runs = [run]
        else:
            runs = store.runs(limit=limit)
    if as_json:
        out.json({"store": str(path), "runs": [_document(r) for r in runs]})
        return EXIT_OK
    out.table(
        f"Recent runs ({path})",
        ["id", "kind", "erp", "tenant", "started (UTC)", "status", "counts", "errors"],
        [
            [
                r.id,
                r.kind,
                r.backend,
                r.tenant,
                f"{r.started_at:%Y-%m-%d %H:%M:%S}",
                r.status,
                ", ".join(f"{k}={v}" for k, v in sorted(r.counts.items()) if v),
                len(r.errors),
            ]
            for r in runs
        ],
    )
    if run_id is not None and runs[0].errors:
        out.table(
            f"Errors of run {run_id}",
            ["record", "code", "message"],
            [[e.record, e.code, e.message] for e in runs[0].errors],
        )
    return EXIT_OK
