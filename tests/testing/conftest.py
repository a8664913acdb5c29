"""The emulator tests' shared fixtures; their helpers (ns_support) importable with
importlib mode."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from erpsync.testing import FakeClock, FakeQuickBooks

sys.path.insert(0, str(Path(__file__).parent))  # ns_support, with --import-mode=importlib


@pytest.fixture
def qbo_in_process(clock: FakeClock) -> Iterator[FakeQuickBooks]:
    """A FakeQuickBooks without limits on the module's ``clock``, intercepting in-process."""
    emulator = FakeQuickBooks(clock=clock, governance=None)
    with emulator:
        yield emulator
