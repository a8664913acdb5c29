"""The one log line per HTTP exchange, and the User-Agent every request carries.

Each attempt logs method, path (redacted), outcome, duration, attempt number and request
id, at DEBUG for a success, INFO for a client error and WARNING for throttling, server
errors and network failures, with the same facts as ``extra`` fields for structured
logging. Nothing else is logged: no header, no body, no query value a secret could hide in.
"""

from __future__ import annotations

import functools
import logging

import requests

from erpsync.transport.attempt import Call

__all__ = ["default_user_agent", "level_for", "log_exchange", "logger"]

logger = logging.getLogger("erpsync.http")


def level_for(status: int) -> int:
    """The log level of an answer with HTTP ``status``."""
    if status < 400:
        return logging.DEBUG
    if status < 500 and status != 429:
        return logging.INFO
    return logging.WARNING


def log_exchange(
    backend: str,
    call: Call,
    outcome: str,
    duration_ms: float,
    request_id: str | None,
    level: int,
) -> None:
    """Log one attempt of ``call`` (``outcome``: the status, or the exception's name)."""
    logger.log(
        level,
        "%s %s %s -> %s in %.0f ms (attempt %d, request id %s)",
        backend,
        call.method,
        call.log_path,
        outcome,
        duration_ms,
        call.sends,
        request_id or "-",
        extra={
            "erpsync_backend": backend,
            "erpsync_method": call.method,
            "erpsync_path": call.log_path,
            "erpsync_status": outcome,
            "erpsync_duration_ms": duration_ms,
            "erpsync_attempt": call.sends,
            "erpsync_request_id": request_id,
        },
    )


@functools.cache
def default_user_agent() -> str:
    """``erpsync/<version> python-requests/<version>``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        own = version("erpsync")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        own = "0"
    return f"erpsync/{own} {requests.utils.default_user_agent()}"
