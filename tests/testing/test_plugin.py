"""The pytest plugin (entry point ``pytest11``) and the cost of importing erpsync.testing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

_SRC = str(Path(__file__).resolve().parents[2] / "src")


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": _SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_the_plugin_imports_nothing_heavy() -> None:
    result = _python(
        """
        import sys
        import erpsync.testing.plugin
        heavy = [m for m in ("responses", "erpsync.testing.quickbooks",
                             "erpsync.testing.netsuite", "erpsync.testing.core.emulator")
                 if m in sys.modules]
        print(heavy)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_responses_the_import_says_which_extra_to_install() -> None:
    result = _python(
        """
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "responses" or name.startswith("responses."):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, Block())
        import erpsync.testing            # cheap: nothing resolved yet
        try:
            from erpsync.testing import FakeQuickBooks
        except ImportError as exc:
            from erpsync.errors import ConfigurationError
            print(type(exc).__name__, isinstance(exc, ConfigurationError), "|", exc)
        """
    )
    assert result.returncode == 0, result.stderr
    kind, is_config, message = result.stdout.replace("|", " | ").split(maxsplit=2)
    assert (kind, is_config) == ("MissingExtraError", "True")
    assert 'pip install "erpsync[testing]"' in message
    assert "responses" in message


def test_fixtures_reach_both_emulators_on_one_clock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import requests

        def test_quickbooks(fake_quickbooks, fake_clock):
            assert fake_quickbooks.clock is fake_clock
            assert fake_quickbooks.active
            customer = fake_quickbooks.backend().get_customer("1")
            assert customer.name == "Amy's Bird Sanctuary"

        def test_netsuite(fake_netsuite, fake_clock):
            assert fake_netsuite.clock is fake_clock
            names = [c.name for c in fake_netsuite.backend().iter_customers()]
            assert "Acme Robotics" in names

        @pytest.mark.fake_quickbooks(seed_data=False, realm_id="4620816365212345678")
        def test_marker_options(fake_quickbooks):
            assert fake_quickbooks.realm_id == "4620816365212345678"
            assert fake_quickbooks.records("Customer") == []

        def test_clock_alone(fake_clock):
            start = fake_clock.now()
            fake_clock.advance(3600)
            assert fake_clock.now() == start + 3600
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=4)


def test_fixtures_stop_intercepting_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from erpsync.testing import intercepting

        def test_uses(fake_quickbooks):
            assert intercepting()

        def test_after():
            assert not intercepting()
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
