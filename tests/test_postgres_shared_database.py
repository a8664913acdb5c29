"""PostgresSyncStore and PostgresTokenStore in ONE database, as docs/scaling.md's first
examples suggest: both keep their schema version in the one ``erpsync_schema`` table,
a row per component, so either may open the database first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from erpsync.quickbooks import PostgresTokenStore, QuickBooksToken
from erpsync.store import PostgresSyncStore


def _token() -> QuickBooksToken:
    now = datetime.now(UTC)
    return QuickBooksToken(
        access_token="a",
        refresh_token="r",
        access_expires_at=now + timedelta(hours=1),
        refresh_expires_at=now + timedelta(days=100),
        realm_id="1",
        obtained_at=now,
    )


def test_tokens_first_then_the_store(pg_dsn: str) -> None:
    tokens = PostgresTokenStore(pg_dsn)
    tokens.save("1", _token())
    with PostgresSyncStore(pg_dsn) as store:
        assert store.get("quickbooks", "invoice", "k", tenant="1") is None
    tokens.close()


def test_the_store_first_then_tokens(pg_dsn: str) -> None:
    with PostgresSyncStore(pg_dsn) as store:
        assert store.get("quickbooks", "invoice", "k", tenant="1") is None
        tokens = PostgresTokenStore(pg_dsn)
        tokens.save("1", _token())
        assert tokens.load("1") is not None
        tokens.close()
