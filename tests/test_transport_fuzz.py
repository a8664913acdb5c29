"""Property test: whatever status, headers and body an ERP (or a proxy in front of it)
answers, both clients raise an erpsync error or return a value, never a bare
ValueError, IndexError, KeyError, RecursionError or JSON error.

The answers come from a ``requests`` adapter on the clients' own session, so the whole
path runs: the transport, its redirect refusal, the body decoder, the ERP's error
decoder and the client's envelope reading. Retries are off (one attempt), so each
example is one exchange.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
import requests.adapters
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpsync.errors import ErpSyncError
from erpsync.limits import LocalLimiter
from erpsync.netsuite import TokenBasedAuth
from erpsync.netsuite.client import NetSuiteClient
from erpsync.quickbooks.client import QuickBooksClient
from erpsync.transport import RetryPolicy

_DEEP = b"[" * 50_000 + b"]" * 50_000
_BODIES = st.one_of(
    st.binary(max_size=64),
    st.sampled_from(
        [
            b"",
            b"{",
            b'{"Fault": {"Error": [{"code": "6240"',
            b'{"QueryResponse": {"Invoice": [1, "x", null]}}',
            b'{"Invoice": {"Id": 7}}',
            b'{"Invoice": []}',
            b'{"items": "nope", "hasMore": "yes"}',
            b'{"items": [{"id": {"x": 1}}], "hasMore": true}',
            b'{"o:errorDetails": [{"o:errorCode": 5}]}',
            b'{"o:errorDetails": "x", "title": 3}',
            b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
            b'<IntuitResponse><Fault type="SERVICE"><Error code="3001"><Message>message='
            b"ThrottleExceeded</Message><Detail>The request limit was reached.</Detail>"
            b"</Error></Fault></IntuitResponse>",
            b"<IntuitResponse><Fault",
            b"%PDF-1.4 minimal",
            b'"JVBERi0xLjQ="',
            b'{"pdf": "!!notbase64"}',
            b"\xff\xfe\x00garbage",
            b'{"a": 1e999999}',
            b'{"n": 1' + b"0" * 5000 + b"}",
            _DEEP,
            b'{"x":' * 20_000 + b"1" + b"}" * 20_000,
        ]
    ),
)
_STATUSES = st.one_of(
    st.sampled_from([200, 201, 204, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 429, 500]),
    st.integers(min_value=100, max_value=599),
)
_HEADER_VALUES = st.one_of(
    st.text(max_size=30).map(lambda t: t.encode("latin-1", "replace").decode("latin-1")),
    st.sampled_from(
        [
            "http://[::1",
            "https://exa mple.com/\x00",
            "//",
            "http://:99999/x",
            "/services/rest/record/v1/invoice/12",
            "/services/rest/record/v1/invoice/",
            "Mon, 99 Foo 2026 99:99:99 GMT",
            "inf",
            "nan",
            "-5",
            "1e400",
        ]
    ),
)
_HEADERS = st.dictionaries(
    st.sampled_from(
        ["Location", "Retry-After", "Date", "Content-Type", "intuit_tid", "Content-Encoding"]
    ),
    _HEADER_VALUES,
    max_size=4,
)


class _Canned(requests.adapters.BaseAdapter):
    """Answers every request with the one response it was loaded with."""

    def __init__(self) -> None:
        super().__init__()
        self.status = 200
        self.headers: dict[str, str] = {}
        self.body = b""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = self.status
        response.headers.update(self.headers)
        response._content = self.body  # the canned body, as requests stores a read one
        response.url = request.url or ""
        response.request = request
        response.encoding = None
        return response

    def close(self) -> None:
        pass


def _session() -> tuple[requests.Session, _Canned]:
    session = requests.Session()
    adapter = _Canned()
    session.mount("https://", adapter)
    return session, adapter


def _quickbooks() -> tuple[Callable[[], object], _Canned, list[Callable[[], object]]]:
    session, adapter = _session()
    client = QuickBooksClient(
        "9130",
        None,
        session=session,
        retry=RetryPolicy(max_attempts=1),
        limiter=LocalLimiter(),
        sleep=lambda _s: None,
    )
    calls: list[Callable[[], object]] = [
        lambda: client.read("Invoice", "7"),
        lambda: client.query("select * from Invoice"),
        lambda: client.invoice_pdf("7"),
        lambda: client.create("Invoice", {"CustomerRef": {"value": "1"}}),
        lambda: client.preferences(),
    ]
    return client.close, adapter, calls


def _netsuite() -> tuple[Callable[[], object], _Canned, list[Callable[[], object]]]:
    session, adapter = _session()
    client = NetSuiteClient(
        "1234567_SB1",
        TokenBasedAuth("c" * 64, "s" * 64, "t" * 64, "x" * 64),
        session=session,
        retry=RetryPolicy(max_attempts=1),
        limiter=LocalLimiter(concurrency=5),
        sleep=lambda _s: None,
    )
    calls: list[Callable[[], object]] = [
        lambda: client.get("invoice", "12"),
        lambda: client.create("invoice", {"entity": {"id": "1"}}),
        lambda: client.upsert("invoice", "AR-1", {"entity": {"id": "1"}}),
        lambda: client.suiteql_page("SELECT id FROM transaction", limit=10),
        lambda: client.restlet(1, 1, record="invoice 12 PDF"),
    ]
    return client.close, adapter, calls


@pytest.mark.parametrize("make", [_quickbooks, _netsuite], ids=["quickbooks", "netsuite"])
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(status=_STATUSES, headers=_HEADERS, body=_BODIES, which=st.integers(0, 4))
def test_only_erpsync_errors_escape_either_client(
    make: Callable[[], tuple[Callable[[], object], _Canned, list[Callable[[], object]]]],
    status: int,
    headers: dict[str, str],
    body: bytes,
    which: int,
) -> None:
    close, adapter, calls = make()
    adapter.status, adapter.headers, adapter.body = status, headers, body
    try:
        calls[which]()
    except ErpSyncError as exc:
        assert str(exc)  # the message itself renders
        assert repr(exc)
    finally:
        close()


@pytest.mark.parametrize("make", [_quickbooks, _netsuite], ids=["quickbooks", "netsuite"])
@pytest.mark.parametrize("location", ["http://[::1", "https://exa mple.com/\x00", "", "//"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_an_error_naming_status_and_location(
    make: Callable[[], tuple[Callable[[], object], _Canned, list[Callable[[], object]]]],
    status: int,
    location: str,
) -> None:
    close, adapter, calls = make()
    adapter.status = status
    adapter.headers = {"Location": location} if location else {}
    try:
        with pytest.raises(ErpSyncError) as caught:
            calls[0]()
    finally:
        close()
    error = caught.value
    assert error.http_status == status
    assert f"HTTP {status}" in str(error)
    assert "redirect" in str(error)
    if location.strip():
        assert repr(location.strip()[:5])[1:-1] in str(error)
