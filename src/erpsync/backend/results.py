"""What a bulk write returns: one :class:`BulkOutcome` per input, in a :class:`BulkResult`.

A failure in invoice 40,312 of 100,000 is a value to inspect, not an exception that loses
the other 99,999 results. Every failed outcome's error names its own record (the
invoice's external id, or its position when it has none), even when the ERP's complaint
was about something the invoice points at (``Customer 999999``): see :func:`failed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar, overload

from erpsync.errors import ConfigurationError, ErpSyncError, ServiceError

__all__ = ["BulkOutcome", "BulkResult", "BulkStatus", "WriteStatus", "copy_error", "failed"]

T = TypeVar("T")

#: What happened to one input of a bulk write: written now, found already written (an
#: idempotent retry), or not written.
BulkStatus = Literal["created", "existed", "failed"]
#: The statuses of a write that succeeded.
WriteStatus = Literal["created", "existed"]
_WRITTEN: frozenset[str] = frozenset({"created", "existed"})


@dataclass(frozen=True)
class BulkOutcome(Generic[T]):
    """What happened to the input at ``index``; ``key`` is its external id, if any.

    ``record`` is the record as the ERP now holds it (for ``created`` and ``existed``);
    ``error`` says why it was not written (for ``failed``).
    """

    index: int
    key: str | None
    status: BulkStatus
    record: T | None = None
    error: ErpSyncError | None = None

    def __post_init__(self) -> None:
        if self.status not in _WRITTEN and self.status != "failed":
            raise ConfigurationError(f"unknown BulkOutcome status {self.status!r}")
        if self.status == "failed" and self.error is None:
            raise ConfigurationError("a failed BulkOutcome needs an error")
        if self.status in _WRITTEN and (self.record is None or self.error is not None):
            raise ConfigurationError(f"a {self.status!r} BulkOutcome needs a record, no error")

    @property
    def ok(self) -> bool:
        """The record is in the ERP (created now or found there)."""
        return self.status != "failed"


class BulkResult(Sequence[BulkOutcome[T]]):
    """The outcomes of a bulk write: one per input, in input order.

    Iterate it, index it, or use the views: ``created``, ``existed``, ``failed``,
    ``records`` (what is now in the ERP, in order), ``ok`` and ``counts``.
    ``raise_for_failures()`` turns failures into an exception for callers that want
    all-or-error semantics.
    """

    def __init__(self, outcomes: Iterable[BulkOutcome[T]]) -> None:
        ordered = sorted(outcomes, key=lambda outcome: outcome.index)
        if [outcome.index for outcome in ordered] != list(range(len(ordered))):
            raise ConfigurationError("a BulkResult needs exactly one outcome for each index 0..n-1")
        self._outcomes: tuple[BulkOutcome[T], ...] = tuple(ordered)

    # Sequence protocol ----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._outcomes)

    @overload
    def __getitem__(self, index: int) -> BulkOutcome[T]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[BulkOutcome[T]]: ...
    def __getitem__(self, index: int | slice) -> BulkOutcome[T] | Sequence[BulkOutcome[T]]:
        return self._outcomes[index]

    def __iter__(self) -> Iterator[BulkOutcome[T]]:
        return iter(self._outcomes)

    # views ----------------------------------------------------------------------------

    def _with(self, status: BulkStatus) -> list[BulkOutcome[T]]:
        return [outcome for outcome in self._outcomes if outcome.status == status]

    @property
    def created(self) -> list[BulkOutcome[T]]:
        return self._with("created")

    @property
    def existed(self) -> list[BulkOutcome[T]]:
        return self._with("existed")

    @property
    def failed(self) -> list[BulkOutcome[T]]:
        return self._with("failed")

    @property
    def records(self) -> list[T]:
        """The records now in the ERP (created or existed), in input order."""
        return [o.record for o in self._outcomes if o.status != "failed" and o.record is not None]

    @property
    def ok(self) -> bool:
        """Every input is in the ERP."""
        return all(outcome.ok for outcome in self._outcomes)

    @property
    def counts(self) -> dict[BulkStatus, int]:
        counts: dict[BulkStatus, int] = {"created": 0, "existed": 0, "failed": 0}
        for outcome in self._outcomes:
            counts[outcome.status] += 1
        return counts

    def raise_for_failures(self) -> None:
        """Raise the first failure's error, with a note summarising all failures."""
        failures = self.failed
        if not failures:
            return
        error = failures[0].error
        assert error is not None  # guaranteed by BulkOutcome
        shown = ", ".join(
            f"#{o.index}" + (f" ({o.key})" if o.key else "") for o in failures[:10]
        ) + (", ..." if len(failures) > 10 else "")
        note = (
            f"{len(failures)} of {len(self)} failed: {shown}; "
            "this is the first; see BulkResult.failed for the rest"
        )
        if note not in getattr(error, "__notes__", ()):
            error.add_note(note)
        raise error

    def __repr__(self) -> str:
        counts = ", ".join(f"{status}={count}" for status, count in self.counts.items())
        return f"BulkResult({counts})"


# -- failures -----------------------------------------------------------------------------


def copy_error(error: ErpSyncError) -> ErpSyncError:
    """A copy of ``error`` (same class and facts), so one batch-wide error can be named
    after each of its invoices without one invoice's name leaking into another's."""
    try:
        rebuilt = error.__reduce__()
        copied = rebuilt[0](*rebuilt[1])
    except Exception:
        return error
    if isinstance(copied, ErpSyncError):
        copied.__cause__ = error.__cause__
        return copied
    return error


def failed(
    index: int, key: str | None, exc: BaseException, *, backend: str, kind: str = "invoice"
) -> BulkOutcome[T]:
    """The ``failed`` outcome of input ``index``, its error naming the input.

    ``record`` becomes ``"invoice job-7"`` (``"invoice #12"`` without an external id).
    An error about something else (``"Customer 999999"``, a dangling reference) keeps
    that name beside the invoice's: ``"invoice job-7 (Customer 999999)"``. Anything that
    is not an ErpSyncError is wrapped in a non-retryable ServiceError.
    """
    if isinstance(exc, ErpSyncError):
        error = copy_error(exc)
    else:
        error = ServiceError(f"unexpected {type(exc).__name__}: {exc}", retryable=False)
        error.__cause__ = exc
    label = f"{kind} {key}" if key else f"{kind} #{index}"
    named = error.record
    if named is None or named.startswith("batch") or named == label:
        error.record = label  # a batch label says less than the invoice's own name
    elif not named.startswith(label):
        error.record = f"{label} ({named})"
    error.with_context(backend=backend)
    return BulkOutcome(index, key, "failed", error=error)
