"""FakeQuickBooks: an offline QuickBooks Online, in moto's layout.

Routes in api.py, state in company.py, auth in oauth.py, entity rules, query, seed and
errors beside them.

The public names live here; the modules beside this one are its parts.
"""

from __future__ import annotations

from erpsync.testing.quickbooks.emulator import (
    QBO_GOVERNANCE,
    AuthorizationGrant,
    FakeQuickBooks,
    QuickBooksCredentials,
    RecordedRequest,
    Subscription,
    WebhookDelivery,
    Webhooks,
    sign,
)

__all__ = [
    "QBO_GOVERNANCE",
    "AuthorizationGrant",
    "FakeQuickBooks",
    "QuickBooksCredentials",
    "RecordedRequest",
    "Subscription",
    "WebhookDelivery",
    "Webhooks",
    "sign",
]
