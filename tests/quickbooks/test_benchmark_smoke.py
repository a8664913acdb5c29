"""The bulk benchmark's --quick mode runs, creates every invoice and reports its numbers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "quickbooks_bulk.py"


def load():
    spec = importlib.util.spec_from_file_location("quickbooks_bulk", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["quickbooks_bulk"] = module
    spec.loader.exec_module(module)
    return module


def test_quick_benchmark_runs_and_reports(capsys):
    bench = load()
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "governance ceiling: 30 x 40 batches/min" in out
    assert "erpsync 429s seen by caller: 0" in out
    assert "speed ratio erpsync / python-quickbooks" in out
    ratio = float(out.split("erpsync ratio to ceiling: ")[1].split()[0])
    assert ratio > 0.3  # loose: CI machines are noisy; the benchmark itself says the target


def test_flat_cost_benchmark_runs_and_reports(capsys):
    path = SCRIPT.with_name("quickbooks_flat_cost.py")
    spec = importlib.util.spec_from_file_location("quickbooks_flat_cost", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["quickbooks_flat_cost"] = module
    spec.loader.exec_module(module)
    assert module.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for layout in ("PrivateNote", "DocNumber"):
        for mode in ("bulk", "single"):
            assert f"{layout:11} {mode:6} cost ratio N=100 / N=0: " in out
