"""The SQLite store, erpsync's embedded default (:class:`SQLiteSyncStore`)."""

from __future__ import annotations

from erpsync.store.sqlite.schema import SCHEMA_VERSION
from erpsync.store.sqlite.store import SQLiteSyncStore

__all__ = ["SCHEMA_VERSION", "SQLiteSyncStore"]
