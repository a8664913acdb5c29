"""erpsync: a typed connector SDK for NetSuite and QuickBooks Online.

The public surface is the models, the abstract backend and the error tree. Names are
resolved lazily (PEP 562) so that ``import erpsync`` costs almost nothing: a service
that only catches ``erpsync.RateLimitError`` should not pay for pydantic at start-up.
The backends live in :mod:`erpsync.netsuite` and :mod:`erpsync.quickbooks`, the
emulators in :mod:`erpsync.testing`.
"""

from __future__ import annotations

from erpsync._lazy import lazy_exports

#: ``typing.TYPE_CHECKING`` without importing ``typing`` (and, through it, ``re``):
#: type checkers treat any name spelt so as true.
TYPE_CHECKING = False

__version__ = "0.1.0.dev0"

_EXPORTS: dict[str, str] = {
    # models
    "Ref": "erpsync.models",
    "Customer": "erpsync.models",
    "Vendor": "erpsync.models",
    "Item": "erpsync.models",
    "Invoice": "erpsync.models",
    "InvoiceLine": "erpsync.models",
    "InvoiceStatus": "erpsync.models",
    "Payment": "erpsync.models",
    "PaymentApplication": "erpsync.models",
    "PurchaseOrder": "erpsync.models",
    "PurchaseOrderLine": "erpsync.models",
    "PurchaseOrderStatus": "erpsync.models",
    "ItemReceipt": "erpsync.models",
    "ItemReceiptLine": "erpsync.models",
    "DeletedRecord": "erpsync.models",
    # backend
    "AccountingBackend": "erpsync.backend",
    "Capabilities": "erpsync.backend",
    "BulkResult": "erpsync.backend",
    "BulkOutcome": "erpsync.backend",
    "AmbiguousMatchError": "erpsync.backend",
    "UnknownNameError": "erpsync.backend",
    # errors
    "ErpSyncError": "erpsync.errors",
    "ConfigurationError": "erpsync.errors",
    "AuthenticationError": "erpsync.errors",
    "PermissionDeniedError": "erpsync.errors",
    "NotFoundError": "erpsync.errors",
    "InvalidRequestError": "erpsync.errors",
    "ConflictError": "erpsync.errors",
    "DuplicateError": "erpsync.errors",
    "RateLimitError": "erpsync.errors",
    "ServiceError": "erpsync.errors",
    "UnsupportedOperationError": "erpsync.errors",
    "MappingError": "erpsync.errors",
    "WebhookSignatureError": "erpsync.errors",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from erpsync.backend import (
        AccountingBackend,
        AmbiguousMatchError,
        BulkOutcome,
        BulkResult,
        Capabilities,
        UnknownNameError,
    )
    from erpsync.errors import (
        AuthenticationError,
        ConfigurationError,
        ConflictError,
        DuplicateError,
        ErpSyncError,
        InvalidRequestError,
        MappingError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ServiceError,
        UnsupportedOperationError,
        WebhookSignatureError,
    )
    from erpsync.models import (
        Customer,
        DeletedRecord,
        Invoice,
        InvoiceLine,
        InvoiceStatus,
        Item,
        ItemReceipt,
        ItemReceiptLine,
        Payment,
        PaymentApplication,
        PurchaseOrder,
        PurchaseOrderLine,
        PurchaseOrderStatus,
        Ref,
        Vendor,
    )


__getattr__, __dir__ = lazy_exports("erpsync", _EXPORTS, globals())
