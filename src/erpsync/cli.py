"""The ``erpsync`` command: ``erpsync demo``, ``sandbox``, ``connect``, ``push``, ``sync``...

``main(argv) -> int`` parses the arguments (argparse), loads the settings
(flags > ``ERPSYNC_*`` environment > TOML file > defaults, see
:mod:`erpsync._cli.config`), runs one command and turns whatever it raised into one
readable line and an exit code (:mod:`erpsync._cli.exits`): 0 ok, 1 partial failure,
2 usage or configuration error, 3 authentication error, 4 ERP or service error,
70 internal error, 130 interrupted. ``--debug`` adds the traceback and debug logging.

Output goes through :class:`erpsync._cli.output.Output`: rich tables and progress bars
when rich is installed (the ``cli`` extra), plain text otherwise or with ``--plain``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import traceback
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import TextIO

from erpsync import __version__
from erpsync._cli.config import Config, load_config
from erpsync._cli.exits import EXIT_USAGE, exit_code_for, one_line
from erpsync._cli.output import Output
from erpsync._cli.progress import progress_after
from erpsync._cli.registry import Context, add_commands, add_common
from erpsync._redact import redact

__all__ = ["build_parser", "main"]

_DESCRIPTION = (
    "Move invoices, payments, customers and purchase orders between your systems and "
    "NetSuite or QuickBooks Online. `erpsync demo` shows it all offline."
)

_EPILOG = """\
configuration: flags > ERPSYNC_* environment variables > config file > defaults
  (`erpsync config show` lists every setting and where its value came from)
exit codes: 0 ok, 1 partial failure, 2 usage/config error, 3 auth error,
  4 ERP/service error, 70 internal error, 130 interrupted
"""


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: the common options and every registered command."""
    parser, _ = _parser_and_handlers()
    return parser


def _parser_and_handlers() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="erpsync",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common(parser)
    parser.add_argument("--version", action="version", version=f"erpsync {__version__}")
    return parser, add_commands(parser)


def _load(args: argparse.Namespace, module: ModuleType) -> Config:
    """The settings, unless the command reads none (``NEEDS_CONFIG = False``): those must
    work whatever the configuration file or the ERPSYNC_* variables say (a broken file
    must not stop ``erpsync demo`` on a new machine)."""
    if not getattr(module, "NEEDS_CONFIG", True):
        return Config({})
    overrides: dict[str, str | None] = {"sandbox_url": getattr(args, "sandbox_url", None)}
    return load_config(getattr(args, "config", None), overrides=overrides)


@contextlib.contextmanager
def _logging_to(stream: TextIO, debug: bool) -> Iterator[None]:
    """erpsync's log records to stderr while a command runs: everything with --debug,
    else warnings and up.

    Log messages are already redacted by the library. The logger is put back as it was
    afterwards, so that ``main()`` called inside a program (or a test) leaves that
    program's logging alone.
    """
    logger = logging.getLogger("erpsync")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.Formatter("%(levelname)s %(name)s: %(message)s" if debug else "%(message)s")
    )
    handler.setLevel(logging.DEBUG if debug else logging.WARNING)
    previous_level, previous_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)
    logger.propagate = False  # printed once, here, not again by a root handler
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        logger.propagate = previous_propagate


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser, handlers = _parser_and_handlers()
    try:
        # argparse prints help and usage errors itself; send them where we print.
        with (
            contextlib.redirect_stdout(stdout or sys.stdout),
            contextlib.redirect_stderr(stderr or sys.stderr),
        ):
            args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    debug = bool(getattr(args, "debug", False))
    if getattr(args, "json", False):  # stdout holds the JSON document only
        err = stderr or sys.stderr
        out = Output(err, err, plain=True, data=stdout or sys.stdout)
    else:
        out = Output(stdout, stderr, plain=bool(getattr(args, "plain", False)))
    secrets: tuple[str, ...] = ()
    try:
        module = handlers[args.command]
        config = _load(args, module)
        secrets = config.secret_values()
        out.progress_after = progress_after(config.get("progress_after"))
        for warning in config.warnings:
            out.warn(warning)
        args.cli = Context(out, config)
        with _logging_to(out.stderr, debug):
            code: int = module.run(args)
            return code
    except KeyboardInterrupt:
        out.error("interrupted")
        return exit_code_for(KeyboardInterrupt())
    except Exception as exc:  # every failure becomes one line and an exit code
        code = exit_code_for(exc)
        if debug:
            trace = "".join(traceback.format_exception(exc))
            out.stderr.write(redact(trace, *secrets) + "\n")
        message = one_line(exc, secrets)
        if code == 70:
            message = f"internal error: {message} (run with --debug and report it)"
        out.error(message)
        return code


if __name__ == "__main__":  # pragma: no cover - `python -m erpsync.cli`
    sys.exit(main())
