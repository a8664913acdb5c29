"""Status tables: a declared, immutable translation from an ERP's statuses to yours.

This module is the documented home of the names; the mechanism is
:mod:`erpsync.mapping.tables` (:class:`StatusTable`: immutable, codes and labels both
accepted, case and spacing tolerant, an unmapped value a
:class:`~erpsync.errors.MappingError` naming the value and the table) and the shipped
tables are :mod:`erpsync.mapping.presets`.
"""

from __future__ import annotations

from erpsync.mapping.presets import NETSUITE_PO_STATUS, NETSUITE_PO_TO_ION, QUICKBOOKS_PO_TO_ION

# Tables pickled before the split name ``erpsync.mapping.status._rebuild``; keep it found.
from erpsync.mapping.tables import (
    StatusTable,
    _rebuild,  # noqa: F401
)

__all__ = [
    "NETSUITE_PO_STATUS",
    "NETSUITE_PO_TO_ION",
    "QUICKBOOKS_PO_TO_ION",
    "StatusTable",
]
