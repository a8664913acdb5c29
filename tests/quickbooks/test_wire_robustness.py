"""Property tests: no wire answer, however broken, lets anything but the error tree out.

Records are fuzzed by mutation: one value somewhere inside a valid record is replaced
with arbitrary JSON (or an absurd number), because purely random JSON almost never gets
past the first required field and so would test nothing.
"""

from __future__ import annotations

import contextlib
import copy
import json
from decimal import Decimal
from typing import Any

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpsync.errors import (
    ErpSyncError,
    InvalidRequestError,
    ServiceError,
    WebhookSignatureError,
)
from erpsync.quickbooks import records as rec
from erpsync.quickbooks import webhooks as wh
from erpsync.quickbooks.errors import decode_error, parse_json

_FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

_BASE = {
    "Id": "7",
    "TxnDate": "2026-11-03",
    "MetaData": {"LastUpdatedTime": "2026-11-03T10:00:00Z"},
}
VALID: dict[str, dict[str, Any]] = {
    "customer": {
        **_BASE,
        "DisplayName": "Acme",
        "PrimaryEmailAddr": {"Address": "a@b.c"},
        "CurrencyRef": {"value": "USD"},
        "Notes": "[erpsync external_id=c-1]",
    },
    "vendor": {**_BASE, "DisplayName": "Supplier", "CurrencyRef": {"value": "USD"}},
    "item": {**_BASE, "Name": "Services", "Type": "Service"},
    "invoice": {
        **_BASE,
        "CustomerRef": {"value": "58", "name": "Acme"},
        "DocNumber": "1037",
        "CurrencyRef": {"value": "USD"},
        "PrivateNote": "[erpsync external_id=job-1]",
        "TotalAmt": Decimal("90.00"),
        "Balance": Decimal("90.00"),
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": Decimal("100.00"),
                "Description": "Widgets",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "1"},
                    "Qty": Decimal("4"),
                    "UnitPrice": Decimal("25"),
                    "TaxCodeRef": {"value": "NON"},
                },
            },
            {"DetailType": "DiscountLineDetail", "Amount": Decimal("10.00")},
            {"DetailType": "DescriptionOnly", "Description": "thanks"},
            {"DetailType": "SubTotalLineDetail", "Amount": Decimal("90.00")},
        ],
    },
    "payment": {
        **_BASE,
        "CustomerRef": {"value": "58"},
        "TotalAmt": Decimal("50.00"),
        "PrivateNote": "[erpsync external_id=p-1]",
        "Line": [
            {"Amount": Decimal("50.00"), "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]}
        ],
    },
    "purchase_order": {
        **_BASE,
        "VendorRef": {"value": "3"},
        "POStatus": "Open",
        "DocNumber": "PO-1",
        "Line": [
            {
                "Id": "1",
                "DetailType": "ItemBasedExpenseLineDetail",
                "Amount": Decimal("20"),
                "ItemBasedExpenseLineDetail": {
                    "ItemRef": {"value": "1"},
                    "Qty": Decimal("2"),
                    "UnitPrice": Decimal("10"),
                },
            }
        ],
    },
}
DECODERS = {
    "customer": rec.customer_from_wire,
    "vendor": rec.vendor_from_wire,
    "item": rec.item_from_wire,
    "invoice": rec.invoice_from_wire,
    "payment": rec.payment_from_wire,
    "purchase_order": rec.purchase_order_from_wire,
}

_absurd = st.sampled_from(
    [
        Decimal("1E+999999"),
        Decimal("-1E+999999"),
        Decimal("1E-999999"),
        Decimal("-0.001"),
        Decimal("NaN"),
        10**30,
        -1,
        0,
        True,
        "",
        " ",
        "abc",
        "2026-13-45",
        None,
        [],
        {},
    ]
)
_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.text(max_size=8),
        st.decimals(allow_nan=False, allow_infinity=False),
        _absurd,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
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
def _mutated(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(sorted(VALID)))
    wire: Any = copy.deepcopy(VALID[kind])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(wire)))
        replacement = draw(_json)
        if not path:
            wire = replacement
            continue
        parent = wire
        try:
            for step in path[:-1]:
                parent = parent[step]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = replacement
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation changed the shape under this path
    return kind, wire


def test_the_valid_records_decode() -> None:
    for kind, wire in VALID.items():
        DECODERS[kind](copy.deepcopy(wire))


_ABSURD_VALUES = [
    Decimal("1E+999999"),
    Decimal("-1E+999999"),
    Decimal("1E-999999"),
    Decimal("-0.001"),
    Decimal("NaN"),
    10**30,
    -1,
    0,
    True,
    "",
    " ",
    "abc",
    "2026-13-45",
    None,
    [],
    {},
    [1],
    5,
]


def _set(wire: Any, path: tuple[Any, ...], value: Any, *, drop: bool = False) -> Any:
    if not path:
        return value
    parent = wire
    for step in path[:-1]:
        parent = parent[step]
    if drop and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return wire


def _decode_or_service_error(kind: str, wire: Any) -> None:
    try:
        DECODERS[kind](wire)
    except ServiceError as exc:
        assert exc.record, "the error names the record"
        assert not exc.retryable


def test_every_single_absurd_value_anywhere_is_a_service_error_or_decodes() -> None:
    """Exhaustive: each position of each record, replaced by each absurd value (and
    removed). Found: a blank reference id, LinkedTxn not a list, a negative applied
    amount and an overflowing Qty * UnitPrice, all escaping as bare exceptions."""
    for kind, valid in VALID.items():
        for path in _paths(valid):
            _decode_or_service_error(kind, _set(copy.deepcopy(valid), path, None, drop=True))
            for value in _ABSURD_VALUES:
                _decode_or_service_error(kind, _set(copy.deepcopy(valid), path, value))
    # Two absurd numbers together: their product overflows the decimal context.
    both = copy.deepcopy(VALID["invoice"])
    detail = both["Line"][0]["SalesItemLineDetail"]
    detail["Qty"] = detail["UnitPrice"] = Decimal("9E+999999")
    _decode_or_service_error("invoice", both)


@_FAST
@given(_mutated())
def test_records_raise_only_service_errors_naming_the_record(case: tuple[str, Any]) -> None:
    kind, wire = case
    try:
        DECODERS[kind](wire)
    except ServiceError as exc:
        assert exc.record, "the error names the record"
        assert not exc.retryable


def _response(status: int, body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    return response


_bodies = st.one_of(
    st.binary(max_size=200),
    _json.map(lambda v: json.dumps(v, default=str).encode()),
    st.integers(1, 5000).map(lambda n: b"[" * n),
    st.just(b'<IntuitResponse><Fault><Error code="3001"><Message>x</Message>'),
)


@_FAST
@given(st.integers(100, 599), _bodies)
def test_error_decoding_never_escapes_the_tree(status: int, body: bytes) -> None:
    assert isinstance(decode_error(_response(status, body)), ErpSyncError)
    with contextlib.suppress(ServiceError):
        parse_json(_response(status, body))


def test_deeply_nested_json_is_a_service_error_not_a_recursion_error() -> None:
    deep = b"[" * 100_000
    error = decode_error(_response(502, deep))
    assert isinstance(error, ServiceError) and error.retryable
    try:
        parse_json(_response(200, deep))
    except ServiceError as exc:
        assert not exc.retryable
    else:  # pragma: no cover
        raise AssertionError("parse_json accepted a truncated, deeply nested body")


@_FAST
@given(_bodies, st.one_of(st.none(), st.text(max_size=60)))
def test_webhooks_let_only_signature_and_request_errors_out(
    body: bytes, signature: str | None
) -> None:
    with contextlib.suppress(WebhookSignatureError):
        wh.verify_webhook(body, signature, "verifier-token")
    with contextlib.suppress(InvalidRequestError):
        wh.parse_webhook(body)
    dedupe = wh.EventDeduplicator()
    with contextlib.suppress(WebhookSignatureError, InvalidRequestError):
        wh.handle_webhook(body, {"intuit-signature": signature or ""}, "verifier-token", dedupe)


@_FAST
@given(_json)
def test_any_json_webhook_body_parses_or_is_an_invalid_request(value: Any) -> None:
    for shaped in (value, [value], {"eventNotifications": value}, {"eventNotifications": [value]}):
        try:
            events = wh.parse_webhook(json.dumps(shaped, default=str).encode())
        except InvalidRequestError:
            continue
        assert all(isinstance(e, wh.WebhookEvent) for e in events)
