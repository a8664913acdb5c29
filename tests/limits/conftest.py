"""The limiter tests share the session's Redis (``redis_url``, tests/conftest.py)."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def tenant() -> str:
    """A tenant key no other test uses, so that tests share the server but no state."""
    return f"test-{uuid.uuid4().hex[:12]}"
