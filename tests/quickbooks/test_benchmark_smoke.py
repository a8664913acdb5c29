"""The bulk benchmark's --quick mode runs, creates every invoice and reports its numbers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "quickbooks_bulk.py"


def load(script: str = "quickbooks_bulk.py"):
    """A benchmark script, imported from its file (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(script[:-3], SCRIPT.with_name(script))
    assert spec is not None and spec.loader is not None
    module = sys.modules[script[:-3]] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_benchmark_runs_and_reports(capsys):
    bench = load()
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "job bound for 600 invoices: 1.05 s (20 batches" in out
    assert "erpsync 429s seen by caller: 0" in out
    for peer in ("batch", "batch-pool", "single-pool"):
        assert f"speed ratio erpsync / python-quickbooks {peer}: " in out
    ratio = float(out.split("erpsync ratio to job bound: ")[1].split()[0])
    assert 0.1 < ratio <= 1.0  # loose (CI is noisy), but never faster than any client can be


def test_the_job_bound_counts_the_first_window_exactly():
    bench = load()
    # 40 batches fit the first minute: four 1-second generations of 10, then the answer.
    assert bench.job_bound(1200, latency=0.05) == pytest.approx(3.05)
    # The 41st batch waits for the 1st to leave the 60-second window.
    assert bench.job_bound(1230, latency=0.05) == pytest.approx(60.05)
    assert bench.job_bound(2400, latency=0.05) == pytest.approx(63.05)
    # Singles: 10 a second, then 500 a minute.
    assert bench.job_bound(20, per_request=1, latency=0.05) == pytest.approx(1.05)


def test_flat_cost_benchmark_runs_and_reports(capsys):
    module = load("quickbooks_flat_cost.py")
    assert module.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for layout in ("PrivateNote", "DocNumber"):
        for mode in ("bulk", "single"):
            assert f"{layout:11} {mode:6} cost ratio N=1000 / N=0: " in out


def test_streaming_benchmark_runs_for_quickbooks(capsys):
    module = load("streaming.py")
    assert module.main(["--quick", "--erp", "quickbooks"]) == 0
    out = capsys.readouterr().out
    assert "quickbooks time per invoice N=1500 / N=300: " in out
    assert "0 failed" in out and " failed" not in out.replace("0 failed", "")
