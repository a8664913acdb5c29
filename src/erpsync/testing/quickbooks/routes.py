"""Which part of FakeQuickBooks answers a request: OAuth, the data API of a realm, or
the control endpoints; and what every data API answer carries (``intuit_tid``, an entry
in the request log).

The data API path names its company (``/v3/company/{realmId}/...``): the bearer token
must have been issued for that realm (else 401 or 403, as Intuit answers), and the
realm's own :class:`~.api.DataApi` answers. The one exception is an attachment's
temporary download URL, which carries its own signature instead (see :mod:`.uploads`).
"""

from __future__ import annotations

import logging
import random
import threading
from typing import TYPE_CHECKING

from erpsync.quickbooks import wire
from erpsync.testing.core.wire import WireRequest, WireResponse
from erpsync.testing.quickbooks.control import CONTROL_PREFIX, control
from erpsync.testing.quickbooks.errors import THROTTLE_XML, authorization_failed
from erpsync.testing.quickbooks.oauth import (
    AUTHORIZE_PATH,
    DISCOVERY_PATHS,
    JWKS_PATH,
    REVOKE_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
)
from erpsync.testing.quickbooks.realms import RecordedRequest

if TYPE_CHECKING:
    from erpsync.testing.quickbooks.emulator import FakeQuickBooks

__all__ = ["REQUEST_LOG_SIZE", "Router", "realm_of"]

#: How many data API requests ``FakeQuickBooks.requests`` keeps (older ones are dropped).
REQUEST_LOG_SIZE = 10_000

_DATA_PREFIX = wire.DATA_PREFIX
_log = logging.getLogger("erpsync.testing")


def realm_of(path: str) -> str | None:
    """The realm id a data API path names (``/v3/company/{realmId}/...``), else None."""
    if not path.startswith(_DATA_PREFIX):
        return None
    return path[len(_DATA_PREFIX) :].partition("/")[0] or None


class Router:
    """Routes the requests of one FakeQuickBooks and stamps its answers."""

    def __init__(self, fake: FakeQuickBooks, seed: int) -> None:
        self.fake = fake
        self._seed = seed
        self._tid_lock = threading.Lock()
        self._tid_rng = random.Random(seed)
        self._throttle_explained = False
        self._hosts = {prefix.split("://", 1)[1] for prefix in fake.intercept_prefixes}
        #: The data API requests served, oldest first (the last ``REQUEST_LOG_SIZE``).
        self.requests: list[RecordedRequest] = []

    def reset(self) -> None:
        with self._tid_lock:
            self._tid_rng = random.Random(self._seed)
        self.requests.clear()

    def route(self, request: WireRequest) -> WireResponse:
        path = request.path.rstrip("/") or "/"
        method, oauth = request.method, self.fake.oauth
        served = request.host not in self._hosts
        if path in DISCOVERY_PATHS and method == "GET":
            return oauth.discovery(request, DISCOVERY_PATHS[path], served)
        if path == AUTHORIZE_PATH and method == "GET":
            return oauth.authorize(request, self.fake.realm_id)
        if path == TOKEN_PATH and method == "POST":
            return oauth.token(request)
        if path == REVOKE_PATH and method == "POST":
            return oauth.revoke(request)
        if path == USERINFO_PATH and method == "GET":
            return oauth.userinfo(request)
        if path == JWKS_PATH and method == "GET":
            return oauth.jwks()
        if path.startswith(_DATA_PREFIX):
            return self._data(request, path)
        if served and path.startswith(CONTROL_PREFIX):
            return control(self.fake, request, path)
        return WireResponse.text(404, "Not Found")

    def _data(self, request: WireRequest, path: str) -> WireResponse:
        realm_id, _, rest = path[len(_DATA_PREFIX) :].partition("/")
        realm = self.fake.realm(realm_id) if realm_id in self.fake.realm_ids else None
        segments = [s for s in rest.split("/") if s]
        refused = self.fake.oauth.check_bearer(request, realm_id)
        if (
            refused is not None
            and realm is not None
            and len(segments) == 3
            and segments[0] == "download"
            and segments[2] == "content"
            and realm.api.signed(request, segments[1])
        ):
            refused = None  # a temporary download URL is signed instead (as S3's are)
        if refused is not None:
            response = WireResponse.json(refused.status, refused.body, refused.headers)
        elif realm is None:  # tokens exist only for known realms; kept as a guard
            response = WireResponse.json(403, authorization_failed(self.fake.now()))
        else:
            response = realm.api.handle(request, segments)
        self._log(request, path, response)
        return response

    def _log(self, request: WireRequest, path: str, response: WireResponse) -> None:
        requested = request.param("minorversion")
        try:
            minor = max(wire.MINOR_VERSION, int(requested)) if requested else wire.MINOR_VERSION
        except ValueError:
            minor = wire.MINOR_VERSION
        tid = self.new_tid()
        response.headers["intuit_tid"] = tid
        if len(self.requests) >= REQUEST_LOG_SIZE:
            del self.requests[: REQUEST_LOG_SIZE // 2]
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=path,
                params=request.query,
                minor_version=minor,
                requested_minor_version=requested,
                request_id=request.param("requestid"),
                status=response.status,
                intuit_tid=tid,
            )
        )

    def throttled(self, reason: str) -> WireResponse:
        """The 429 (XML, as Intuit sends it), explained once in the log."""
        if not self._throttle_explained:
            self._throttle_explained = True
            _log.warning(
                "FakeQuickBooks answered 429 (%s): it enforces QuickBooks Online's limits "
                "per company as Intuit does: %d in flight, and with governance="
                "QBO_GOVERNANCE also %d requests a second and %d a minute. Clients should "
                "back off and retry; pass FakeQuickBooks(governance=None) to turn the "
                "limits off. (Said once per emulator.)",
                reason,
                wire.MAX_CONCURRENT_REQUESTS,
                wire.REQUESTS_PER_SECOND,
                wire.REQUESTS_PER_MINUTE,
            )
        return self.stamp(WireResponse.text(429, THROTTLE_XML, content_type="application/xml"))

    def new_tid(self) -> str:
        with self._tid_lock:
            bits = self._tid_rng.getrandbits(96)
        return f"1-{bits >> 64:08x}-{bits & ((1 << 64) - 1):016x}"

    def stamp(self, response: WireResponse) -> WireResponse:
        if "intuit_tid" not in response.headers:
            response.headers["intuit_tid"] = self.new_tid()
        return response
