"""One QuickBooks company's OAuth 2.0 tokens: :class:`QuickBooksToken`.

Immutable, and never showing its secrets in ``repr``/``str``. It is built from a token
endpoint answer (:meth:`QuickBooksToken.from_response`), which may leave lifetimes out
(Intuit's documented defaults apply) or carry the refresh token's hard expiry (5 years
after the company was connected); and it round-trips through JSON for the stores
(:meth:`~QuickBooksToken.to_json`, :meth:`~QuickBooksToken.from_json`), refusing a
stored record that is not one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from erpsync.errors import AuthenticationError, ConfigurationError, ServiceError
from erpsync.quickbooks.wire import ACCESS_TOKEN_LIFETIME, REFRESH_TOKEN_LIFETIME

__all__ = ["DEFAULT_ACCESS_LIFETIME", "DEFAULT_REFRESH_LIFETIME", "QuickBooksToken"]

#: What Intuit documents when an answer leaves ``expires_in`` out (RFC 6749 makes it
#: optional): access tokens live one hour.
DEFAULT_ACCESS_LIFETIME = ACCESS_TOKEN_LIFETIME
#: Refresh tokens roll over 100 days (``x_refresh_token_expires_in``).
DEFAULT_REFRESH_LIFETIME = REFRESH_TOKEN_LIFETIME

_BACKEND = "QuickBooks"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, repr=False)
class QuickBooksToken:
    """One company's OAuth 2.0 credentials as Intuit issued them.

    Times are timezone-aware. ``refresh_hard_expires_at`` is the 5-year limit after
    which the company must be connected again; it is ``None`` when Intuit did not say
    (the request lacked ``x-include-refresh-token-hard-expires-in``).
    """

    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    refresh_hard_expires_at: datetime | None = None
    realm_id: str | None = None
    token_type: str = "bearer"
    obtained_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("access_token", "refresh_token"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ConfigurationError(f"QuickBooksToken.{name} must be a non-empty string")
        for name in (
            "access_expires_at",
            "refresh_expires_at",
            "refresh_hard_expires_at",
            "obtained_at",
        ):
            value = getattr(self, name)
            if value is None and name in ("refresh_hard_expires_at", "obtained_at"):
                continue
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise ConfigurationError(
                    f"QuickBooksToken.{name} must be a timezone-aware datetime"
                )

    # -- presentation: never the secrets ------------------------------------------------

    def __repr__(self) -> str:
        hard = self.refresh_hard_expires_at.isoformat() if self.refresh_hard_expires_at else None
        return (
            f"QuickBooksToken(realm_id={self.realm_id!r}, access_token='***', "
            f"refresh_token='***', access_expires_at='{self.access_expires_at.isoformat()}', "
            f"refresh_expires_at='{self.refresh_expires_at.isoformat()}', "
            f"refresh_hard_expires_at={hard!r})"
        )

    __str__ = __repr__

    # -- questions ----------------------------------------------------------------------

    def access_valid(self, now: datetime, margin: timedelta = timedelta(0)) -> bool:
        """Whether the access token is still good ``margin`` from ``now``."""
        return now + margin < self.access_expires_at

    def hard_expired(self, now: datetime) -> bool:
        """Whether the 5-year limit has passed: only a new authorization helps then."""
        return self.refresh_hard_expires_at is not None and now >= self.refresh_hard_expires_at

    def secret_values(self) -> tuple[str, str]:
        """The two secret strings, for :func:`erpsync._redact.redact`."""
        return (self.access_token, self.refresh_token)

    # -- building -----------------------------------------------------------------------

    @classmethod
    def from_response(
        cls,
        body: Mapping[str, Any],
        *,
        now: datetime | None = None,
        realm_id: str | None = None,
    ) -> QuickBooksToken:
        """Build a token from a token endpoint answer.

        An answer carrying ``error`` raises :class:`AuthenticationError`; one that lacks
        a token or has nonsense lifetimes raises :class:`ServiceError` (not retryable:
        the endpoint did not keep its promise, and re-sending a refresh is not free).
        Missing lifetimes fall back to Intuit's documented ones.
        """
        if not isinstance(body, Mapping):
            raise ServiceError(
                "token endpoint answered with something that is not a JSON object",
                backend=_BACKEND,
                retryable=False,
            )
        if body.get("error"):
            raise AuthenticationError(
                "token endpoint refused the request",
                backend=_BACKEND,
                code=str(body.get("error")),
                detail=_text(body.get("error_description")),
            )
        now = now or _utcnow()
        if now.tzinfo is None:
            raise ConfigurationError("now must be a timezone-aware datetime")
        access = body.get("access_token")
        refresh = body.get("refresh_token")
        if not isinstance(access, str) or not access:
            raise _malformed("access_token is missing")
        if not isinstance(refresh, str) or not refresh:
            raise _malformed("refresh_token is missing")
        token_type = body.get("token_type", "bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise _malformed(f"token_type {token_type!r} is not bearer")
        access_life = _seconds(body, "expires_in") or DEFAULT_ACCESS_LIFETIME
        refresh_life = _seconds(body, "x_refresh_token_expires_in") or DEFAULT_REFRESH_LIFETIME
        hard_life = _seconds(body, "x_refresh_token_hard_expires_in")
        return cls(
            access_token=access,
            refresh_token=refresh,
            access_expires_at=now + access_life,
            refresh_expires_at=now + refresh_life,
            refresh_hard_expires_at=now + hard_life if hard_life is not None else None,
            realm_id=realm_id,
            token_type="bearer",
            obtained_at=now,
        )

    # -- serialisation ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (ISO-8601 times). It holds the secrets: store it safely."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "access_expires_at": self.access_expires_at.isoformat(),
            "refresh_expires_at": self.refresh_expires_at.isoformat(),
            "refresh_hard_expires_at": (
                self.refresh_hard_expires_at.isoformat() if self.refresh_hard_expires_at else None
            ),
            "realm_id": self.realm_id,
            "token_type": self.token_type,
            "obtained_at": self.obtained_at.isoformat() if self.obtained_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuickBooksToken:
        """The inverse of :meth:`to_dict`; a damaged record raises ConfigurationError."""
        if not isinstance(data, Mapping):
            raise ConfigurationError("stored QuickBooks token is not a JSON object")
        try:
            access = data["access_token"]
            refresh = data["refresh_token"]
            realm = data.get("realm_id")
            token_type = data.get("token_type", "bearer")
            if not isinstance(access, str) or not isinstance(refresh, str):
                raise TypeError("tokens must be strings")
            if realm is not None and not isinstance(realm, str):
                raise TypeError("realm_id must be a string")
            if not isinstance(token_type, str):
                raise TypeError("token_type must be a string")
            access_exp = _parse_time(data["access_expires_at"])
            refresh_exp = _parse_time(data["refresh_expires_at"])
            hard = data.get("refresh_hard_expires_at")
            obtained = data.get("obtained_at")
            return cls(
                access_token=access,
                refresh_token=refresh,
                access_expires_at=access_exp,
                refresh_expires_at=refresh_exp,
                refresh_hard_expires_at=_parse_time(hard) if hard is not None else None,
                realm_id=realm,
                token_type=token_type,
                obtained_at=_parse_time(obtained) if obtained is not None else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            # The message names the problem, never the stored values.
            raise ConfigurationError(
                f"stored QuickBooks token is damaged ({type(exc).__name__}: "
                f"{exc if not isinstance(exc, KeyError) else 'missing ' + str(exc)})"
            ) from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> QuickBooksToken:
        try:
            data = json.loads(text)
        except (ValueError, TypeError):
            raise ConfigurationError("stored QuickBooks token is not valid JSON") from None
        return cls.from_dict(data)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _malformed(why: str) -> ServiceError:
    return ServiceError(
        f"token endpoint answer is malformed: {why}", backend=_BACKEND, retryable=False
    )


def _seconds(body: Mapping[str, Any], key: str) -> timedelta | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        # Intuit sends integers; some proxies and emulators send numeric strings.
        seconds = float(value) if not isinstance(value, bool) else float("nan")
    except (TypeError, ValueError):
        raise _malformed(f"{key} is not a number") from None
    if not seconds > 0 or seconds > 1e10:
        raise _malformed(f"{key} is not a sensible lifetime")
    return timedelta(seconds=seconds)


def _parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise TypeError("times must be ISO-8601 strings")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("times must carry a UTC offset")
    return parsed
