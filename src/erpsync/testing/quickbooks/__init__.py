"""FakeQuickBooks: an offline QuickBooks Online, in moto's layout.

Routes in routes.py and api.py (one data API per company), state in company.py and
realms.py, auth in oauth.py and openid.py, the entity catalogue and its rules
(catalogue, generic, rules, parties, sales, books, taxes, exchange, recurring), query,
seed and errors beside them.

The public names live here; the modules beside this one are its parts.
"""

from __future__ import annotations

from erpsync.testing.quickbooks.emulator import (
    QBO_DEFAULT_GOVERNANCE,
    QBO_GOVERNANCE,
    AuthorizationGrant,
    FakeQuickBooks,
    QuickBooksCredentials,
    Realm,
    RecordedRequest,
    Subscription,
    WebhookDelivery,
    Webhooks,
    sign,
)

__all__ = [
    "QBO_DEFAULT_GOVERNANCE",
    "QBO_GOVERNANCE",
    "AuthorizationGrant",
    "FakeQuickBooks",
    "QuickBooksCredentials",
    "Realm",
    "RecordedRequest",
    "Subscription",
    "WebhookDelivery",
    "Webhooks",
    "sign",
]
