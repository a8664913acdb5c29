"""Where an authenticated REST request goes: records (sync or async), the metadata
catalog, SuiteQL, async jobs and the governance limits.

One function, :func:`route`, so that the emulator class keeps its own concerns
(credentials, controls, the emulator hooks) and the URL map is read in one place.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from erpsync.netsuite import wire
from erpsync.testing.core.wire import WireRequest, WireResponse
from erpsync.testing.netsuite import catalog
from erpsync.testing.netsuite.errors import NetSuiteFault, not_found
from erpsync.testing.netsuite.rest import handle_record

if TYPE_CHECKING:
    from erpsync.testing.netsuite.emulator import FakeNetSuite

__all__ = ["route"]


def route(fake: FakeNetSuite, request: WireRequest, path: str) -> WireResponse:
    """Answer one authenticated request under ``/services/rest/``."""
    prefer = {p.strip().lower() for p in re.split(r"[,;]", request.headers.get("Prefer", ""))}
    if path == wire.METADATA_CATALOG_PATH or path.startswith(wire.METADATA_CATALOG_PATH + "/"):
        rest = [p for p in path[len(wire.METADATA_CATALOG_PATH) :].split("/") if p]
        return catalog.answer(request, rest)
    if path.startswith(wire.RECORD_ROOT + "/"):
        if "respond-async" not in prefer:
            return handle_record(fake.account, request)
        return _async(fake, request)
    if path == wire.SUITEQL_PATH:
        return _suiteql(fake, request, prefer)
    if path.startswith(wire.ASYNC_JOB_PATH + "/") and request.method == "GET":
        parts = [p for p in path[len(wire.ASYNC_JOB_PATH) :].split("/") if p]
        return fake.jobs.answer(parts, request.base, fake.clock.now())
    if path == wire.GOVERNANCE_LIMITS_PATH and request.method == "GET":
        return WireResponse.json(200, governance_limits(fake))
    raise not_found("The requested resource does not exist.")


def governance_limits(fake: FakeNetSuite) -> dict[str, object]:
    """``GET /services/rest/system/v1/governanceLimits`` as Oracle documents it for an
    integration with no limit of its own (``accountLimit``): every integration shares
    the account's limit, all of it unallocated."""
    limit = fake.governance.concurrency
    account_limit = limit if limit is not None and fake.governance.enabled else 0
    return {
        "accountConcurrencyLimit": account_limit,
        "accountUnallocatedConcurrencyLimit": account_limit,
        "integrationLimitType": "accountLimit",
    }


def _async(fake: FakeNetSuite, request: WireRequest) -> WireResponse:
    key = fake.jobs.check_key(request.headers.get(wire.IDEMPOTENCY_HEADER))
    try:
        answer = handle_record(fake.account, request)
    except NetSuiteFault as fault:
        answer = fault.response()
    job = fake.jobs.submit(answer, key, fake.clock.now())
    return WireResponse.empty(
        202,
        {"Location": f"{wire.ASYNC_JOB_PATH}/{job.id}", "Preference-Applied": "respond-async"},
    )


def _suiteql(fake: FakeNetSuite, request: WireRequest, prefer: set[str]) -> WireResponse:
    if request.method != "POST":
        raise NetSuiteFault(405, "METHOD_NOT_ALLOWED", "SuiteQL queries are POSTed.")
    if "transient" not in prefer:
        raise NetSuiteFault(
            400, "INVALID_PARAMETER", "SuiteQL requests must carry the header 'Prefer: transient'."
        )
    try:
        body = request.json()
    except ValueError:
        body = None
    query = body.get("q") if isinstance(body, dict) else None
    result = fake.suiteql.run(query, request.param("limit"), request.param("offset"), request.base)
    return WireResponse.json(200, result)
