"""QuickBooks Online: OAuth 2.0 with safe refresh-token rotation, the v3 data API, query,
batch, change data capture, invoice PDFs and webhooks.

``QuickBooksBackend`` implements :class:`erpsync.AccountingBackend`. Names are resolved
lazily so that a webhook endpoint importing ``verify_webhook`` loads nothing else.

Every module has one role, and netsuite/ has the module of the same name for it:
``wire`` (the service's facts), ``auth`` (authentication), ``token_endpoint`` (the OAuth
token POSTs), ``token_cache`` (where each tenant's token is kept), ``tokens`` (credential
material and its stores; ``credentials`` there), ``client`` (wire client), ``answers``
(reading its answers), ``paging`` (queries over many records), ``query`` (query
building), ``errors`` (error decoding), ``records`` (wire <-> models) and ``backend``
(the AccountingBackend). QuickBooks' own: ``connect`` (the authorization-code flow),
``oauth_token``, ``batch``, ``webhooks`` and ``webhook_events``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from erpsync._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "QuickBooksBackend": "erpsync.quickbooks.backend",
    "QuickBooksClient": "erpsync.quickbooks.client",
    "QuickBooksAuth": "erpsync.quickbooks.auth",
    "QuickBooksRealmAuth": "erpsync.quickbooks.auth",
    "QuickBooksToken": "erpsync.quickbooks.tokens",
    "TokenStore": "erpsync.quickbooks.tokens",
    "FileTokenStore": "erpsync.quickbooks.tokens",
    "MemoryTokenStore": "erpsync.quickbooks.tokens",
    "PostgresTokenStore": "erpsync.quickbooks.postgres_tokens",
    "verify_webhook": "erpsync.quickbooks.webhooks",
    "parse_webhook": "erpsync.quickbooks.webhooks",
    "handle_webhook": "erpsync.quickbooks.webhooks",
    "WebhookEvent": "erpsync.quickbooks.webhooks",
    "EventDeduplicator": "erpsync.quickbooks.webhooks",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from erpsync.quickbooks.auth import QuickBooksAuth, QuickBooksRealmAuth
    from erpsync.quickbooks.backend import QuickBooksBackend
    from erpsync.quickbooks.client import QuickBooksClient
    from erpsync.quickbooks.postgres_tokens import PostgresTokenStore
    from erpsync.quickbooks.tokens import (
        FileTokenStore,
        MemoryTokenStore,
        QuickBooksToken,
        TokenStore,
    )
    from erpsync.quickbooks.webhooks import (
        EventDeduplicator,
        WebhookEvent,
        handle_webhook,
        parse_webhook,
        verify_webhook,
    )


__getattr__, __dir__ = lazy_exports("erpsync.quickbooks", _EXPORTS, globals())
