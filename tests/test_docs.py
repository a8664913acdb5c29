"""The documentation site builds with ``mkdocs build --strict`` (no broken link, no page
left out of the nav, no API reference that fails to resolve)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None
    or importlib.util.find_spec("mkdocstrings_handlers") is None,
    reason="mkdocs and mkdocstrings[python] are not installed (the docs extra)",
)


def test_site_builds_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (site / "index.html").exists()
    reference = (site / "reference" / "backends" / "index.html").read_text(encoding="utf-8")
    assert "create_invoice" in reference  # the API reference was generated
    for page in ("quickstart", "cli", "emulators", "limitations", "auth/netsuite-m2m"):
        assert (site / page / "index.html").exists(), page
