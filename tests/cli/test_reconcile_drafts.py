"""``erpsync reconcile`` leaves local drafts out, as ``erpsync sync`` does.

Found by the accounting-sync page's session: the sync keeps drafts home (the seed's
"only non-draft invoices are synced"), and reconciling right after it with the same
file reported every draft ``missing_in_erp``.
"""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import run


def test_reconcile_after_sync_does_not_call_a_draft_missing(netsuite, tmp_path: Path) -> None:
    line = {"description": "Support", "amount": "300.00", "item": {"id": "202"}}
    ar = tmp_path / "ar.json"
    ar.write_text(
        json.dumps(
            [
                {
                    "external_id": key,
                    "customer": {"name": "Globex Corporation"},
                    "date": "2026-11-03",
                    "lines": [line],
                    **extra,
                }
                for key, extra in (("AR-1", {}), ("AR-2", {"status": "draft"}))
            ]
        )
    )
    code, out, err = run("sync", "--invoices", str(ar))
    assert code == 0, out + err
    code, out, err = run("reconcile", "--local", str(ar), "--json")
    assert code == 0, out + err
    report = json.loads(out)
    assert report["discrepancies"] == []
    assert report["matched"] == 1
    assert "1 draft invoice(s) of" in err and "left out: drafts are not synced" in err
