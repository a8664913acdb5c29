"""SyncStoreContract: what every :class:`~erpsync.store.SyncStore` must do.

Subclass it and provide a ``store`` fixture (a fresh, empty store per test). Leases are
checked against real expiry: override :meth:`SyncStoreContract.let_time_pass` when the
store under test has a controllable clock (SQLite's ``clock=``), otherwise the contract
sleeps past short leases (PostgreSQL uses the server's clock).
"""

from __future__ import annotations

import time

import pytest

from erpsync.errors import ConfigurationError, ConflictError
from erpsync.store import RunError, SyncStore

__all__ = ["SyncStoreContract"]

KEY = ("ERP", "invoice", "job-1")


class SyncStoreContract:
    """The store contract (ledger with leased claims, cursors, run log, locks, tenants)."""

    #: Lease length the expiry tests use, in seconds; short so sleeping stays cheap.
    lease = 0.3

    def let_time_pass(self, store: SyncStore, seconds: float) -> None:
        """Make ``seconds`` pass for the store's clock (default: sleep)."""
        time.sleep(seconds)

    def test_a_claim_is_exclusive_until_written(self, store: SyncStore) -> None:
        claim = store.claim(*KEY, owner="a", lease_seconds=60, external_id="job-1")
        assert claim is not None
        assert claim.attempt == 1
        assert not claim.may_have_written
        assert store.claim(*KEY, owner="b", lease_seconds=60) is None
        entry = store.mark_written(claim, "177", "h1", "1042")
        assert entry.state == "written"
        assert entry.remote_id == "177"
        assert entry.number == "1042"
        assert store.claim(*KEY, owner="b", lease_seconds=60) is None
        again = store.claim(*KEY, owner="b", lease_seconds=60, reclaim_written=True)
        assert again is not None
        assert again.previous_state == "written"
        assert again.remote_id == "177"
        assert again.content_hash == "h1"

    def test_an_expired_lease_is_taken_over_and_fenced(self, store: SyncStore) -> None:
        dead = store.claim(*KEY, owner="dead", lease_seconds=self.lease)
        assert dead is not None
        self.let_time_pass(store, self.lease * 2)
        taken = store.claim(*KEY, owner="alive", lease_seconds=60)
        assert taken is not None
        assert taken.attempt == 2
        assert taken.may_have_written
        with pytest.raises(ConflictError):
            store.mark_written(dead, "999")
        with pytest.raises(ConflictError):
            store.renew(dead, 60)
        assert store.mark_written(taken, "178").remote_id == "178"

    def test_renewal_keeps_a_slow_write_alive(self, store: SyncStore) -> None:
        claim = store.claim(*KEY, owner="slow", lease_seconds=self.lease)
        assert claim is not None
        renewed = store.renew(claim, 60)
        assert renewed.lease_expires_at > claim.lease_expires_at
        self.let_time_pass(store, self.lease * 2)
        assert store.claim(*KEY, owner="other", lease_seconds=60) is None

    def test_failed_and_released_claims(self, store: SyncStore) -> None:
        claim = store.claim(*KEY, owner="a", lease_seconds=60)
        assert claim is not None
        failed = store.mark_failed(claim, "boom")
        assert failed.state == "failed"
        assert failed.last_error == "boom"
        retry = store.claim(*KEY, owner="a", lease_seconds=60)
        assert retry is not None
        assert retry.may_have_written
        store.release(retry)
        kept = store.get(*KEY)
        assert kept is not None
        assert kept.state == "failed"  # back to what it was before the claim
        fresh = store.claim("ERP", "invoice", "job-2", owner="a", lease_seconds=60)
        assert fresh is not None
        store.release(fresh)
        assert store.get("ERP", "invoice", "job-2") is None

    def test_entries_and_remote_ids(self, store: SyncStore) -> None:
        for n in range(3):
            store.mark_written(("ERP", "invoice", f"k{n}"), f"r{n}")
        assert [e.source_key for e in store.iter_entries("ERP", "invoice")] == ["k0", "k1", "k2"]
        found = store.find_by_remote_id("ERP", "invoice", "r1")
        assert found is not None
        assert found.source_key == "k1"

    def test_cursors(self, store: SyncStore) -> None:
        assert store.get_cursor("c") is None
        store.set_cursor("c", "v1")
        store.set_cursor("c", "v2")
        assert store.get_cursor("c") == "v2"
        with pytest.raises(ConfigurationError):
            store.set_cursor("", "v")

    def test_the_run_log(self, store: SyncStore) -> None:
        run = store.start_run("invoices", "ERP")
        record = store.finish_run(
            run, status="partial", counts={"written": 2}, errors=[RunError("job-1", "bad")]
        )
        assert record.status == "partial"
        assert record.counts == {"written": 2}
        assert record.errors == (RunError("job-1", "bad"),)
        with pytest.raises(ConfigurationError):
            store.finish_run(run, status="ok")
        stale = store.start_run("invoices", "ERP")
        assert store.abandon_runs("invoices", "ERP", "died") == [stale]
        assert [r.id for r in store.runs(kind="invoices")] == [stale, run]

    def test_locks_carry_growing_fencing_numbers(self, store: SyncStore) -> None:
        first = store.lock("pass", "a", ttl=60)
        assert first is not None
        assert store.lock("pass", "b", ttl=60) is None
        renewed = store.lock("pass", "a", ttl=60)
        assert renewed is not None
        assert renewed.fence == first.fence
        assert store.unlock("pass", "a")
        assert not store.unlock("pass", "a")
        second = store.lock("pass", "b", ttl=self.lease)
        assert second is not None
        assert second.fence > first.fence
        self.let_time_pass(store, self.lease * 2)
        third = store.lock("pass", "c", ttl=60)
        assert third is not None
        assert third.fence > second.fence

    def test_tenants_are_isolated(self, store: SyncStore) -> None:
        a = store.claim(*KEY, owner="w", lease_seconds=60, tenant="A")
        assert a is not None
        store.mark_written(a, "1")
        b = store.claim(*KEY, owner="w", lease_seconds=60, tenant="B")
        assert b is not None
        assert b.previous_state is None
        assert store.get(*KEY, tenant="B") is not None
        assert store.get(*KEY) is None
        store.set_cursor("c", "a", tenant="A")
        assert store.get_cursor("c", tenant="B") is None
        assert store.lock("pass", "w1", 60, tenant="A")
        assert store.lock("pass", "w2", 60, tenant="B")
        run = store.start_run("k", "ERP", tenant="A")
        assert [r.id for r in store.runs(tenant="A")] == [run]
        assert store.runs(tenant="B") == []
        assert [e.tenant for e in store.iter_entries(tenant=None)] == ["A", "B"]
