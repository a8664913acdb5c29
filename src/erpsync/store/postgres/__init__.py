"""The PostgreSQL store (:class:`PostgresSyncStore`), for workers on many hosts.

Needs the ``postgres`` extra (psycopg 3 and psycopg_pool); importing this package is
what imports them, and ``erpsync.store`` loads it only when the name is first used.
"""

from __future__ import annotations

from erpsync.store.postgres.schema import SCHEMA_VERSION
from erpsync.store.postgres.store import PostgresSyncStore

__all__ = ["SCHEMA_VERSION", "PostgresSyncStore"]
