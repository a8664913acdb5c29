"""Property tests: the public wire decoders of both backends let nothing but erpsync
errors escape, whatever the service (or something pretending to be it) sends.

DESIGN.md: "Nothing else escapes the library: a malformed body, an HTML error page, a
truncated response become one of these". Each decoder is fed arbitrary input of two
kinds: free-form JSON, and realistic wire records (shaped as WIRE.md describes) with a few
subtrees replaced by arbitrary JSON or deleted, which reaches far deeper into the
decoders than random dictionaries do.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict

from erpsync.errors import ErpSyncError
from erpsync.netsuite import errors as ns_errors
from erpsync.netsuite import records as ns_records
from erpsync.quickbooks import errors as qb_faults
from erpsync.quickbooks import records as qb_records
from erpsync.quickbooks.webhooks import parse_webhook

_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- arbitrary JSON -------------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False, places=None)
    | st.sampled_from(["", " ", "0", "-1", "1e999999", "NaN", "2026-11-03", "T", "USD", "B"])
    | st.text(max_size=20)
)
json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, sample: dict[str, Any]) -> Any:
    """``sample`` with one to three subtrees replaced by arbitrary JSON or removed."""
    data: Any = copy.deepcopy(sample)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_paths(data)))
        if not path:
            data = draw(json_values)
            continue
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return data


def _only_erpsync_errors(action: Callable[[], object]) -> object:
    try:
        return action()
    except ErpSyncError:
        return None


# -- realistic wire records (shapes from WIRE.md) -------------------------------------------

_META = {"CreateTime": "2026-11-03T10:00:00-07:00", "LastUpdatedTime": "2026-11-03T10:00:00-07:00"}
QBO_SAMPLES: dict[str, dict[str, Any]] = {
    "customer": {
        "Id": "58",
        "SyncToken": "0",
        "DisplayName": "Acme",
        "PrimaryEmailAddr": {"Address": "a@b.c"},
        "CurrencyRef": {"value": "USD"},
        "MetaData": _META,
    },
    "item": {"Id": "1", "Name": "Services", "Type": "Service", "MetaData": _META},
    "invoice": {
        "Id": "130",
        "SyncToken": "0",
        "DocNumber": "1042",
        "TxnDate": "2026-11-03",
        "DueDate": "2026-12-03",
        "CustomerRef": {"value": "58", "name": "Acme"},
        "CurrencyRef": {"value": "USD"},
        "PrivateNote": "note",
        "TotalAmt": Decimal("100.00"),
        "Balance": Decimal("100.00"),
        "MetaData": _META,
        "Line": [
            {
                "Id": "1",
                "LineNum": 1,
                "DetailType": "SalesItemLineDetail",
                "Amount": Decimal("100.00"),
                "Description": "Job",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "1"},
                    "Qty": 1,
                    "UnitPrice": 100,
                    "TaxCodeRef": {"value": "NON"},
                },
            },
            {
                "DetailType": "SubTotalLineDetail",
                "Amount": Decimal("100.00"),
                "SubTotalLineDetail": {},
            },
        ],
    },
    "payment": {
        "Id": "7",
        "TotalAmt": Decimal("250.00"),
        "CustomerRef": {"value": "58"},
        "TxnDate": "2026-11-04",
        "UnappliedAmt": Decimal("50.00"),
        "CurrencyRef": {"value": "USD"},
        "MetaData": _META,
        "Line": [
            {"Amount": Decimal("200.00"), "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]}
        ],
    },
    "purchase_order": {
        "Id": "9",
        "DocNumber": "PO123",
        "TxnDate": "2026-11-01",
        "VendorRef": {"value": "56"},
        "POStatus": "Open",
        "CurrencyRef": {"value": "USD"},
        "MetaData": _META,
        "Line": [
            {
                "Id": "1",
                "DetailType": "ItemBasedExpenseLineDetail",
                "Amount": Decimal("100.00"),
                "ItemBasedExpenseLineDetail": {
                    "ItemRef": {"value": "1"},
                    "Qty": 10,
                    "UnitPrice": 10,
                },
            }
        ],
    },
}
QBO_SAMPLES["vendor"] = QBO_SAMPLES["customer"]

_REF = {"id": "1", "refName": "USD"}
NS_SAMPLES: dict[str, dict[str, Any]] = {
    "customer": {
        "id": "614",
        "entityId": "Acme",
        "companyName": "Acme Robotics",
        "email": "a@b.c",
        "externalId": "cust-1",
        "currency": _REF,
        "lastModifiedDate": "2026-11-01T10:00:00Z",
    },
    "item": {
        "id": "86",
        "itemId": "Services",
        "externalId": "svc",
        "lastModifiedDate": "2026-11-01T10:00:00Z",
    },
    "invoice": {
        "id": "104",
        "tranId": "INV1042",
        "entity": {"id": "614"},
        "tranDate": "2026-11-01",
        "dueDate": "2026-12-01",
        "externalId": "job-1042",
        "memo": "m",
        "currency": _REF,
        "total": 100.0,
        "amountRemaining": 100.0,
        "status": {"id": "A", "refName": "Open"},
        "lastModifiedDate": "2026-11-01T10:00:00Z",
        "item": {
            "items": [
                {
                    "item": {"id": "86", "refName": "Services"},
                    "quantity": 1,
                    "rate": 100.0,
                    "amount": 100.0,
                    "description": "Job",
                }
            ]
        },
    },
    "payment": {
        "id": "200",
        "customer": {"id": "614"},
        "payment": 250.0,
        "tranDate": "2026-11-02",
        "externalId": "pay-1",
        "currency": _REF,
        "apply": {"items": [{"doc": {"id": "104"}, "apply": True, "amount": 200.0}]},
    },
    "purchase_order": {
        "id": "300",
        "entity": {"id": "77"},
        "tranId": "PO123",
        "tranDate": "2026-11-01",
        "currency": _REF,
        "status": {"id": "B", "refName": "Pending Receipt"},
        "item": {
            "items": [
                {
                    "line": 1,
                    "item": {"id": "86"},
                    "quantity": 10,
                    "quantityReceived": 0,
                    "rate": 10,
                    "amount": 100.0,
                }
            ]
        },
    },
    "receipt": {
        "id": "400",
        "createdFrom": {"id": "300"},
        "tranDate": "2026-11-05",
        "externalId": "rcpt-1",
        "item": {"items": [{"orderLine": 1, "quantity": 4, "itemReceive": True}]},
    },
}
NS_SAMPLES["vendor"] = NS_SAMPLES["customer"]

_CURRENCIES = {"1": "USD", "2": "EUR", "3": "JPY"}

QBO_DECODERS: dict[str, Callable[[Any], object]] = {
    "customer": qb_records.customer_from_wire,
    "vendor": qb_records.vendor_from_wire,
    "item": qb_records.item_from_wire,
    "invoice": qb_records.invoice_from_wire,
    "payment": qb_records.payment_from_wire,
    "purchase_order": qb_records.purchase_order_from_wire,
}
NS_DECODERS: dict[str, Callable[[Any], object]] = {
    "customer": lambda d: ns_records.customer_from_wire(d, _CURRENCIES),
    "vendor": lambda d: ns_records.vendor_from_wire(d, _CURRENCIES),
    "item": ns_records.item_from_wire,
    "invoice": lambda d: ns_records.invoice_from_wire(d, _CURRENCIES),
    "payment": lambda d: ns_records.payment_from_wire(d, _CURRENCIES),
    "purchase_order": lambda d: ns_records.purchase_order_from_wire(d, _CURRENCIES),
    "receipt": ns_records.receipt_from_wire,
}


@pytest.mark.parametrize("name", sorted(QBO_DECODERS))
def test_quickbooks_samples_decode(name: str) -> None:
    """The unmutated samples are valid records: the mutations start from real shapes."""
    QBO_DECODERS[name](copy.deepcopy(QBO_SAMPLES[name]))


@pytest.mark.parametrize("name", sorted(NS_DECODERS))
def test_netsuite_samples_decode(name: str) -> None:
    NS_DECODERS[name](copy.deepcopy(NS_SAMPLES[name]))


@pytest.mark.parametrize("name", sorted(QBO_DECODERS))
@_SETTINGS
@given(data=st.data())
def test_quickbooks_from_wire_raises_only_erpsync_errors(name: str, data: st.DataObject) -> None:
    wire = data.draw(mutated(QBO_SAMPLES[name]) | json_values)
    _only_erpsync_errors(lambda: QBO_DECODERS[name](wire))


@pytest.mark.parametrize("name", sorted(NS_DECODERS))
@_SETTINGS
@given(data=st.data())
def test_netsuite_from_wire_raises_only_erpsync_errors(name: str, data: st.DataObject) -> None:
    wire = data.draw(mutated(NS_SAMPLES[name]) | json_values)
    _only_erpsync_errors(lambda: NS_DECODERS[name](wire))


# -- error decoders -------------------------------------------------------------------------

_QBO_FAULT = {
    "Fault": {
        "Error": [
            {"Message": "Duplicate", "Detail": "TxnId=177", "code": "6140", "element": "DocNumber"}
        ],
        "type": "ValidationFault",
    },
    "time": "2026-11-03T10:00:00.000-07:00",
}
_QBO_AUTH_FAULT = {
    "fault": {
        "error": [
            {"message": "message=AuthenticationFailed", "detail": "Token expired", "code": "3200"}
        ],
        "type": "AUTHENTICATION",
    },
    "time": 1633520295688,
}
_NS_ERROR = {
    "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
    "title": "Bad Request",
    "status": 400,
    "o:errorDetails": [
        {
            "detail": "Invalid value",
            "o:errorPath": "item.items[0].item",
            "o:errorCode": "INVALID_CONTENT",
        }
    ],
}
_XML = (
    '<IntuitResponse><Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded'
    "</Message><Detail>Try again later</Detail></Error></Fault></IntuitResponse>"
)


def _dump(value: Any) -> bytes:
    return json.dumps(value, default=str).encode()


_bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(str.encode),
    json_values.map(_dump),
    mutated(_QBO_FAULT).map(_dump),
    mutated(_QBO_AUTH_FAULT).map(_dump),
    mutated(_NS_ERROR).map(_dump),
    st.sampled_from([_XML, _XML[:60], "<html><body>502 Bad Gateway</body></html>", "{", "[1,"]).map(
        str.encode
    ),
)
_content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "text/html",
        "application/xml",
        "text/plain; charset=latin-1",
        "application/json; charset=bogus-charset",
    ]
)


@st.composite
def responses_(draw: st.DrawFn) -> requests.Response:
    response = requests.Response()
    response.status_code = draw(st.integers(min_value=100, max_value=599))
    response._content = draw(_bodies)
    headers: dict[str, str] = {}
    content_type = draw(_content_types)
    if content_type is not None:
        headers["Content-Type"] = content_type
    if draw(st.booleans()):
        headers["Retry-After"] = draw(
            st.sampled_from(["5", "-1", "abc", "nan", "inf", "1e400", ""])
        )
    if draw(st.booleans()):
        headers["intuit_tid"] = draw(st.text(max_size=20))
    response.headers = CaseInsensitiveDict(headers)
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    response.url = "https://example.invalid/services/rest/record/v1/invoice/1"
    response.request = requests.Request("GET", response.url).prepare()
    return response


@_SETTINGS
@given(response=responses_())
def test_netsuite_decode_error_returns_an_erpsync_error(response: requests.Response) -> None:
    error = _only_erpsync_errors(lambda: ns_errors.decode_error(response))
    assert error is None or isinstance(error, ErpSyncError)
    if error is not None:
        str(error), repr(error)


@_SETTINGS
@given(response=responses_())
def test_quickbooks_decode_error_returns_an_erpsync_error(response: requests.Response) -> None:
    error = _only_erpsync_errors(lambda: qb_faults.decode_error(response))
    assert error is None or isinstance(error, ErpSyncError)
    if error is not None:
        str(error), repr(error)


# -- webhooks -------------------------------------------------------------------------------

_LEGACY = {
    "eventNotifications": [
        {
            "realmId": "9130350000000000",
            "dataChangeEvent": {
                "entities": [
                    {
                        "name": "Invoice",
                        "id": "130",
                        "operation": "Create",
                        "lastUpdated": "2026-11-03T10:00:00.000Z",
                    }
                ]
            },
        }
    ]
}
_CLOUD = [
    {
        "specversion": "1.0",
        "id": "evt-1",
        "type": "qbo.invoice.created.v1",
        "time": "2026-11-03T10:00:00Z",
        "intuitentityid": "130",
        "intuitaccountid": "9130350000000000",
        "data": {},
    }
]


def test_webhook_samples_parse() -> None:
    assert len(parse_webhook(_dump(_LEGACY))) == 1
    assert len(parse_webhook(_dump(_CLOUD))) == 1


@_SETTINGS
@given(
    body=st.one_of(
        st.binary(max_size=300),
        json_values.map(_dump),
        mutated(_LEGACY).map(_dump),
        mutated({"events": _CLOUD}).map(
            lambda d: _dump(d.get("events") if isinstance(d, dict) else d)
        ),
    )
)
def test_parse_webhook_raises_only_erpsync_errors(body: bytes) -> None:
    _only_erpsync_errors(lambda: parse_webhook(body))


# -- references with unusable ids (a blank currency id once let a ValidationError out) ------


def _ref_paths(value: Any, key: str, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every reference's id (``key``: ``id`` for NetSuite, ``value`` for QuickBooks)."""
    return [
        path
        for path in _paths(value, prefix)
        if path and path[-1] == key and isinstance(_at(value, path[:-1]), dict)
    ]


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


_bad_ids = st.sampled_from(["", " ", "\t", "\n", "  \u00a0"]) | st.text(
    alphabet=" \t\r\n\u2003", min_size=1, max_size=4
)


_REF_CASES = [
    (erp, name, key)
    for erp, samples, key in (("netsuite", NS_SAMPLES, "id"), ("quickbooks", QBO_SAMPLES, "value"))
    for name in sorted(NS_DECODERS if erp == "netsuite" else QBO_DECODERS)
    if _ref_paths(samples[name], key)  # QuickBooks' item sample has no reference
]


@pytest.mark.parametrize(("erp", "name", "key"), _REF_CASES)
@_SETTINGS
@given(data=st.data())
def test_blank_reference_ids_are_erpsync_errors(
    erp: str, name: str, key: str, data: st.DataObject
) -> None:
    samples, decoders = (
        (NS_SAMPLES, NS_DECODERS) if erp == "netsuite" else (QBO_SAMPLES, QBO_DECODERS)
    )
    wire = copy.deepcopy(samples[name])
    paths = _ref_paths(wire, key)
    assert paths, "every sample has a reference"
    path = data.draw(st.sampled_from(paths))
    _at(wire, path[:-1])[path[-1]] = data.draw(_bad_ids)
    _only_erpsync_errors(lambda: decoders[name](wire))


def test_netsuite_blank_currency_id_names_the_record_and_field() -> None:
    wire = copy.deepcopy(NS_SAMPLES["invoice"])
    wire["currency"] = {"id": " "}
    with pytest.raises(ErpSyncError) as caught:
        NS_DECODERS["invoice"](wire)
    assert caught.value.record == "invoice 104"
    assert caught.value.field == "currency"


# -- SuiteQL rows (every value a string; a blank entity once let a ValidationError out) -----

_INVOICE_ROW = {
    "id": "7",
    "entity": "101",
    "entityname": "Acme",
    "tranid": "INV7",
    "trandate": "2026-11-03",
    "currency": "2",
    "status": "B",
    "foreigntotal": "10",
    "foreignamountremaining": "0",
    "lastmodified": "2026-11-03 10:15:00",
}
_LINE_ROW = {"transaction": "7", "line": "1", "item": "202", "quantity": "1", "rate": "10"}
_LINE_ROW = {**_LINE_ROW, "foreignamount": "10", "memo": "x", "quantityshiprecv": "0"}
_ROW_DECODERS: dict[str, tuple[dict[str, str], Callable[[dict[str, str]], object]]] = {
    "invoice": (_INVOICE_ROW, lambda r: ns_records.invoice_from_row(r, [_LINE_ROW], _CURRENCIES)),
    "invoice line": (
        _LINE_ROW,
        lambda r: ns_records.invoice_from_row(_INVOICE_ROW, [r], _CURRENCIES),
    ),
    "payment": (
        {**_INVOICE_ROW, "foreigntotal": "250"},
        lambda r: ns_records.payment_from_row(
            r, [{"nextdoc": "7", "previousdoc": "104", "foreignamount": "200"}], _CURRENCIES
        ),
    ),
    "purchase order": (
        {**_INVOICE_ROW, "status": "D"},
        lambda r: ns_records.purchase_order_from_row(r, [_LINE_ROW], _CURRENCIES),
    ),
    "customer": (
        {"id": "6", "companyname": "Parts", "currency": "1", "email": "a@b.c"},
        lambda r: ns_records.customer_from_row(r, _CURRENCIES),
    ),
    "item": ({"id": "201", "itemid": "W", "itemtype": "InvtPart"}, ns_records.item_from_row),
    "deleted": (
        {"recordid": "5", "recordtypeid": "invoice", "deleted": "2026-11-02 08:00:00"},
        ns_records.deleted_from_row,
    ),
}


@pytest.mark.parametrize("name", sorted(_ROW_DECODERS))
def test_netsuite_row_samples_decode(name: str) -> None:
    row, decode = _ROW_DECODERS[name]
    decode(dict(row))


@pytest.mark.parametrize("name", sorted(_ROW_DECODERS))
@_SETTINGS
@given(data=st.data())
def test_netsuite_rows_raise_only_erpsync_errors(name: str, data: st.DataObject) -> None:
    row, decode = _ROW_DECODERS[name]
    changed = dict(row)
    for column in data.draw(st.lists(st.sampled_from(sorted(row)), min_size=1, max_size=3)):
        changed[column] = data.draw(_bad_ids | _scalars)
    _only_erpsync_errors(lambda: decode(changed))
