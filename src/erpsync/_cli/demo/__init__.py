"""``erpsync demo``: the source documents' workflows, end to end, on both emulators.

The runner is :mod:`.runner`; one module per workflow step. The emulators intercept
HTTP with ``responses``, which a bare ``pip install erpsync`` does not bring: without
it the command says which extra to install instead of failing with an import error.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import Any

from erpsync.errors import ConfigurationError

__all__ = ["NEEDS_CONFIG", "add_parser", "run"]

#: The demo reads no setting: a broken configuration file must not stop it.
NEEDS_CONFIG = False


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the source documents' workflows on both emulators, offline",
        description="run the source documents' workflows on both emulators, offline",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="where the store and PDFs go (default: ./erpsync-demo, or a temporary "
        "directory when the current one is not writable)",
    )


def require_emulators() -> None:
    """Raise ConfigurationError naming the extra when the emulators cannot run."""
    if importlib.util.find_spec("responses") is None:
        raise ConfigurationError(
            "the demo runs on erpsync's emulators, which need the 'responses' package; "
            "install the command-line extra: pip install 'erpsync[cli]'"
        )


def run(args: argparse.Namespace) -> int:
    from erpsync._cli.demo.runner import run_demo
    from erpsync._cli.registry import context

    require_emulators()
    return run_demo(context(args).out, Path(args.out) if args.out else None)
