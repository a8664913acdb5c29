"""The registry of ``erpsync`` commands: one module per command, plugged in by name.

A command module has two functions:

- ``add_parser(subparsers) -> None`` adds its sub-command(s) to argparse's
  ``add_subparsers()`` action (``subparsers.add_parser(name, help=...)``);
- ``run(args) -> int`` runs it and returns the exit code. ``args.cli`` is the
  :class:`Context` (the :class:`~erpsync._cli.output.Output` and the loaded
  :class:`~erpsync._cli.config.Config`).

and optionally ``NEEDS_CONFIG = False`` when it reads no setting (``demo`` must work
whatever a broken configuration file says). Adding a command is one line in
:data:`COMMANDS`. Every sub-parser is a :class:`CommandParser`, so the options every
command takes (``--config``, ``--debug``, ``--plain``) are accepted after the command's
name too, with no help from the module.
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from erpsync._cli.config import Config
from erpsync._cli.output import Output

__all__ = ["COMMANDS", "CommandParser", "Context", "add_commands", "add_common", "context"]

#: The command modules under ``erpsync._cli``, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "demo",
    "sandbox",
    "connect",
    "netsuite",
    "push",
    "backfill",
    "imports",
    "sync",
    "runs",
    "reconcile",
    "show_config",
    "store",
    "completion",
)


@dataclass(frozen=True)
class Context:
    """What ``main()`` hands every command besides its arguments."""

    out: Output
    config: Config


def context(args: argparse.Namespace) -> Context:
    ctx = getattr(args, "cli", None)
    if not isinstance(ctx, Context):  # a run() called without main()
        return Context(Output(), Config({}))
    return ctx


def add_common(parser: argparse.ArgumentParser) -> None:
    """Options every command accepts, before or after its name.

    ``SUPPRESS`` defaults: a value given before the command name is not reset to the
    default by the sub-parser.
    """
    parser.add_argument(
        "--config", metavar="PATH", default=argparse.SUPPRESS, help="TOML configuration file"
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks and debug logs",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        default=argparse.SUPPRESS,
        help="plain text output (no rich tables or progress bars)",
    )


class CommandParser(argparse.ArgumentParser):
    """A sub-command's parser: the common options added, the description from the help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_common(self)


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"erpsync._cli.{name}")


def add_commands(parser: argparse.ArgumentParser) -> dict[str, ModuleType]:
    """Add every registered command to ``parser``; returns command name -> its module.

    The names a module added are found by comparing the sub-parser table before and
    after its ``add_parser``, so a module may add one command or several.
    """
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=CommandParser
    )
    handlers: dict[str, ModuleType] = {}
    for name in COMMANDS:
        module = _module(name)
        before = set(subparsers.choices)
        module.add_parser(subparsers)
        for added in set(subparsers.choices) - before:
            handlers[added] = module
    return handlers
