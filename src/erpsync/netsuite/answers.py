"""Reading NetSuite's answers: the id a write's ``Location`` names, JSON objects, SuiteQL rows.

NetSuite answers a create, an upsert and a transform with 204 and the new record's URL
in ``Location``; a record read or a SuiteQL page with a JSON object. These helpers turn
each into what the client's call returns, or into a
:class:`~erpsync.errors.ServiceError` saying what was wrong with the answer (never an
``IndexError`` or a JSON error).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import requests

from erpsync.errors import ServiceError
from erpsync.netsuite.errors import BACKEND
from erpsync.transport.bodies import json_object

__all__ = ["INTERNAL_ID", "id_from_location", "json_object_of", "row_of"]

#: A NetSuite internal id: digits.
INTERNAL_ID = re.compile(r"^\d+$")


def id_from_location(response: requests.Response, what: str) -> str:
    """The internal id in a 204's ``Location`` header (its last path segment)."""
    location = response.headers.get("Location")
    segment = ""
    if location:
        try:
            path = urlsplit(location).path
        except ValueError:
            path = ""
        segment = path.rstrip("/").rsplit("/", 1)[-1] if path else ""
    if not INTERNAL_ID.match(segment):
        raise ServiceError(
            f"answered the write of {what} without a readable Location header "
            f"({location!r}); the record was probably written",
            backend=BACKEND,
            record=what,
            http_status=response.status_code,
            retryable=False,
            hint="Look the record up (by its external id) before writing it again",
        )
    return segment


def json_object_of(response: requests.Response, what: str) -> dict[str, Any]:
    """The JSON object of a 2xx answer (numbers as NetSuite sends them)."""
    return json_object(response, backend=BACKEND, record=what, exact=False)


def row_of(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ServiceError(
            "a SuiteQL row is not a JSON object",
            backend=BACKEND,
            record="SuiteQL query",
            raw=repr(item)[:500],
            retryable=False,
        )
    return {k: v for k, v in item.items() if k != "links"}
