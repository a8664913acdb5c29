"""The REST record types the emulator serves, with their fields and sublists.

Record type names follow the REST API Browser (``inventoryItem``,
``nonInventorySaleItem``, ``serviceSaleItem``, ``customerPayment``...). NetSuite matches
them case-insensitively in URLs (its own documentation writes both
``nonInventorySaleItem`` and ``noninventorysaleitem``), so the emulator does too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from erpsync.netsuite import wire
from erpsync.testing.netsuite.fields import (
    BOOL,
    DATE,
    DATETIME,
    INT,
    LABEL,
    MONEY,
    NUMBER,
    REF,
    SELECT,
    TEXT,
    Field,
)

ENTITY_FIELDS = (
    Field("entityId", "entityid", max_length=83),
    Field("companyName", "companyname", max_length=83),
    Field("isPerson", "isperson", BOOL),
    Field("firstName", "firstname", max_length=32),
    Field("lastName", "lastname", max_length=32),
    Field("email", "email", max_length=254),
    Field("phone", "phone", max_length=32),
    Field("subsidiary", "subsidiary", REF, "subsidiary"),
    Field("currency", "currency", REF, "currency"),
    Field("isInactive", "isinactive", BOOL),
    Field("externalId", "externalid", max_length=255),
    Field("dateCreated", "datecreated", DATETIME, readonly=True),
    Field("lastModifiedDate", "lastmodifieddate", DATETIME, readonly=True),
)

ITEM_FIELDS = (
    Field("itemId", "itemid", max_length=250),
    Field("displayName", "displayname", max_length=250),
    Field("description", "description", max_length=4000),
    Field("purchaseDescription", "purchasedescription", max_length=4000),
    Field("cost", "cost", MONEY),
    Field("cogsAccount", "cogsaccount", REF, "account"),
    Field("assetAccount", "assetaccount", REF, "account"),
    Field("incomeAccount", "incomeaccount", REF, "account"),
    Field("isInactive", "isinactive", BOOL),
    Field("externalId", "externalid", max_length=255),
    Field("itemType", "itemtype", SELECT, readonly=True),
    Field("createdDate", "createddate", DATETIME, readonly=True),
    Field("lastModifiedDate", "lastmodifieddate", DATETIME, readonly=True),
)

_TRANSACTION_COMMON = (
    Field("tranId", "tranid", max_length=45),
    Field("tranDate", "trandate", DATE),
    Field("memo", "memo", max_length=999),
    Field("externalId", "externalid", max_length=255),
    Field("currency", "currency", REF, "currency"),
    Field("exchangeRate", "exchangerate", NUMBER),
    Field("createdDate", "createddate", DATETIME, readonly=True),
    Field("lastModifiedDate", "lastmodifieddate", DATETIME, readonly=True),
)
_STATUS = Field("status", "status", SELECT, readonly=True)

INVOICE_FIELDS = (
    *_TRANSACTION_COMMON,
    _STATUS,
    Field("entity", "entity", REF, "customer"),
    Field("dueDate", "duedate", DATE),
    Field("total", "foreigntotal", MONEY, readonly=True),
    Field("taxTotal", "taxtotal", MONEY, readonly=True),
    Field("amountRemaining", "foreignamountremaining", MONEY, readonly=True),
    Field("amountPaid", "foreignamountpaid", MONEY, readonly=True),
)

PAYMENT_FIELDS = (
    *_TRANSACTION_COMMON,
    _STATUS,
    Field("customer", "entity", REF, "customer"),
    Field("payment", "foreigntotal", MONEY),
    Field("applied", "foreignpaymentamountused", MONEY, readonly=True),
    Field("unapplied", "foreignpaymentamountunused", MONEY, readonly=True),
)

PURCHASE_ORDER_FIELDS = (
    *_TRANSACTION_COMMON,
    # REST shows the label in ``status`` (as its id too) and the letter in ``orderStatus``.
    Field("status", "status", LABEL, readonly=True),
    Field("orderStatus", "status", SELECT, readonly=True),
    Field("entity", "entity", REF, "vendor"),
    Field("dueDate", "duedate", DATE),
    Field("approvalStatus", "approvalstatus", SELECT),
    Field("total", "foreigntotal", MONEY, readonly=True),
)

ITEM_RECEIPT_FIELDS = (
    *_TRANSACTION_COMMON,
    _STATUS,
    Field("entity", "entity", REF, "vendor", readonly=True),
    Field("createdFrom", None, REF, "transaction", readonly=True),
)

_ITEM_LINE = (
    Field("line", "id", INT, readonly=True),
    Field("item", "item", REF, "item"),
    Field("quantity", "quantity", NUMBER),
    Field("rate", "rate", NUMBER),
    Field("amount", "foreignamount", MONEY),
    Field("description", "memo", max_length=4000),
)

SALES_LINE = (*_ITEM_LINE, Field("taxCode", "taxcode", REF, "salestaxitem"))

PURCHASE_LINE = (
    *_ITEM_LINE,
    Field("quantityReceived", "quantityshiprecv", NUMBER, readonly=True),
    Field("isClosed", "isclosed", BOOL),
)

RECEIPT_LINE = (
    Field("line", "id", INT, readonly=True),
    Field("orderLine", None, INT),
    Field("item", "item", REF, "item", readonly=True),
    Field("quantity", "quantity", NUMBER),
    Field("rate", "rate", NUMBER, readonly=True),
    Field("itemReceive", None, BOOL),
    Field("description", "memo", max_length=4000),
)

APPLY_LINE = (
    Field("doc", None, REF, "transaction"),
    Field("apply", None, BOOL),
    Field("amount", None, MONEY),
    Field("total", None, MONEY, readonly=True),
    Field("due", None, MONEY, readonly=True),
    Field("refNum", None, TEXT, readonly=True),
    Field("line", None, INT, readonly=True),
)

#: The fields every list record ends with.
_LIST_TAIL = (
    Field("isInactive", "isinactive", BOOL),
    Field("externalId", "externalid"),
    Field("lastModifiedDate", "lastmodifieddate", DATETIME, readonly=True),
)

LIST_FIELDS = {
    "currency": (
        Field("name", "name"),
        Field("symbol", "symbol"),
        Field("displaySymbol", "displaysymbol"),
        Field("isBaseCurrency", "isbasecurrency", BOOL),
        Field("isInactive", "isinactive", BOOL),
        Field("exchangeRate", "exchangerate", NUMBER),
        Field("currencyPrecision", "currencyprecision", INT),
        Field("externalId", "externalid"),
        Field("lastModifiedDate", "lastmodifieddate", DATETIME, readonly=True),
    ),
    "account": (
        Field("acctNumber", "acctnumber"),
        Field("acctName", "fullname"),
        Field("acctType", "accttype", SELECT),
        *_LIST_TAIL,
    ),
    "salesTaxItem": (
        Field("itemId", "itemid"),
        Field("description", "description"),
        Field("rate", "rate", NUMBER),
        *_LIST_TAIL,
    ),
    "subsidiary": (
        Field("name", "name"),
        Field("fullName", "fullname"),
        Field("currency", "currency", REF, "currency"),
        Field("country", "country", SELECT),
        Field("isInactive", "isinactive", BOOL),
        Field("isElimination", "iselimination", BOOL),
        Field("externalId", "externalid"),
        Field("lastModifiedDate", "lastmodifieddate", DATETIME, readonly=True),
    ),
}


@dataclass(frozen=True)
class RecordType:
    """A REST record type: its URL name, where its rows live and what it looks like."""

    name: str
    table: str
    family: str  # "entity", "item", "transaction" or "list"
    label: str
    fields: tuple[Field, ...]
    sublists: dict[str, tuple[Field, ...]] = field(default_factory=dict)
    tran_type: str | None = None
    item_kind: tuple[str, str | None] | None = None
    writable: bool = True

    @property
    def custom_prefix(self) -> str | None:
        return {"entity": "custentity", "item": "custitem", "transaction": "custbody"}.get(
            self.family
        )


def _item(name: str, label: str, itemtype: str, subtype: str | None) -> RecordType:
    return RecordType(name, "item", "item", label, ITEM_FIELDS, item_kind=(itemtype, subtype))


RECORD_TYPES: dict[str, RecordType] = {
    rt.name.lower(): rt
    for rt in (
        RecordType("customer", "customer", "entity", "Customer", ENTITY_FIELDS),
        RecordType("vendor", "vendor", "entity", "Vendor", ENTITY_FIELDS),
        _item("inventoryItem", "Inventory Item", "InvtPart", None),
        _item("nonInventorySaleItem", "Non-inventory Item for Sale", "NonInvtPart", "Sale"),
        _item(
            "nonInventoryPurchaseItem", "Non-inventory Item for Purchase", "NonInvtPart", "Purchase"
        ),
        _item("nonInventoryResaleItem", "Non-inventory Item for Resale", "NonInvtPart", "Resale"),
        _item("serviceSaleItem", "Service for Sale", "Service", "Sale"),
        _item("servicePurchaseItem", "Service for Purchase", "Service", "Purchase"),
        _item("serviceResaleItem", "Service for Resale", "Service", "Resale"),
        RecordType(
            "invoice",
            "transaction",
            "transaction",
            "Invoice",
            INVOICE_FIELDS,
            {"item": SALES_LINE},
            tran_type=wire.INVOICE_TYPE,
        ),
        RecordType(
            "customerPayment",
            "transaction",
            "transaction",
            "Payment",
            PAYMENT_FIELDS,
            {"apply": APPLY_LINE},
            tran_type=wire.PAYMENT_TYPE,
        ),
        RecordType(
            "purchaseOrder",
            "transaction",
            "transaction",
            "Purchase Order",
            PURCHASE_ORDER_FIELDS,
            {"item": PURCHASE_LINE},
            tran_type=wire.PURCHASE_ORDER_TYPE,
        ),
        RecordType(
            "itemReceipt",
            "transaction",
            "transaction",
            "Item Receipt",
            ITEM_RECEIPT_FIELDS,
            {"item": RECEIPT_LINE},
            tran_type=wire.ITEM_RECEIPT_TYPE,
        ),
        RecordType(
            "currency", "currency", "list", "Currency", LIST_FIELDS["currency"], writable=False
        ),
        RecordType("account", "account", "list", "Account", LIST_FIELDS["account"], writable=False),
        RecordType(
            "salesTaxItem",
            "salestaxitem",
            "list",
            "Sales Tax Item",
            LIST_FIELDS["salesTaxItem"],
            writable=False,
        ),
        RecordType(
            "subsidiary",
            "subsidiary",
            "list",
            "Subsidiary",
            LIST_FIELDS["subsidiary"],
            writable=False,
        ),
    )
}

BY_TRAN_TYPE = {rt.tran_type: rt for rt in RECORD_TYPES.values() if rt.tran_type}
BY_ITEM_KIND = {rt.item_kind: rt for rt in RECORD_TYPES.values() if rt.item_kind}

ITEM_TYPE_LABELS = {
    "InvtPart": "Inventory Item",
    "NonInvtPart": "Non-inventory Item",
    "Service": "Service",
}

APPROVAL_LABELS = {"1": "Pending Approval", "2": "Approved", "3": "Rejected"}


def lookup(name: str) -> RecordType | None:
    return RECORD_TYPES.get(name.lower())
