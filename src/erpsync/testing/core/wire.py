"""The request and response types every emulator speaks.

Both ways of reaching an emulator (in-process through ``responses``, and the loopback
HTTP server) turn what arrived into a :class:`WireRequest` and send back a
:class:`WireResponse`, so the ERP logic is written once and knows nothing of either.
"""

from __future__ import annotations

import json as _json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from requests.structures import CaseInsensitiveDict


@dataclass(frozen=True)
class WireRequest:
    """One HTTP request as the emulated service sees it.

    ``arrived`` is when it reached the service (a :func:`time.perf_counter` reading; the
    loopback server stamps the request line), None for "when the emulator got it": the
    emulator's latency counts from there."""

    method: str
    url: str
    headers: CaseInsensitiveDict[str]
    body: bytes = b""
    arrived: float | None = field(default=None, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        *,
        arrived: float | None = None,
    ) -> WireRequest:
        headers = CaseInsensitiveDict(dict(headers or {}))
        return cls(method.upper(), url, headers, body or b"", arrived)

    @property
    def base(self) -> str:
        """``scheme://host[:port]`` as the client addressed it (used for Location headers)."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    @property
    def raw_path(self) -> str:
        """The path still percent-encoded, as sent."""
        return urlsplit(self.url).path or "/"

    @property
    def path(self) -> str:
        """The path, percent-decoded."""
        return unquote(self.raw_path)

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query, keep_blank_values=True)

    def param(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter (names compared case-insensitively)."""
        for key, values in self.query.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return default

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; raises ``ValueError`` when it is not."""
        return _json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body as a flat dict."""
        return {k: v[0] for k, v in parse_qs(self.text(), keep_blank_values=True).items()}


@dataclass
class WireResponse:
    """One HTTP response from the emulated service."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> WireResponse:
        merged = {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}
        return cls(status, _json.dumps(payload).encode("utf-8"), merged)

    @classmethod
    def text(
        cls,
        status: int,
        text: str,
        content_type: str = "text/plain;charset=UTF-8",
        headers: Mapping[str, str] | None = None,
    ) -> WireResponse:
        return cls(status, text.encode("utf-8"), {"Content-Type": content_type, **(headers or {})})

    @classmethod
    def empty(cls, status: int = 204, headers: Mapping[str, str] | None = None) -> WireResponse:
        return cls(status, b"", dict(headers or {}))
