"""QuickBooks Online credential material: the OAuth tokens and the stores that keep them.

A QuickBooks refresh token is the one credential that cannot be re-created without a
person: Intuit rotates it (a refresh answer may carry a new one) and the rotated-away
token may die at once, so a token that is lost between the refresh answer and the disk
disconnects the customer's company. Everything here is shaped by that:

* :class:`QuickBooksToken` is immutable and never shows its secrets in ``repr``/``str``;
* a :class:`TokenStore` is two methods (``load`` / ``save``), so a user's database or
  secrets manager is a few lines, and may offer ``lock(realm_id)`` to make refreshes
  single-flight across processes;
* :class:`FileTokenStore` writes durably and atomically (temp file, ``fsync``,
  ``os.replace``, ``fsync`` of the directory) with mode ``0600`` from the first byte,
  and locks the file so several processes of one host can share it.

For workers on several hosts, :class:`~erpsync.quickbooks.PostgresTokenStore` keeps
the tokens in PostgreSQL with a refresh that is single-flight across all of them (a
session advisory lock, autocommit writes, the rotated token committed before use). A
store of your own is ``load`` and ``save`` (plus ``lock`` for single flight); hold it
to the rules with :class:`erpsync.testing.contracts.TokenStoreContract`.

Every class here is portable: :class:`FileTokenStore` locks with ``flock`` on POSIX,
``msvcrt.locking`` on Windows, and a marker file elsewhere
(:mod:`erpsync.quickbooks.file_lock`, imported lazily). For several hosts, use
:class:`~erpsync.quickbooks.PostgresTokenStore`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from erpsync.errors import AuthenticationError, ConfigurationError, ServiceError
from erpsync.quickbooks import file_lock
from erpsync.quickbooks.wire import ACCESS_TOKEN_LIFETIME, REFRESH_TOKEN_LIFETIME

__all__ = [
    "DEFAULT_ACCESS_LIFETIME",
    "DEFAULT_REFRESH_LIFETIME",
    "FileTokenStore",
    "LockingTokenStore",
    "MemoryTokenStore",
    "QuickBooksToken",
    "TokenStore",
]


_log = logging.getLogger("erpsync.quickbooks.tokens")

#: What Intuit documents when an answer leaves ``expires_in`` out (RFC 6749 makes it
#: optional): access tokens live one hour.
DEFAULT_ACCESS_LIFETIME = ACCESS_TOKEN_LIFETIME
#: Refresh tokens roll over 100 days (``x_refresh_token_expires_in``).
DEFAULT_REFRESH_LIFETIME = REFRESH_TOKEN_LIFETIME

_BACKEND = "QuickBooks"


def _nothing() -> None:
    """The release of a lock not taken."""


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


# -- the store protocol -----------------------------------------------------------------


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens live between runs. Two methods, so any database fits.

    ``save`` must be durable when it returns: the caller uses the new access token
    only after that, because the refresh token it replaced may already be dead.
    """

    def load(self, realm_id: str) -> QuickBooksToken | None: ...

    def save(self, realm_id: str, token: QuickBooksToken) -> None: ...


@runtime_checkable
class LockingTokenStore(TokenStore, Protocol):
    """A store that can make a refresh single-flight beyond this process.

    :class:`~erpsync.quickbooks.auth.QuickBooksAuth` runs every refresh inside
    ``lock(realm_id)`` when a store has it (and a process-local lock otherwise). The
    lock must be held across ``load`` + ``save`` by the same thread, so it has to be
    re-entrant with respect to the store's own ``save``.
    """

    def lock(self, realm_id: str) -> AbstractContextManager[None]: ...


class MemoryTokenStore:
    """Tokens in a dict: for tests, scripts and processes that re-authorise on start."""

    def __init__(self) -> None:
        self._tokens: dict[str, QuickBooksToken] = {}
        self._guard = threading.Lock()
        self._locks: dict[str, threading.RLock] = {}

    def __repr__(self) -> str:
        with self._guard:
            realms = sorted(self._tokens)
        return f"MemoryTokenStore(realms={realms!r})"

    def load(self, realm_id: str) -> QuickBooksToken | None:
        with self._guard:
            return self._tokens.get(realm_id)

    def save(self, realm_id: str, token: QuickBooksToken) -> None:
        if not isinstance(token, QuickBooksToken):
            raise ConfigurationError("MemoryTokenStore.save needs a QuickBooksToken")
        with self._guard:
            self._tokens[realm_id] = token

    def delete(self, realm_id: str) -> None:
        with self._guard:
            self._tokens.pop(realm_id, None)

    def lock(self, realm_id: str) -> AbstractContextManager[None]:
        with self._guard:
            lock = self._locks.setdefault(realm_id, threading.RLock())
        return _hold(lock)


@contextlib.contextmanager
def _hold(lock: threading.RLock) -> Iterator[None]:
    with lock:
        yield


_FILE_VERSION = 1


class FileTokenStore:
    """The tokens of one or more companies in one JSON file, shared safely by processes.

    Writes go to a temporary file in the same directory (created ``0600``, so the
    secrets are never readable by others, not even for a moment), are ``fsync``-ed,
    replace the old file atomically and are followed by an ``fsync`` of the directory,
    so after a crash the file holds either the old tokens or the new ones, never half
    of each and never nothing. ``lock()`` takes an ``flock`` on ``<path>.lock`` plus a
    thread lock: one lock for the whole file, because a save rewrites every realm's
    record and a refresh is rare enough that finer locks would buy nothing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._lock_fd: int | None = None
        self._unlock: Callable[[], None] = _nothing
        self._mode_warned = False

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"

    # -- TokenStore ---------------------------------------------------------------------

    def load(self, realm_id: str) -> QuickBooksToken | None:
        record = self._read().get(realm_id)
        return QuickBooksToken.from_dict(record) if record is not None else None

    def save(self, realm_id: str, token: QuickBooksToken) -> None:
        if not isinstance(token, QuickBooksToken):
            raise ConfigurationError("FileTokenStore.save needs a QuickBooksToken")
        with self._file_lock():
            tokens = self._read()
            tokens[realm_id] = token.to_dict()
            self._write(tokens)

    def delete(self, realm_id: str) -> None:
        """Forget a realm's tokens (after a revoke)."""
        with self._file_lock():
            tokens = self._read()
            if tokens.pop(realm_id, None) is not None:
                self._write(tokens)

    def realms(self) -> list[str]:
        return sorted(self._read())

    def lock(self, realm_id: str) -> AbstractContextManager[None]:
        return self._file_lock()

    # -- locking ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        # flock belongs to an open file description, so a second open+flock by the
        # thread already holding it would deadlock; the depth count makes it re-entrant
        # (save() inside lock()). The RLock keeps other threads of this process out.
        with self._thread_lock:
            if self._depth == 0:
                self._ensure_dir()
                try:
                    fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                except OSError as exc:
                    raise _io_error(
                        "could not open the token lock file", self.lock_path, exc
                    ) from exc
                try:
                    self._unlock = file_lock.acquire(fd, str(self.lock_path))
                except OSError as exc:
                    os.close(fd)
                    raise _io_error("could not lock the token file", self.lock_path, exc) from exc
                self._lock_fd = fd
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._lock_fd is not None:
                    fd, self._lock_fd = self._lock_fd, None
                    try:
                        file_lock.release(self._unlock)
                    finally:
                        os.close(fd)

    # -- file I/O -----------------------------------------------------------------------

    def _ensure_dir(self) -> None:
        parent = self.path.parent
        if parent.exists():
            return
        try:
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(parent, 0o700)  # mkdir's mode is filtered by the umask
        except OSError as exc:
            raise _io_error("could not create the token directory", parent, exc) from exc

    def _read(self) -> dict[str, Any]:
        try:
            with open(self.path, "rb") as handle:
                mode = os.fstat(handle.fileno()).st_mode
                raw = handle.read()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise _io_error("could not read the token file", self.path, exc) from exc
        if mode & 0o077 and not self._mode_warned:
            self._mode_warned = True
            _log.warning(
                "token file %s is readable by other users (mode %o); chmod 600 it",
                self.path,
                mode & 0o777,
            )
        try:
            data = json.loads(raw)
        except ValueError:
            raise ConfigurationError(
                f"token file {self.path} is not valid JSON; restore it from a backup or "
                "reconnect the QuickBooks companies"
            ) from None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("tokens"), dict)
            or data.get("version") != _FILE_VERSION
        ):
            raise ConfigurationError(f"token file {self.path} has an unknown layout")
        tokens: dict[str, Any] = data["tokens"]
        return tokens

    def _write(self, tokens: Mapping[str, Any]) -> None:
        self._ensure_dir()
        payload = json.dumps(
            {"version": _FILE_VERSION, "tokens": dict(tokens)}, indent=2, sort_keys=True
        ).encode()
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(payload)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            self._fsync_dir()
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise _io_error("could not write the token file", self.path, exc) from exc
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _fsync_dir(self) -> None:
        # Without this the rename itself may be lost in a power cut, which would bring
        # back the old (possibly already rotated-away) refresh token.
        fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _io_error(what: str, path: Path, exc: OSError) -> ConfigurationError:
    return ConfigurationError(f"{what} {path}: {exc.strerror or type(exc).__name__}")
