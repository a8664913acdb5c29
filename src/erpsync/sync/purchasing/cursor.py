"""The purchasing run's cursor: where the order and deletion feeds stopped, stored as
one JSON value so both watermarks move together (see :mod:`erpsync.sync.purchasing`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from erpsync.errors import ConfigurationError

__all__ = ["Cursor"]

_CURSOR_VERSION = 1


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the feeds stopped: the newest order seen (``updated_at``, id) and the newest
    deletion time. Stored as JSON in one store cursor so both move together."""

    orders_at: datetime | None = None
    orders_id: str | None = None
    deleted_at: datetime | None = None

    def dump(self) -> str:
        def stamp(value: datetime | None) -> str | None:
            return None if value is None else value.astimezone(UTC).isoformat()

        return json.dumps(
            {
                "v": _CURSOR_VERSION,
                "orders": {"at": stamp(self.orders_at), "id": self.orders_id},
                "deleted": stamp(self.deleted_at),
            },
            sort_keys=True,
        )

    @classmethod
    def load(cls, name: str, text: str | None) -> Cursor:
        if text is None:
            return cls()
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("v") != _CURSOR_VERSION:
                raise ValueError("unknown cursor format")
            orders = data.get("orders") or {}
            return cls(
                orders_at=_parse_stamp(orders.get("at")),
                orders_id=orders.get("id"),
                deleted_at=_parse_stamp(data.get("deleted")),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise ConfigurationError(
                f"the purchasing cursor {name!r} is not readable: {exc}",
                hint="set it again with store.set_cursor, or delete it to start over",
            ) from None


def _parse_stamp(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a timestamp")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
