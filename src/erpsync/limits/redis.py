"""Governance shared in Redis: one tenant's limits held by every process and host at once.

Both ERPs count per company or account across everything a user runs: eight Celery
workers each with a :class:`~erpsync.limits.LocalLimiter` admit eight times the budget
and draw 429s. :class:`RedisLimiter` keeps the state in Redis instead:

* **a concurrency gate whose slots are leases**: a held slot is a member of a sorted set
  scored by its expiry; a background thread renews the leases this process holds, so a
  worker that dies (SIGKILL, OOM, a lost host) frees its slots when the lease runs out
  instead of leaking them forever;
* **sliding-window logs** with the same guarantee as the local limiter, across every
  process: a request counts in each window from its admission until ``per`` after its
  answer (the service counts it on arrival, in between), so no service window of
  ``per`` seconds sees more than ``count`` however long the network takes, with the
  windows exactly the service's; a request whose worker died counts until its lease
  runs out;
* **the pause and the slow-down after a 429, shared by all**: the ``Retry-After`` is a
  key with a ``PX`` TTL that every admission checks, and the halved rate and concurrency
  live in a hash with a TTL, halved at most once per ``cooldown`` however many workers
  saw the same burst, and grown back additively by successes.

* **first come, first served**: a waiter takes a ticket, and is admitted only when the
  places free now cover it and every older live ticket of its scope, so sixteen threads
  of eight processes contending for one company are admitted in the order they asked,
  each within about its position divided by the rate, instead of whichever polls first
  after a place frees (which let one waiter wait past its claim's lease while later ones
  went through). Tickets are leases too: a waiter that was killed holds the queue up for
  ``ticket_lease`` at most. Requests of different scopes (QuickBooks' batches) queue
  apart, so a batch waiting a minute for the batch window does not hold up the plain
  requests behind it;
* **a bounded wait**: ``timeout`` (per limiter or per :meth:`RedisLimiter.slot`) ends a
  wait with a :class:`~erpsync.errors.RateLimitError` naming the limiter and what it
  was waiting for, measured on the server's clock.

Every decision is one Lua script (:mod:`erpsync.limits._lua`) that reads the server's
``TIME``, so the leases and windows are on one clock whatever the workers' clocks say.

Why not the ``limits`` library's moving window: its Redis script takes the timestamp
from the client (``time.time()``), so clock skew between hosts moves the window; it
checks and takes one window per call, with no way to give an entry back, so a request
that fits the minute window but not the second one would still use up a place in the
first (or race between the two calls); it has no concurrency gate, leases or shared
pause, which must be decided together with the windows; and its windows are whole
seconds, too coarse for time-scaled limits. The gate and all the windows of a request
are decided together, in one round trip, which only one script can do
(docs/scaling.md, "Why RedisLimiter does not use the limits library").

redis-py is imported on first use (``pip install erpsync[redis]``).

Over ~400 lines with its docstrings (about 340 of code): the limiter, its Lua calls
and its waits are one unit; the set-up helpers already live in ``_redis_setup.py``.
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from erpsync.errors import ConfigurationError, ServiceError
from erpsync.limits import _lua
from erpsync.limits._redis_setup import connect, positive, timed_out
from erpsync.limits.base import Configured, RateLimit, check_configuration, rate_floor
from erpsync.limits.local import _MIN_WAIT, _RATE_RECOVERY_STEP

__all__ = ["RedisLimiter"]

_log = logging.getLogger(__name__)

#: An older waiter that has not asked again (or was due) this long ago is late: the
#: waiters behind it may take the free places until it asks again, when it is still
#: first. Longer than a waiter's longest poll (see ``_wait_for``), short enough that a
#: descheduled thread does not leave a freed place empty for long.
_LATE = 0.15


class RedisLimiter(Configured):
    """A concurrency gate plus sliding rate windows held in Redis (see the module docstring).

    ``url`` is a ``redis://`` URL or a ``redis.Redis`` client; ``key`` names the tenant
    (every limiter with the same key and Redis shares one budget). ``lease`` is how long
    a slot (and a request's places in the windows) outlives a worker that died holding
    it; live holders renew it every third of that. ``poll`` is how often a request
    waiting for a place in a full gate asks again.
    ``cooldown`` is the shortest time between two halvings, ``memory`` how long a
    slow-down lasts when no one throttles or recovers it. ``ticket_lease`` is how long a
    waiter's place in the queue outlives a waiter that stopped asking (killed); ``timeout``
    (None: wait as long as it takes) bounds every wait for a place, after which
    :meth:`slot` raises :class:`~erpsync.errors.RateLimitError`. Use :meth:`quickbooks` and
    :meth:`netsuite` for the ERPs' published limits.
    """

    def __init__(
        self,
        url: object,
        *,
        key: str,
        concurrency: int | None = None,
        rates: Sequence[RateLimit] = (),
        adaptive: bool = True,
        lease: float = 30.0,
        poll: float = 0.005,
        cooldown: float = 1.0,
        memory: float = 60.0,
        ticket_lease: float = 2.0,
        timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        name: str = "",
    ) -> None:
        check_configuration("RedisLimiter", concurrency, rates)
        if not isinstance(key, str) or not key.strip() or "}" in key or "{" in key:
            raise ConfigurationError(
                f"RedisLimiter key must be a non-blank str without braces, not {key!r}"
            )
        self._lease_us = round(positive("lease", lease) * 1e6)
        self._poll = positive("poll", poll)
        self._cooldown_us = round(positive("cooldown", cooldown) * 1e6)
        self._memory_ms = max(1, round(positive("memory", memory) * 1000))
        self._ticket_lease = positive("ticket_lease", ticket_lease)
        self._timeout = None if timeout is None else positive("timeout", timeout)
        self._redis = connect(url)
        self._max_concurrency = concurrency
        self._rates = tuple(rates)
        self._adaptive = adaptive
        self._sleep = sleep
        self.key = key
        self.name = name or key
        prefix = f"erpsync:limits:{{{key}}}"
        self._prefix = prefix
        self._slots, self._pause, self._adapt = (
            f"{prefix}:slots",
            f"{prefix}:pause",
            f"{prefix}:adapt",
        )
        self._windows = [
            (rate, f"{prefix}:window:{rate.scope or '*'}:{rate.count}:{round(rate.per * 1e6)}")
            for rate in self._rates
        ]
        self._min_rate = rate_floor(self._rates)
        self._scripts = {
            name: self._redis.register_script(text)
            for name, text in (
                ("acquire", _lua.ACQUIRE),
                ("leave", _lua.LEAVE),
                ("renew", _lua.RENEW),
                ("release", _lua.RELEASE),
                ("throttle", _lua.THROTTLE),
                ("recover", _lua.RECOVER),
            )
        }
        self._lock = threading.Lock()
        self._held: set[str] = set()
        self._renewer: threading.Thread | None = None
        self._pid = os.getpid()
        self._degraded = False  # last seen from Redis: below the configuration?
        self._rng = random.Random()

    # -- the ERPs' published limits ---------------------------------------------------------

    @classmethod
    def quickbooks(cls, url: object, realm_id: str, **options: Any) -> RedisLimiter:
        """One QuickBooks company's limits, shared by every worker: 10 requests in flight,
        500 a minute, 10 a second and 40 batch requests a minute (per company and app)."""
        from erpsync.quickbooks import wire

        realm = str(realm_id).strip()
        if not realm:
            raise ConfigurationError("RedisLimiter.quickbooks needs a realm_id")
        options.setdefault("name", f"quickbooks:{realm}")
        return cls(
            url,
            key=f"quickbooks:{realm}",
            concurrency=wire.MAX_CONCURRENT_REQUESTS,
            rates=[
                RateLimit(wire.REQUESTS_PER_MINUTE, 60),
                RateLimit(wire.REQUESTS_PER_SECOND, 1),
                RateLimit(wire.BATCHES_PER_MINUTE, 60, scope=wire.BATCH_SCOPE),
            ],
            **options,
        )

    @classmethod
    def netsuite(
        cls,
        url: object,
        account_id: str,
        concurrency: int | str = 5,
        *,
        suitecloud_plus: int = 0,
        **options: Any,
    ) -> RedisLimiter:
        """One NetSuite account's concurrency limit, shared by SOAP, REST and RESTlets of
        every worker: ``concurrency`` places, or the tier's (``"standard"`` 5,
        ``"premium"`` 15, ``"enterprise"``/``"ultimate"`` 20) plus 10 per SuiteCloud Plus
        licence. NetSuite publishes no request-rate window."""
        from erpsync.netsuite import wire

        if isinstance(concurrency, str):
            tier = concurrency.strip().lower()
            if tier not in wire.CONCURRENCY_BY_TIER:
                raise ConfigurationError(
                    f"unknown NetSuite service tier {concurrency!r}; "
                    f"one of {', '.join(sorted(wire.CONCURRENCY_BY_TIER))}"
                )
            concurrency = wire.CONCURRENCY_BY_TIER[tier]
        if (
            isinstance(suitecloud_plus, bool)
            or not isinstance(suitecloud_plus, int)
            or suitecloud_plus < 0
        ):
            raise ConfigurationError(
                f"suitecloud_plus must be a count of licences, not {suitecloud_plus!r}"
            )
        if isinstance(concurrency, int) and not isinstance(concurrency, bool):
            concurrency += suitecloud_plus * wire.CONCURRENCY_PER_SUITECLOUD_PLUS
        account = wire.realm_of(str(account_id))
        if not account:
            raise ConfigurationError("RedisLimiter.netsuite needs an account_id")
        options.setdefault("name", f"netsuite:{account}")
        return cls(url, key=f"netsuite:{account}", concurrency=concurrency, **options)

    # -- read-only state ----------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """How many slots every process of the tenant holds right now (leases not expired)."""
        now = self._call(lambda: self._redis.time())
        cutoff = int(now[0]) * 1_000_000 + int(now[1])
        return int(self._call(lambda: self._redis.zcount(self._slots, f"({cutoff}", "+inf")))

    @property
    def waiting(self) -> int:
        """How many requests of every process wait for a place right now (live tickets of
        the unscoped queue and of the scopes this limiter's rates name)."""
        now = self._call(lambda: self._redis.time())
        cutoff = f"({int(now[0]) * 1_000_000 + int(now[1])}"
        scopes = sorted({"*", *(rate.scope for rate in self._rates if rate.scope)})

        def count() -> int:
            alive = (f"{self._prefix}:alive:{scope}" for scope in scopes)
            return sum(int(self._redis.zcount(key, cutoff, "+inf")) for key in alive)

        return int(self._call(count))

    # -- admission ----------------------------------------------------------------------------

    @contextmanager
    def slot(self, scope: str | None = None, *, timeout: float | None = None) -> Iterator[None]:
        """Hold a place for one request; blocks until the gate and every window admit it,
        in arrival order, for at most ``timeout`` seconds (default: the limiter's)."""
        limit = self._timeout if timeout is None else positive("timeout", timeout)
        token = self._acquire(scope, limit)
        try:
            yield
        finally:
            self._release(token)

    def _acquire(self, scope: str | None, timeout: float | None) -> str:
        """Ask until admitted: the head of the queue waits for the gate and the windows,
        the others for the waiters in front of them (see the module docstring)."""
        token = uuid.uuid4().hex
        windows = [(rate, key) for rate, key in self._windows if rate.applies_to(scope)]
        queue = [f"{self._prefix}:{part}:{scope or '*'}" for part in ("queue", "alive")]
        keys = [self._slots, self._pause, self._adapt, *queue, f"{self._prefix}:tickets"]
        keys += [key for _, key in windows]
        args: list[object] = [token, self._lease_us, self._max_concurrency or 0, 0]
        args += [round(self._ticket_lease * 1e6), round(_LATE * 1e6)]
        for rate, _ in windows:
            args += [rate.count, round(rate.per * 1e6)]
        arrived: int | None = None
        try:
            while True:
                answer = self._call(lambda: self._scripts["acquire"](keys=keys, args=args))
                status, wait_us, rate_factor, level, now, ticket, ahead = answer
                arrived = int(now) if arrived is None else arrived
                args[3] = int(ticket)  # keep the place if the ticket lease ran out meanwhile
                self._note_state(float(rate_factor), float(level))
                if int(status) == 0:
                    self._hold(token)
                    self._admitted(scope, int(ticket), arrived, int(now))
                    return token
                wait = self._wait_for(int(status), float(wait_us) / 1e6, int(ahead))
                waited = (int(now) - arrived) / 1e6
                if timeout is not None and waited + wait > timeout:
                    if waited >= timeout:
                        raise timed_out(self, int(status), waited, int(ahead))
                    wait = timeout - waited
                self._sleep(max(wait, _MIN_WAIT))
        except BaseException:
            self._leave(keys[3:5], token)
            raise

    def _wait_for(self, status: int, wait: float, ahead: int) -> float:
        """How long to sleep before asking again. A pause or a window says how long (the
        script extended the ticket's lease past it). A full gate, or a turn that depends
        on older waiters, is polled: about as often as the line can move for this
        waiter's place in it, jittered so that waiters do not march in step, and well
        within the ticket lease so that a live waiter is not taken for dead."""
        if status == 1:
            return wait
        poll = self._poll * (min(ahead, 10) + 1) * (0.5 + self._rng.random())
        return min(max(wait, poll), self._ticket_lease / 4, _LATE / 2)

    def _admitted(self, scope: str | None, ticket: int, arrived_us: int, now_us: int) -> None:
        """Log an admission on the limiter's clock (Redis ``TIME``): when, and how long
        the request waited, for diagnosing fairness and for tests that check the windows
        with the numbers the limiter itself used."""
        if _log.isEnabledFor(logging.DEBUG):
            waited = (now_us - arrived_us) / 1e6
            _log.debug(
                "limiter %s: ticket %d admitted after %.3f s",
                self.name,
                ticket,
                waited,
                extra={
                    "limiter": self.name,
                    "scope": scope,
                    "ticket": ticket,
                    "admitted_at": now_us / 1e6,
                    "waited": waited,
                },
            )

    def _leave(self, queue: list[str], token: str) -> None:
        try:
            self._scripts["leave"](keys=queue, args=[token])
        except Exception:  # the ticket lease drops it soon anyway
            _log.debug("limiter %s: could not leave the queue", self.name)

    def _release(self, token: str) -> None:
        """The answer (or the failure) is in: give the slot back and start the windows'
        countdown from now."""
        with self._lock:
            self._held.discard(token)
        if self._max_concurrency is None and not self._windows:
            return
        keys = [self._slots, *(key for _, key in self._windows)]
        args: list[object] = [token, *(round(rate.per * 1e6) for rate, _ in self._windows)]
        self._call(lambda: self._scripts["release"](keys=keys, args=args))

    # -- adaptation ---------------------------------------------------------------------------

    def on_throttle(self, retry_after: float | None = None) -> None:
        """The service said "too many": pause every worker for ``retry_after`` and slow the
        tenant down (at most once per ``cooldown``)."""
        pause_ms = 0
        if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
            pause_ms = max(1, math.ceil(retry_after * 1000))
        args = [
            pause_ms,
            1 if self._adaptive else 0,
            self._max_concurrency or 0,
            repr(self._min_rate),
            self._cooldown_us,
            self._memory_ms,
        ]
        self._call(lambda: self._scripts["throttle"](keys=[self._pause, self._adapt], args=args))
        if self._adaptive:
            self._degraded = True

    def on_success(self) -> None:
        """A healthy answer: grow back additively, if the tenant is slowed down.

        Costs a round trip only while the last state seen from Redis was below the
        configuration, so a healthy tenant pays nothing extra per request.
        """
        if not self._adaptive or not self._degraded:
            return
        args = [self._max_concurrency or 0, repr(_RATE_RECOVERY_STEP)]
        rate, level = self._call(lambda: self._scripts["recover"](keys=[self._adapt], args=args))
        self._note_state(float(rate), float(level))

    def _note_state(self, rate: float, level: float) -> None:
        below = rate < 1.0 or (
            self._max_concurrency is not None and level + 1e-9 < self._max_concurrency
        )
        self._degraded = below

    # -- leases -------------------------------------------------------------------------------

    def _hold(self, token: str) -> None:
        """Keep ``token``'s leases (its slot, its window entries) renewed while it is out."""
        if self._max_concurrency is None and not self._windows:
            return
        with self._lock:
            if self._pid != os.getpid():
                # A forked child: the parent's leases and renewer are not ours.
                self._pid, self._held, self._renewer = os.getpid(), set(), None
                self._lock = threading.Lock()
            self._held.add(token)
            if self._renewer is None or not self._renewer.is_alive():
                self._renewer = threading.Thread(
                    target=self._renew_loop, name=f"erpsync-lease-{self.name}", daemon=True
                )
                self._renewer.start()

    def _renew_loop(self) -> None:
        """Extend this process's leases every third of a lease while it holds any."""
        interval = self._lease_us / 3e6
        while True:
            time.sleep(interval)
            with self._lock:
                tokens = list(self._held)
                if not tokens:
                    self._renewer = None
                    return
            keys = [self._slots, *(key for _, key in self._windows)]
            pers = [round(rate.per * 1e6) for rate, _ in self._windows]
            try:
                renewed = self._scripts["renew"](keys=keys, args=[self._lease_us, *pers, *tokens])
            except Exception as exc:  # keep renewing: the next attempt may reach Redis
                _log.warning(
                    "limiter %s: could not renew slot leases (%s)", self.name, type(exc).__name__
                )
                continue
            if int(renewed) < len(tokens):
                _log.warning(
                    "limiter %s: %d slot lease(s) expired before renewal; raise lease=",
                    self.name,
                    len(tokens) - int(renewed),
                )

    # -- plumbing -----------------------------------------------------------------------------

    def _call(self, action: Callable[[], Any]) -> Any:
        """Run one Redis command; a failure becomes a ServiceError naming the limiter."""
        from redis.exceptions import RedisError

        try:
            return action()
        except RedisError as exc:
            raise ServiceError(
                f"limiter {self.name}: Redis failed ({type(exc).__name__})",
                retryable=True,
                hint="check that Redis is reachable from every worker",
            ) from None

    def __repr__(self) -> str:
        return (
            f"RedisLimiter({self.name!r}, concurrency={self._max_concurrency}, "
            f"rates={list(self._rates)!r}, adaptive={self._adaptive})"
        )
