"""Cursors written by erpsync before the purchasing run moved onto the shared feed.

Until then the run kept both watermarks in one JSON value under its cursor name
(``purchasing:<scope>``)::

    {"v": 1, "orders": {"at": "<ISO>" | null, "id": "<id>" | null}, "deleted": "<ISO>" | null}

Now the order feed keeps a :class:`~erpsync.sync.feed.FeedPosition` under that name
and the deleted-order feed one under ``purchasing:<scope>.deleted``. A store written by
the old version is rewritten into that form at the start of the next run (under its
run lock), to the same positions, so an upgraded run neither re-processes nor skips an
order: ``orders`` with an id is that record's position; ``orders`` without an id (held
back before an order another process held) is the position just before its time;
``deleted`` is the position just before it. The deletion cursor is written first: a
crash between the two writes leaves the old value under the order cursor, and the
upgrade simply happens again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from erpsync.errors import ConfigurationError
from erpsync.store import SyncStore
from erpsync.sync.feed import FeedPosition

__all__ = ["upgrade_cursor"]

_LEGACY_VERSION = 1


def upgrade_cursor(store: SyncStore, name: str, deleted_name: str, *, tenant: str) -> bool:
    """Rewrite an old-format cursor ``name`` into the two feed cursors; True if it was
    one. Anything else is left for the feed to read (or to refuse, naming the cursor)."""
    raw = store.get_cursor(name, tenant=tenant)
    if raw is None or not raw.lstrip().startswith("{"):
        return False
    orders, deleted = _legacy_positions(name, raw)
    if deleted is not None:
        store.set_cursor(deleted_name, deleted.text(), tenant=tenant)
    # An empty value is "no position yet": the first run's start_from applies.
    store.set_cursor(name, orders.text() if orders is not None else "", tenant=tenant)
    return True


def _legacy_positions(name: str, raw: str) -> tuple[FeedPosition | None, FeedPosition | None]:
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("v") != _LEGACY_VERSION:
            raise ValueError("unknown cursor format")
        orders = data.get("orders") or {}
        if not isinstance(orders, dict):
            raise ValueError("'orders' is not an object")
        orders_at = _stamp(orders.get("at"))
        orders_id = orders.get("id")
        if orders_id is not None and not isinstance(orders_id, str):
            raise ValueError(f"order id {orders_id!r} is not a string")
        deleted_at = _stamp(data.get("deleted"))
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"the purchasing cursor {name!r} is not readable: {exc}",
            hint="set it again with store.set_cursor, or delete it to start over",
        ) from None
    position = None
    if orders_at is not None:
        position = FeedPosition.of(orders_at, orders_id or "")  # no id: just before it
    deleted = FeedPosition.before(deleted_at) if deleted_at is not None else None
    return position, deleted


def _stamp(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a timestamp")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
