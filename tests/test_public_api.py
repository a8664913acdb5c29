"""The public surface is a contract: this test changes only with a CHANGELOG entry."""

from __future__ import annotations

import subprocess
import sys

import erpsync

EXPECTED = {
    "AccountingBackend",
    "AmbiguousMatchError",
    "AuthenticationError",
    "BulkOutcome",
    "BulkResult",
    "Capabilities",
    "ConfigurationError",
    "ConflictError",
    "Customer",
    "DeletedRecord",
    "DuplicateError",
    "ErpSyncError",
    "InvalidRequestError",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "Item",
    "ItemReceipt",
    "ItemReceiptLine",
    "MappingError",
    "NotFoundError",
    "Payment",
    "PaymentApplication",
    "PermissionDeniedError",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderStatus",
    "RateLimitError",
    "Ref",
    "ServiceError",
    "UnsupportedOperationError",
    "Vendor",
    "WebhookSignatureError",
}


def test_all_is_locked() -> None:
    assert set(erpsync.__all__) == EXPECTED


def test_every_exported_name_resolves() -> None:
    for name in erpsync.__all__:
        assert getattr(erpsync, name).__name__ == name


def test_unknown_names_raise_attribute_error() -> None:
    try:
        erpsync.NoSuchThing  # type: ignore[attr-defined]
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_erpsync_stays_light() -> None:
    code = (
        "import sys, erpsync; "
        "heavy = [m for m in ('pydantic', 'requests', 'cryptography', 'jwt', 'tenacity') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
