"""NetSuite's wire facts, written once: hosts, paths, limits, caps, status codes.

Everything here is a fact about the service, not a choice of erpsync's, and each has
exactly one home: the client, the auth, the backend, the mapping presets and the
emulator (:mod:`erpsync.testing`) import it from here. Standard library only.

Sources: Oracle's SuiteTalk REST documentation and the corrections in WIRE.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# -- hosts and paths ----------------------------------------------------------------------

#: ``https://<account>.suitetalk.api.netsuite.com``, the account id in lower case with
#: ``_`` as ``-`` (``1234567_SB1`` -> ``1234567-sb1``). Oracle recommends looking the
#: domain up; an explicit ``base_url`` is accepted everywhere.
REST_HOST_TEMPLATE: Final = "https://{host}.suitetalk.api.netsuite.com"
RESTLET_HOST_TEMPLATE: Final = "https://{host}.restlets.api.netsuite.com"
RECORD_ROOT: Final = "/services/rest/record/v1"
METADATA_CATALOG_PATH: Final = "/services/rest/record/v1/metadata-catalog"
SUITEQL_PATH: Final = "/services/rest/query/v1/suiteql"
ASYNC_JOB_PATH: Final = "/services/rest/async/v1/job"
GOVERNANCE_LIMITS_PATH: Final = "/services/rest/system/v1/governanceLimits"
TOKEN_PATH: Final = "/services/rest/auth/oauth2/v1/token"
RESTLET_PATH: Final = "/app/site/hosting/restlet.nl"


def host_label(account_id: str) -> str:
    """The host label of an account id: lower case, ``_`` as ``-``."""
    return account_id.strip().lower().replace("_", "-")


def realm_of(account_id: str) -> str:
    """The TBA ``realm``: the account id in upper case with ``_`` (``1234567_SB1``)."""
    return account_id.strip().upper().replace("-", "_")


# -- SuiteQL ------------------------------------------------------------------------------

#: Rows in one page (``?limit=``), and in one query across all its pages: past this, page
#: by a unique ordered key (``id > :last``).
MAX_PAGE_SIZE: Final = 1000
SUITEQL_ROW_CAP: Final = 100_000

# -- authentication -----------------------------------------------------------------------

#: Token-based auth signs with HMAC-SHA256 only (HMAC-SHA1 is refused).
TBA_SIGNATURE_METHOD: Final = "HMAC-SHA256"
TBA_TIMESTAMP_WINDOW_SECONDS: Final = 300
TBA_MIN_NONCE_LENGTH: Final = 6
CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: JWT algorithms the M2M token endpoint accepts (RS256 no longer is).
M2M_ALGORITHMS: Final = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
#: Oracle's page describes ``scope`` as a comma-separated string; some clients send a
#: JSON array, which the service accepts too.
M2M_SCOPES: Final = ("restlets", "rest_webservices")
M2M_SCOPE: Final = ",".join(M2M_SCOPES)
#: An assertion's ``exp`` may be at most this long after its ``iat``; the access token
#: it buys lives as long. There is no refresh token.
MAX_ASSERTION_SECONDS: Final = 3600
ACCESS_TOKEN_SECONDS: Final = 3600
#: M2M certificates: RSA of at least 3072 bits or EC P-256/384/521, valid two years.
MIN_RSA_BITS: Final = 3072
MAX_CERTIFICATE_DAYS: Final = 730

# -- governance ---------------------------------------------------------------------------

#: One account-wide concurrency limit shared by SOAP, REST and RESTlets, by service tier
#: (+10 per SuiteCloud Plus licence).
CONCURRENCY_BY_TIER: Final[Mapping[str, int]] = MappingProxyType(
    {"standard": 5, "premium": 15, "enterprise": 20, "ultimate": 20}
)
DEFAULT_CONCURRENCY: Final = 5
CONCURRENCY_PER_SUITECLOUD_PLUS: Final = 10
#: Requests over this time out at NetSuite.
REQUEST_TIMEOUT_SECONDS: Final = 15 * 60.0

# -- REST records -------------------------------------------------------------------------

#: Characters allowed in an ``eid:`` external id.
EXTERNAL_ID_ALPHABET: Final = "letters, digits, '_' and '-'"
IDEMPOTENCY_HEADER: Final = "X-NetSuite-Idempotency-Key"
#: Response headers carrying a request id worth quoting to Oracle support.
REQUEST_ID_HEADERS: Final = ("X-N-OperationId", "X-Request-Id", "NS_RTIMER_COMPOSITE")

# -- error codes --------------------------------------------------------------------------

INVALID_LOGIN: Final = "INVALID_LOGIN"
INSUFFICIENT_PERMISSION: Final = "INSUFFICIENT_PERMISSION"
INVALID_CONTENT: Final = "INVALID_CONTENT"
USER_ERROR: Final = "USER_ERROR"
INVALID_KEY_OR_REF: Final = "INVALID_KEY_OR_REF"
CONCURRENCY_LIMIT_EXCEEDED: Final = "CONCURRENCY_LIMIT_EXCEEDED"
IDEMPOTENCY_ERROR: Final = "IDEMPOTENCY_ERROR"
SERVICE_UNAVAILABLE: Final = "SERVICE_UNAVAILABLE"

# -- transaction status codes -------------------------------------------------------------

#: SuiteQL ``transaction.type`` of the documents erpsync reads and writes.
INVOICE_TYPE: Final = "CustInvc"
PAYMENT_TYPE: Final = "CustPymt"
PURCHASE_ORDER_TYPE: Final = "PurchOrd"
ITEM_RECEIPT_TYPE: Final = "ItemRcpt"

#: Purchase order status letters (REST ``orderStatus.id``, SuiteQL ``transaction.status``;
#: search filters write them ``PurchOrd:B``) and their labels (REST ``status.id`` carries
#: the label itself).
PO_STATUS_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "A": "Pending Supervisor Approval",
        "B": "Pending Receipt",
        "C": "Rejected by Supervisor",
        "D": "Partially Received",
        "E": "Pending Billing/Partially Received",
        "F": "Pending Bill",
        "G": "Fully Billed",
        "H": "Closed",
    }
)
#: Invoice status letters and labels (SuiteQL ``CustInvc:A``...; approval routing adds
#: D and E, a voided invoice reads V).
INVOICE_STATUS_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {"A": "Open", "B": "Paid In Full", "D": "Pending Approval", "E": "Rejected", "V": "Voided"}
)
#: Customer payment status letters and labels.
PAYMENT_STATUS_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {"A": "Unapproved Payment", "B": "Not Deposited", "C": "Deposited"}
)
#: Every status table above, by transaction type.
STATUS_LABELS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        INVOICE_TYPE: INVOICE_STATUS_LABELS,
        PAYMENT_TYPE: PAYMENT_STATUS_LABELS,
        PURCHASE_ORDER_TYPE: PO_STATUS_LABELS,
    }
)

#: Columns of the ``DeletedRecord`` SuiteQL table (there is no ``externalid``).
DELETED_RECORD_COLUMNS: Final = (
    "context",
    "deleteddate",
    "deletedby",
    "iscustomlist",
    "iscustomrecord",
    "name",
    "recordid",
    "recordtypeid",
    "type",
)
