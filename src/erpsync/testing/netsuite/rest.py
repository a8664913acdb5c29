"""URL routing of the REST record service (``/services/rest/record/v1``).

Turns a request into an :class:`~._ns_records.Account` operation and its answer as
NetSuite gives it: 204 + ``Location`` for writes (built from the host the client
addressed, so a served emulator answers with its loopback URL), 200 JSON for reads.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from erpsync.netsuite import wire
from erpsync.testing.core.wire import WireRequest, WireResponse
from erpsync.testing.netsuite.errors import NetSuiteFault, invalid_content, not_found
from erpsync.testing.netsuite.paging import page_links
from erpsync.testing.netsuite.records import Account
from erpsync.testing.netsuite.types import RecordType, lookup

DEFAULT_PAGE = 1000


def _record_type(name: str) -> RecordType:
    rt = lookup(name)
    if rt is None:
        raise NetSuiteFault(404, "NONEXISTENT_ID", f"Record type '{name}' does not exist.")
    return rt


def _body(request: WireRequest) -> Any:
    if not request.body.strip():
        return {}
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise NetSuiteFault(
            415, "UNSUPPORTED_MEDIA_TYPE", f"Content type {content_type} is not supported."
        )
    try:
        return request.json()
    except ValueError:
        raise invalid_content(
            "The request could not be understood by the server due to malformed syntax."
        ) from None


def _flag(request: WireRequest, name: str) -> bool:
    return (request.param(name) or "").lower() == "true"


def _names(request: WireRequest, name: str) -> frozenset[str]:
    raw = request.param(name)
    return (
        frozenset(part.strip() for part in raw.split(",") if part.strip()) if raw else (frozenset())
    )


def _created(request: WireRequest, rt: RecordType, rid: int) -> WireResponse:
    return WireResponse.empty(
        204, {"Location": f"{request.base}{wire.RECORD_ROOT}/{rt.name.lower()}/{rid}"}
    )


def handle_record(account: Account, request: WireRequest) -> WireResponse:
    """Answer one request under ``/services/rest/record/v1``."""
    segments = [unquote(s) for s in request.raw_path[len(wire.RECORD_ROOT) :].split("/") if s]
    if not segments:
        raise not_found()
    rt = _record_type(segments[0])
    method = request.method
    base = request.base
    if len(segments) == 1:
        if method == "GET":
            return WireResponse.json(200, _collection(account, rt, request))
        if method == "POST":
            return _created(request, rt, account.create(rt, _body(request)))
        raise _method_not_allowed(method)
    key = segments[1]
    if len(segments) == 2:
        if method == "PUT":
            if not key.lower().startswith("eid:") or len(key) == 4:
                raise invalid_content(
                    "PUT (upsert) needs an external ID in the URL: /{type}/eid:<externalId>."
                )
            return _created(request, rt, account.upsert(rt, key[4:], _body(request)))
        rid = account.resolve(rt, key)
        if method == "GET":
            fields = _names(request, "fields") or None
            return WireResponse.json(
                200, account.render(rt, rid, base, _flag(request, "expandSubResources"), fields)
            )
        if method == "PATCH":
            account.update(rt, rid, _body(request), _names(request, "replace"))
            return WireResponse.empty(204)
        if method == "DELETE":
            account.delete(rt, rid)
            return WireResponse.empty(204)
        raise _method_not_allowed(method)
    rid = account.resolve(rt, key)
    if segments[2] == "!transform" and len(segments) == 4:
        if method != "POST":
            raise _method_not_allowed(method)
        target = _record_type(segments[3])
        return _created(request, target, account.transform(rt, rid, segments[3], _body(request)))
    if method != "GET" or segments[2] not in rt.sublists or len(segments) > 4:
        raise not_found()
    if len(segments) == 3:
        return WireResponse.json(200, account.render_sublist(rt, rid, segments[2], base))
    return WireResponse.json(200, account.render_line(rt, rid, segments[2], segments[3], base))


def _method_not_allowed(method: str) -> NetSuiteFault:
    return NetSuiteFault(405, "METHOD_NOT_ALLOWED", f"The {method} method is not allowed here.")


def _collection(account: Account, rt: RecordType, request: WireRequest) -> dict[str, Any]:
    if request.param("q"):
        raise NetSuiteFault(
            400,
            "INVALID_PARAMETER",
            "The emulator does not evaluate the q parameter; use SuiteQL to filter.",
        )
    try:
        limit = int(request.param("limit") or DEFAULT_PAGE)
        offset = int(request.param("offset") or 0)
    except ValueError:
        raise NetSuiteFault(400, "INVALID_PARAMETER", "limit and offset must be numbers.") from None
    if not 1 <= limit <= DEFAULT_PAGE or offset < 0:
        raise NetSuiteFault(400, "INVALID_PARAMETER", "Invalid value for limit or offset.")
    page, total = account.id_page(rt, limit, offset)
    href = f"{request.base}{wire.RECORD_ROOT}/{rt.name.lower()}"
    has_more = offset + len(page) < total
    return {
        "links": page_links(href, limit, offset, total, has_more),
        "count": len(page),
        "hasMore": has_more,
        "items": [
            {"links": [{"rel": "self", "href": f"{href}/{rid}"}], "id": str(rid)} for rid in page
        ],
        "offset": offset,
        "totalResults": total,
    }
