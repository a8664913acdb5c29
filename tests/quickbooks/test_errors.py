"""Fault decoding: the three error shapes of QuickBooks, byte for byte, and everything
that is not one of them."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses

from erpsync.errors import (
    AuthenticationError,
    ConflictError,
    DuplicateError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceError,
)
from erpsync.http import RetryPolicy
from erpsync.limits import LocalLimiter
from erpsync.quickbooks.client import QuickBooksClient
from erpsync.quickbooks.errors import decode_error, error_from_fault, request_id_of

REALM = "9130350000000000"
BASE = f"https://quickbooks.api.intuit.com/v3/company/{REALM}"

THROTTLE_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3">'
    '<Fault type="SERVICE"><Error code="3001">'
    "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
    "<Detail>The request limit was reached.  Try again later</Detail>"
    "</Error></Fault></IntuitResponse>"
)
LOWER_401 = {
    "fault": {
        "error": [
            {
                "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "detail": "Token expired: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
                "code": "3200",
            }
        ],
        "type": "AUTHENTICATION",
    },
    "time": 1633520295688,
}


def standard(
    code: str, message: str, detail: str, element: str = "", kind: str = "ValidationFault"
) -> dict[str, Any]:
    return {
        "Fault": {
            "Error": [{"Message": message, "Detail": detail, "code": code, "element": element}],
            "type": kind,
        },
        "time": "2026-11-03T09:15:02.123-08:00",
    }


def response(
    status: int, body: str | bytes, headers: dict[str, str] | None = None
) -> requests.Response:
    made = requests.Response()
    made.status_code = status
    made._content = body.encode() if isinstance(body, str) else body
    made.headers.update(headers or {})
    return made


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sleeps: Sleeps) -> QuickBooksClient:
    return QuickBooksClient(
        REALM,
        None,
        limiter=LocalLimiter(),
        retry=RetryPolicy(max_attempts=3, base_delay=1.0),
        sleep=sleeps,
    )


# -- decode_error over each shape ---------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "kind", "cls"),
    [
        ("6240", 400, "ValidationFault", DuplicateError),
        ("5010", 400, "ValidationFault", ConflictError),
        ("610", 400, "ValidationFault", NotFoundError),
        ("3200", 401, "AUTHENTICATION", AuthenticationError),
        ("3100", 403, "AuthorizationFault", PermissionDeniedError),
        ("10000", 500, "SystemFault", ServiceError),
        ("2020", 400, "ValidationFault", InvalidRequestError),
        ("6000", 400, "ValidationFault", InvalidRequestError),
    ],
)
def test_standard_fault_codes_choose_the_class(code, status, kind, cls):
    body = standard(code, "Some message", "Some detail", "Line.Amount", kind)
    error = decode_error(response(status, json.dumps(body), {"intuit_tid": "1-abc"}))
    assert type(error) is cls
    assert error.code == code
    assert error.detail == "Some detail"
    assert error.request_id == "1-abc"
    assert error.backend == "QuickBooks"


def test_duplicate_name_is_a_duplicate_error_without_an_id():
    body = standard(
        "6240",
        "Duplicate Name Exists Error",
        "The name supplied already exists. : Another customer is already using this name.",
    )
    error = decode_error(response(400, json.dumps(body)))
    assert isinstance(error, DuplicateError)
    assert error.existing_id is None
    assert "Duplicate Name Exists Error" in str(error)


def test_duplicate_document_number_names_the_existing_transaction():
    body = standard(
        "6140",
        "Duplicate Document Number Error",
        "Duplicate Document Number Error : You must specify a different number. This number "
        "has already been used. DocNumber=1042 is assigned to TxnType=Invoice with TxnId=177",
    )
    error = decode_error(response(400, json.dumps(body)))
    assert isinstance(error, DuplicateError)
    assert error.existing_id == "177"


def test_validation_fault_names_the_field():
    body = standard(
        "2050",
        "String length is either shorter or longer than supported by specification",
        "String length specified does not match the supported length. Min:0 Max:21",
        "DocNumber",
    )
    error = decode_error(response(400, json.dumps(body)))
    assert isinstance(error, InvalidRequestError)
    assert error.field == "DocNumber"
    assert "[field DocNumber]" in str(error)


def test_several_errors_keep_the_first_and_mention_the_rest():
    body = standard("2020", "Required param missing", "CustomerRef is missing", "CustomerRef")
    body["Fault"]["Error"].append(
        {"Message": "Required param missing", "Detail": "Line is missing", "code": "2020"}
    )
    error = decode_error(response(400, json.dumps(body)))
    assert error.field == "CustomerRef"
    assert error.detail == "CustomerRef is missing; Line is missing"


def test_lower_case_401_is_an_authentication_error_without_the_token():
    error = decode_error(response(401, json.dumps(LOWER_401), {"Intuit-Tid": "1-lower"}))
    assert isinstance(error, AuthenticationError)
    assert error.code == "3200"
    assert error.request_id == "1-lower"
    assert "eyJhbGciOiJIUzI1NiJ9" not in str(error)
    assert "eyJhbGciOiJIUzI1NiJ9" not in (error.raw or "")


def test_xml_throttle_is_a_rate_limit_error():
    error = decode_error(response(429, THROTTLE_XML, {"Content-Type": "application/xml"}))
    assert isinstance(error, RateLimitError)
    assert error.code == "3001"
    assert error.detail == "The request limit was reached.  Try again later"
    assert error.message == "message=ThrottleExceeded; errorCode=003001; statusCode=429"


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (502, "<html><body><h1>502 Bad Gateway</h1></body></html>", ServiceError),
        (500, "", ServiceError),
        (503, "{truncated", ServiceError),
        (404, "Not Found", NotFoundError),
        (401, "", AuthenticationError),
        (403, "<html>Forbidden</html>", PermissionDeniedError),
        (429, "slow down", RateLimitError),
        (400, '{"unexpected": true}', ServiceError),
    ],
)
def test_bodies_that_are_not_faults_keep_their_text(status, body, cls):
    error = decode_error(response(status, body))
    assert type(error) is cls
    assert error.http_status == status
    if body:
        assert (error.raw or "").startswith(body[:10])
    if isinstance(error, ServiceError):
        assert error.retryable == (status >= 500)


def test_error_from_a_batch_item_fault():
    fault = standard("610", "Object Not Found", "Object Not Found : inactive", "CustomerRef")[
        "Fault"
    ]
    error = error_from_fault(fault, http_status=200, record="batch item Invoice")
    assert isinstance(error, NotFoundError)
    assert error.http_status == 200
    assert error.field == "CustomerRef"


def test_request_id_of_reads_both_spellings():
    assert request_id_of(response(200, "", {"intuit_tid": "a"})) == "a"
    assert request_id_of(response(200, "", {"Intuit-Tid": "b"})) == "b"
    assert request_id_of(response(200, "")) is None


# -- through the client and transport -----------------------------------------------------


@responses.activate
def test_throttling_is_retried_with_backoff_then_raised(client, sleeps):
    responses.get(
        f"{BASE}/customer/1", body=THROTTLE_XML, status=429, content_type="application/xml"
    )
    with pytest.raises(RateLimitError) as caught:
        client.read("Customer", "1")
    assert len(responses.calls) == 3
    assert len(sleeps.calls) == 2  # QBO sends no Retry-After: full-jitter backoff
    assert all(0 <= s <= 2.0 for s in sleeps.calls)
    assert caught.value.attempts == 3


@responses.activate
def test_throttling_then_success_is_transparent(client):
    responses.get(f"{BASE}/customer/1", body=THROTTLE_XML, status=429)
    responses.get(
        f"{BASE}/customer/1", json={"Customer": {"Id": "1", "DisplayName": "A"}}, status=200
    )
    assert client.read("Customer", "1")["DisplayName"] == "A"


@responses.activate
def test_html_error_page_on_a_read_is_retried_and_attached(client):
    responses.get(f"{BASE}/customer/1", body="<html>upstream down</html>", status=502)
    with pytest.raises(ServiceError) as caught:
        client.read("Customer", "1")
    assert len(responses.calls) == 3
    assert "upstream down" in (caught.value.raw or "")


@responses.activate
def test_fault_inside_http_200_is_raised(client):
    body = standard("4000", "Error parsing query", "QueryParserError: Encountered ...")
    responses.get(f"{BASE}/query", json=body, status=200, headers={"intuit_tid": "1-q"})
    with pytest.raises(InvalidRequestError) as caught:
        client.query("SELECT * FROM Customer")
    assert caught.value.code == "4000"
    assert caught.value.http_status == 200
    assert caught.value.request_id == "1-q"


@responses.activate
def test_non_json_success_is_a_service_error(client):
    responses.get(f"{BASE}/customer/1", body="<html>login</html>", status=200)
    with pytest.raises(ServiceError) as caught:
        client.read("Customer", "1")
    assert "login" in (caught.value.raw or "")
    assert caught.value.retryable is False


@responses.activate
def test_write_fault_carries_the_request_id_and_is_not_retried(client):
    body = standard("6240", "Duplicate Name Exists Error", "Another customer uses it")
    responses.post(f"{BASE}/customer", json=body, status=400, headers={"intuit_tid": "1-dup"})
    with pytest.raises(DuplicateError) as caught:
        client.create("Customer", {"DisplayName": "A"})
    assert len(responses.calls) == 1
    assert caught.value.request_id == "1-dup"
    assert caught.value.http_status == 400


def test_the_wire_md_throttle_body_without_declaration_or_namespace() -> None:
    body = (
        '<IntuitResponse><Fault type="SERVICE"><Error code="3001">'
        "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
        "<Detail>The request limit was reached.  Try again later</Detail>"
        "</Error></Fault></IntuitResponse>"
    )
    response = requests.Response()
    response.status_code = 429
    response._content = body.encode()
    response.headers["Content-Type"] = "application/xml"
    error = decode_error(response)
    assert isinstance(error, RateLimitError)
    assert error.code == "3001"
    assert error.detail == "The request limit was reached.  Try again later"
