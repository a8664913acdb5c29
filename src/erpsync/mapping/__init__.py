"""Mapping helpers: translate a source system's vocabulary into erpsync models.

- :mod:`erpsync.mapping.status`: declared status tables (NetSuite purchase-order codes to
  a local system's statuses, and back where unambiguous): the mechanism is
  :mod:`erpsync.mapping.tables`, the shipped tables :mod:`erpsync.mapping.presets`.
- :mod:`erpsync.mapping.xometry`: the single-line invoice for a marketplace job, and the
  payout payment applied to all the payout's invoices.
- :mod:`erpsync.mapping.fields`: custom fields holding ERP internal ids (product to items,
  customer to customer, contract to sales order).

Names are resolved lazily so that importing a status table does not load pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from erpsync._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "StatusTable": "erpsync.mapping.tables",
    "NETSUITE_PO_STATUS": "erpsync.mapping.presets",
    "NETSUITE_PO_TO_ION": "erpsync.mapping.presets",
    "QUICKBOOKS_PO_TO_ION": "erpsync.mapping.presets",
    "FieldMapping": "erpsync.mapping.fields",
    "ItemRule": "erpsync.mapping.fields",
    "item_id_from_line": "erpsync.mapping.fields",
    "XometryJob": "erpsync.mapping.xometry",
    "XometryPayout": "erpsync.mapping.xometry",
    "InvoicePolicy": "erpsync.mapping.xometry",
    "JobStatus": "erpsync.mapping.xometry",
    "invoice_for_job": "erpsync.mapping.xometry",
    "payment_for_payout": "erpsync.mapping.xometry",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from erpsync.mapping.fields import FieldMapping, ItemRule, item_id_from_line
    from erpsync.mapping.presets import (
        NETSUITE_PO_STATUS,
        NETSUITE_PO_TO_ION,
        QUICKBOOKS_PO_TO_ION,
    )
    from erpsync.mapping.tables import StatusTable
    from erpsync.mapping.xometry import (
        InvoicePolicy,
        JobStatus,
        XometryJob,
        XometryPayout,
        invoice_for_job,
        payment_for_payout,
    )


__getattr__, __dir__ = lazy_exports("erpsync.mapping", _EXPORTS, globals())
