"""Options several commands share, defined once."""

from __future__ import annotations

import argparse

__all__ = ["erp_option", "json_option", "sandbox_option"]


def erp_option(parser: argparse.ArgumentParser, *names: str) -> None:
    parser.add_argument(
        *(names or ("--erp",)),
        dest="erp",
        choices=("quickbooks", "netsuite"),
        default=None,
        help="which ERP (default: the `erp` setting, or the only one configured)",
    )


def sandbox_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sandbox-url",
        metavar="URL",
        default=None,
        help="talk to a running `erpsync sandbox` at URL instead of the real ERP",
    )


def json_option(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help=f"print {what} as one JSON document on stdout (nothing else goes there)",
    )
