"""NetSuite ``DeletedRecord`` SuiteQL rows -> :class:`~erpsync.models.DeletedRecord`."""

from __future__ import annotations

from typing import Any

from erpsync.models import (
    DeletedRecord,
)
from erpsync.netsuite.values import (
    WireReader,
    usable_external_id,
)

# -- deleted records ---------------------------------------------------------------------


def deleted_from_row(row: Any) -> DeletedRecord:
    """A ``DeletedRecord`` SuiteQL row (``deleted`` formatted with ``TO_CHAR``)."""
    reader = WireReader(row, "deletedrecord row")
    deleted_at = reader.timestamp("deleted")
    if deleted_at is None:
        reader.fail("deleted", "is missing")
    record: DeletedRecord = reader.build(
        DeletedRecord,
        record_type=reader.required_text("recordtypeid"),
        id=reader.required_text("recordid"),
        external_id=usable_external_id(reader.text("externalid")),
        deleted_at=deleted_at,
    )
    return record
