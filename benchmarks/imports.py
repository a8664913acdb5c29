"""Import cost: ``import erpsync.models`` against ``import pydantic, requests``, and what
``import erpsync`` loads.

    python benchmarks/imports.py [--quick] [--runs N]

Every figure comes from fresh interpreters (one per run, the statements alternating so
that a busy machine weighs on each alike), timed inside the child around the import
alone (interpreter start-up excluded), median of ``--runs``:

* ``import pydantic, requests``: the baseline;
* ``import erpsync.models``: its ratio to the baseline (target <= 1.10);
* the same plus building one invoice (``Invoice`` with a line): erpsync builds each
  model's validator on first use where pydantic allows it, so this is where the rest
  of the models' set-up is paid (printed for information, beside plain pydantic
  defining and building models of the same shape);
* ``import erpsync``: it must not load pydantic, requests or any other third-party
  module (the names are resolved lazily); the modules it adds to a bare interpreter are
  listed.

Times are CPU time (``time.process_time``), so other processes on the machine do not
inflate them; wall-clock medians are printed beside them. Children run with bytecode
caching on (as an installed package has it: pip writes ``.pyc`` files at install time),
after one warm-up run of each statement. The biggest self times of
``python -X importtime -c "import erpsync.models"`` are printed last: what bounds the
figure. ``--quick`` is the smoke mode the test suite runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

TARGET = 1.10
SRC = str(Path(__file__).resolve().parents[1] / "src")

BASELINE = "import pydantic, requests"
MODELS = "import erpsync.models"
FIRST_INVOICE = (
    "from datetime import date; from decimal import Decimal; "
    "from erpsync.models import Invoice, InvoiceLine, Ref; "
    "Invoice(customer=Ref(id='1'), date=date(2026, 11, 3), "
    "lines=[InvoiceLine(amount=Decimal('125.00'), item=Ref(id='1'))])"
)
PLAIN_FIRST_INVOICE = (
    "from datetime import date; from decimal import Decimal; "
    "from pydantic import BaseModel\n"
    "class R(BaseModel):\n id: str\n name: str | None = None\n"
    "class L(BaseModel):\n amount: Decimal\n item: R | None = None\n"
    "class I(BaseModel):\n customer: R\n date: date\n lines: list[L]\n"
    "I(customer=R(id='1'), date=date(2026, 11, 3), lines=[L(amount=Decimal('125.00'), "
    "item=R(id='1'))])"
)
#: Third-party (and heavy standard) modules ``import erpsync`` must not load.
HEAVY = ("pydantic", "pydantic_core", "requests", "urllib3", "cryptography", "jwt", "oauthlib")

_TIMER = (
    "import time\n"
    "c0, w0 = time.process_time(), time.perf_counter()\n"
    "{statement}\n"
    "print(time.process_time() - c0, time.perf_counter() - w0)\n"
)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
    return env


def run_child(code: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args, "-c", code],
        capture_output=True,
        text=True,
        env=child_env(),
        check=True,
    )
    return result.stdout + result.stderr


def time_imports(statements: list[str], runs: int) -> dict[str, tuple[float, float]]:
    """(CPU, wall) median milliseconds per statement, fresh interpreter per run."""
    samples: dict[str, list[tuple[float, float]]] = {s: [] for s in statements}
    for statement in statements:  # warm-up: writes the .pyc files
        run_child(_TIMER.format(statement=statement))
    for _ in range(runs):
        for statement in statements:
            cpu, wall = run_child(_TIMER.format(statement=statement)).split()[:2]
            samples[statement].append((float(cpu) * 1e3, float(wall) * 1e3))
    return {
        s: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v))
        for s, v in samples.items()
    }


def modules_of(statement: str) -> list[str]:
    """The modules ``statement`` adds to a bare interpreter's ``sys.modules``."""
    code = (
        "import sys; before = set(sys.modules)\n"
        f"{statement}\n"
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    return run_child(code).split()


def importtime_top(statement: str, count: int) -> list[tuple[int, str]]:
    """The ``count`` largest self times (us) of ``-X importtime`` for ``statement``."""
    rows: list[tuple[int, str]] = []
    for line in run_child(statement, "-X", "importtime").splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        rows.append((int(own), name.strip()))
    return sorted(rows, reverse=True)[:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke mode (a few seconds)")
    parser.add_argument("--runs", type=int, default=None, help="interpreters per statement")
    args = parser.parse_args(argv)
    runs = args.runs or (2 if args.quick else 40)

    timed = time_imports(
        [BASELINE, MODELS, FIRST_INVOICE, PLAIN_FIRST_INVOICE, "import erpsync"], runs
    )
    base_cpu, base_wall = timed[BASELINE]
    print(f"import cost, Python {sys.version.split()[0]}, median of {runs} fresh interpreters")
    print(f"  {BASELINE:40} {base_cpu:7.1f} ms CPU ({base_wall:6.1f} ms wall)")
    cpu, wall = timed[MODELS]
    ratio = cpu / base_cpu
    verdict = "meets" if ratio <= TARGET else "MISSES"
    print(
        f"  {MODELS:40} {cpu:7.1f} ms CPU ({wall:6.1f} ms wall)  "
        f"ratio to baseline: {ratio:.2f} (target <= {TARGET:.2f}, {verdict})"
    )
    first, first_wall = timed[FIRST_INVOICE]
    plain, plain_wall = timed[PLAIN_FIRST_INVOICE]
    print(
        f"  {'... + build the first invoice':40} {first:7.1f} ms CPU ({first_wall:6.1f} ms wall)  "
        f"ratio to baseline: {first / base_cpu:.2f}"
    )
    print(
        f"  {'plain pydantic, the same first invoice':40} {plain:7.1f} ms CPU "
        f"({plain_wall:6.1f} ms wall)  erpsync / plain: {first / plain:.2f}x"
    )
    lazy_cpu, lazy_wall = timed["import erpsync"]
    added = modules_of("import erpsync")
    heavy = sorted({m.split(".")[0] for m in added} & set(HEAVY))
    print(
        f"  {'import erpsync':40} {lazy_cpu:7.1f} ms CPU ({lazy_wall:6.1f} ms wall)  "
        f"heavy modules loaded: {', '.join(heavy) or 'none'}"
    )
    print(f"  modules import erpsync adds: {' '.join(added)}")
    print("\nlargest self times of `import erpsync.models` (python -X importtime, one run):")
    for own, name in importtime_top(MODELS, 8):
        print(f"  {own / 1e3:6.1f} ms  {name}")
    return 0 if not heavy else 1


if __name__ == "__main__":
    raise SystemExit(main())
