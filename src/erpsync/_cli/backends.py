"""A connected backend built from the command's settings.

The command is a thin layer: it builds the same :class:`~erpsync.netsuite.NetSuiteBackend`
or :class:`~erpsync.quickbooks.QuickBooksBackend` a program would, from
:class:`~erpsync._cli.config.Config`. ``sandbox_url`` points every URL (data API, token
endpoint, authorize page) at a running ``erpsync sandbox`` instead of Intuit's or
Oracle's hosts, which is how the commands are exercised offline.

NetSuite authentication is chosen by ``netsuite.auth``: ``tba`` or ``m2m``, or ``auto``
(the default) which uses M2M when its three values are set, else TBA. The JWT algorithm
is ClientCredentialsAuth's own default, the one the private key signs with (PS256 for
RSA, ES256/384/512 for EC curves), unless ``netsuite.algorithm`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from erpsync._cli.config import Config
from erpsync.errors import ConfigurationError

if TYPE_CHECKING:
    from erpsync.backend import AccountingBackend
    from erpsync.netsuite.auth import NetSuiteAuth
    from erpsync.quickbooks.auth import QuickBooksAuth

__all__ = [
    "ERPS",
    "build_backend",
    "choose_erp",
    "connected",
    "netsuite_auth",
    "netsuite_auth_kind",
    "quickbooks_auth",
]

ERPS = ("quickbooks", "netsuite")
Erp = Literal["quickbooks", "netsuite"]

_TBA = (
    "netsuite.consumer_key",
    "netsuite.consumer_secret",
    "netsuite.token_id",
    "netsuite.token_secret",
)
_M2M = ("netsuite.client_id", "netsuite.certificate_id", "netsuite.private_key")


def choose_erp(config: Config, given: str | None) -> Erp:
    """The ERP a command talks to: the flag, else ``erp``, else the only one configured."""
    value = given or config.get("erp")
    if value is None:
        configured = [erp for erp in ERPS if config.has_any(erp)]
        if len(configured) == 1:
            value = configured[0]
        else:
            raise ConfigurationError(
                "which ERP? pass --erp quickbooks|netsuite (or set ERPSYNC_ERP)"
            )
    value = value.strip().lower()
    if value == "quickbooks":
        return "quickbooks"
    if value == "netsuite":
        return "netsuite"
    raise ConfigurationError(f"unknown ERP {value!r}: expected quickbooks or netsuite")


def _sandbox(config: Config) -> str | None:
    url = config.get("sandbox_url")
    return url.rstrip("/") if url else None


def quickbooks_auth(config: Config, *, redirect_uri: str | None = None) -> QuickBooksAuth:
    """The app's OAuth client with the configured token store (a ``FileTokenStore``)."""
    from erpsync.quickbooks.auth import QuickBooksAuth
    from erpsync.quickbooks.tokens import FileTokenStore

    client_id, client_secret = config.require_all(
        "QuickBooks", "quickbooks.client_id", "quickbooks.client_secret"
    )
    environment = _environment(config)
    store = FileTokenStore(Path(config.require("quickbooks.token_store", "QuickBooks")))
    sandbox = _sandbox(config)
    if sandbox:
        return QuickBooksAuth(
            client_id,
            client_secret,
            redirect_uri,
            store,
            environment=environment,
            token_url=f"{sandbox}/oauth2/v1/tokens/bearer",
            revoke_url=f"{sandbox}/v2/oauth2/tokens/revoke",
            authorize_url=f"{sandbox}/connect/oauth2",
        )
    return QuickBooksAuth(client_id, client_secret, redirect_uri, store, environment=environment)


def _environment(config: Config) -> Literal["production", "sandbox"]:
    value = (config.get("quickbooks.environment") or "production").strip().lower()
    if value == "production":
        return "production"
    if value == "sandbox":
        return "sandbox"
    raise ConfigurationError(f"quickbooks.environment must be production or sandbox, not {value!r}")


def netsuite_auth_kind(config: Config, forced: str | None = None) -> Literal["tba", "m2m"]:
    """Which NetSuite authentication the settings call for (``forced`` from a flag)."""
    kind = (forced or config.get("netsuite.auth") or "auto").strip().lower()
    if kind == "auto":
        if not config.missing(*_M2M):
            return "m2m"
        if not config.missing(*_TBA):
            return "tba"
        raise ConfigurationError(
            "NetSuite needs either token-based authentication (set "
            + ", ".join(config.missing(*_TBA) or [s for s in _TBA])
            + ") or OAuth 2.0 M2M (set "
            + ", ".join(config.missing(*_M2M) or [s for s in _M2M])
            + ")"
        )
    if kind == "tba":
        return "tba"
    if kind == "m2m":
        return "m2m"
    raise ConfigurationError(f"netsuite.auth must be tba, m2m or auto, not {kind!r}")


def netsuite_auth(config: Config, kind: Literal["tba", "m2m"]) -> NetSuiteAuth:
    from erpsync.netsuite.auth import ClientCredentialsAuth, TokenBasedAuth

    if kind == "tba":
        values = config.require_all("NetSuite token-based authentication", *_TBA)
        return TokenBasedAuth(*values)
    client_id, certificate_id, private_key = config.require_all("NetSuite OAuth 2.0 M2M", *_M2M)
    # No algorithm set: ClientCredentialsAuth takes the one the key signs with (PS256 for
    # RSA, ES256/384/512 for EC), the same default a program gets.
    algorithm = config.get("netsuite.algorithm") or None
    return ClientCredentialsAuth(client_id, certificate_id, private_key, algorithm=algorithm)


def _pdf_restlet(config: Config) -> tuple[str, str] | None:
    value = config.get("netsuite.pdf_restlet")
    if not value:
        return None
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 2 or not all(parts):
        raise ConfigurationError(
            f"netsuite.pdf_restlet is `script,deploy` (e.g. customscript_pdf,1), not {value!r}"
        )
    return parts[0], parts[1]


def build_backend(
    config: Config, erp: Erp, *, netsuite_kind: str | None = None
) -> AccountingBackend:
    """A backend for ``erp`` from the settings (pointed at the sandbox when set)."""
    sandbox = _sandbox(config)
    if erp == "quickbooks":
        from erpsync.quickbooks.backend import QuickBooksBackend

        realm_id = config.require_all(
            "QuickBooks",
            "quickbooks.client_id",
            "quickbooks.client_secret",
            "quickbooks.realm_id",
        )[2]
        return QuickBooksBackend(
            realm_id, quickbooks_auth(config), _environment(config), base_url=sandbox
        )
    from erpsync.netsuite.backend import NetSuiteBackend

    account_id = config.require("netsuite.account_id", "NetSuite")
    auth = netsuite_auth(config, netsuite_auth_kind(config, netsuite_kind))
    return NetSuiteBackend(account_id, auth, base_url=sandbox, pdf_restlet=_pdf_restlet(config))


@contextmanager
def connected(
    config: Config, erp: Erp, *, netsuite_kind: str | None = None
) -> Iterator[AccountingBackend]:
    """:func:`build_backend` for the length of a command: its connections are closed
    afterwards, however the command ends."""
    backend = build_backend(config, erp, netsuite_kind=netsuite_kind)
    try:
        yield backend
    finally:
        close = getattr(backend, "close", None)
        if callable(close):
            close()
