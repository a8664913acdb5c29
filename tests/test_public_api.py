"""The public surface is a contract: this test changes only with a CHANGELOG entry."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

import erpsync

#: The exact ``__all__`` of every public package, httpx-style: adding, removing or renaming
#: a public name fails here first, so that it is a deliberate change with a CHANGELOG line.
EXPORTS: dict[str, set[str]] = {
    "erpsync": {
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
        "UnknownNameError",
        "UnsupportedOperationError",
        "Vendor",
        "WebhookSignatureError",
    },
    "erpsync.models": {
        "Currency",
        "Customer",
        "DeletedRecord",
        "ExternalId",
        "Invoice",
        "InvoiceLine",
        "InvoiceStatus",
        "Item",
        "ItemReceipt",
        "ItemReceiptLine",
        "Money",
        "Payment",
        "PaymentApplication",
        "PurchaseOrder",
        "PurchaseOrderLine",
        "PurchaseOrderStatus",
        "Quantity",
        "Ref",
        "Vendor",
        "currency_exponent",
        "decode_external_id",
        "encode_external_id",
        "round_money",
    },
    "erpsync.limits": {"Limiter", "LocalLimiter", "RateLimit", "RedisLimiter", "limiter_for"},
    "erpsync.store": {
        "Claim",
        "DEFAULT_TENANT",
        "EntryState",
        "KeyLike",
        "LedgerEntry",
        "LedgerKey",
        "LockLease",
        "PostgresSyncStore",
        "RunError",
        "RunRecord",
        "RunStatus",
        "SQLiteSyncStore",
        "SyncStore",
        "content_hash",
        "make_owner",
    },
    "erpsync.quickbooks": {
        "EventDeduplicator",
        "FileTokenStore",
        "MemoryTokenStore",
        "QuickBooksAuth",
        "QuickBooksBackend",
        "QuickBooksClient",
        "QuickBooksRealmAuth",
        "PostgresTokenStore",
        "QuickBooksToken",
        "TokenStore",
        "WebhookEvent",
        "handle_webhook",
        "parse_webhook",
        "verify_webhook",
    },
    "erpsync.netsuite": {
        "ClientCredentialsAuth",
        "GeneratedCertificate",
        "NetSuiteAuth",
        "NetSuiteBackend",
        "NetSuiteClient",
        "TokenBasedAuth",
        "generate_certificate",
    },
    "erpsync.mapping": {
        "FieldMapping",
        "InvoicePolicy",
        "ItemRule",
        "JobStatus",
        "NETSUITE_PO_STATUS",
        "NETSUITE_PO_TO_ION",
        "QUICKBOOKS_PO_TO_ION",
        "StatusTable",
        "XometryJob",
        "XometryPayout",
        "invoice_for_job",
        "item_id_from_line",
        "payment_for_payout",
    },
    "erpsync.testing": {
        "AuthorizationGrant",
        "Clock",
        "Drop",
        "Emulator",
        "EmulatorStats",
        "FakeClock",
        "FakeNetSuite",
        "FakeQuickBooks",
        "Fault",
        "FaultPlan",
        "Governance",
        "Latency",
        "MissingExtraError",
        "NETSUITE_GOVERNANCE",
        "NetSuiteCredentials",
        "QBO_DEFAULT_GOVERNANCE",
        "QBO_GOVERNANCE",
        "QuickBooksCredentials",
        "SystemClock",
        "Window",
        "connect_quickbooks",
        "intercepting",
    },
}


@pytest.mark.parametrize("package", sorted(EXPORTS))
def test_all_is_locked(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == EXPORTS[package]
    assert len(module.__all__) == len(set(module.__all__)), "a name is listed twice"


@pytest.mark.parametrize("package", sorted(EXPORTS))
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)  # raises AttributeError when the name does not resolve
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__name__ == name, f"{package}.{name} is {value!r}"


def test_top_level_names_are_the_models_and_errors_they_alias() -> None:
    import erpsync.models

    for name in EXPORTS["erpsync"] & EXPORTS["erpsync.models"]:
        assert getattr(erpsync, name) is getattr(erpsync.models, name)


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
