"""Fixtures for the NetSuite backend tests: an emulated account and backends on it.

``make_backend(fake, auth="tba" | "m2m")`` builds a NetSuiteBackend from the emulator's
credentials with the emulator's clock (TBA timestamps and JWT lifetimes are judged by
it), a private limiter (so tests do not share the process-wide one) and a no-op sleep
(retries cost no time). ``FakeNetSuite.backend()`` will do the same for users.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any, Literal

import pytest

from erpsync.limits import LocalLimiter
from erpsync.netsuite.auth import ClientCredentialsAuth, NetSuiteAuth, TokenBasedAuth
from erpsync.netsuite.backend import NetSuiteBackend
from erpsync.testing.core.emulator import FakeClock
from erpsync.testing.netsuite import FakeNetSuite


def make_auth(fake: FakeNetSuite, kind: Literal["tba", "m2m"] = "tba") -> NetSuiteAuth:
    creds = fake.credentials
    if kind == "tba":
        return TokenBasedAuth(
            creds.consumer_key,
            creds.consumer_secret,
            creds.token_id,
            creds.token_secret,
            clock=fake.clock.now,
        )
    return ClientCredentialsAuth(
        creds.client_id, creds.certificate_id, creds.private_key_pem, clock=fake.clock.now
    )


def make_backend(
    fake: FakeNetSuite, auth: Literal["tba", "m2m"] = "tba", **options: Any
) -> NetSuiteBackend:
    options.setdefault("limiter", LocalLimiter(concurrency=options.get("concurrency", 5)))
    options.setdefault("sleep", lambda seconds: None)
    options.setdefault("rng", random.Random(7))
    if fake.served_url:
        options.setdefault("base_url", fake.served_url)
    return NetSuiteBackend(fake.credentials.account_id, make_auth(fake, auth), **options)


@pytest.fixture
def fake() -> Iterator[FakeNetSuite]:
    emulator = FakeNetSuite("1234567_SB1", clock=FakeClock())
    with emulator:
        yield emulator


@pytest.fixture(params=["tba", "m2m"])
def auth_kind(request: pytest.FixtureRequest) -> Literal["tba", "m2m"]:
    kind: Literal["tba", "m2m"] = request.param
    return kind


@pytest.fixture
def backend(fake: FakeNetSuite) -> NetSuiteBackend:
    return make_backend(fake)
