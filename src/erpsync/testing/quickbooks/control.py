"""Control endpoints of a served FakeQuickBooks, for clients in any language.

A test written in another language drives the emulator over HTTP, on the served URL
only, under ``/_erpsync/``. Each endpoint acts on the first company, or on the one
named by the path ``/_erpsync/companies/<realmId>/...``:

* ``GET /_erpsync/companies``: every company (``realm_id``, ``CompanyName``);
  ``POST /_erpsync/companies`` ``{"realm_id": "...", "name": "...", "seed_data": true,
  "sample_transactions": false}`` (every field optional) connects one more and answers
  its credentials;
* ``GET .../credentials``: the app and that company's token pair;
* ``GET .../records/<Entity>``: the stored records in wire format;
* ``GET|POST .../preferences``: read, or merge sections into, the Preferences
  (``{"SalesFormsPrefs": {"CustomTxnNumbers": true}}``);
* ``POST .../seed``: ``{"Customer": [{"DisplayName": "Acme"}], ...}`` creates records
  through the API's rules and answers them;
* ``POST .../faults``: ``{"kind": "throttle", "times": 2, "status": 503}`` makes the
  next requests misbehave (kinds as ``fake.inject``; under ``companies/<realmId>`` only
  that company's requests);
* ``POST .../reset``: ``/_erpsync/reset`` puts the whole emulator back as constructed,
  ``/_erpsync/companies/<realmId>/reset`` only that company's books.

A refusal is ``400 {"error": "..."}``; an unknown company or endpoint is 404.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from erpsync.errors import ErpSyncError
from erpsync.testing.core.wire import WireRequest, WireResponse

if TYPE_CHECKING:
    from erpsync.testing.quickbooks.emulator import FakeQuickBooks

__all__ = ["CONTROL_PREFIX", "control"]

CONTROL_PREFIX = "/_erpsync/"


def control(fake: FakeQuickBooks, request: WireRequest, path: str) -> WireResponse:
    """Answer one control request (``path`` starts with :data:`CONTROL_PREFIX`)."""
    parts = [p for p in path[len(CONTROL_PREFIX) :].split("/") if p]
    try:
        if parts[:1] == ["companies"]:
            return _companies(fake, request, parts[1:])
        return _answer(fake, request, parts, None)
    except ErpSyncError as error:
        return WireResponse.json(400, {"error": str(error)})
    except (ValueError, TypeError, KeyError) as error:
        return WireResponse.json(400, {"error": f"bad control request: {error}"})


def _companies(fake: FakeQuickBooks, request: WireRequest, parts: list[str]) -> WireResponse:
    if not parts and request.method == "GET":
        listed = [fake.realm(realm_id).describe() for realm_id in fake.realm_ids]
        return WireResponse.json(200, {"companies": listed})
    if not parts and request.method == "POST":
        body = _object(request) if request.body.strip() else {}
        credentials = fake.add_company(
            body.get("realm_id"),
            seed_data=bool(body.get("seed_data", True)),
            name=body.get("name"),
            sample_transactions=bool(body.get("sample_transactions", False)),
        )
        return WireResponse.json(201, dataclasses.asdict(credentials))
    if not parts or parts[0] not in fake.realm_ids:
        return _missing(request, parts)
    return _answer(fake, request, parts[1:], parts[0])


def _answer(
    fake: FakeQuickBooks, request: WireRequest, parts: list[str], realm_id: str | None
) -> WireResponse:
    method, head = request.method, parts[0] if parts else ""
    if head == "credentials" and method == "GET":
        credentials = fake.realm(realm_id).credentials
        return WireResponse.json(200, dataclasses.asdict(credentials))
    if head == "records" and len(parts) == 2 and method == "GET":
        return WireResponse.json(200, {parts[1]: fake.records(parts[1], realm_id)})
    if head == "preferences" and method == "GET":
        return WireResponse.json(200, fake.preferences(realm_id))
    if head == "preferences" and method == "POST":
        return WireResponse.json(200, fake.set_preferences(_object(request), realm_id))
    if head == "seed" and method == "POST":
        return WireResponse.json(200, fake.seed_records(_object(request), realm_id))
    if head == "faults" and method == "POST":
        body = _object(request)
        fake.inject(
            str(body["kind"]),
            times=int(body.get("times", 1)),
            status=int(body.get("status", 503)),
            delay=float(body.get("delay", 0.0)),
            realm_id=realm_id,
        )
        return WireResponse.empty(204)
    if head == "reset" and method == "POST":
        if realm_id is None:
            fake.reset()
        else:
            fake.reset_company(realm_id)
        return WireResponse.empty(204)
    return _missing(request, parts)


def _missing(request: WireRequest, parts: list[str]) -> WireResponse:
    return WireResponse.json(
        404, {"error": f"no control endpoint {request.method} {'/'.join(parts)}"}
    )


def _object(request: WireRequest) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body
