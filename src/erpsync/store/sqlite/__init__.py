"""The default :class:`~erpsync.store.SyncStore`: one SQLite file (see :class:`SQLiteSyncStore`)."""

from erpsync.store.sqlite.schema import SCHEMA_VERSION
from erpsync.store.sqlite.store import SQLiteSyncStore

__all__ = ["SCHEMA_VERSION", "SQLiteSyncStore"]
