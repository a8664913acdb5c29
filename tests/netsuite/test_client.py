"""NetSuiteClient on the wire: URLs, Location parsing, SuiteQL paging, error decoding.

Exact error bodies are served with ``responses`` (the shapes of WIRE.md); paging and
the row cap run against FakeNetSuite with a small configured cap.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import requests
import responses

from erpsync.errors import (
    AuthenticationError,
    ConfigurationError,
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
from erpsync.netsuite import query
from erpsync.netsuite.auth import TokenBasedAuth
from erpsync.netsuite.client import NetSuiteClient, default_restlet_url, suiteql_literal
from erpsync.netsuite.errors import decode_error, decode_error_body
from erpsync.testing.netsuite import FakeNetSuite

from .conftest import make_auth

BASE = "https://1234567-sb1.suitetalk.api.netsuite.com"
RECORDS = f"{BASE}/services/rest/record/v1"
QUERY = f"{BASE}/services/rest/query/v1/suiteql"


def _tba() -> TokenBasedAuth:
    return TokenBasedAuth("ck" * 8, "cs" * 8, "ti" * 8, "ts" * 8)


def _client(**kw: Any) -> NetSuiteClient:
    kw.setdefault("limiter", LocalLimiter(concurrency=5))
    kw.setdefault("sleep", lambda s: None)
    kw.setdefault("rng", random.Random(1))
    return NetSuiteClient("1234567_sb1", _tba(), **kw)


def _problem(status: int, code: str, detail: str, path: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"detail": detail, "o:errorCode": code}
    if path:
        entry["o:errorPath"] = path
    return {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
        "title": {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            429: "Too Many Requests",
        }.get(status, "Error"),
        "status": status,
        "o:errorDetails": [entry],
    }


# -- hosts, literals ----------------------------------------------------------------------


def test_hosts_come_from_the_account_id() -> None:
    client = _client()
    assert client.account_id == "1234567_SB1"
    assert client.base_url == BASE
    assert client.restlet_url == "https://1234567-sb1.restlets.api.netsuite.com"
    assert default_restlet_url("123") == "https://123.restlets.api.netsuite.com"
    explicit = _client(base_url="http://127.0.0.1:9999/")
    assert explicit.base_url == "http://127.0.0.1:9999"
    assert explicit.restlet_url == "http://127.0.0.1:9999"


def test_clients_of_one_account_share_its_limiter() -> None:
    a = NetSuiteClient("7654321", _tba())
    b = NetSuiteClient("7654321", _tba())
    assert a.limiter is b.limiter
    assert a.limiter.max_concurrency == 5


def test_a_second_client_asking_for_another_concurrency_is_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    NetSuiteClient("7654322", _tba())
    with caplog.at_level("WARNING", logger="erpsync.netsuite.client"):
        client = NetSuiteClient("7654322", _tba(), concurrency=15)
    assert client.limiter.max_concurrency == 5
    assert "concurrency=15" in caplog.text and "admits 5" in caplog.text


def test_bad_arguments_fail_before_any_request() -> None:
    with pytest.raises(ConfigurationError):
        NetSuiteClient("1234567", auth="secret")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        _client(concurrency=0)
    client = _client()
    with pytest.raises(ConfigurationError):
        client.get("invoice", "../customer/1")
    with pytest.raises(ConfigurationError):
        client.get("invoice/x", "1")
    with pytest.raises(ConfigurationError):
        client.suiteql_page("SELECT 1 FROM dual", limit=1001)


def test_suiteql_literal_is_still_importable_from_the_client() -> None:
    # It moved to erpsync.netsuite.query; existing ``from ...client import`` lines keep working.
    assert suiteql_literal is query.suiteql_literal


# -- records ------------------------------------------------------------------------------


@responses.activate
def test_create_reads_the_id_from_location_and_quotes_external_ids() -> None:
    responses.add(
        responses.POST,
        f"{RECORDS}/invoice",
        status=204,
        headers={"Location": f"{RECORDS}/invoice/1234"},
    )
    responses.add(
        responses.PUT,
        f"{RECORDS}/customer/eid:a%2Fb%20c",
        status=204,
        headers={"Location": f"{RECORDS}/customer/77"},
    )
    client = _client()
    assert client.create("invoice", {"entity": {"id": "1"}}) == "1234"
    assert client.upsert("customer", "a/b c", {"companyName": "X"}) == "77"
    sent = json.loads(responses.calls[0].request.body)
    assert sent == {"entity": {"id": "1"}}
    assert responses.calls[1].request.url.endswith("/customer/eid:a%2Fb%20c")


@pytest.mark.parametrize("location", [None, "", f"{RECORDS}/invoice/", "garbage", "/x/abc"])
@responses.activate
def test_a_missing_or_garbled_location_is_a_service_error(location: str | None) -> None:
    headers = {"Location": location} if location is not None else {}
    responses.add(responses.POST, f"{RECORDS}/invoice", status=204, headers=headers)
    with pytest.raises(ServiceError) as caught:
        _client().create("invoice", {})
    assert caught.value.retryable is False
    assert "probably written" in str(caught.value)


@responses.activate
def test_get_update_delete_transform() -> None:
    responses.add(responses.GET, f"{RECORDS}/invoice/5", json={"id": "5", "tranId": "INV1"})
    responses.add(responses.PATCH, f"{RECORDS}/invoice/5", status=204)
    responses.add(responses.DELETE, f"{RECORDS}/invoice/5", status=204)
    responses.add(
        responses.POST,
        f"{RECORDS}/purchaseOrder/9/!transform/itemReceipt",
        status=204,
        headers={"Location": f"{RECORDS}/itemReceipt/31"},
    )
    client = _client()
    assert client.get("invoice", 5, expand=True, fields=["tranId", "total"])["tranId"] == "INV1"
    assert "expandSubResources=true" in responses.calls[0].request.url
    assert "fields=tranId%2Ctotal" in responses.calls[0].request.url
    client.update("invoice", "5", {"memo": "m"}, replace=["item"])
    assert "replace=item" in responses.calls[1].request.url
    client.delete("invoice", "5")
    assert client.transform("purchaseOrder", "9", "itemReceipt", {"item": {"items": []}}) == "31"


@responses.activate
def test_a_get_answered_with_html_is_a_service_error() -> None:
    responses.add(
        responses.GET,
        f"{RECORDS}/invoice/5",
        body="<html>maintenance</html>",
        content_type="text/html",
    )
    with pytest.raises(ServiceError):
        _client().get("invoice", "5")


@responses.activate
def test_a_delete_whose_answer_was_lost_is_not_an_error() -> None:
    responses.add(
        responses.DELETE, f"{RECORDS}/invoice/5", body=requests.exceptions.ConnectionError("reset")
    )
    responses.add(
        responses.DELETE,
        f"{RECORDS}/invoice/5",
        status=404,
        json=_problem(404, "NONEXISTENT_ID", "The record instance does not exist."),
    )
    _client().delete("invoice", "5")
    assert len(responses.calls) == 2
    responses.replace(
        responses.DELETE,
        f"{RECORDS}/invoice/5",
        status=404,
        json=_problem(404, "NONEXISTENT_ID", "gone"),
    )
    with pytest.raises(NotFoundError):
        _client().delete("invoice", "5")


@responses.activate
def test_upsert_is_retried_after_a_lost_answer_but_create_is_not() -> None:
    responses.add(
        responses.PUT,
        f"{RECORDS}/invoice/eid:k1",
        body=requests.exceptions.ConnectionError("reset"),
    )
    responses.add(
        responses.PUT,
        f"{RECORDS}/invoice/eid:k1",
        status=204,
        headers={"Location": f"{RECORDS}/invoice/8"},
    )
    responses.add(
        responses.POST, f"{RECORDS}/invoice", body=requests.exceptions.ConnectionError("reset")
    )
    client = _client()
    assert client.upsert("invoice", "k1", {}) == "8"
    with pytest.raises(ServiceError) as caught:
        client.create("invoice", {})
    assert "may or may not" in str(caught.value)
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 1


# -- SuiteQL -------------------------------------------------------------------------------


@responses.activate
def test_suiteql_sends_prefer_transient_and_pages_lazily() -> None:
    def page(offset: int, has_more: bool, ids: list[str]) -> dict[str, Any]:
        return {
            "links": [],
            "count": len(ids),
            "hasMore": has_more,
            "offset": offset,
            "totalResults": 5,
            "items": [{"links": [], "id": i} for i in ids],
        }

    responses.add(responses.POST, QUERY, json=page(0, True, ["1", "2"]))
    responses.add(responses.POST, QUERY, json=page(2, True, ["3", "4"]))
    responses.add(responses.POST, QUERY, json=page(4, False, ["5"]))
    rows = _client().suiteql("SELECT id FROM customer ORDER BY id", page_size=2)
    assert next(rows) == {"id": "1"}
    assert len(responses.calls) == 1  # lazy: the second page is not fetched yet
    assert [r["id"] for r in rows] == ["2", "3", "4", "5"]
    first = responses.calls[0].request
    assert first.headers["Prefer"] == "transient"
    assert json.loads(first.body) == {"q": "SELECT id FROM customer ORDER BY id"}
    assert "limit=2" in first.url and "offset=0" in first.url
    assert "offset=4" in responses.calls[2].request.url


@responses.activate
def test_a_suiteql_answer_without_items_is_a_service_error() -> None:
    responses.add(responses.POST, QUERY, json={"count": 0})
    with pytest.raises(ServiceError):
        list(_client().suiteql("SELECT id FROM customer"))


def test_suiteql_paging_against_the_emulator(fake: FakeNetSuite) -> None:
    client = NetSuiteClient(fake.account_id, make_auth(fake), limiter=LocalLimiter(concurrency=5))
    rows = list(client.suiteql("SELECT id, entityid FROM customer ORDER BY id", page_size=1))
    assert [r["entityid"] for r in rows] == [
        "Acme Robotics",
        "Globex Corporation",
        "Initech",
        "Umbrella Europe GmbH",
    ]


def test_keyset_paging_goes_past_the_row_cap(fake: FakeNetSuite) -> None:
    fake.suiteql_row_cap = 2
    client = NetSuiteClient(fake.account_id, make_auth(fake), limiter=LocalLimiter(concurrency=5))
    query = "SELECT id, entityid FROM customer ORDER BY id"
    with pytest.raises(InvalidRequestError):
        list(client.suiteql(query, page_size=1))  # offset paging stops at the cap
    rows = list(client.suiteql_keyset("SELECT c.id, c.entityid FROM customer c", page_size=1))
    assert len(rows) == 4
    assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
    with pytest.raises(ConfigurationError):
        list(client.suiteql_keyset("SELECT 1 FROM dual", key="id; DROP"))


# -- error decoding (exact bodies of WIRE.md) ---------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "detail", "path", "expected"),
    [
        (
            400,
            "INVALID_CONTENT",
            "Invalid value for the resource or sub-resource field 'item'.",
            "item.items[0].item",
            InvalidRequestError,
        ),
        (400, "USER_ERROR", "Please enter value(s) for: Customer", "entity", InvalidRequestError),
        (
            400,
            "USER_ERROR",
            "Error while accessing a resource. This record already exists.",
            "externalId",
            DuplicateError,
        ),
        (
            400,
            "INVALID_KEY_OR_REF",
            "Invalid entity reference key 999.",
            "entity",
            InvalidRequestError,
        ),
        (404, "INVALID_KEY_OR_REF", "Invalid record key 999.", None, NotFoundError),
        (404, "NONEXISTENT_ID", "The record instance does not exist.", None, NotFoundError),
        (401, "INVALID_LOGIN", "Invalid login attempt.", None, AuthenticationError),
        (403, "INSUFFICIENT_PERMISSION", "Permission Violation.", None, PermissionDeniedError),
        (
            429,
            "CONCURRENCY_LIMIT_EXCEEDED",
            "Concurrent request limit exceeded. Request blocked.",
            None,
            RateLimitError,
        ),
        (400, "IDEMPOTENCY_ERROR", "The idempotency key was already used.", None, ConflictError),
        (503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable.", None, ServiceError),
    ],
)
@responses.activate
def test_error_bodies_map_to_the_error_tree(
    status: int, code: str, detail: str, path: str | None, expected: type[Exception]
) -> None:
    responses.add(
        responses.GET,
        f"{RECORDS}/invoice/1",
        status=status,
        json=_problem(status, code, detail, path),
    )
    client = _client(retry=RetryPolicy(max_attempts=1))
    with pytest.raises(expected) as caught:
        client.get("invoice", "1")
    error = caught.value
    assert type(error) is expected
    assert error.code == code  # type: ignore[attr-defined]
    assert error.detail == detail  # type: ignore[attr-defined]
    assert error.field == path  # type: ignore[attr-defined]
    assert error.http_status == status  # type: ignore[attr-defined]
    assert error.backend == "NetSuite"  # type: ignore[attr-defined]
    assert error.record == "invoice 1"  # type: ignore[attr-defined]


def _thrown(name: str, message: str) -> str:
    """What SuiteScript 2.x puts in a RESTlet error's message when the script throws."""
    return json.dumps({"type": "error.SuiteScriptError", "name": name, "message": message})


@pytest.mark.parametrize(
    ("status", "code", "message", "expected", "detail"),
    [
        (401, "INVALID_LOGIN_ATTEMPT", "Invalid login attempt.", AuthenticationError, None),
        (400, "SSS_REQUEST_LIMIT_EXCEEDED", "Concurrent request limit.", RateLimitError, None),
        (404, "SSS_INVALID_SCRIPTLET_ID", "That Suitelet is invalid.", NotFoundError, None),
        (
            400,
            "RCRD_DSNT_EXIST",
            _thrown("RCRD_DSNT_EXIST", "Invoice 9 does not exist."),
            NotFoundError,
            "Invoice 9 does not exist.",
        ),
        (
            400,
            "INVALID_ID",
            _thrown("INVALID_ID", "Pass the internal id."),
            InvalidRequestError,
            "Pass the internal id.",
        ),
    ],
)
def test_restlet_error_bodies_map_to_the_error_tree(
    status: int, code: str, message: str, expected: type[Exception], detail: str | None
) -> None:
    body = {"error": {"code": code, "message": message}}
    error = decode_error_body(status, body, json.dumps(body))
    assert type(error) is expected
    assert error.code == code and error.detail == (detail or message)


@pytest.mark.parametrize(
    ("status", "body", "content_type", "retryable"),
    [
        (502, "<html><body>Bad Gateway</body></html>", "text/html", True),
        (500, "", "text/plain", True),
        (400, "not json at all", "text/plain", False),
        (400, '{"unexpected": true}', "application/json", False),
        (500, '{"o:errorDetails": "broken"', "application/json", True),
    ],
)
@responses.activate
def test_bodies_that_are_not_the_documented_json_are_service_errors(
    status: int, body: str, content_type: str, retryable: bool
) -> None:
    responses.add(
        responses.GET, f"{RECORDS}/invoice/1", status=status, body=body, content_type=content_type
    )
    with pytest.raises(ServiceError) as caught:
        _client(retry=RetryPolicy(max_attempts=1)).get("invoice", "1")
    assert caught.value.retryable is retryable
    assert caught.value.raw == body


@responses.activate
def test_throttling_is_retried_by_the_transport_and_slows_the_limiter() -> None:
    limiter = LocalLimiter(concurrency=5)
    body = _problem(429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded.")
    responses.add(responses.GET, f"{RECORDS}/invoice/1", status=429, json=body)
    responses.add(responses.GET, f"{RECORDS}/invoice/1", json={"id": "1"})
    assert _client(limiter=limiter).get("invoice", "1") == {"id": "1"}
    assert len(responses.calls) == 2
    assert limiter.effective_concurrency is not None and limiter.effective_concurrency < 5


def test_html_429_is_still_a_rate_limit_and_retry_after_is_read() -> None:
    error = decode_error_body(429, None, "<html>slow down</html>", retry_after=3.0)
    assert isinstance(error, RateLimitError) and error.retry_after == 3.0


def test_several_details_are_joined() -> None:
    body = {
        "title": "Bad Request",
        "status": 400,
        "o:errorDetails": [
            {"detail": "First.", "o:errorCode": "USER_ERROR"},
            {"detail": "Second.", "o:errorCode": "USER_ERROR"},
        ],
    }
    error = decode_error_body(400, body, json.dumps(body))
    assert error.detail == "First.; Second."


@responses.activate
def test_error_text_never_carries_the_authorization_header() -> None:
    responses.add(
        responses.GET,
        f"{RECORDS}/invoice/1",
        status=401,
        json=_problem(401, "INVALID_LOGIN", "Invalid login attempt."),
    )
    with pytest.raises(AuthenticationError) as caught:
        _client().get("invoice", "1")
    sent = responses.calls[0].request.headers["Authorization"]
    assert "oauth_signature" in sent
    text = f"{caught.value} {caught.value!r} {caught.value.raw}"
    assert "cs" * 8 not in text and "ts" * 8 not in text


# -- TBA: the concurrency limit reported as INVALID_LOGIN -----------------------------------


def _login_refused() -> dict[str, Any]:
    return _problem(401, "INVALID_LOGIN", "Invalid login attempt.")


@responses.activate
def test_a_contended_invalid_login_is_resent_once_with_a_fresh_signature() -> None:
    limiter = LocalLimiter(concurrency=5)
    pauses: list[float] = []
    responses.add(responses.POST, f"{RECORDS}/invoice", status=401, json=_login_refused())
    responses.add(
        responses.POST,
        f"{RECORDS}/invoice",
        status=204,
        headers={"Location": f"{RECORDS}/invoice/77"},
    )
    client = _client(limiter=limiter, sleep=pauses.append)
    with limiter.slot():  # another request of this process is in flight on the account
        assert client.create("invoice", {"externalId": "a"}) == "77"
    assert len(responses.calls) == 2
    first, second = (call.request.headers["Authorization"] for call in responses.calls)
    assert first != second  # a new nonce and timestamp, not a replay
    assert len(pauses) == 1  # backed off before resending
    assert limiter.effective_concurrency is not None and limiter.effective_concurrency < 5


@responses.activate
def test_a_contended_invalid_login_that_persists_is_an_authentication_error() -> None:
    limiter = LocalLimiter(concurrency=5)
    limiter.on_throttle()  # a recent 429 the limiter has not recovered from
    responses.add(responses.GET, f"{RECORDS}/invoice/1", status=401, json=_login_refused())
    with pytest.raises(AuthenticationError) as caught:
        _client(limiter=limiter).get("invoice", "1")
    assert len(responses.calls) == 2  # one resend, never a loop
    assert caught.value.code == "INVALID_LOGIN"
    assert "concurrency" in (caught.value.hint or "")


@responses.activate
def test_an_invalid_login_is_resent_once_even_when_this_process_looks_idle() -> None:
    # Contention can come from other processes, or from requests of this one that
    # finished before the 401 was looked at: the resend cannot depend on what this
    # process sees in flight. Wrong credentials cost one extra request, never a loop.
    responses.add(responses.GET, f"{RECORDS}/invoice/1", status=401, json=_login_refused())
    with pytest.raises(AuthenticationError):
        _client().get("invoice", "1")
    assert len(responses.calls) == 2


@responses.activate
def test_a_contended_401_that_is_not_invalid_login_is_not_resent() -> None:
    limiter = LocalLimiter(concurrency=5)
    responses.add(
        responses.GET,
        f"{RECORDS}/invoice/1",
        status=401,
        json=_problem(401, "INSUFFICIENT_PERMISSION", "No."),
    )
    with limiter.slot(), pytest.raises(AuthenticationError):
        _client(limiter=limiter).get("invoice", "1")
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("inf", None), ("nan", None), ("soon", None), ("-3", 0.0)],
)
def test_retry_after_of_a_429_is_read_safely(header: str, expected: float | None) -> None:
    response = requests.Response()
    response.status_code = 429
    response._content = json.dumps(
        _problem(429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded.")
    ).encode()
    response.headers["Retry-After"] = header
    error = decode_error(response)
    assert isinstance(error, RateLimitError) and error.retry_after == expected
