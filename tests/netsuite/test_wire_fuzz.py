"""Property tests: whatever JSON NetSuite (or a proxy in front of it) sends, the wire
decoders raise an erpsync error or return a model, never a bare KeyError, TypeError,
ValueError, decimal or pydantic error.

Records start from valid shapes (REST records and SuiteQL rows) and have up to three
fields deleted or replaced by arbitrary JSON, which reaches far deeper than random
documents would.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpsync.errors import ErpSyncError
from erpsync.netsuite import records as rec
from erpsync.netsuite.answers import row_of
from erpsync.netsuite.errors import decode_error
from erpsync.transport.bodies import pdf_bytes

from .test_records import CURRENCIES, _invoice_wire, _po_wire

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["", "1", "-1", "2026-13-45", "T", "CustInvc:A", "NaN", "1e400", "1e30"])
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "refName", "items", "x"]), inner, max_size=3)
    ),
    max_leaves=8,
)


def _split(d: Any) -> tuple[Any, list[Any]]:
    lines = d.get("l")
    return d.get("h"), lines if isinstance(lines, list) else []


_SAMPLES: dict[str, tuple[Callable[[Any], object], dict[str, Any]]] = {
    "invoice": (lambda d: rec.invoice_from_wire(d, CURRENCIES), _invoice_wire()),
    "purchase order": (
        lambda d: rec.purchase_order_from_wire(d, CURRENCIES),
        _po_wire({"id": "B", "refName": "Pending Receipt"}),
    ),
    "payment": (
        lambda d: rec.payment_from_wire(d, CURRENCIES),
        {
            "id": "9",
            "customer": {"id": "101"},
            "payment": 250.0,
            "tranDate": "2026-11-05",
            "currency": {"id": "1"},
            "externalId": "p1",
            "apply": {"items": [{"doc": {"id": "104"}, "apply": True, "amount": 200.0}]},
        },
    ),
    "receipt": (
        rec.receipt_from_wire,
        {
            "id": "31",
            "createdFrom": {"id": "1001"},
            "tranDate": "2026-11-04",
            "externalId": "r1",
            "item": {"items": [{"line": 1, "orderLine": 1, "quantity": 4.0, "itemReceive": True}]},
        },
    ),
    "customer": (
        lambda d: rec.customer_from_wire(d, CURRENCIES),
        {
            "id": "101",
            "companyName": "Acme",
            "externalId": "c1",
            "email": "a@example.com",
            "currency": {"id": "1", "refName": "USD"},
            "lastModifiedDate": "2026-11-03T10:15:00Z",
        },
    ),
    "customer row": (
        lambda d: rec.customer_from_row(d, CURRENCIES),
        {"id": "101", "companyname": "Acme", "externalid": "c1", "currency": "1"},
    ),
    "item row": (
        rec.item_from_row,
        {"id": "201", "itemid": "X", "itemtype": "Service", "lastmodified": "2026-11-03 10:15:00"},
    ),
    "item": (rec.item_from_wire, {"id": "201", "itemId": "X", "itemType": {"id": "Service"}}),
    "invoice rows": (
        lambda d: rec.invoice_from_row(*_split(d), CURRENCIES),
        {
            "h": {
                "id": "7",
                "tranid": "INV7",
                "entity": "101",
                "trandate": "2026-11-03",
                "currency": "4",
                "status": "B",
                "foreigntotal": "10",
                "foreignamountremaining": "0",
            },
            "l": [
                {"line": "1", "item": "202", "quantity": "1", "rate": "10", "foreignamount": "10"}
            ],
        },
    ),
    "payment rows": (
        lambda d: rec.payment_from_row(*_split(d), CURRENCIES),
        {
            "h": {"id": "9", "entity": "101", "foreigntotal": "250", "trandate": "2026-11-05"},
            "l": [{"nextdoc": "9", "previousdoc": "104", "foreignamount": "200"}],
        },
    ),
    "purchase order rows": (
        lambda d: rec.purchase_order_from_row(*_split(d), CURRENCIES),
        {
            "h": {"id": "9", "entity": "105", "trandate": "2026-11-05", "status": "B"},
            "l": [{"line": "1", "item": "201", "quantity": "2", "quantityshiprecv": "0"}],
        },
    ),
    "deleted row": (
        rec.deleted_from_row,
        {"recordid": "5", "recordtypeid": "invoice", "deleted": "2026-11-02 08:00:00"},
    ),
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix and prefix not in (("h",), ("l",)):
        yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def _mutated(draw: st.DrawFn) -> tuple[str, Any]:
    name = draw(st.sampled_from(sorted(_SAMPLES)))
    data = copy.deepcopy(_SAMPLES[name][1])
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(data))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = data
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(_JSON)
    return name, data


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(_mutated())
def test_record_decoders_raise_only_erpsync_errors(case: tuple[str, Any]) -> None:
    name, data = case
    with contextlib.suppress(ErpSyncError):
        _SAMPLES[name][0](data)


@settings(max_examples=200, deadline=None)
@given(_JSON)
def test_suiteql_rows_and_records_of_any_shape(data: Any) -> None:
    for decode in (row_of, rec.item_from_row, rec.deleted_from_row):
        with contextlib.suppress(ErpSyncError):
            decode(data)


def _response(status: int, content: bytes, headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = content
    response.headers.update(headers)
    return response


_ERROR_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    *("o:errorDetails", "o:errorCode", "detail", "o:errorPath", "title"),
                    *("error", "code", "message", "base64", "pdf"),
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(100, 599),
    _ERROR_JSON,
    st.binary(max_size=40),
    st.booleans(),
    st.sampled_from(["", "3", "inf", "nan", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "x"]),
)
def test_error_and_pdf_answers_of_any_shape(
    status: int, body: Any, blob: bytes, use_blob: bool, retry_after: str
) -> None:
    content = blob if use_blob else json.dumps(body).encode()
    error = decode_error(_response(status, content, {"Retry-After": retry_after}))
    assert isinstance(error, ErpSyncError)
    wait = getattr(error, "retry_after", None)
    assert wait is None or 0 <= wait < float("inf")
    with contextlib.suppress(ErpSyncError):
        pdf_bytes(_response(200, content, {}), backend="NetSuite", record="invoice 1 PDF")
