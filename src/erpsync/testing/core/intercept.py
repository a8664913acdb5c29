"""In-process interception: every active emulator adds its routes to one shared,
reference-counted ``responses`` mock (see :mod:`erpsync.testing.core.emulator` for why).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from http.client import RemoteDisconnected
from typing import TYPE_CHECKING, Any

import requests
from urllib3.exceptions import ProtocolError

from erpsync.testing.core import require_responses

require_responses()

import responses  # noqa: E402  (after the check that names the extra to install)
from responses.registries import FirstMatchRegistry  # noqa: E402

from erpsync.testing.core.faults import Drop  # noqa: E402
from erpsync.testing.core.wire import WireRequest  # noqa: E402

if TYPE_CHECKING:
    from erpsync.testing.core.emulator import Emulator

_log = logging.getLogger("erpsync.testing")

_LOOPBACK_PASSTHRU = re.compile(
    r"^http://(?:127(?:\.\d{1,3}){3}|localhost|\[::1\])(?::\d+)?(?:[/?#]|$)", re.IGNORECASE
)


def _prefix_matches(prefix: str, url: str) -> bool:
    """``url`` starts with ``prefix`` at a boundary (so ``https://a.com`` does not catch
    ``https://a.com.evil``); compared case-insensitively like host names."""
    if len(url) < len(prefix) or url[: len(prefix)].lower() != prefix.lower():
        return False
    rest = url[len(prefix) :]
    return prefix.endswith("/") or rest == "" or rest[0] in "/?#"


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return _body_bytes(body.read())
    if isinstance(body, Iterable):
        return b"".join(_body_bytes(chunk) for chunk in body)
    raise TypeError(f"cannot read a request body of type {type(body).__name__}")


def _header_text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _connection_aborted(request: Any) -> requests.exceptions.ConnectionError:
    """The exception ``requests`` raises when a server closes without answering."""
    reason = ProtocolError(
        "Connection aborted.", RemoteDisconnected("Remote end closed connection without response")
    )
    return requests.exceptions.ConnectionError(reason, request=request)


class _NullCallList(responses.CallList):
    """Recording every call would grow without bound in a long benchmark; nobody reads
    the shared mock's history (the emulators keep their own state)."""

    def add(self, request: Any, response: Any) -> None:
        return None

    def add_call(self, call: Any) -> None:
        return None


class _Route(responses.CallbackResponse):
    """One intercepted prefix of one emulator, for every method."""

    def __init__(self, prefix: str, emulator: Emulator) -> None:
        super().__init__(method="GET", url=prefix, callback=self._respond, content_type=None)
        self._calls = _NullCallList()
        self.prefix = prefix
        self.emulator = emulator

    def matches(self, request: Any) -> tuple[bool, str]:
        if _prefix_matches(self.prefix, str(request.url)):
            return True, ""
        return False, "URL does not match"

    def _respond(self, prepared: Any) -> Any:
        try:
            headers = {str(k): _header_text(v) for k, v in (prepared.headers or {}).items()}
            wire = WireRequest.build(
                str(prepared.method or "GET"),
                str(prepared.url),
                headers,
                _body_bytes(prepared.body),
            )
        except Exception:
            _log.exception("the emulator could not read an intercepted request")
            return 400, [("Content-Type", "text/plain")], b"Malformed request."
        result = self.emulator.handle(wire)
        if isinstance(result, Drop):
            return _connection_aborted(prepared)
        # As on the wire, a HEAD answer (or a 204/304) carries headers only.
        bodiless = wire.method == "HEAD" or result.status in (204, 304)
        return result.status, list(result.headers.items()), b"" if bodiless else result.body


class _RouteRegistry(FirstMatchRegistry):
    """First match wins and nothing is consumed (``responses``' default registry pops a
    response when two match); removal is by identity, since routes of two emulators for
    the same host compare equal in ``responses``' eyes."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._responses = []

    def find(self, request: Any) -> tuple[Any, list[str]]:
        with self._lock:
            routes = list(self._responses)
        for route in routes:
            matched, _ = route.matches(request)
            if matched:
                return route, []
        return None, ["no emulator intercepts this URL"]

    def add(self, response: Any) -> Any:
        with self._lock:
            # Newest first: an emulator started inside another's ``with`` wins.
            self._responses = [response, *self._responses]
        return response

    def remove(self, response: Any) -> list[Any]:
        with self._lock:
            kept = [r for r in self._responses if r is not response]
            removed = [r for r in self._responses if r is response]
            self._responses = kept
        return removed


class _Interceptor:
    """The one ``responses`` mock every in-process emulator shares, alive while any is."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mock: responses.RequestsMock | None = None
        self._registry: _RouteRegistry | None = None

    def add(self, routes: Sequence[_Route]) -> None:
        with self._lock:
            if self._mock is None:
                mock = responses.RequestsMock(
                    assert_all_requests_are_fired=False,
                    registry=_RouteRegistry,
                )
                mock.add_passthru(_LOOPBACK_PASSTHRU)
                mock._calls = _NullCallList()
                registry = mock.get_registry()
                assert isinstance(registry, _RouteRegistry)
                mock.start()
                self._mock, self._registry = mock, registry
            assert self._registry is not None
            for route in reversed(routes):
                self._registry.add(route)

    def remove(self, routes: Sequence[_Route]) -> None:
        with self._lock:
            if self._registry is None or self._mock is None:
                return
            for route in routes:
                self._registry.remove(route)
            if not self._registry.registered:
                self._mock.stop(allow_assert=False)
                self._mock = self._registry = None

    @property
    def active(self) -> bool:
        with self._lock:
            return self._mock is not None


_INTERCEPTOR = _Interceptor()


def intercepting() -> bool:
    """Whether the shared ``responses`` mock is running (some emulator is in-process).

    A test suite can assert it is false after each test, to catch an emulator left
    started."""
    return _INTERCEPTOR.active
