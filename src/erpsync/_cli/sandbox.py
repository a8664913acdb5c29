"""``erpsync sandbox quickbooks|netsuite``: an emulator on a local port.

The sandbox is FakeQuickBooks or FakeNetSuite served over HTTP, so that any client (the
``erpsync`` commands with ``--sandbox-url``, python-quickbooks, Postman, your own code)
can talk to it while it runs. It prints its base URL and the credentials it accepts.
Printing them is the point: they are made up by the emulator, are the same on every
run, and open nothing but this local process.

QuickBooks needs a token pair before any data call, so the sandbox writes the one it
pre-issued into a token file; NetSuite M2M needs a private key, so it writes the
emulator's key (mode 0600). Both go to a fresh temporary directory unless ``--dir`` is
given, and the printed ``export`` lines point the other commands at them.

It binds 127.0.0.1 unless ``--host ADDR`` says otherwise: binding beyond loopback (a
container's ``0.0.0.0``, a LAN address) is an explicit opt-in, warned about when it
starts, because anyone who can reach the port can use the printed credentials.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from erpsync._cli.exits import EXIT_OK
from erpsync._cli.output import Output
from erpsync.errors import ConfigurationError

if TYPE_CHECKING:
    from erpsync.testing.core.emulator import Emulator

__all__ = ["NEEDS_CONFIG", "add_parser", "make_sandbox", "run", "run_sandbox"]

Kind = Literal["quickbooks", "netsuite"]


def make_sandbox(
    kind: Kind,
    *,
    latency_ms: float = 0.0,
    limit: int | None = None,
    rate_limits: bool = False,
    sample_data: bool = False,
) -> Emulator:
    """The emulator a sandbox serves: real clock, fixed latency, a concurrency limit.

    ``limit`` overrides the service's concurrency limit (10 for QuickBooks, 5 for a
    Standard NetSuite account); 0 disables governance entirely. ``rate_limits`` adds
    QuickBooks' request windows (10 a second, 500 a minute, 40 batches a minute), off by
    default as in ``FakeQuickBooks`` (see ``QBO_DEFAULT_GOVERNANCE``: a sequential client
    at loopback speed would reach them, which none does over the internet).
    ``sample_data`` gives the QuickBooks company a sandbox's invoices, payments and
    estimates (``FakeQuickBooks(sample_transactions=True)``).
    """
    from erpsync.testing.core.emulator import Governance

    if latency_ms < 0:
        raise ConfigurationError("--latency must be >= 0 milliseconds")
    if limit is not None and limit < 0:
        raise ConfigurationError("--limit must be >= 0 (0: no limits)")
    if sample_data and kind != "quickbooks":
        raise ConfigurationError("--sample-data is for the QuickBooks sandbox only")
    latency = latency_ms / 1000.0
    if kind == "quickbooks":
        from erpsync.testing.quickbooks import QBO_GOVERNANCE, FakeQuickBooks

        windows = QBO_GOVERNANCE.windows if rate_limits else ()
        qbo_rules = Governance(concurrency=QBO_GOVERNANCE.concurrency, windows=windows)
        if limit == 0:
            qbo_rules = Governance(enabled=False)
        elif limit is not None:
            qbo_rules = Governance(concurrency=limit, windows=windows)
        return FakeQuickBooks(
            latency=latency, governance=qbo_rules, sample_transactions=sample_data
        )
    from erpsync.testing.netsuite import NETSUITE_GOVERNANCE, FakeNetSuite

    ns_rules = NETSUITE_GOVERNANCE
    if limit == 0:
        ns_rules = Governance(enabled=False)
    elif limit is not None:
        ns_rules = Governance(concurrency=limit)
    return FakeNetSuite(latency=latency, governance=ns_rules)


def _quickbooks_lines(fake: Emulator, url: str, workdir: Path) -> list[tuple[str, str]]:
    from erpsync.quickbooks.tokens import FileTokenStore, QuickBooksToken
    from erpsync.testing.quickbooks import FakeQuickBooks

    assert isinstance(fake, FakeQuickBooks)
    creds = fake.credentials
    now = datetime.now(UTC)
    token_path = workdir / "qbo-tokens.json"
    FileTokenStore(token_path).save(
        creds.realm_id,
        QuickBooksToken(
            access_token=creds.access_token,
            refresh_token=creds.refresh_token,
            access_expires_at=fake.access_token_expires_at(creds.access_token)
            or now + timedelta(hours=1),
            refresh_expires_at=now + timedelta(days=100),
            realm_id=creds.realm_id,
            obtained_at=now,
        ),
    )
    return [
        ("ERPSYNC_SANDBOX_URL", url),
        ("ERPSYNC_ERP", "quickbooks"),
        ("ERPSYNC_QBO_CLIENT_ID", creds.client_id),
        ("ERPSYNC_QBO_CLIENT_SECRET", creds.client_secret),
        ("ERPSYNC_QBO_REALM_ID", creds.realm_id),
        ("ERPSYNC_QBO_TOKEN_STORE", str(token_path)),
    ]


def _netsuite_lines(fake: Emulator, url: str, workdir: Path) -> list[tuple[str, str]]:
    from erpsync.testing.netsuite import FakeNetSuite

    assert isinstance(fake, FakeNetSuite)
    creds = fake.credentials
    key_path = workdir / "netsuite-m2m-key.pem"
    key_path.touch(mode=0o600)
    key_path.chmod(0o600)
    key_path.write_text(creds.private_key_pem, encoding="ascii")
    return [
        ("ERPSYNC_SANDBOX_URL", url),
        ("ERPSYNC_ERP", "netsuite"),
        ("ERPSYNC_NS_ACCOUNT_ID", creds.account_id),
        ("ERPSYNC_NS_CONSUMER_KEY", creds.consumer_key),
        ("ERPSYNC_NS_CONSUMER_SECRET", creds.consumer_secret),
        ("ERPSYNC_NS_TOKEN_ID", creds.token_id),
        ("ERPSYNC_NS_TOKEN_SECRET", creds.token_secret),
        ("ERPSYNC_NS_CLIENT_ID", creds.client_id),
        ("ERPSYNC_NS_CERTIFICATE_ID", creds.certificate_id),
        ("ERPSYNC_NS_PRIVATE_KEY", str(key_path)),
    ]


def _quickbooks_facts(fake: Emulator, show_tokens: bool) -> list[tuple[str, str]]:
    """What a client in another language needs besides the variables: the redirect URI
    registered for the app, and (only when asked: they are bearer secrets, even fake
    ones) the pre-issued token pair."""
    from erpsync.testing.quickbooks import FakeQuickBooks

    assert isinstance(fake, FakeQuickBooks)
    creds = fake.credentials
    facts = [("Registered redirect URI", creds.redirect_uri)]
    if show_tokens:
        facts += [("Access token", creds.access_token), ("Refresh token", creds.refresh_token)]
    else:
        facts.append(("Tokens", "in the token file (--show-tokens prints them)"))
    return facts


def run_sandbox(
    out: Output,
    kind: Kind,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    latency_ms: float = 0.0,
    limit: int | None = None,
    rate_limits: bool = False,
    sample_data: bool = False,
    workdir: Path | None = None,
    stop: threading.Event | None = None,
    ready: threading.Event | None = None,
    fake: Emulator | None = None,
    show_tokens: bool = False,
) -> int:
    """Serve until ``stop`` is set or Ctrl-C; ``ready`` is set once the URL is printed.

    ``fake`` replaces the emulator (tests, or a program that prepared data first);
    ``host`` is the address to bind (beyond loopback only on this explicit request).
    """
    from erpsync.transport.urls import is_loopback

    stop = stop if stop is not None else threading.Event()
    emulator = fake
    if emulator is None:
        emulator = make_sandbox(
            kind,
            latency_ms=latency_ms,
            limit=limit,
            rate_limits=rate_limits,
            sample_data=sample_data,
        )
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix=f"erpsync-sandbox-{kind}-"))
    else:
        workdir.mkdir(parents=True, exist_ok=True)
    beyond = not is_loopback(host)
    url = emulator.serve(host=host, port=port, allow_remote=beyond)
    try:
        if beyond:
            out.warn(
                f"Bound to {host}, beyond loopback: anyone who can reach port "
                f"{url.rsplit(':', 1)[-1]} can use this sandbox with the credentials below. "
                "It is a test double, not a hardened server."
            )
        lines = (_quickbooks_lines if kind == "quickbooks" else _netsuite_lines)(
            emulator, url, workdir
        )
        name = "QuickBooks Online" if kind == "quickbooks" else "NetSuite"
        out.heading(f"{name} sandbox running at {url}")
        if beyond:
            out.line(f"Listening on {host} (other machines use this host's address)")
        out.line(
            "These credentials are FAKE: the emulator made them up, they are the same on "
            "every run and open nothing but this local sandbox."
        )
        out.line(f"Files for the credentials: {workdir}")
        if kind == "quickbooks":
            for label, value in _quickbooks_facts(emulator, show_tokens):
                out.line(f"{label}: {value}")
        out.line("Point the erpsync commands at it with:")
        out.line("")
        for name_, value in lines:
            out.line(f"export {name_}={value}")
        out.line("")
        try:  # from the prompt on, Ctrl-C is the way to stop, not an interruption
            out.line("Press Ctrl-C to stop.")
            if ready is not None:
                ready.set()
            while not stop.wait(0.2):
                pass
        except KeyboardInterrupt:
            out.line("")
        out.line("sandbox stopped")
        return EXIT_OK
    finally:
        emulator.shutdown()


NEEDS_CONFIG = False


def add_parser(subparsers: Any) -> None:
    text = "serve an ERP emulator on a local port until Ctrl-C (loopback unless --host)"
    parser = subparsers.add_parser("sandbox", help=text, description=text)
    parser.add_argument("erp_kind", choices=("quickbooks", "netsuite"), metavar="ERP")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADDR",
        help="address to bind (default 127.0.0.1; anything beyond loopback, such as 0.0.0.0 "
        "in a container, is an explicit opt-in and prints a warning)",
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="MS", help="answer delay in milliseconds"
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="concurrent-request limit (default: the ERP's own; 0: no limits)",
    )
    parser.add_argument(
        "--rate-limits",
        action="store_true",
        help="QuickBooks: also enforce Intuit's request windows (10 a second, 500 a minute, "
        "40 batches a minute); off by default, since a sequential client at loopback speed "
        "reaches them and none does over the internet",
    )
    parser.add_argument(
        "--sample-data",
        action="store_true",
        help="QuickBooks: give the company a sandbox's history (8 invoices, paid, partly "
        "paid, open and one overdue, 5 payments and 3 estimates); default: no transactions",
    )
    parser.add_argument(
        "--dir", default=None, metavar="DIR", help="where to write the token file / key"
    )
    parser.add_argument(
        "--show-tokens",
        action="store_true",
        help="QuickBooks: print the access and refresh tokens too (for clients in other "
        "languages; they are secrets, even the emulator's)",
    )


def run(args: argparse.Namespace) -> int:
    from erpsync._cli.demo import require_emulators
    from erpsync._cli.registry import context

    require_emulators()
    return run_sandbox(
        context(args).out,
        args.erp_kind,
        host=args.host,
        port=args.port,
        latency_ms=args.latency,
        limit=args.limit,
        rate_limits=args.rate_limits,
        sample_data=args.sample_data,
        workdir=Path(args.dir) if args.dir else None,
        show_tokens=args.show_tokens,
    )
