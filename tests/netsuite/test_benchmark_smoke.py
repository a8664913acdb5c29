"""The NetSuite bulk benchmark runs (quick mode) against its served emulator and reports.

Throughput is only loosely checked here (a loaded CI machine must not fail the suite);
the full run, ``python benchmarks/netsuite_bulk.py``, holds the real targets.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "netsuite_bulk.py"


def _load(script: str = "netsuite_bulk.py") -> ModuleType:
    """A benchmark script, imported from its file (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(script[:-3], SCRIPT.with_name(script))
    assert spec is not None and spec.loader is not None
    module = sys.modules[script[:-3]] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load()
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "job bound for 200 invoices: 2.00 s" in out
    assert "erpsync 429s seen by caller: 0" in out
    assert "speed ratio erpsync / netsuite package (gather): " in out
    ratio = float(out.split("erpsync ratio to job bound: ")[1].split()[0])
    assert 0.1 < ratio <= 1.0  # never above the bound: the limit holds


def test_job_bound_is_concurrency_over_latency() -> None:
    bench = _load()
    assert bench.job_bound(200, latency=0.05, slots=5) == pytest.approx(2.0)
    assert bench.job_bound(201, latency=0.05, slots=5) == pytest.approx(2.05)


def test_streaming_benchmark_runs_for_netsuite(capsys: pytest.CaptureFixture[str]) -> None:
    module = _load("streaming.py")
    assert module.main(["--quick", "--erp", "netsuite"]) == 0
    out = capsys.readouterr().out
    assert "netsuite   time per invoice N=1500 / N=300: " in out
    assert "netsuite   emulator CPU per invoice N=1500 / N=300: " in out
    cpu = float(out.split("N=1500 ")[1].split("emulator CPU")[1].split()[0])
    assert cpu > 0  # the emulator's own process did the work
    growth = float(out.split("largest memory growth ")[1].split()[0])
    assert growth < 20


def test_emulator_benchmark_runs_quick(capsys: pytest.CaptureFixture[str]) -> None:
    """FakeNetSuite's own speed (issues 13, 15): every kind of request erpsync sends, at
    three account sizes, with the ratio and the memory per invoice (loosely checked:
    the full run holds the targets)."""
    module = _load("emulator_netsuite.py")
    assert module.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "N=0 / N=1,000 / N=5,000" in out
    for kind in module.KINDS:
        assert f"  {kind}" in out
    worst = float(out.split("worst ratio largest/smallest N: ")[1].split()[0])
    assert 0 < worst < 5  # a scan would be ~5x at these sizes
    heap = float(
        out.split("memory per stored invoice N=5,000: heap ")[1].split()[0].replace(",", "")
    )
    assert 0 < heap < 3 * 1024
