"""One options object for everything below a backend: :class:`TransportOptions`.

Before it existed, eight keyword arguments (timeout, retry, session, limiter, clock,
sleep, rng, now) were threaded by hand from a backend to its client to its transport and
to the auth's token endpoint, and each layer had its own defaults. Now a backend merges
what its caller passed into one frozen object, once, at construction (stripe-python's
request options), and hands that object down unchanged: the client, the transport and
the token endpoint all read the same values.

``None`` means "the layer's default": the ERP's timeout, a fresh
:class:`~erpsync.transport.RetryPolicy`, a session of the transport's own, the tenant's
process-wide limiter, the system clock.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from erpsync.errors import ConfigurationError

if TYPE_CHECKING:
    import requests

    from erpsync.limits import Limiter
    from erpsync.transport.retry import RetryPolicy

__all__ = ["Timeout", "TransportOptions", "new_idempotency_key"]


def new_idempotency_key() -> str:
    """A fresh key for one logical write: 32 hex characters.

    It fits QuickBooks' ``requestid`` (at most 50 characters, 36 inside a batch) and
    NetSuite's external ids (letters and digits only). Make it once per write, before
    the first attempt, and reuse it on every retry (stripe-python's idempotency keys,
    which its request options carry).
    """
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Timeout:
    """Seconds to wait for a connection and then for each read of the answer.

    Both are always set: a request without a timeout can hang a sync forever on a
    half-open connection.
    """

    connect: float = 10.0
    read: float = 60.0

    def __post_init__(self) -> None:
        for name in ("connect", "read"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ConfigurationError(f"Timeout {name} must be a positive number, not {value!r}")


@dataclass(frozen=True, kw_only=True)
class TransportOptions:
    """How a backend's requests are sent (see the module docstring).

    ``timeout`` and ``retry`` shape each request; ``session`` is the ``requests``
    session to send through (a caller's session stays the caller's to close);
    ``limiter`` is the tenant's governance (:class:`~erpsync.limits.Limiter`);
    ``clock`` (monotonic seconds), ``sleep`` and ``rng`` drive waits and backoff;
    ``now`` is the wall clock (an aware datetime) for token expiry and look-back checks;
    ``user_agent`` replaces erpsync's own. All are injectable so that tests are instant
    and deterministic.
    """

    timeout: Timeout | None = None
    retry: RetryPolicy | None = None
    session: requests.Session | None = None
    limiter: Limiter | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random | None = None
    now: Callable[[], datetime] | None = None
    user_agent: str | None = None

    def __post_init__(self) -> None:
        for name in ("clock", "sleep"):
            if not callable(getattr(self, name)):
                raise ConfigurationError(f"TransportOptions {name} must be callable")
        if self.now is not None and not callable(self.now):
            raise ConfigurationError("TransportOptions now must be callable")
        if self.rng is not None and not isinstance(self.rng, random.Random):
            raise ConfigurationError("TransportOptions rng must be a random.Random")

    def merged(self, **overrides: Any) -> TransportOptions:
        """A copy with every override that is not None applied.

        Unknown names are a :class:`~erpsync.errors.ConfigurationError`, so that a typo
        in a keyword argument is not silently ignored.
        """
        known = {spec.name for spec in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigurationError(
                f"unknown transport option(s) {', '.join(unknown)}; "
                f"known ones are {', '.join(sorted(known))}"
            )
        changes = {name: value for name, value in overrides.items() if value is not None}
        return replace(self, **changes) if changes else self

    @classmethod
    def of(cls, options: TransportOptions | None = None, **overrides: Any) -> TransportOptions:
        """``options`` (or the defaults) with the keyword arguments merged in, once.

        Backends and clients call this with the legacy keyword arguments they still
        accept (``timeout=``, ``limiter=``...), so both spellings keep working.
        """
        if options is not None and not isinstance(options, TransportOptions):
            raise ConfigurationError(
                f"options must be an erpsync.transport.TransportOptions, not {options!r}"
            )
        return (options or cls()).merged(**overrides)
