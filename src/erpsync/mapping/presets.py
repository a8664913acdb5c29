"""The status tables erpsync ships: NetSuite's purchase-order letters and labels, and
seed 004's NetSuite -> ION and QuickBooks -> ION purchase-order tables.

The ERPs' own letters and labels are wire facts and come from
:mod:`erpsync.netsuite.wire` / :mod:`erpsync.quickbooks.wire`; only the choices made for
ION (which local status each remote one becomes) are written here.
"""

from __future__ import annotations

from erpsync.mapping.tables import StatusTable
from erpsync.netsuite import wire as netsuite_wire

__all__ = ["NETSUITE_PO_STATUS", "NETSUITE_PO_TO_ION", "QUICKBOOKS_PO_TO_ION"]


#: NetSuite purchase-order status codes and their labels (one home: the wire facts).
_NETSUITE_PO_LABELS: dict[str, str] = dict(netsuite_wire.PO_STATUS_LABELS)

#: Every label, plus the approval words and erpsync's ``PurchaseOrderStatus`` spellings
#: that differ from the labels (``pending_approval``, ``rejected``), so a model's status
#: can be looked up directly. "Approved by Supervisor" is how seed 004 lists an approved
#: PO awaiting receipt.
_NETSUITE_PO_ALIASES: dict[str, str] = {
    **{label: code for code, label in _NETSUITE_PO_LABELS.items()},
    "Pending Approval": "A",
    "Approved by Supervisor": "B",
    "Approved by Supervisor/Pending Receipt": "B",
    "Rejected": "C",
}

NETSUITE_PO_STATUS = StatusTable(
    "netsuite-po-status", _NETSUITE_PO_LABELS, aliases=_NETSUITE_PO_ALIASES
)
"""NetSuite purchase-order code -> label; ``key_for(label)`` gives the code back."""

NETSUITE_PO_TO_ION = StatusTable(
    "netsuite-po-to-ion",
    {
        "A": "Draft",  # Pending Supervisor Approval
        "B": "Ordered",  # Pending Receipt
        # Rejected by Supervisor -> Draft, not Canceled: a rejection is not final in
        # NetSuite (the PO can be edited and resubmitted, going back to A), and ION's
        # Canceled cancels the open lines, a side effect seed 004 reserves for Closed.
        "C": "Draft",
        "D": "Ordered",  # Partially Received
        "E": "Ordered",  # Pending Billing/Partially Received: goods still outstanding
        "F": "Received",  # Pending Bill
        "G": "Received",  # Fully Billed
        "H": "Canceled",  # Closed: ION cancels the unreceived lines
    },
    aliases=_NETSUITE_PO_ALIASES,
)
"""Seed 004's NetSuite -> ION purchase-order status table.

As printed: Pending Supervisor Approval -> Draft; (Approved by Supervisor) Pending
Receipt and Partially Received -> Ordered; Pending Bill and Fully Billed -> Received;
Closed -> Canceled. Two statuses the seed leaves out are decided here:
Pending Billing/Partially Received -> Ordered, because goods are still outstanding; and
Rejected by Supervisor -> Draft, because a rejection can be reversed in NetSuite (edit
and resubmit) while ION's Canceled cancels open lines. Users who want otherwise build
their own table from ``NETSUITE_PO_TO_ION.to_dict()``.
"""

QUICKBOOKS_PO_TO_ION = StatusTable(
    "quickbooks-po-to-ion",
    {
        "Open": "Ordered",
        # QuickBooks closes a PO by itself once bills cover all its lines, which is the
        # usual path and corresponds to NetSuite's Fully Billed (-> Received). A PO a
        # person closed by hand looks the same on the wire (POStatus has only two
        # values); users who close POs to cancel them should map Closed to Canceled.
        "Closed": "Received",
    },
)
"""QuickBooks Online ``POStatus`` -> ION status: Open -> Ordered, Closed -> Received.

``Closed`` is ambiguous in QuickBooks (fully billed, or closed by hand); see the
comment in the source and override with your own table if your company closes POs to
cancel them.
"""
