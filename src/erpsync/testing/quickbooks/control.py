"""Control endpoints of a served FakeQuickBooks, for clients in any language.

A test written in another language drives the emulator over HTTP, on the served
(loopback) URL only, under ``/_erpsync/``:

* ``GET /_erpsync/credentials``: the app and token pair (what ``fake.credentials`` holds);
* ``GET /_erpsync/records/<Entity>``: the stored records in wire format;
* ``GET|POST /_erpsync/preferences``: read, or merge sections into, the Preferences
  (``{"SalesFormsPrefs": {"CustomTxnNumbers": true}}``);
* ``POST /_erpsync/faults``: ``{"kind": "throttle", "times": 2, "status": 503}`` makes the
  next requests misbehave (kinds as ``fake.inject``);
* ``POST /_erpsync/reset``: back to the constructed state.
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
    parts = path[len(CONTROL_PREFIX) :].split("/")
    try:
        return _answer(fake, request, parts)
    except ErpSyncError as error:
        return WireResponse.json(400, {"error": str(error)})
    except (ValueError, TypeError, KeyError) as error:
        return WireResponse.json(400, {"error": f"bad control request: {error}"})


def _answer(fake: FakeQuickBooks, request: WireRequest, parts: list[str]) -> WireResponse:
    method, head = request.method, parts[0]
    if head == "credentials" and method == "GET":
        return WireResponse.json(200, dataclasses.asdict(fake.credentials))
    if head == "records" and len(parts) == 2 and method == "GET":
        return WireResponse.json(200, {parts[1]: fake.records(parts[1])})
    if head == "preferences" and method == "GET":
        return WireResponse.json(200, fake.preferences())
    if head == "preferences" and method == "POST":
        return WireResponse.json(200, fake.set_preferences(_object(request)))
    if head == "faults" and method == "POST":
        body = _object(request)
        fake.inject(
            str(body["kind"]),
            times=int(body.get("times", 1)),
            status=int(body.get("status", 503)),
            delay=float(body.get("delay", 0.0)),
        )
        return WireResponse.empty(204)
    if head == "reset" and method == "POST":
        fake.reset()
        return WireResponse.empty(204)
    return WireResponse.json(404, {"error": f"no control endpoint {method} {'/'.join(parts)}"})


def _object(request: WireRequest) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body
