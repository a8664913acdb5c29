"""Reading QuickBooks' answers: the object a call returns, its rows, a ``Fault`` inside a 2xx.

QuickBooks wraps every record in an envelope named after its entity (``{"Invoice":
{...}, "time": ...}``), answers queries with ``QueryResponse.<Entity>`` lists, and
reports some failures (batch items, some queries, PDF errors) inside an HTTP 200 as a
``Fault``. These helpers turn each shape into the record or the error it carries, so the
client's calls stay about what they ask.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

from erpsync.errors import ServiceError
from erpsync.quickbooks.errors import (
    BACKEND,
    error_from_fault,
    fault_in,
    parse_json,
    request_id_of,
)
from erpsync.transport.bodies import body_text

__all__ = ["as_list", "decoded", "entity_of", "malformed", "raise_fault", "rows_of"]


def entity_of(answer: Mapping[str, Any], entity: str, record: str | None) -> dict[str, Any]:
    """The ``entity`` object in ``answer`` (its key matched case-insensitively)."""
    value = answer.get(entity)
    if value is None:
        value = next((v for k, v in answer.items() if k.lower() == entity.lower()), None)
    if not isinstance(value, dict):
        raise ServiceError(
            f"the answer holds no {entity} object",
            backend=BACKEND,
            record=record,
            raw=json.dumps(answer, default=str)[:2000],
            retryable=False,
        )
    return value


def rows_of(response: Mapping[str, Any], entity: str) -> list[dict[str, Any]]:
    """The rows of a ``QueryResponse`` (an absent entity key means no rows)."""
    for key, value in response.items():
        if key.lower() == entity.lower():
            if not isinstance(value, list):
                raise ServiceError(
                    f"QueryResponse.{key} is not a list",
                    backend=BACKEND,
                    record="query",
                    retryable=False,
                )
            return [row for row in value if isinstance(row, dict)]
    return []


def as_list(value: Any) -> list[Any]:
    """A list as is, one object as a list of it, anything else as no items."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    return []


def malformed(response: requests.Response, why: str, record: str | None) -> ServiceError:
    """The error for a 2xx answer that is not the shape the call expects."""
    return ServiceError(
        why,
        backend=BACKEND,
        record=record,
        http_status=response.status_code,
        request_id=request_id_of(response),
        raw=body_text(response),
        retryable=False,
    )


def decoded(response: requests.Response, record: str | None) -> Any:
    """The JSON body of a 2xx answer; a ``Fault`` inside it raised as the error it is
    (QuickBooks answers some failures, batch items and queries among them, with 200)."""
    body = parse_json(response, record=record)
    raise_fault(response, body, record)
    return body


def raise_fault(response: requests.Response, body: Any, record: str | None) -> None:
    """Raise the error a ``Fault`` in ``body`` carries, if there is one."""
    fault = fault_in(body)
    if fault is not None:
        raise error_from_fault(
            fault,
            http_status=response.status_code,
            request_id=request_id_of(response),
            record=record,
            raw=body_text(response),
        )
