"""benchmarks/many_workers.py --quick, tiny: workers SIGKILLed mid-run, and still no
duplicate, no missing record, nothing in the wrong tenant, no 429 and no invalid_grant
reaching a caller when the workers share a RedisLimiter."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "many_workers.py"


def _figures(section: str) -> dict[str, float]:
    rows = re.findall(r"^  (\S.*?)\s{2,}(-?\d+(?:\.\d+)?)\s+target", section, re.M)
    return {name.strip(): float(value) for name, value in rows}


def test_quick_many_workers_loses_and_duplicates_nothing(
    pg_cluster: str, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = runpy.run_path(str(SCRIPT), run_name="many_workers")  # not __main__: no run
    argv = ["--quick", "--tenants", "2", "--invoices", "16", "--workers", "2", "--kills", "1"]
    bench["main"]([*argv, "--limiters", "redis", "--postgres", pg_cluster, "--redis", redis_url])
    out = capsys.readouterr().out
    _, _, section = out.partition("== redis limiter:")
    assert "2 workers SIGKILLed and restarted" in section, out
    figures = _figures(section)
    for name in (
        "duplicates",
        "missing records",
        "records in the wrong tenant",
        "429s that reached callers",
        "invalid_grant",
        "other failures that reached callers",
    ):
        assert figures[name] == 0, f"{name}: {figures[name]}\n{out}"
    assert figures["requests a second (all tenants)"] > 0
    assert 0 < figures["throughput / ceiling, aggregate"] <= 1.05  # loose: CI is noisy
