"""The per-invoice and import benchmarks' --quick modes run and report every figure."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_per_invoice_quick_reports_every_path_with_its_ratio(capsys):
    assert load("per_invoice").main(["--quick"]) == 0
    out = capsys.readouterr().out
    for erp in ("QuickBooks", "NetSuite"):
        assert f"{erp}, one-line invoice" in out
    for label in ("build + validate  ", "to_wire + JSON", "from_wire"):
        assert out.count(label) == 2
    assert out.count("ratio to 60 us: ") == 6
    assert out.count("erpsync / plain pydantic: ") == 6
    assert out.count("erpsync / python-quickbooks: ") == 3


def test_imports_quick_reports_the_ratio_and_that_import_erpsync_stays_light(capsys):
    assert load("imports").main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "import pydantic, requests" in out
    ratio = float(out.split("ratio to baseline: ")[1].split()[0])
    assert ratio > 0
    assert "heavy modules loaded: none" in out
    assert "largest self times of `import erpsync.models`" in out


def test_a_read_short_of_the_target_is_explained_by_a_measured_split(capsys):
    bench = load("per_invoice")
    setup = bench.netsuite_setup([1])
    settings = type("Settings", (), {"samples": 3, "batch": 3})
    bench.explain("read", bench.netsuite_paths(setup, 1), 10_000.0, settings)
    out = capsys.readouterr().out
    models = float(out.split("the models' validation ")[1].split()[0])
    wire = float(out.split("reading the wire ")[1].split()[0])
    assert 0 < models < 10_000.0
    assert abs(models + wire - 10_000.0) < 0.2


def test_per_invoice_bare_profile_makes_the_calls_and_prints_nothing(capsys, monkeypatch):
    bench = load("per_invoice")
    calls: list[str] = []
    real = bench.netsuite_paths

    def counted(setup, lines):
        paths = real(setup, lines)
        read = paths["read"]
        paths["read"] = lambda: calls.append("read") or read()
        return paths

    monkeypatch.setattr(bench, "netsuite_paths", counted)
    argv = ["--profile", "read", "--erp", "netsuite", "--lines", "3", "--bare", "--calls", "5"]
    assert bench.main(argv) == 0
    assert capsys.readouterr().out == ""
    assert len(calls) == 205  # the warm-up, then the calls asked for
