"""``erpsync netsuite certificate``: the key and certificate for NetSuite's M2M setup."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["NEEDS_CONFIG", "add_parser", "run"]

NEEDS_CONFIG = False


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "netsuite", help="NetSuite set-up helpers", description="NetSuite set-up helpers"
    )
    commands = parser.add_subparsers(dest="ns_command", metavar="COMMAND", required=True)
    cert = commands.add_parser(
        "certificate", help="make the key and certificate for the OAuth 2.0 M2M setup page"
    )
    cert.add_argument("--out", default=".", metavar="DIR", help="directory for the two files")
    cert.add_argument("--ec", action="store_true", help="EC P-256 key (ES256) instead of RSA")
    cert.add_argument("--name", default="erpsync", help="certificate common name")
    cert.add_argument("--days", type=int, default=730, help="validity, at most 730 days")
    cert.add_argument("--force", action="store_true", help="replace existing files")


def run(args: argparse.Namespace) -> int:
    from erpsync._cli.connect import netsuite_certificate
    from erpsync._cli.registry import context

    return netsuite_certificate(
        context(args).out,
        directory=Path(args.out),
        key_type="ec" if args.ec else "rsa",
        common_name=args.name,
        days=args.days,
        overwrite=args.force,
    )
