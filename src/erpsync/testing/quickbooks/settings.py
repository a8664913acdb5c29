"""FakeQuickBooks' settings: Intuit's limits, the hosts it catches, and option checks."""

from __future__ import annotations

from typing import Literal

from erpsync.errors import ConfigurationError
from erpsync.quickbooks import wire
from erpsync.testing.core.governance import Governance, Window

__all__ = [
    "QBO_DEFAULT_GOVERNANCE",
    "QBO_GOVERNANCE",
    "RefreshTokens", "check_grace", "check_memory", "intuit_hosts"]

#: Intuit's published limits per company and app: 10 in flight, 500 a minute, 10 a
#: second, 40 batch requests a minute.
QBO_GOVERNANCE = Governance(
    concurrency=wire.MAX_CONCURRENT_REQUESTS,
    windows=(
        Window(wire.REQUESTS_PER_MINUTE, 60),
        Window(wire.REQUESTS_PER_SECOND, 1),
        Window(wire.BATCHES_PER_MINUTE, 60, scope=wire.BATCH_SCOPE),
    ),
)

#: What FakeQuickBooks enforces unless told otherwise: the 10 requests in flight only.
#: Over the internet a sequential client waits a round trip (a few hundred ms) per
#: request and never reaches Intuit's 10 a second or 500 a minute; against an emulator
#: answering in a millisecond it would, and a suite written against a real sandbox would
#: meet 429s that no real company ever sent it. So the request windows are opt-in
#: (``governance=QBO_GOVERNANCE``), for tests and benchmarks of pacing and throttling;
#: the concurrency limit, which only concurrent clients reach, live or not, stays on.
QBO_DEFAULT_GOVERNANCE = Governance(concurrency=wire.MAX_CONCURRENT_REQUESTS)

_DAY = wire.REFRESH_TOKEN_ROTATION_AGE.total_seconds()

#: How refresh answers treat the refresh token (see ``FakeQuickBooks(refresh_tokens=)``).
RefreshTokens = Literal["rolling", "single_use"]


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def intuit_hosts() -> tuple[str, ...]:
    """Every Intuit host a client talks to (data API, OAuth, discovery, userinfo)."""
    urls = (
        wire.PRODUCTION_URL,
        wire.SANDBOX_URL,
        wire.AUTHORIZE_URL,
        wire.TOKEN_URL,
        wire.REVOKE_URL,
        *wire.DISCOVERY_URLS.values(),
        *wire.USERINFO_URLS.values(),
    )
    return tuple(dict.fromkeys(_origin(url) for url in urls))


def check_grace(refresh_tokens: str, grace: float | None) -> float:
    """The refresh-token grace period the options mean (checked)."""
    if refresh_tokens not in ("rolling", "single_use"):
        raise ConfigurationError(
            f"refresh_tokens must be 'rolling' or 'single_use', not {refresh_tokens!r}"
        )
    if grace is None:
        grace = _DAY if refresh_tokens == "rolling" else 0.0
    if grace < 0:
        raise ConfigurationError("refresh_grace_seconds must be >= 0")
    return float(grace)


def check_memory(requestid_memory: object) -> int:
    if (
        isinstance(requestid_memory, bool)
        or not isinstance(requestid_memory, int)
        or requestid_memory < 0
    ):
        raise ConfigurationError(f"requestid_memory must be an int >= 0, not {requestid_memory!r}")
    return requestid_memory
