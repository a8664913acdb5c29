"""``erpsync config show``: every setting, its value and where the value came from."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "config", help="show the settings", description="show the settings"
    )
    parser.add_argument("action", choices=("show",))


def run(args: argparse.Namespace) -> int:
    from erpsync._cli.registry import context

    out, config = context(args).out, context(args).config
    out.line(f"Configuration file: {config.path or '(none found)'}")
    out.table(
        "Settings (flags > environment > file > defaults; secrets masked)",
        ["setting", "value", "source", "environment variable"],
        [list(row) for row in config.rows()],
    )
    return 0
