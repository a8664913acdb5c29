"""Per-tenant governance: how many requests may be in flight and how many may start in a
window of time, shrinking when the ERP throttles and growing back when it stops.

* :class:`Limiter` is the protocol the transport depends on (:mod:`erpsync.limits.base`).
* :class:`LocalLimiter` keeps the state in this process: the embedded default, right for
  one worker process per tenant (:mod:`erpsync.limits.local`).
* :func:`limiter_for` hands every backend object of one tenant in this process the same
  limiter.

Everything here is standard library only, so importing it costs nothing.
"""

from __future__ import annotations

from erpsync.limits.base import Limiter, RateLimit
from erpsync.limits.local import LocalLimiter, limiter_for

__all__ = ["Limiter", "LocalLimiter", "RateLimit", "limiter_for"]
