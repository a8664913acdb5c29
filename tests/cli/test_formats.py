"""Machine-readable output: ``--json`` (one document), ``--out -``, ``--version``,
``erpsync completion``, and the demo's message when the emulators cannot run."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import run

from erpsync import __version__

AR = (
    "external_id,customer_id,date,description,amount,item_id\n"
    "AR-1,102,2026-11-03,Support,300.00,202\n"
)


def test_version() -> None:
    code, out, _ = run("--version")
    assert code == 0
    assert out.strip() == f"erpsync {__version__}"


def test_import_invoices_table_shows_total_balance_status(netsuite, tmp_path: Path) -> None:
    source = tmp_path / "ar.csv"
    source.write_text(AR)
    assert run("push", "invoices", str(source), "--to", "netsuite")[0] == 0
    code, out, _ = run("import", "invoices")
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("id "))
    for column in ("total", "balance", "status", "due_date"):
        assert column in header.split()
    assert "300.00" in out


def test_import_json_and_out_dash(netsuite) -> None:
    code, out, _ = run("import", "customers", "--json")
    assert code == 0
    names = {c["name"] for c in json.loads(out)["customers"]}
    assert "Acme Robotics" in names
    code, out, _ = run("import", "customers", "--out", "-")
    assert code == 0
    assert "Acme Robotics" in {r["name"] for r in csv.DictReader(io.StringIO(out))}
    assert not Path("-").exists()


def test_runs_json(netsuite, tmp_path: Path) -> None:
    assert json.loads(run("runs", "--json")[1]) == {"store": str(tmp_path / "store.db"), "runs": []}
    source = tmp_path / "ar.csv"
    source.write_text(AR)
    run("push", "invoices", str(source), "--to", "netsuite")
    code, out, _ = run("runs", "--json")
    assert code == 0
    (entry,) = json.loads(out)["runs"]
    assert entry["kind"] == "push-invoices"
    assert entry["status"] == "ok"
    assert entry["counts"] == {"created": 1}


def test_reconcile_json_and_report_dash(netsuite, tmp_path: Path) -> None:
    source = tmp_path / "ar.csv"
    source.write_text(AR)
    code, out, _ = run("reconcile", "--local", str(source), "--json")
    assert code == 1
    document = json.loads(out)
    assert document["ok"] is False
    assert document["discrepancies"][0]["external_id"] == "AR-1"
    code, out, err = run("reconcile", "--local", str(source), "--report", "-")
    assert code == 1
    (row,) = csv.DictReader(io.StringIO(out))  # stdout holds the CSV and nothing else
    assert row["external_id"] == "AR-1"
    assert "Discrepancies" in err  # the table went to stderr, the CSV alone to stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_list_every_command(shell: str) -> None:
    code, out, _ = run("completion", shell)
    assert code == 0
    for word in ("demo", "push", "sync", "max-passes", "json", "completion"):
        assert word in out  # fish spells options without their dashes (-l max-passes)


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash here")
def test_bash_completion_is_valid_bash(tmp_path: Path) -> None:
    script = tmp_path / "erpsync.bash"
    script.write_text(run("completion", "bash")[1])
    subprocess.run(["bash", "-n", str(script)], check=True)
    # Loaded, it completes a command's options.
    probe = (
        f"source {script}; COMP_WORDS=(erpsync sync --max); COMP_CWORD=2; _erpsync; "
        'echo "${COMPREPLY[@]}"'
    )
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["--max-passes"]


def test_demo_without_responses_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "responses", None)  # as after a plain `pip install .`
    code, out, err = run("demo")
    assert code == 2
    assert "pip install 'erpsync[cli]'" in err
    assert "internal error" not in err
    assert out == ""
