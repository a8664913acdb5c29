"""What every model shares: the frozen base class, error plumbing, ids, names, timestamps,
open statuses and :class:`Ref`, the pointer every document uses to name another record."""

from __future__ import annotations

import copy
import datetime as _dt
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Protocol, Self

import pydantic.main
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import InitErrorDetails

__all__ = ["Ref"]


def _identifier(value: object) -> str:
    """ERP ids: NetSuite's are integers, QuickBooks' numeric strings; keep both as str."""
    if type(value) is str and value and not value[0].isspace():  # the common case, first
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"an id must be a str or an int, got {type(value).__name__}")
    if not value.strip():
        raise ValueError("an id cannot be blank")
    return value


def _text(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        raise ValueError("cannot be blank")
    return value


def _utc(value: _dt.datetime) -> _dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=_dt.UTC)
    try:
        return value.astimezone(_dt.UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"{value.isoformat()} cannot be expressed in UTC") from None


_Id = Annotated[str, BeforeValidator(_identifier)]
_Name = Annotated[str, AfterValidator(_text)]
_Timestamp = Annotated[_dt.datetime, AfterValidator(_utc)]


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_PUNCTUATION = re.compile(r"[^a-z0-9]+")


def _open_status(data: Any, enum: type[StrEnum]) -> Any:
    """Map a status string onto the enum, or onto UNKNOWN keeping the raw value."""
    if not isinstance(data, dict) or "status" not in data:
        return data
    raw = data["status"]
    if isinstance(raw, enum) or not isinstance(raw, str):
        return data  # members pass; non-strings are refused by the field itself
    key = _PUNCTUATION.sub("_", raw.lower()).strip("_")
    data = dict(data)
    try:
        data["status"] = enum(key)
    except ValueError:
        data["status"] = enum("unknown")
        if data.get("remote_status") is None:
            data["remote_status"] = raw
    return data


# -- plumbing -----------------------------------------------------------------------------


_MISSING = object()


def _error(loc: tuple[str | int, ...], message: str, value: Any) -> InitErrorDetails:
    return {"type": "value_error", "loc": loc, "input": value, "ctx": {"error": message}}


def _raise(title: str, errors: list[InitErrorDetails]) -> None:
    if errors:
        raise ValidationError.from_exception_data(title, errors)


#: Build each model's validator when the model is first used, not when erpsync.models is
#: imported: most programs use a few of the models, and building all of them is most of
#: the import's cost. Only where pydantic makes that first build thread-safe (a lock
#: around the rebuild, in recent 2.x): concurrent first uses on an older pydantic could
#: see a half-built model, so there every model is built at import, as before.
_BUILD_ON_FIRST_USE = hasattr(pydantic.main, "_rebuild_lock")


class _Model(BaseModel):
    """Frozen, strict about unknown fields, and re-validating on copy."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=_BUILD_ON_FIRST_USE)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update``, a re-validated one (raises ValidationError)."""
        if not update:
            return super().model_copy(deep=deep)
        data: dict[str, Any] = {name: getattr(self, name) for name in type(self).model_fields}
        if _is_derived(self) and "amount" not in update:
            # A derived amount follows its quantity and price: derive it again rather
            # than freeze the old value into the copy (where a changed quantity would
            # then contradict it).
            del data["amount"]
        if deep:
            data = copy.deepcopy(data)
        data.update(update)
        return self.model_validate(data)

    def _replace(self, **changes: Any) -> Self:
        """Internal copy without validation, for values a validator already checked."""
        return super().model_copy(update=changes)

    def __eq__(self, other: object) -> bool:
        # Private bookkeeping (whether an amount was derived) is not part of the value.
        if not isinstance(other, BaseModel):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        # Frozen models are usable as set members and dict keys; list fields (lines,
        # applications) hash as tuples so that documents are hashable too.
        return hash((type(self), *(_hashable(v) for v in self.__dict__.values())))


def _mark_derived(line: BaseModel) -> None:
    """Remember that ``line``'s amount was derived from its quantity and price.

    The flag lives in pydantic's private-state slot, which every copy carries along, but
    is not declared as a private attribute: pydantic would then set one up for every
    line built, at a cost larger than the line's own checks, for a flag that only a few
    lines carry. Equality and hashing ignore it (they look at ``__dict__``).
    """
    object.__setattr__(line, "__pydantic_private__", {"derived": True})


class _Private(Protocol):
    """A model's private-state slot, where :func:`_mark_derived` keeps its flag."""

    @property
    def __pydantic_private__(self) -> dict[str, Any] | None: ...


def _is_derived(line: _Private) -> bool:
    """Whether :func:`_mark_derived` marked ``line`` (or the line it was copied from)."""
    private = line.__pydantic_private__
    return bool(private and private.get("derived"))


def _hashable(value: object) -> object:
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


class Ref(_Model):
    """A pointer to a record in the ERP: its internal id, and its name when known."""

    id: _Id
    name: str | None = None
