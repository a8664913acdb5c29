"""``erpsync sync``: one pass, or one every INTERVAL with a line per pass and a summary."""

from __future__ import annotations

import _thread
import io
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from cli_support import run

from erpsync.cli import main
from erpsync.store import SQLiteSyncStore

AR_CSV = (
    "external_id,customer_name,date,description,amount,item_id\n"
    "AR-1,Globex Corporation,2026-11-03,Support,300.00,202\n"
    "AR-2,No Such Customer,2026-11-03,Support,10.00,202\n"
)


def _ar(tmp_path: Path) -> Path:
    source = tmp_path / "ar.csv"
    source.write_text(AR_CSV)
    return source


def _sync_runs(tmp_path: Path) -> list[str]:
    with SQLiteSyncStore(tmp_path / "store.db") as store:
        return [r.status for r in store.runs(limit=100) if r.kind == "accounting-sync"]


def test_every_prints_a_line_per_pass_and_the_true_count(netsuite, tmp_path: Path) -> None:
    code, out, _ = run(
        "sync", "--invoices", str(_ar(tmp_path)), "--every", "1s", "--max-passes", "2"
    )
    lines = [line for line in out.splitlines() if line.startswith("pass ")]
    assert len(lines) == 2, out
    assert lines[0].startswith("pass 1 (run ")
    assert "partial" in lines[0]
    assert "invoices created=1" in lines[0]
    assert "2 pass(es) run: 0 ok, 2 partial, 0 failed" in out
    assert code == 1  # the passes were partial (AR-2's customer does not exist)
    assert _sync_runs(tmp_path) == ["partial", "partial"]


def test_every_json_lines_then_a_summary(netsuite, tmp_path: Path) -> None:
    code, out, err = run(
        "sync", "--invoices", str(_ar(tmp_path)), "--every", "1s", "--max-passes", "2", "--json"
    )
    documents = [json.loads(line) for line in out.splitlines()]
    assert [d.get("pass") for d in documents[:2]] == [1, 2]
    assert documents[0]["invoices"]["created"] == 1
    assert documents[1]["invoices"]["created"] == 0  # exactly once: the second pass skips it
    assert documents[2]["summary"]["passes"] == 2
    assert documents[2]["summary"]["partial"] == 2
    assert "Syncing with" in err  # the human text goes to stderr with --json
    assert code == 1


def _interrupt_after_first_pass(stream: io.StringIO, interrupt: object) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 20
        while "pass 1" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        interrupt()  # type: ignore[operator]

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    ("how", "interrupt"),
    [
        ("Ctrl-C", _thread.interrupt_main),
        ("SIGTERM", lambda: os.kill(os.getpid(), signal.SIGTERM)),
    ],
)
def test_every_stops_cleanly_with_a_summary(netsuite, tmp_path: Path, how, interrupt) -> None:
    out, err = io.StringIO(), io.StringIO()
    watcher = _interrupt_after_first_pass(out, interrupt)
    code = main(
        ["--plain", "sync", "--invoices", str(_ar(tmp_path)), "--every", "30s"],
        stdout=out,
        stderr=err,
    )
    watcher.join(5)
    text = out.getvalue()
    assert "1 pass(es) run: 0 ok, 1 partial" in text, text + err.getvalue()
    assert f"stopped by {how}" in text
    assert code == 1
    assert _sync_runs(tmp_path) == ["partial"]


def test_one_pass_as_one_json_document(netsuite, tmp_path: Path) -> None:
    code, out, _ = run("sync", "--invoices", str(_ar(tmp_path)), "--json")
    document = json.loads(out)
    assert document["status"] == "partial"
    assert document["customers_missing"] == ["No Such Customer"]
    assert code == 1


def test_max_passes_must_be_positive(netsuite, tmp_path: Path) -> None:
    code, _, err = run("sync", "--every", "1s", "--max-passes", "0")
    assert code == 2
    assert "--max-passes" in err


def test_a_pass_shows_progress_on_stderr_only(netsuite, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ERPSYNC_PROGRESS_AFTER", "0")
    code, out, err = run("sync", "--invoices", str(_ar(tmp_path)), "--json")
    assert code == 1  # the sample holds a row that fails: a partial pass
    lines = [line for line in err.splitlines() if line.startswith("Syncing with NetSuite: ")]
    assert lines, err
    assert "(100%)" in lines[-1]
    json.loads(out)  # stdout holds the one JSON document, no progress
