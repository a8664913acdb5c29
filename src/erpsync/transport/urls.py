"""URL policy, written once: credentials travel over https only.

Every URL erpsync sends a credential to (a data API base URL, a token endpoint, a
NetSuite ``Location``, an OAuth redirect URI) passes :func:`check_url`. Plain http is
accepted for loopback hosts only, so that the emulators served on ``127.0.0.1`` work
while a typo such as ``http://quickbooks.api.intuit.com`` cannot leak a token.
:func:`is_loopback` is the one definition of "loopback" in the code base.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from erpsync._redact import redact
from erpsync.errors import ConfigurationError

__all__ = ["check_url", "is_absolute", "is_loopback"]


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and any loopback address (``127.0.0.0/8``, ``::1``).

    ``host`` is a bare host name or address, as ``urlsplit(url).hostname`` gives it
    (IPv6 without brackets); anything unreadable is not loopback.
    """
    if not isinstance(host, str) or not host:
        return False
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str, *, backend: str | None = None) -> str:
    """``url`` itself when it is https (or http to a loopback host); else a
    :class:`~erpsync.errors.ConfigurationError` naming ``what`` and the (redacted) URL.

    A URL with a user name or password in it is refused too: credentials go in auth.
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"{what} must be a URL string, not {type(url).__name__}")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigurationError(
            f"{what} {redact(url)!r} is not a valid URL ({exc})", backend=backend
        ) from None
    if not host:
        raise ConfigurationError(f"{what} {redact(url)!r} has no host", backend=backend)
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(
            f"{what} must not carry credentials in the URL; pass them as auth instead",
            backend=backend,
        )
    scheme = parts.scheme.lower()
    if scheme == "https":
        return url
    if scheme == "http":
        if is_loopback(host):
            return url
        raise ConfigurationError(
            f"{what} {redact(url)!r} uses plain http; only https is allowed "
            "(http is accepted for loopback hosts such as 127.0.0.1, for the emulators)",
            backend=backend,
        )
    raise ConfigurationError(f"{what} {redact(url)!r} must be an https URL", backend=backend)


def is_absolute(path: str) -> bool:
    """Whether ``path`` is a full URL (scheme and host) rather than a relative path."""
    try:
        parts = urlsplit(path)
    except ValueError:
        return False
    return bool(parts.scheme and parts.netloc)
