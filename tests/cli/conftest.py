"""Fixtures of the command-line tests: an isolated configuration, served emulators.

Every test isolates the configuration (no ERPSYNC_* variable or config file of the
machine leaks in) and uses its own QuickBooks realm id, so the process-wide limiter of
one company is never shared with another test.
"""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # cli_support, with --import-mode=importlib

from cli_support import sandbox_env

from erpsync.testing.netsuite import FakeNetSuite
from erpsync.testing.quickbooks import FakeQuickBooks


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No real configuration: a missing config file, no ERPSYNC_* variables, a tmp store."""
    for name in list(os.environ):
        if name.startswith("ERPSYNC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("ERPSYNC_STORE", str(tmp_path / "store.db"))
    return tmp_path


@pytest.fixture
def qbo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest):
    realm = str(9130350000100000 + zlib.crc32(request.node.name.encode()) % 99999)
    fake = FakeQuickBooks(realm_id=realm, governance=None)
    gen = sandbox_env("quickbooks", fake, tmp_path / "qbo-sandbox")
    env = next(gen)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield fake, env
    next(gen, None)


@pytest.fixture
def netsuite(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    fake = FakeNetSuite()
    gen = sandbox_env("netsuite", fake, tmp_path / "ns-sandbox")
    env = next(gen)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ERPSYNC_NS_AUTH", "tba")
    yield fake, env
    next(gen, None)
