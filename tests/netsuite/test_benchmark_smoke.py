"""The NetSuite bulk benchmark runs (quick mode) and its figures are sane.

Throughput is only loosely checked here (a loaded CI machine must not fail the suite);
the full run, ``python benchmarks/netsuite_bulk.py``, holds the real targets.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "netsuite_bulk.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("netsuite_bulk", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("netsuite_bulk", module)
    spec.loader.exec_module(module)
    return module


def test_quick_benchmark() -> None:
    bench = _load()
    figures = bench.run(quick=True)
    assert figures.invoices == 200 and figures.failed == 0
    assert figures.caller_429s == 0
    assert figures.rows == 2_000
    assert 0 < figures.peak_mb < 50
    assert 0.3 < figures.ratio <= 1.05  # never above the ceiling: the limit holds
    text = "\n".join(bench.report(figures, quick=True))
    for label in (
        "invoices/s",
        "ratio to limit",
        "429s seen by caller",
        "peak memory growth",
        "rows/s",
    ):
        assert label in text
