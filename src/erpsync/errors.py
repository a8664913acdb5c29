"""One error tree for everything erpsync raises.

Callers catch by meaning (``DuplicateError``, ``RateLimitError``) rather than by ERP, so
the same ``except`` works for NetSuite and QuickBooks. Every error carries the facts a
person needs to act (which backend, which record, the ERP's own code and words, the
field it pointed at, the request id to quote to support, how many attempts were made)
and its ``str()`` is one sentence built from them, for example::

    QuickBooks rejected invoice job-1042: Duplicate Document Number Error (6140):
    The document number 1042 is already used by TxnId 177. (request id 1-2b3c4d)

Text that came from the wire is passed through :func:`erpsync._redact.redact` before it
is stored, so an error can be logged or shown without leaking a token.
"""

from __future__ import annotations

from typing import Any

from erpsync._redact import redact, truncate

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "DuplicateError",
    "ErpSyncError",
    "InvalidRequestError",
    "MappingError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceError",
    "UnsupportedOperationError",
    "WebhookSignatureError",
]


class ErpSyncError(Exception):
    """The base of every error erpsync raises.

    ``message`` is the headline: the ERP's own short message for remote errors, or a
    sentence of ours for local ones. ``record`` names what was being written or read
    (``"invoice job-1042"``) so that a failure in a batch of thousands can be traced.
    ``raw`` keeps the (redacted, truncated) response body for debugging. ``hint`` says
    what to do about it, when we know.
    """

    #: Verb used in ``str()`` when both a backend and a record are known.
    _verb = "rejected"

    def __init__(
        self,
        message: str = "",
        *,
        backend: str | None = None,
        record: str | None = None,
        http_status: int | None = None,
        code: str | None = None,
        detail: str | None = None,
        field: str | None = None,
        request_id: str | None = None,
        attempts: int | None = None,
        raw: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = redact(message)
        self.backend = backend
        self.record = record
        self.http_status = http_status
        self.code = code
        self.detail = redact(detail) if detail is not None else None
        self.field = field
        self.request_id = request_id
        self.attempts = attempts
        self.raw = truncate(redact(raw)) if raw is not None else None
        self.hint = hint
        super().__init__(self.__str__())

    # -- presentation -------------------------------------------------------------------

    def __str__(self) -> str:
        headline = self.message or self.detail or type(self).__name__
        if self.backend and self.record:
            text = f"{self.backend} {self._verb} {self.record}: {headline}"
        elif self.backend:
            text = f"{self.backend}: {headline}"
        elif self.record:
            text = f"{self.record}: {headline}"
        else:
            text = headline
        if self.code:
            text += f" ({self.code})"
        if self.detail and self.detail != headline:
            text += f": {self.detail}"
        if self.field:
            text += f" [field {self.field}]"
        extras = []
        if self.request_id:
            extras.append(f"request id {self.request_id}")
        if self.attempts and self.attempts > 1:
            extras.append(f"after {self.attempts} attempts")
        if extras:
            text += f" ({', '.join(extras)})"
        if self.hint:
            text += f". {self.hint}"
        return text

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={value!r}"
            for name, value in self._state().items()
            if value is not None and name != "raw"
        )
        return f"{type(self).__name__}({fields})"

    # -- plumbing -----------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "backend": self.backend,
            "record": self.record,
            "http_status": self.http_status,
            "code": self.code,
            "detail": self.detail,
            "field": self.field,
            "request_id": self.request_id,
            "attempts": self.attempts,
            "raw": self.raw,
            "hint": self.hint,
        }

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not pickle by default; errors cross process
        # boundaries in thread and process pools, so make them.
        return (_rebuild, (type(self), self._state()))

    def with_context(self, **changes: Any) -> ErpSyncError:
        """Fill in facts a lower layer did not know (the record, the attempt count).

        Only empty attributes are filled, so the most specific layer wins. Returns
        ``self`` so that ``raise err.with_context(record=...)`` reads naturally.
        """
        for name, value in changes.items():
            if value is not None and getattr(self, name, None) is None:
                if isinstance(value, str) and name in ("message", "detail", "hint", "raw"):
                    # The constructor's promise holds for late facts too.
                    value = redact(value) if name != "raw" else truncate(redact(value))
                setattr(self, name, value)
        self.args = (self.__str__(),)
        return self


def _rebuild(cls: type[ErpSyncError], state: dict[str, Any]) -> ErpSyncError:
    """Unpickle: every subclass takes the base fields plus its own as keywords."""
    message = state.pop("message", "")
    # Values were redacted when first stored; redacting again is harmless.
    return cls(message, **state)


class ConfigurationError(ErpSyncError):
    """Bad local setup or arguments, found before any request was made."""


class AuthenticationError(ErpSyncError):
    """The ERP did not accept the credentials (401, ``invalid_grant``, ``INVALID_LOGIN``).

    ``reconnect_required`` is true when no retry or refresh can help: a person has to
    authorise the app again (a revoked or rotated-away refresh token, the 5-year hard
    expiry).
    """

    _verb = "refused the credentials for"

    def __init__(self, message: str = "", *, reconnect_required: bool = False, **kw: Any):
        self.reconnect_required = reconnect_required
        super().__init__(message, **kw)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "reconnect_required": self.reconnect_required}


class PermissionDeniedError(ErpSyncError):
    """The credentials are valid but the role may not do this (403)."""

    _verb = "denied access to"


class NotFoundError(ErpSyncError):
    """The record does not exist, or a reference in it points at nothing (QBO 610)."""

    _verb = "could not find"


class InvalidRequestError(ErpSyncError):
    """The ERP rejected the content of a request; ``field`` names the offending field."""


class ConflictError(ErpSyncError):
    """The write conflicts with the record's current state (a stale SyncToken, a reused
    idempotency key)."""


class DuplicateError(ConflictError):
    """A name or document number that must be unique is taken (QBO 6240 / 6140).

    ``existing_id`` is the id of the record already holding it, when the ERP says so.
    """

    def __init__(self, message: str = "", *, existing_id: str | None = None, **kw: Any):
        self.existing_id = existing_id
        super().__init__(message, **kw)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "existing_id": self.existing_id}


class RateLimitError(ErpSyncError):
    """The ERP is throttling (HTTP 429, QBO 3001, NetSuite CONCURRENCY_LIMIT_EXCEEDED).

    Raised only after the transport's own retries are spent. ``retry_after`` is the wait
    in seconds the service asked for, when it said.
    """

    _verb = "throttled"

    def __init__(self, message: str = "", *, retry_after: float | None = None, **kw: Any):
        self.retry_after = retry_after
        super().__init__(message, **kw)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "retry_after": self.retry_after}


class ServiceError(ErpSyncError):
    """The ERP failed or could not be reached: 5xx, connection errors, timeouts, bodies
    that are not what the API promises.

    ``retryable`` says whether trying the same request later may succeed.
    """

    _verb = "failed on"

    def __init__(self, message: str = "", *, retryable: bool = True, **kw: Any):
        self.retryable = retryable
        super().__init__(message, **kw)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "retryable": self.retryable}


class UnsupportedOperationError(ErpSyncError):
    """The backend cannot do this; ``Capabilities`` says so ahead of time."""

    _verb = "cannot do"


class MappingError(ErpSyncError):
    """A value that a mapping table or an id mapping does not cover."""


class WebhookSignatureError(ErpSyncError):
    """A webhook body whose signature does not match; it must not be processed."""
