"""QuickBooks Online's wire facts, written once: hosts, paths, limits, caps, codes.

Everything here is a fact about the service, not a choice of erpsync's, and each has
exactly one home: the client, the auth, the backend, the mapping presets and the
emulator (:mod:`erpsync.testing`) import it from here, so that when Intuit changes one
(the minimum minor version did, in August 2025) one line changes. Standard library only,
so that the emulator and a webhook endpoint can import it for free.

Sources: Intuit's developer documentation and the corrections in WIRE.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

# -- hosts and paths ----------------------------------------------------------------------

PRODUCTION_URL: Final = "https://quickbooks.api.intuit.com"
SANDBOX_URL: Final = "https://sandbox-quickbooks.api.intuit.com"
#: Data API paths are ``/v3/company/{realmId}/{entity}`` (entity in lower case).
DATA_PREFIX: Final = "/v3/company/"

AUTHORIZE_URL: Final = "https://appcenter.intuit.com/connect/oauth2"
TOKEN_URL: Final = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
REVOKE_URL: Final = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
DISCOVERY_URLS: Final = {
    "production": "https://developer.intuit.com/.well-known/openid_configuration/",
    "sandbox": "https://developer.intuit.com/.well-known/openid_sandbox_configuration/",
}
OPENID_ISSUER: Final = "https://oauth.platform.intuit.com/op/v1"
JWKS_URL: Final = "https://oauth.platform.intuit.com/op/v1/jwks"
USERINFO_URLS: Final = {
    "production": "https://accounts.platform.intuit.com/v1/openid_connect/userinfo",
    "sandbox": "https://sandbox-accounts.platform.intuit.com/v1/openid_connect/userinfo",
}
ACCOUNTING_SCOPE: Final = "com.intuit.quickbooks.accounting"
PAYMENT_SCOPE: Final = "com.intuit.quickbooks.payment"
OPENID_SCOPES: Final = ("openid", "profile", "email", "phone", "address")

# -- OAuth lifetimes ----------------------------------------------------------------------

ACCESS_TOKEN_LIFETIME: Final = timedelta(seconds=3600)
#: Rolling: each refresh answer restarts it.
REFRESH_TOKEN_LIFETIME: Final = timedelta(days=100)
#: After this the user must connect the app again, whatever was refreshed.
REFRESH_TOKEN_HARD_LIFETIME: Final = timedelta(days=5 * 365)
#: The refresh answer returns the same refresh token while it is younger than this.
REFRESH_TOKEN_ROTATION_AGE: Final = timedelta(hours=24)
HARD_EXPIRY_HEADER: Final = "x-include-refresh-token-hard-expires-in"

# -- the data API -------------------------------------------------------------------------

#: Sent on every request; anything lower or absent is served as this since Aug 2025.
MINOR_VERSION: Final = 75
#: ``requestid`` (idempotency) length: at most 50 characters, 36 on a batch request.
REQUEST_ID_MAX: Final = 50
BATCH_REQUEST_ID_MAX: Final = 36
#: Each ``bId`` of a batch whose request carries a ``requestid``.
BATCH_ID_MAX: Final = 10
#: Items in one batch request.
BATCH_LIMIT: Final = 30
#: Change data capture: how far back, and how many objects one answer holds across
#: all the entities asked for (not per entity).
CDC_LOOKBACK: Final = timedelta(days=30)
CDC_LIMIT: Final = 1000
#: Query paging: MAXRESULTS at most 1000, 100 when absent; STARTPOSITION is 1-based.
MAX_PAGE_SIZE: Final = 1000
DEFAULT_PAGE_SIZE: Final = 100
#: Query operators Intuit lists (no OR or JOIN). ``!=`` is not listed: the service and
#: FakeQuickBooks accept it (undocumented), but the SDK never sends it.
QUERY_OPERATORS: Final = frozenset({"=", "<", ">", "<=", ">=", "IN", "LIKE"})
#: Field lengths the service enforces.
DOC_NUMBER_MAX: Final = 21
PRIVATE_NOTE_MAX: Final = 4000
NOTES_MAX: Final = 2000
DISPLAY_NAME_MAX: Final = 500
#: Response headers carrying the request id Intuit support asks for.
REQUEST_ID_HEADERS: Final = ("intuit_tid", "Intuit-Tid")
#: Requests over this time out at Intuit: waiting longer for an answer is pointless.
REQUEST_TIMEOUT_SECONDS: Final = 120.0

# -- governance (per company and app) -----------------------------------------------------

MAX_CONCURRENT_REQUESTS: Final = 10
REQUESTS_PER_MINUTE: Final = 500
REQUESTS_PER_SECOND: Final = 10
BATCHES_PER_MINUTE: Final = 40
#: Across every app connected to one company.
BATCHES_PER_MINUTE_PER_COMPANY: Final = 120
#: The rate scope name the limiter uses for batch requests.
BATCH_SCOPE: Final = "batch"

# -- error codes --------------------------------------------------------------------------

DUPLICATE_NAME: Final = "6240"
DUPLICATE_DOC_NUMBER: Final = "6140"
STALE_OBJECT: Final = "5010"
OBJECT_NOT_FOUND: Final = "610"
QUERY_VALIDATION_ERROR: Final = "4001"
QUERY_PARSER_ERROR: Final = "4000"
AUTHENTICATION_FAILED: Final = "3200"
AUTHORIZATION_FAILED: Final = "3100"
THROTTLED: Final = "3001"
SYSTEM_FAULT: Final = "10000"
#: The validation codes of the standard ``Fault`` envelope.
INVALID_VALUE: Final = "2010"
REQUIRED_PARAM_MISSING: Final = "2020"
STRING_LENGTH: Final = "2050"
BUSINESS_VALIDATION: Final = "6000"
AMOUNT_MISMATCH: Final = "6070"
UNSUPPORTED_OPERATION: Final = "500"
REQUEST_LIMIT: Final = "1000"

# -- webhooks -----------------------------------------------------------------------------

SIGNATURE_HEADER: Final = "intuit-signature"
#: CloudEvents deliveries carry at most this many events.
WEBHOOK_EVENTS_MAX: Final = 100
#: Intuit expects the 200 within this many seconds, then retries the delivery.
WEBHOOK_REPLY_SECONDS: Final = 3.0

# -- company preferences ------------------------------------------------------------------

#: The sections a Preferences answer holds.
PREFERENCE_SECTIONS: Final = (
    "AccountingInfoPrefs",
    "ProductAndServicesPrefs",
    "SalesFormsPrefs",
    "EmailMessagesPrefs",
    "VendorAndPurchasesPrefs",
    "TimeTrackingPrefs",
    "TaxPrefs",
    "CurrencyPrefs",
    "ReportPrefs",
    "OtherPrefs",
)
#: Purchase order ``POStatus`` values.
PO_STATUSES: Final = ("Open", "Closed")
#: Item ``Type`` values.
ITEM_TYPES: Final = ("Service", "NonInventory", "Inventory", "Category", "Group")
