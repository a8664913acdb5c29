"""The limiter contract over every limiter erpsync ships."""

from __future__ import annotations

from typing import Any

import pytest

from erpsync.limits import LocalLimiter, RedisLimiter
from erpsync.testing import Clock, FakeClock
from erpsync.testing.contracts import LimiterContract
from erpsync.testing.contracts.limiter import LimiterFactory


class TestLocalLimiter(LimiterContract):
    """In-process, on real time."""

    @pytest.fixture
    def make_limiter(self) -> LimiterFactory:
        return lambda **config: LocalLimiter(**config)


class TestLocalLimiterOnAFakeClock(LimiterContract):
    """In-process, on an injected clock: every wait is instant and every timing exact."""

    tolerance = 0.0

    @pytest.fixture
    def clock(self) -> Clock:
        return FakeClock()

    @pytest.fixture
    def make_limiter(self, clock: Clock) -> LimiterFactory:
        return lambda **config: LocalLimiter(clock=clock.now, sleep=clock.sleep, **config)


class TestRedisLimiter(LimiterContract):
    """Shared in a real Redis, on the server's clock."""

    @pytest.fixture
    def make_limiter(self, redis_url: str, tenant: str) -> LimiterFactory:
        made: list[int] = []

        def make(**config: Any) -> RedisLimiter:
            made.append(1)
            return RedisLimiter(redis_url, key=f"{tenant}-{len(made)}", **config)

        return make
