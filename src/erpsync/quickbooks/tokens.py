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
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from erpsync.errors import ConfigurationError
from erpsync.quickbooks import file_lock
from erpsync.quickbooks.oauth_token import (
    DEFAULT_ACCESS_LIFETIME,
    DEFAULT_REFRESH_LIFETIME,
    QuickBooksToken,
)

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


def _nothing() -> None:
    """The release of a lock not taken."""


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
