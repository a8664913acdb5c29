"""The setup half of :class:`~erpsync.limits.RedisLimiter`: reaching Redis, checking its
numbers, and the error a wait that ran out of time ends with. Kept apart so that the
limiter's module holds the admission logic only."""

from __future__ import annotations

import math
from typing import Any, Protocol

from erpsync.errors import ConfigurationError, RateLimitError
from erpsync.limits.base import RateLimit

__all__ = ["connect", "positive", "timed_out"]

_SCHEMES = ("redis://", "rediss://", "unix://")


def connect(url_or_client: object) -> Any:
    """A redis-py client for a URL, or the client given (anything with ``register_script``)."""
    if not isinstance(url_or_client, str):
        if not callable(getattr(url_or_client, "register_script", None)):
            raise ConfigurationError(
                f"RedisLimiter needs a redis:// URL or a redis.Redis client, "
                f"not {type(url_or_client).__name__}"
            )
        return url_or_client
    if not url_or_client.startswith(_SCHEMES):
        raise ConfigurationError(
            "RedisLimiter URL must start with redis://, rediss:// or unix://",
            hint="for example redis://localhost:6379/0",
        )
    try:
        import redis
    except ImportError:
        raise ConfigurationError(
            "RedisLimiter needs redis-py", hint="pip install 'erpsync[redis]'"
        ) from None
    try:
        return redis.Redis.from_url(url_or_client)
    except ValueError as exc:
        # The URL may carry a password; name the problem, not the URL.
        raise ConfigurationError(f"RedisLimiter URL is not usable: {type(exc).__name__}") from None


def positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(f"RedisLimiter {name} must be a positive number, not {value!r}")
    if not math.isfinite(value):
        raise ConfigurationError(f"RedisLimiter {name} must be finite, not {value!r}")
    return float(value)


class _Named(Protocol):
    name: str

    @property
    def max_concurrency(self) -> int | None: ...

    @property
    def rates(self) -> tuple[RateLimit, ...]: ...


def timed_out(limiter: _Named, status: int, waited: float, ahead: int) -> RateLimitError:
    """The error of a wait that ran past its timeout: which limiter, what it was waiting
    for (the ACQUIRE script's status), and the limits it was waiting under."""
    reason = {
        1: "a rate window or a pause after a 429",
        2: f"a place in the concurrency gate of {limiter.max_concurrency}",
        3: f"{ahead} earlier request(s) in the queue",
    }[status]
    rates = ", ".join(f"{r.count} per {r.per:g} s" for r in limiter.rates) or "no rates"
    return RateLimitError(
        f"limiter {limiter.name}: no place after {waited:.1f} s waiting for {reason} "
        f"(concurrency {limiter.max_concurrency}, {rates})",
        hint="raise timeout=, or run fewer workers for this tenant",
    )
