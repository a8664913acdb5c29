"""Per-tenant governance: how many requests may be in flight and how many may start in a
window of time, shrinking when the ERP throttles and growing back when it stops.

* :class:`Limiter` is the protocol the transport depends on (:mod:`erpsync.limits.base`).
* :class:`LocalLimiter` keeps the state in this process: the embedded default, right for
  one worker process per tenant (:mod:`erpsync.limits.local`).
* :class:`RedisLimiter` keeps it in Redis, shared by every process and host of a tenant
  (:mod:`erpsync.limits.redis`, extra ``redis``; ``RedisLimiter.quickbooks(url, realm_id)``,
  ``RedisLimiter.netsuite(url, account_id, concurrency=5)``).
* :func:`limiter_for` hands every backend object of one tenant in this process the same
  limiter.

Everything here is standard library only, so importing it costs nothing; redis-py is
imported when a :class:`RedisLimiter` is first made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from erpsync._lazy import lazy_exports
from erpsync.limits.base import Limiter, RateLimit
from erpsync.limits.local import LocalLimiter, limiter_for

if TYPE_CHECKING:
    from erpsync.limits.redis import RedisLimiter

__all__ = ["Limiter", "LocalLimiter", "RateLimit", "RedisLimiter", "limiter_for"]

__getattr__, __dir__ = lazy_exports(__name__, {"RedisLimiter": "erpsync.limits.redis"}, globals())
