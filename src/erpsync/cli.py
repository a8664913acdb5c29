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
from pathlib import Path
from typing import TextIO

from erpsync._cli.config import Config, load_config
from erpsync._cli.exits import EXIT_USAGE, exit_code_for, one_line
from erpsync._cli.output import Output
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


def _common() -> argparse.ArgumentParser:
    """Options every command accepts, before or after its name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", metavar="PATH", default=argparse.SUPPRESS, help="TOML configuration file"
    )
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks and debug logs",
    )
    common.add_argument(
        "--plain",
        action="store_true",
        default=argparse.SUPPRESS,
        help="plain text output (no rich tables or progress bars)",
    )
    return common


def _erp_option(parser: argparse.ArgumentParser, *names: str) -> None:
    parser.add_argument(
        *names,
        dest="erp",
        choices=("quickbooks", "netsuite"),
        default=None,
        help="which ERP (default: the `erp` setting, or the only one configured)",
    )


def _sandbox_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sandbox-url",
        metavar="URL",
        default=None,
        help="talk to a running `erpsync sandbox` at URL instead of the real ERP",
    )


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="erpsync",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_, description=help_, parents=[common])

    demo = command("demo", "run the source documents' workflows on both emulators, offline")
    demo.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="where the store and PDFs go (default: ./erpsync-demo, or a temporary "
        "directory when the current one is not writable)",
    )

    sandbox = command("sandbox", "serve an ERP emulator on a loopback port until Ctrl-C")
    sandbox.add_argument("erp_kind", choices=("quickbooks", "netsuite"), metavar="ERP")
    sandbox.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    sandbox.add_argument(
        "--latency", type=float, default=0.0, metavar="MS", help="answer delay in milliseconds"
    )
    sandbox.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="concurrent-request limit (default: the ERP's own; 0: no limits)",
    )
    sandbox.add_argument(
        "--dir", default=None, metavar="DIR", help="where to write the token file / key"
    )

    connect = command("connect", "connect a QuickBooks company, or check NetSuite credentials")
    connect.add_argument("erp_kind", choices=("quickbooks", "netsuite"), metavar="ERP")
    _sandbox_option(connect)
    connect.add_argument(
        "--port",
        type=int,
        default=None,
        help="QuickBooks: port of the local redirect listener (default 8000)",
    )
    connect.add_argument(
        "--no-browser", action="store_true", help="QuickBooks: print the URL, do not open it"
    )
    connect.add_argument(
        "--timeout", type=float, default=300.0, help="QuickBooks: seconds to wait for consent"
    )
    kind = connect.add_mutually_exclusive_group()
    kind.add_argument(
        "--tba",
        action="store_const",
        const="tba",
        dest="ns_auth",
        help="NetSuite: check token-based authentication",
    )
    kind.add_argument(
        "--m2m",
        action="store_const",
        const="m2m",
        dest="ns_auth",
        help="NetSuite: check OAuth 2.0 machine-to-machine",
    )

    netsuite = command("netsuite", "NetSuite set-up helpers")
    ns_commands = netsuite.add_subparsers(dest="ns_command", metavar="COMMAND", required=True)
    cert = ns_commands.add_parser(
        "certificate",
        help="make the key and certificate for the OAuth 2.0 M2M setup page",
        parents=[common],
    )
    cert.add_argument("--out", default=".", metavar="DIR", help="directory for the two files")
    cert.add_argument("--ec", action="store_true", help="EC P-256 key (ES256) instead of RSA")
    cert.add_argument("--name", default="erpsync", help="certificate common name")
    cert.add_argument("--days", type=int, default=730, help="validity, at most 730 days")
    cert.add_argument("--force", action="store_true", help="replace existing files")

    push = command("push", "create invoices from a CSV or JSON file")
    push.add_argument("what", choices=("invoices",))
    push.add_argument("file", type=Path, metavar="FILE")
    _erp_option(push, "--to", "--erp")
    _sandbox_option(push)
    push.add_argument("--dry-run", action="store_true", help="validate only, send nothing")
    push.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="FILE",
        help="per-row report (default: FILE.report.csv next to the input)",
    )

    imp = command("import", "read customers or outstanding invoices from the ERP")
    imp.add_argument("what", choices=("customers", "invoices"))
    _erp_option(imp, "--from", "--erp")
    _sandbox_option(imp)
    imp.add_argument("--out", type=Path, default=None, metavar="FILE", help=".csv or .json")
    imp.add_argument("--all", action="store_true", help="invoices: paid ones too")

    sync = command("sync", "one accounting sync pass (or one every --every)")
    _erp_option(sync, "--erp")
    _sandbox_option(sync)
    sync.add_argument(
        "--invoices",
        type=Path,
        default=None,
        metavar="FILE",
        help="local invoices (.csv/.json, customers by customer_name)",
    )
    sync.add_argument(
        "--payments",
        type=Path,
        default=None,
        metavar="FILE",
        help="local payments received (.json)",
    )
    sync.add_argument(
        "--pulled",
        type=Path,
        default=None,
        metavar="FILE",
        help="append the ERP's payments here (JSON lines)",
    )
    sync.add_argument("--every", default=None, metavar="DURATION", help="e.g. 1h, 15m")
    sync.add_argument(
        "--create-customers",
        action="store_true",
        help="create customers missing in the ERP (off: they are reported)",
    )
    sync.add_argument(
        "--changed",
        choices=("skip", "update", "report"),
        default="skip",
        help="what to do with invoices changed after their first push",
    )

    runs = command("runs", "the run log (recent syncs, pushes and their errors)")
    runs.add_argument("--limit", type=int, default=20)
    runs.add_argument("--show", type=int, default=None, metavar="ID", help="one run's errors")

    reconcile = command("reconcile", "compare local records with the ERP by external id")
    _erp_option(reconcile, "--erp")
    _sandbox_option(reconcile)
    reconcile.add_argument(
        "--local",
        type=Path,
        default=None,
        metavar="FILE",
        help="local invoices (.csv/.json) to compare (required)",
    )
    reconcile.add_argument(
        "--payments",
        type=Path,
        default=None,
        metavar="FILE",
        help="local payments (.json) to compare too",
    )
    reconcile.add_argument(
        "--ours",
        default=None,
        metavar="PREFIX",
        help="only ERP records whose external id starts with PREFIX",
    )
    reconcile.add_argument(
        "--report", type=Path, default=None, metavar="FILE", help="write the discrepancies as CSV"
    )

    config = command("config", "show the settings")
    config.add_argument("action", choices=("show",))
    return parser


#: Commands that read no setting: they must work whatever the configuration file or the
#: ERPSYNC_* variables say (a broken file must not stop `erpsync demo` on a new machine).
_SELF_CONTAINED = frozenset({"demo", "sandbox", "netsuite"})


def _load(args: argparse.Namespace) -> Config:
    if args.command in _SELF_CONTAINED:
        return Config({})
    overrides: dict[str, str | None] = {"sandbox_url": getattr(args, "sandbox_url", None)}
    return load_config(getattr(args, "config", None), overrides=overrides)


def _run(args: argparse.Namespace, out: Output, config: Config) -> int:
    name = args.command
    if name == "demo":
        from erpsync._cli.demo import run_demo

        return run_demo(out, Path(args.out) if args.out else None)
    if name == "sandbox":
        from erpsync._cli.sandbox import run_sandbox

        return run_sandbox(
            out,
            args.erp_kind,
            port=args.port,
            latency_ms=args.latency,
            limit=args.limit,
            workdir=Path(args.dir) if args.dir else None,
        )
    if name == "connect":
        from erpsync._cli.connect import connect_netsuite, connect_quickbooks

        if args.erp_kind == "quickbooks":
            port = (
                args.port
                if args.port is not None
                else int(config.get("quickbooks.redirect_port") or 8000)
            )
            return connect_quickbooks(
                out, config, port=port, open_browser=not args.no_browser, timeout=args.timeout
            )
        return connect_netsuite(out, config, kind=args.ns_auth)
    if name == "netsuite":
        from erpsync._cli.connect import netsuite_certificate

        return netsuite_certificate(
            out,
            directory=Path(args.out),
            key_type="ec" if args.ec else "rsa",
            common_name=args.name,
            days=args.days,
            overwrite=args.force,
        )
    if name == "config":
        return _config_show(out, config)
    if name == "runs":
        from erpsync._cli.ops import show_runs

        return show_runs(out, config, limit=args.limit, run_id=args.show)
    from erpsync._cli.backends import choose_erp

    erp = choose_erp(config, args.erp)
    if name == "push":
        from erpsync._cli.push import push_invoices

        return push_invoices(
            out, config, source=args.file, erp=erp, dry_run=args.dry_run, report=args.report
        )
    if name == "import":
        from erpsync._cli.ops import import_records

        return import_records(out, config, what=args.what, erp=erp, dest=args.out, all_=args.all)
    if name == "sync":
        from erpsync._cli.ops import sync_once_or_every

        return sync_once_or_every(
            out,
            config,
            erp=erp,
            invoices=args.invoices,
            payments=args.payments,
            pulled=args.pulled,
            every=args.every,
            create_customers=args.create_customers,
            changed=args.changed,
        )
    if name == "reconcile":
        from erpsync._cli.reconcile import reconcile_command

        return reconcile_command(
            out,
            config,
            erp=erp,
            local=args.local,
            payments=args.payments,
            ours=args.ours,
            report=args.report,
        )
    raise AssertionError(f"unhandled command {name!r}")  # argparse allows no other


def _config_show(out: Output, config: Config) -> int:
    out.line(f"Configuration file: {config.path or '(none found)'}")
    out.table(
        "Settings (flags > environment > file > defaults; secrets masked)",
        ["setting", "value", "source", "environment variable"],
        [list(row) for row in config.rows()],
    )
    return 0


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
    parser = build_parser()
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
    out = Output(stdout, stderr, plain=bool(getattr(args, "plain", False)))
    secrets: tuple[str, ...] = ()
    try:
        config = _load(args)
        secrets = config.secret_values()
        for warning in config.warnings:
            out.warn(warning)
        with _logging_to(out.stderr, debug):
            return _run(args, out, config)
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
