"""The signed push of :meth:`~erpsync.sync.purchasing.PurchaseOrderSync.handle_push`:
the HMAC-SHA256 header a NetSuite user-event script sends, the one thing read from a
verified body (the purchase order id), and the push itself: that one order synced now,
recorded in the run log as a ``purchasing-push`` run. Public names are re-exported by
:mod:`erpsync.sync.purchasing`.

The push trusts nothing in the body but the order id, and even that only after the
signature checks out: the order itself is fetched from the ERP, so a replayed push only
re-syncs an order's current state.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from erpsync.errors import ConfigurationError, InvalidRequestError, WebhookSignatureError
from erpsync.sync.purchasing.build import Names
from erpsync.sync.purchasing.context import Context
from erpsync.sync.purchasing.orders import fetch, process
from erpsync.sync.purchasing.reports import PushResult, report_from
from erpsync.sync.runs import RunLog

__all__ = [
    "PUSH_KIND",
    "PUSH_SIGNATURE_HEADER",
    "handle_push",
    "push_order_id",
    "sign_push",
    "verify_push_signature",
]

#: The run log kind of a push.
PUSH_KIND = "purchasing-push"

#: The header a push carries its signature in: ``sha256=<hex HMAC-SHA256 of the body>``.
PUSH_SIGNATURE_HEADER = "X-Erpsync-Signature"
_SIGNATURE_PREFIX = "sha256="
#: A push body is a few dozen bytes; anything this large is not one.
_MAX_PUSH_BODY = 64 * 1024


def _secret_bytes(secret: str | bytes) -> bytes:
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, bytes) or not secret:
        raise ConfigurationError("the push secret must be a non-empty string")
    return secret


def sign_push(body: bytes, secret: str | bytes) -> str:
    """The :data:`PUSH_SIGNATURE_HEADER` value for ``body``: ``sha256=<hex>``.

    What the user-event script computes; use it to call your endpoint from tests or
    from another system.
    """
    if not isinstance(body, bytes):
        raise ConfigurationError("a push body is bytes (sign exactly what is sent)")
    digest = hmac.new(_secret_bytes(secret), body, hashlib.sha256).hexdigest()
    return _SIGNATURE_PREFIX + digest


def verify_push_signature(body: bytes, headers: Mapping[str, str], secret: str | bytes) -> None:
    """Raise WebhookSignatureError unless ``headers`` carry a valid signature of ``body``.

    The header name is matched case-insensitively (frameworks differ); the comparison is
    constant-time. The error never contains the expected signature.
    """
    if not isinstance(body, bytes):
        raise ConfigurationError("verify the raw request body (bytes), before any parsing")
    expected = sign_push(body, secret)
    wanted = PUSH_SIGNATURE_HEADER.lower()
    given = next(
        (
            value
            for name, value in headers.items()
            if isinstance(name, str) and name.lower() == wanted
        ),
        None,
    )
    if not isinstance(given, str) or not given.strip():
        raise WebhookSignatureError(
            f"the push has no {PUSH_SIGNATURE_HEADER} header", hint="nothing was processed"
        )
    candidate = given.strip()
    prefix, _, digest = candidate.partition("=")
    normalised = f"{prefix.lower()}={digest.lower()}"
    if not hmac.compare_digest(
        expected.encode("ascii"), normalised.encode("utf-8", errors="replace")
    ):
        raise WebhookSignatureError(
            f"the {PUSH_SIGNATURE_HEADER} signature does not match the body",
            hint="nothing was processed; check that both sides use the same secret and "
            "that the body is verified exactly as received",
        )


def push_order_id(body: bytes) -> str:
    """The purchase order id a (verified) push names."""
    if len(body) > _MAX_PUSH_BODY:
        raise InvalidRequestError(f"a push body is at most {_MAX_PUSH_BODY} bytes")
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidRequestError(
            "the push body is not JSON", raw=body[:200].decode("utf-8", "replace")
        ) from None
    if not isinstance(payload, dict):
        raise InvalidRequestError('the push body must be an object like {"id": "1001"}')
    record_type = payload.get("recordType")
    if record_type is not None and (
        not isinstance(record_type, str) or record_type.replace(" ", "").lower() != "purchaseorder"
    ):
        raise InvalidRequestError(
            f"the push is for a {record_type!r} record; this endpoint takes purchase orders",
            field="recordType",
        )
    raw_id = payload.get("id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool) and raw_id > 0:
        return str(raw_id)
    if isinstance(raw_id, str) and raw_id.strip() and len(raw_id) <= 64:
        return raw_id.strip()
    raise InvalidRequestError("the push body has no usable purchase order id", field="id")


def handle_push(
    ctx: Context, body: bytes, headers: Mapping[str, str], secret: str | bytes
) -> PushResult:
    """:meth:`PurchaseOrderSync.handle_push` (its docstring says what it promises)."""
    verify_push_signature(body, headers, secret)
    order_id = push_order_id(body)
    ctx.backend.capabilities.require(
        "purchase_orders", "PurchaseOrderSync.handle_push", backend=ctx.backend.name
    )
    log = RunLog(ctx.store, PUSH_KIND, ctx.scope, tenant=ctx.tenant)
    run_id = log.start()
    try:
        outcome = process(ctx, order_id, fetch(ctx, order_id), Names(ctx.backend))
    except BaseException as exc:
        log.fail(run_id, exc, label=f"purchase order {order_id}")
        raise
    report = report_from(run_id, [outcome], (), ())
    log.finish(
        run_id,
        status="failed" if outcome.action == "failed" else "ok",
        counts=report.counts,
        errors=report.errors,
    )
    return PushResult(run_id, outcome)
