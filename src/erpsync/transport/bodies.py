"""The one body decoder under both ERPs: whatever arrives, the error tree or a value.

An ERP's answer is not always what its documentation promises: QuickBooks answers a
429 in XML even when JSON was asked for, a proxy in front of either ERP answers with an
HTML page, a connection that breaks leaves half a JSON document, and a hostile or
broken server can nest a document thousands deep (``json.loads`` then raises
``RecursionError``, which is not a ``ValueError``). Both clients read every body through
this module, so each of those cases is handled once:

* :func:`decode_body` never raises: it says what the body is (``json``, ``xml``,
  ``html``, ``pdf``, ``text`` or ``empty``), with the parsed JSON or the fields of an
  XML fault, and the text to attach to an error (secrets removed, truncated);
* :func:`json_body` / :func:`json_object` are for answers that must be JSON (a 2xx
  data answer): anything else is a :class:`~erpsync.errors.ServiceError` naming the
  record, retryable only for a 5xx;
* :func:`pdf_bytes` is for documents: raw ``%PDF`` bytes, or base64 inside JSON or
  plain text (a NetSuite RESTlet's answer).

Numbers in JSON become :class:`~decimal.Decimal` when ``exact`` (money stays exact).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import requests

from erpsync._redact import redact, truncate
from erpsync.errors import ErpSyncError, ServiceError

__all__ = [
    "BodyKind",
    "DecodedBody",
    "body_text",
    "decode_body",
    "json_body",
    "json_object",
    "parse_json_text",
    "pdf_bytes",
    "xml_fault",
]

BodyKind = Literal["empty", "json", "xml", "html", "pdf", "text"]

#: Bytes of a body read for an error message; the rest is cut (a 50 MB HTML page from a
#: proxy must not be regex-scanned in full).
_TEXT_WINDOW = 64 * 1024
#: Keys a RESTlet may put the base64 of a document under.
_BASE64_KEYS = ("pdf", "content", "data", "base64")

_XML_CODE = re.compile(r"<Error[^>]*\bcode=\"([^\"]*)\"", re.IGNORECASE)
_XML_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.IGNORECASE | re.DOTALL)
_XML_DETAIL = re.compile(r"<Detail>(.*?)</Detail>", re.IGNORECASE | re.DOTALL)
_XML_TYPE = re.compile(r"<Fault[^>]*\btype=\"([^\"]*)\"", re.IGNORECASE)
_XML_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))


class _NotJson(Exception):
    """The text is not (complete, shallow enough, decodable) JSON."""


@dataclass(frozen=True)
class DecodedBody:
    """What a body is, its value when it has a readable one, and its text for errors.

    ``value`` is the parsed JSON for ``json``, the fault fields (``{"Error": [...],
    "type": ...}``, QuickBooks' shape) for an ``xml`` fault, the bytes for ``pdf``, and
    None otherwise. ``text`` is redacted and truncated, ready for ``raw=``.
    """

    kind: BodyKind
    value: Any
    text: str


def body_text(response: requests.Response, limit: int = 4000) -> str:
    """The body as text for an error message: decoded leniently, redacted, truncated."""
    content = _content(response)
    window = content[:_TEXT_WINDOW]
    try:
        text = window.decode(response.encoding or "utf-8", errors="replace")
    except (LookupError, TypeError):
        text = window.decode("utf-8", errors="replace")
    if len(content) > _TEXT_WINDOW:
        text += f"... [{len(content) - _TEXT_WINDOW} more bytes]"
    return truncate(redact(text), limit)


def parse_json_text(text: str | bytes, *, exact: bool = True) -> Any:
    """Parse JSON, raising only ``ValueError`` (also for deep nesting and bad UTF-8)."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text, parse_float=Decimal) if exact else json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError, TypeError, MemoryError) as exc:
        raise ValueError(f"not JSON ({type(exc).__name__})") from None


def decode_body(response: requests.Response, *, exact: bool = True) -> DecodedBody:
    """What the body of ``response`` is (see :class:`DecodedBody`); never raises."""
    content = _content(response)
    head = content[:512].lstrip()
    lowered = head[:200].lower()
    text = body_text(response)
    if not head:
        return DecodedBody("empty", None, text)
    if head.startswith(b"%PDF"):
        return DecodedBody("pdf", content, text)
    if head.startswith(b"<") and (b"<html" in lowered or lowered.startswith(b"<!doctype html")):
        return DecodedBody("html", None, text)
    if head.startswith(b"<"):
        full = content[:_TEXT_WINDOW].decode("utf-8", errors="replace")
        return DecodedBody("xml", xml_fault(full), text)
    if head.startswith((b"{", b"[", b'"')) or _is_json_type(response):
        try:
            return DecodedBody("json", _json(content, exact), text)
        except _NotJson:
            pass
    return DecodedBody("text", None, text)


def xml_fault(text: str) -> dict[str, Any] | None:
    """The fault of an XML error body (QuickBooks' ``IntuitResponse``), or None.

    Read with patterns, not an XML parser: the bodies are small and fixed in shape, and
    a parser would bring entity-expansion risks for no gain.
    """
    code = _XML_CODE.search(text)
    message = _XML_MESSAGE.search(text)
    detail = _XML_DETAIL.search(text)
    kind = _XML_TYPE.search(text)
    if not (code or message or detail or kind):
        return None
    return {
        "Error": [
            {
                "code": code.group(1) if code else None,
                "Message": _unescape(message.group(1)) if message else None,
                "Detail": _unescape(detail.group(1)) if detail else None,
            }
        ],
        "type": kind.group(1) if kind else "",
    }


def json_body(
    response: requests.Response,
    *,
    backend: str,
    record: str | None = None,
    exact: bool = True,
    request_id: str | None = None,
) -> Any:
    """The JSON of an answer that must be JSON, or a :class:`ServiceError` naming it.

    An unreadable 2xx is not retryable (a write it answered may have happened); an
    unreadable 5xx is.
    """
    try:
        return _json(_content(response), exact)
    except _NotJson:
        raise _unreadable(
            response, "a body that is not JSON", backend, record, request_id
        ) from None


def json_object(
    response: requests.Response,
    *,
    backend: str,
    record: str | None = None,
    exact: bool = True,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Like :func:`json_body`, for answers that must be a JSON object."""
    body = json_body(response, backend=backend, record=record, exact=exact, request_id=request_id)
    if not isinstance(body, dict):
        raise _unreadable(response, "a body that is not a JSON object", backend, record, request_id)
    return body


def pdf_bytes(
    response: requests.Response,
    *,
    backend: str,
    record: str | None = None,
    request_id: str | None = None,
    on_json: Callable[[Any], None] | None = None,
) -> bytes:
    """The document in an answer: raw ``%PDF`` bytes, or base64 (bare, a JSON string,
    or under ``pdf``/``content``/``data``/``base64`` in a JSON object).

    ``on_json`` sees a JSON body first and may raise the error it carries (a
    QuickBooks ``Fault``). Anything else is a :class:`ServiceError` naming ``record``.
    """
    decoded = decode_body(response, exact=False)
    if decoded.kind == "pdf":
        return bytes(decoded.value)
    encoded: Any = None
    if decoded.kind == "json":
        if on_json is not None:
            on_json(decoded.value)
        encoded = decoded.value
        if isinstance(encoded, Mapping):
            encoded = next((encoded[k] for k in _BASE64_KEYS if k in encoded), None)
    elif decoded.kind == "text":
        encoded = _content(response).decode("ascii", errors="replace").strip()
    if not isinstance(encoded, str) or not encoded:
        raise _unreadable(response, "a body that is not a PDF", backend, record, request_id)
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise _unreadable(
            response, "text that is neither a PDF nor base64", backend, record, request_id
        ) from None
    if not data.startswith(b"%PDF"):
        raise _unreadable(response, "base64 that is not a PDF", backend, record, request_id)
    return data


# -- helpers ------------------------------------------------------------------------------


def _content(response: requests.Response) -> bytes:
    try:
        content = response.content
    except Exception:  # a stream that broke while being read: nothing more to show
        return b""
    return content if isinstance(content, bytes) else b""


def _json(content: bytes, exact: bool) -> Any:
    try:
        return parse_json_text(content, exact=exact)
    except ValueError:
        raise _NotJson from None


def _is_json_type(response: requests.Response) -> bool:
    content_type = str(response.headers.get("Content-Type") or "").lower()
    return "json" in content_type


def _unescape(text: str) -> str:
    for entity, char in _XML_ENTITIES:
        text = text.replace(entity, char)
    return text


def _unreadable(
    response: requests.Response,
    what: str,
    backend: str,
    record: str | None,
    request_id: str | None,
) -> ErpSyncError:
    status = response.status_code
    subject = f" {record}" if record else ""
    return ServiceError(
        f"answered{subject} with HTTP {status} and {what}",
        backend=backend,
        record=record,
        http_status=status,
        request_id=request_id,
        raw=body_text(response),
        retryable=status >= 500,
    )
