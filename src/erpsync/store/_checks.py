"""Argument checks and conversions shared by every store implementation that erpsync
ships, so SQLite and PostgreSQL reject the same bad input with the same error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from erpsync._redact import redact, truncate
from erpsync.errors import ConfigurationError
from erpsync.store.types import Claim, KeyLike, LedgerKey, RunError

__all__ = ["check_name", "check_positive", "clean_counts", "clean_error", "clean_errors", "to_key"]

_ERROR_TEXT_LIMIT = 2000
FINAL_RUN_STATUSES = frozenset({"ok", "partial", "failed"})


def to_key(target: KeyLike | Claim) -> LedgerKey:
    """The ledger key of a claim, a key, or a ``(backend, record_type, source_key)``
    tuple (the default tenant)."""
    if isinstance(target, Claim):
        return target.key
    if isinstance(target, LedgerKey):
        return target
    if isinstance(target, tuple) and len(target) == 3 and all(isinstance(p, str) for p in target):
        return LedgerKey(*target)
    raise ConfigurationError(
        "a ledger key is a LedgerKey, a Claim or a (backend, record_type, source_key) tuple, "
        f"not {target!r}"
    )


def check_name(what: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{what} must be a non-empty string, not {value!r}")
    return value


def check_positive(what: str, value: float) -> float:
    if not value > 0:
        raise ConfigurationError(f"{what} must be positive, not {value!r}")
    return value


def clean_error(text: str) -> str:
    """Error text as stored: secrets removed, length capped."""
    return truncate(redact(str(text)), _ERROR_TEXT_LIMIT)


def check_final_status(status: str) -> None:
    if status not in FINAL_RUN_STATUSES:
        raise ConfigurationError(f"a run finishes as 'ok', 'partial' or 'failed', not {status!r}")


def clean_counts(counts: Mapping[str, int] | None) -> dict[str, int]:
    clean: dict[str, int] = {}
    for name, value in (counts or {}).items():
        if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, int):
            raise ConfigurationError(f"run counts map names to integers, not {name!r}: {value!r}")
        clean[name] = value
    return clean


def clean_errors(errors: Sequence[RunError]) -> list[dict[str, Any]]:
    clean = []
    for error in errors:
        if not isinstance(error, RunError):
            raise ConfigurationError(f"run errors are RunError values, not {error!r}")
        clean.append(
            {
                "record": clean_error(error.record),
                "message": clean_error(error.message),
                "code": error.code,
            }
        )
    return clean


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ConfigurationError(f"limit must be a non-negative integer, not {limit!r}")
    return limit


def errors_from_json(items: Sequence[Mapping[str, Any]]) -> tuple[RunError, ...]:
    return tuple(
        RunError(record=e["record"], message=e["message"], code=e.get("code")) for e in items
    )
