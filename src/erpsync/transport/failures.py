"""Failure classification: what a ``requests`` exception means for retrying.

``requests`` reports a refused connection, a failed name lookup, a reset connection and
a read timeout all as ``ConnectionError`` subclasses wrapped around urllib3 errors
wrapped around OS errors. Whether a write may be repeated depends on exactly which one
it was (did anything leave this machine?), so :func:`classify` walks the whole chain
once, here, for every exchange erpsync makes.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
import urllib3.exceptions

__all__ = ["LOCAL_REQUEST_ERRORS", "NetworkFailure", "classify"]


@dataclass(frozen=True)
class NetworkFailure:
    """What a ``requests`` exception means for retrying."""

    message: str
    #: True when the request provably never left this machine.
    unsent: bool
    #: True for timeouts (which cost more retry budget).
    timeout: bool
    #: False when trying again cannot help (a TLS certificate problem).
    transient: bool = True


#: ``requests`` errors that mean our own URL, headers or body are wrong.
LOCAL_REQUEST_ERRORS: tuple[type[Exception], ...] = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.InvalidJSONError,
    requests.exceptions.URLRequired,
)


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (args, urllib3 ``reason``, cause, context)."""
    seen: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        for inner in (
            getattr(current, "reason", None),
            current.__cause__,
            current.__context__,
            *current.args,
        ):
            if isinstance(inner, BaseException):
                stack.append(inner)
    return seen


def classify(
    exc: requests.RequestException, host: str, connect: float, read: float
) -> NetworkFailure:
    """What ``exc`` (raised sending to ``host``) means: a message, and whether the
    request provably never left, was a timeout, or cannot pass by waiting.

    One branch per failure kind ``requests`` reports.
    ``connect`` and ``read`` are the timeouts in force, for the message.
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return NetworkFailure(
            f"could not connect to {host} within {connect:g} s (connect timeout)",
            unsent=True,
            timeout=True,
        )
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return NetworkFailure(
            f"{host} did not answer within {read:g} s (read timeout)",
            unsent=False,
            timeout=True,
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return NetworkFailure(
            f"the TLS connection to {host} failed (certificate or protocol problem)",
            unsent=True,
            timeout=False,
            transient=False,
        )
    if isinstance(exc, requests.exceptions.ProxyError):
        return NetworkFailure(
            f"could not reach {host} through the configured proxy", unsent=True, timeout=False
        )
    if isinstance(exc, requests.exceptions.ConnectionError):
        return _connection_failure(exc, host)
    if isinstance(
        exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        return NetworkFailure(
            f"the answer from {host} was cut off or could not be decoded",
            unsent=False,
            timeout=False,
        )
    return NetworkFailure(
        f"the request to {host} failed ({type(exc).__name__})", unsent=False, timeout=False
    )


def _connection_failure(exc: requests.exceptions.ConnectionError, host: str) -> NetworkFailure:
    """A ``ConnectionError``, told apart by its causes: refused or unresolved (never
    sent), or timed out or broken after sending (outcome unknown)."""
    causes = _causes(exc)
    if any(isinstance(c, urllib3.exceptions.NameResolutionError) for c in causes):
        return NetworkFailure(f"could not resolve the host name {host}", unsent=True, timeout=False)
    if any(
        isinstance(c, urllib3.exceptions.NewConnectionError | ConnectionRefusedError)
        for c in causes
    ):
        return NetworkFailure(
            f"could not connect to {host} (connection refused or unreachable)",
            unsent=True,
            timeout=False,
        )
    if any(isinstance(c, TimeoutError | urllib3.exceptions.TimeoutError) for c in causes):
        return NetworkFailure(
            f"the connection to {host} timed out before an answer arrived",
            unsent=False,
            timeout=True,
        )
    return NetworkFailure(
        f"the connection to {host} broke before an answer arrived (reset or closed)",
        unsent=False,
        timeout=False,
    )
