"""The error tree: one sentence a person can act on, context kept, secrets removed."""

from __future__ import annotations

import pickle

import pytest

import erpsync.errors as errors
from erpsync.errors import (
    AuthenticationError,
    ConflictError,
    DuplicateError,
    ErpSyncError,
    RateLimitError,
    ServiceError,
)

TREE = {
    "ConfigurationError": "ErpSyncError",
    "AuthenticationError": "ErpSyncError",
    "PermissionDeniedError": "ErpSyncError",
    "NotFoundError": "ErpSyncError",
    "InvalidRequestError": "ErpSyncError",
    "ConflictError": "ErpSyncError",
    "DuplicateError": "ConflictError",
    "RateLimitError": "ErpSyncError",
    "ServiceError": "ErpSyncError",
    "UnsupportedOperationError": "ErpSyncError",
    "MappingError": "ErpSyncError",
    "WebhookSignatureError": "ErpSyncError",
}


@pytest.mark.parametrize(("name", "parent"), sorted(TREE.items()))
def test_the_tree_has_the_designed_shape(name: str, parent: str) -> None:
    cls = getattr(errors, name)
    assert cls.__bases__ == (getattr(errors, parent),)
    assert name in errors.__all__


def test_str_is_a_sentence_with_every_fact() -> None:
    err = DuplicateError(
        "Duplicate Document Number Error",
        backend="QuickBooks",
        record="invoice job-1042",
        code="6140",
        detail="Duplicate Document Number Error : You must specify a different number.",
        field="DocNumber",
        request_id="1-2b3c",
        attempts=3,
        existing_id="177",
    )
    assert str(err) == (
        "QuickBooks rejected invoice job-1042: Duplicate Document Number Error (6140): "
        "Duplicate Document Number Error : You must specify a different number. "
        "[field DocNumber] (request id 1-2b3c, after 3 attempts)"
    )
    assert err.existing_id == "177"
    assert isinstance(err, ConflictError)


def test_str_without_context_is_just_the_message() -> None:
    assert str(ErpSyncError("something broke")) == "something broke"
    assert str(ServiceError(backend="NetSuite", detail="down")) == "NetSuite: down"


def test_verbs_fit_the_kind_of_failure() -> None:
    err = AuthenticationError(
        "Token expired",
        backend="QuickBooks",
        record="company 9130",
        reconnect_required=True,
        hint="Reconnect the company with `erpsync connect quickbooks`",
    )
    assert str(err).startswith("QuickBooks refused the credentials for company 9130: Token")
    assert str(err).endswith("Reconnect the company with `erpsync connect quickbooks`")
    assert err.reconnect_required is True


def test_secrets_never_survive_into_the_error() -> None:
    err = ServiceError(
        "bad gateway",
        backend="QuickBooks",
        detail="Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
        raw='{"access_token": "AB11verysecret", "refresh_token": "RT1-secret", "code": "3200"}',
    )
    text = f"{err} {err!r} {err.raw}"
    assert "verysecret" not in text
    assert "RT1-secret" not in text
    assert "eyJhbGciOiJIUzI1NiJ9" not in text
    assert '"code": "3200"' in (err.raw or "")  # error codes stay readable


def test_with_context_fills_only_what_is_missing() -> None:
    err = RateLimitError("slow down", backend="NetSuite", retry_after=2.0)
    same = err.with_context(backend="QuickBooks", record="invoice 7", attempts=5)
    assert same is err
    assert err.backend == "NetSuite"
    assert err.record == "invoice 7"
    assert "after 5 attempts" in str(err)
    assert err.args == (str(err),)


@pytest.mark.parametrize(
    "err",
    [
        DuplicateError("dup", backend="QuickBooks", existing_id="9", code="6240"),
        AuthenticationError("no", reconnect_required=True),
        RateLimitError("wait", retry_after=1.5),
        ServiceError("down", retryable=False, raw="<html>"),
        ErpSyncError("plain", field="a.b"),
    ],
)
def test_errors_pickle_with_their_attributes(err: ErpSyncError) -> None:
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err)
    assert str(copy) == str(err)
    assert copy._state() == err._state()


def test_with_context_redacts_late_text_too() -> None:
    err = ServiceError("down").with_context(
        detail="Authorization: Bearer abc.def", hint="retry with refresh_token=RT-9 later"
    )
    assert "abc.def" not in str(err) and "RT-9" not in str(err)
