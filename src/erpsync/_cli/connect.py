"""``erpsync connect quickbooks|netsuite`` and ``erpsync netsuite certificate``.

QuickBooks: the OAuth 2.0 authorization-code flow from a terminal. A one-shot HTTP
listener on ``127.0.0.1:<port>`` receives Intuit's redirect to
``http://localhost:<port>/callback`` (Intuit allows plain-http ``localhost`` redirect
URIs for development keys; register that exact URI on the app's Keys page), the code is
exchanged and the tokens are saved in the configured token file. The listener accepts
exactly one well-formed callback and answers anything else with 404, so a stray request
from the browser (a favicon) does not end the flow.

NetSuite has no interactive step here: TBA tokens and M2M certificates are created in
NetSuite's UI, so ``connect netsuite`` proves the configured credentials work with the
cheapest call there is (the first customer of a SuiteQL page) and says which kind was
used. ``netsuite certificate`` makes the key and certificate for the M2M setup page.
"""

from __future__ import annotations

import argparse
import http.server
import threading
import time
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from erpsync._cli.backends import connected, netsuite_auth_kind, quickbooks_auth
from erpsync._cli.config import Config
from erpsync._cli.exits import EXIT_OK
from erpsync._cli.options import sandbox_option
from erpsync._cli.output import Output
from erpsync.errors import AuthenticationError, ConfigurationError

__all__ = [
    "CALLBACK_PATH",
    "add_parser",
    "connect_netsuite",
    "connect_quickbooks",
    "netsuite_certificate",
    "run",
]

CALLBACK_PATH = "/callback"

_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>erpsync</title></head>"
    "<body><h1>{title}</h1><p>{text}</p></body></html>"
)


class _Listener(http.server.HTTPServer):
    """Remembers the first request to the callback path."""

    callback_url: str | None = None


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Listener

    def do_GET(self) -> None:
        if urlsplit(self.path).path != CALLBACK_PATH or self.server.callback_url is not None:
            self._answer(404, "Not found", "This is erpsync's one-time OAuth listener.")
            return
        port = self.server.server_address[1]
        self.server.callback_url = f"http://localhost:{port}{self.path}"
        self._answer(
            200,
            "erpsync received the answer",
            "You can close this tab and return to the terminal.",
        )

    def _answer(self, status: int, title: str, text: str) -> None:
        body = _PAGE.format(title=title, text=text).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the query string holds the authorization code."""


def connect_quickbooks(
    out: Output,
    config: Config,
    *,
    port: int,
    open_browser: bool = True,
    timeout: float = 300.0,
    opener: Callable[[str], object] | None = None,
) -> int:
    """Run the consent flow, save the tokens; ``opener`` replaces the web browser."""
    try:
        listener = _Listener(("127.0.0.1", port), _Handler)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot listen on 127.0.0.1:{port} for the OAuth redirect: {exc.strerror or exc}; "
            "choose another --port (and register its redirect URI on the app)"
        ) from None
    try:
        bound = listener.server_address[1]
        redirect_uri = f"http://localhost:{bound}{CALLBACK_PATH}"
        auth = quickbooks_auth(config, redirect_uri=redirect_uri)
        url, state = auth.authorization_url()
        out.line(f"Redirect URI (must be registered on the app's Keys page): {redirect_uri}")
        out.line("Open this URL to connect a QuickBooks company:")
        out.line(url)
        thread = threading.Thread(target=_serve_until_callback, args=(listener, timeout))
        thread.start()
        if opener is not None:
            opener(url)
        elif open_browser:
            webbrowser.open(url)
        out.line(f"Waiting for the redirect on {redirect_uri} (Ctrl-C to give up)...")
        try:
            while thread.is_alive():
                thread.join(0.1)
        except KeyboardInterrupt:
            listener.callback_url = listener.callback_url or ""
            raise
        callback = listener.callback_url
        if not callback:
            raise AuthenticationError(
                f"no redirect arrived within {timeout:.0f} seconds",
                backend="QuickBooks",
                hint="Run `erpsync connect quickbooks` again and finish the consent page",
            )
        code, realm_id, returned_state = auth.parse_redirect(callback)
        token = auth.exchange_code(code, realm_id, returned_state, expected_state=state)
        out.ok(f"Connected QuickBooks company {realm_id}.")
        out.line(f"Tokens saved to {config.get('quickbooks.token_store')} (mode 0600).")
        out.line(
            f"Refresh token valid until {token.refresh_expires_at:%Y-%m-%d}; "
            "erpsync refreshes it as it is used."
        )
        if config.get("quickbooks.realm_id") != realm_id:
            out.line(f"Set ERPSYNC_QBO_REALM_ID={realm_id} to use this company.")
        return EXIT_OK
    finally:
        listener.server_close()


def _serve_until_callback(listener: _Listener, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    listener.timeout = 0.1
    while listener.callback_url is None and time.monotonic() < deadline:
        listener.handle_request()


def connect_netsuite(out: Output, config: Config, *, kind: str | None) -> int:
    """Prove the NetSuite credentials work with one cheap read."""
    chosen = netsuite_auth_kind(config, kind)
    with connected(config, "netsuite", netsuite_kind=chosen) as backend:
        first = next(iter(backend.iter_customers()), None)
    label = "token-based authentication" if chosen == "tba" else "OAuth 2.0 M2M"
    account = config.get("netsuite.account_id")
    out.ok(f"NetSuite account {account} accepted the {label} credentials.")
    if first is not None:
        out.line(f"First customer visible to this role: {first.name} (id {first.id}).")
    else:
        out.line("This role sees no customers yet (the credentials work).")
    if chosen == "tba":
        out.line(
            "Note: Oracle is retiring token-based authentication for new integrations "
            "(none can be created from 2027.1); plan a move to OAuth 2.0 M2M "
            "(`erpsync netsuite certificate`)."
        )
    return EXIT_OK


_NEXT_STEPS = """\
Next steps in NetSuite (as an administrator):
  1. Setup > Company > Enable Features > SuiteCloud: check REST WEB SERVICES and OAUTH 2.0.
  2. Setup > Integration > Manage Integrations > New: name it; under Token-based
     Authentication uncheck TOKEN-BASED AUTHENTICATION and TBA: AUTHORIZATION FLOW;
     under OAuth 2.0 check REST WEB SERVICES and CLIENT CREDENTIALS (MACHINE TO MACHINE)
     GRANT. Save, and copy the CONSUMER KEY (shown once): it is the client id.
  3. Setup > Integration > OAuth 2.0 Client Credentials (M2M) Setup > Create New: choose
     the entity, the role and the application from step 2, and upload
     {cert}
  4. Save, and copy the CERTIFICATE ID NetSuite shows.
  5. Configure erpsync (environment or config file):
       export ERPSYNC_NS_ACCOUNT_ID=<your account id, e.g. 1234567_SB1>
       export ERPSYNC_NS_CLIENT_ID=<consumer key from step 2>
       export ERPSYNC_NS_CERTIFICATE_ID=<certificate id from step 4>
       export ERPSYNC_NS_PRIVATE_KEY={key}
  6. Check it: erpsync connect netsuite --m2m
The certificate expires on {not_after:%Y-%m-%d}: upload a new one before then (NetSuite
accepts several active certificates for one integration, so rotation needs no downtime).
"""


def netsuite_certificate(
    out: Output,
    *,
    directory: Path,
    key_type: Literal["rsa", "ec"] = "rsa",
    common_name: str = "erpsync",
    days: int = 730,
    overwrite: bool = False,
) -> int:
    """Write ``netsuite-m2m-key.pem`` (0600) and ``netsuite-m2m-cert.pem`` to ``directory``."""
    from erpsync.netsuite.auth import generate_certificate

    directory = directory.expanduser()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"cannot create {directory}: {exc.strerror or exc}") from None
    key_path = directory / "netsuite-m2m-key.pem"
    cert_path = directory / "netsuite-m2m-cert.pem"
    generated = generate_certificate(
        common_name,
        key_type=key_type,
        days=days,
        key_path=key_path,
        cert_path=cert_path,
        overwrite=overwrite,
    )
    out.ok(f"Wrote the private key {key_path} (mode 0600: keep it secret, never upload it).")
    out.ok(f"Wrote the certificate {cert_path} (this one goes to NetSuite).")
    out.table(
        "Certificate",
        ["field", "value"],
        [
            ["algorithm", generated.algorithm],
            ["SHA-256 fingerprint", generated.fingerprint],
            ["valid until", f"{generated.not_after:%Y-%m-%d %H:%M} UTC"],
        ],
    )
    out.line(_NEXT_STEPS.format(cert=cert_path, key=key_path, not_after=generated.not_after))
    return EXIT_OK


def add_parser(subparsers: Any) -> None:
    text = "connect a QuickBooks company, or check NetSuite credentials"
    parser = subparsers.add_parser("connect", help=text, description=text)
    parser.add_argument("erp_kind", choices=("quickbooks", "netsuite"), metavar="ERP")
    sandbox_option(parser)
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="QuickBooks: port of the local redirect listener (default 8000)",
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="QuickBooks: print the URL, do not open it"
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="QuickBooks: seconds to wait for consent"
    )
    kind = parser.add_mutually_exclusive_group()
    for flag, name in (("--tba", "token-based authentication"), ("--m2m", "OAuth 2.0 M2M")):
        kind.add_argument(
            flag,
            action="store_const",
            const=flag[2:],
            dest="ns_auth",
            help=f"NetSuite: check {name}",
        )


def run(args: argparse.Namespace) -> int:
    from erpsync._cli.registry import context

    out, config = context(args).out, context(args).config
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
