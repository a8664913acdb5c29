"""``erpsync store migrate --store DSN``: bring a sync store's schema up to date.

Both stores migrate on open; this command is for operators who prefer to migrate
once, before the workers start (``PostgresSyncStore(dsn, migrate=False)`` then opens
without touching the schema). A ``postgresql://`` DSN selects PostgreSQL; anything
else is an SQLite file path.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from erpsync._redact import redact
from erpsync.errors import ErpSyncError

__all__ = ["add_parser", "run"]

_EXIT_OK = 0
_EXIT_ERROR = 1


def add_parser(subparsers: Any) -> None:
    """Register ``store`` (with its ``migrate`` subcommand) on the CLI's subparsers."""
    store = subparsers.add_parser("store", help="manage the sync store")
    actions = store.add_subparsers(dest="store_command", required=True)
    migrate = actions.add_parser("migrate", help="apply the store's schema migrations")
    migrate.add_argument(
        "--store",
        required=True,
        metavar="DSN",
        help="postgresql://user@host/db, or the path of an SQLite store file",
    )
    migrate.set_defaults(handler=run)


def _is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def run(args: argparse.Namespace) -> int:
    """Migrate the store named by ``args.store``; print the version reached."""
    target: str = args.store
    try:
        if _is_postgres(target):
            from erpsync.store import PostgresSyncStore

            with PostgresSyncStore(target, migrate=False) as pg:
                before = pg.schema_version()
                after = pg.migrate()
        else:
            from erpsync.store.sqlite import SCHEMA_VERSION, SQLiteSyncStore

            with SQLiteSyncStore(target):  # migrates on open
                before, after = -1, SCHEMA_VERSION
    except ErpSyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return _EXIT_ERROR
    where = redact(target)
    if before == after:
        print(f"{where}: schema version {after}, already up to date")
    elif before < 0:
        print(f"{where}: schema version {after}")
    else:
        print(f"{where}: migrated from schema version {before} to {after}")
    return _EXIT_OK
