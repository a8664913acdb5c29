"""The one bulk engine: lazy input, bounded fan-out, one outcome per input, in order.

:class:`BulkEngine` is what every ``create_invoices`` runs; a backend only plugs in a
:class:`BatchSender` (QuickBooks: 30 invoices per batch request; NetSuite and the
default: :class:`OneAtATime`). The engine owns everything else:

* the input is read lazily: at most ``workers`` batches are read and not yet finished;
* an external id repeated within one input is sent once; the repeats report ``existed``
  (or their first's failure) and are never written;
* every input gets exactly one outcome, in input order, and a failed outcome's error
  names its own invoice (:func:`~erpsync.backend.results.failed`);
* when the caller's iterable raises (or anything else interrupts the run), the batch it
  was filling is still sent, every started batch finishes, and the exception carries
  all their outcomes as ``exc.partial_result`` (a :class:`BulkResult`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from erpsync.backend.results import (
    _WRITTEN,
    BulkOutcome,
    BulkResult,
    WriteStatus,
    failed,
)
from erpsync.backend.write_once import Settled
from erpsync.errors import ConfigurationError, ErpSyncError, ServiceError

__all__ = ["BatchSender", "BulkEngine", "BulkItem", "OneAtATime", "bulk_workers"]

T = TypeVar("T")


@dataclass(frozen=True)
class BulkItem(Generic[T]):
    """One input handed to a batch sender: its position, the record, its external id."""

    index: int
    record: T
    key: str | None


class BatchSender(Protocol[T]):
    """What a backend plugs into :class:`BulkEngine`.

    ``batch_size`` is how many records one call of :meth:`send` takes. :meth:`send`
    writes them (at most once each) and answers, aligned with ``batch``, either the
    record as the ERP holds it and ``"created"`` / ``"existed"``, or the error that kept
    it out. It may raise; then every record of the batch fails with that error.
    """

    @property
    def batch_size(self) -> int: ...

    def send(self, batch: Sequence[BulkItem[T]]) -> Sequence[Settled[T]]: ...


class OneAtATime(Generic[T]):
    """A batch sender for ERPs without batch writes: one record per call of ``write``,
    which returns the record and its status, or raises."""

    batch_size = 1

    def __init__(self, write: Callable[[T], tuple[T, WriteStatus]]) -> None:
        self._write = write

    def send(self, batch: Sequence[BulkItem[T]]) -> list[Settled[T]]:
        answers: list[Settled[T]] = []
        for item in batch:
            try:
                answers.append(self._write(item.record))
            except ErpSyncError as exc:
                answers.append(exc)
        return answers


def bulk_workers(max_workers: object, limit: int) -> int:
    """``max_workers`` checked (an int >= 1, default ``limit``) and capped at ``limit``."""
    workers = limit if max_workers is None else max_workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigurationError(f"max_workers must be an int >= 1, got {max_workers!r}")
    return min(workers, limit)


@dataclass
class _Run(Generic[T]):
    """What one :meth:`BulkEngine.run` has seen so far."""

    outcomes: dict[int, BulkOutcome[T]] = field(default_factory=dict)
    leaders: dict[str, int] = field(default_factory=dict)
    repeats: dict[int, tuple[int, str]] = field(default_factory=dict)
    read: int = 0


class BulkEngine(Generic[T]):
    """Runs one bulk write through ``sender`` on ``workers`` threads.

    ``accepts`` is the record type inputs must have (others fail as ConfigurationError
    without being sent); ``backend`` and ``kind`` name failures (``"QuickBooks"``,
    ``"invoice"``).
    """

    def __init__(
        self,
        sender: BatchSender[T],
        *,
        accepts: type[T],
        workers: int,
        backend: str,
        kind: str = "invoice",
    ) -> None:
        if sender.batch_size < 1:
            raise ConfigurationError(f"batch_size must be >= 1, not {sender.batch_size!r}")
        self.sender = sender
        self.accepts = accepts
        self.workers = workers
        self.backend = backend
        self.kind = kind

    def run(self, inputs: Iterable[Any]) -> BulkResult[T]:
        """Write every input; see the module docstring for the guarantees."""
        run: _Run[T] = _Run()
        try:
            self._pump(iter(inputs), run)
        except BaseException as exc:
            # The caller's input broke (or the run was interrupted); what was written
            # must not vanish with it. The outcomes ride on the exception.
            partial = self._result(run)
            with contextlib.suppress(AttributeError, TypeError):
                exc.partial_result = partial  # type: ignore[attr-defined]
            exc.add_note(
                f"erpsync: create_{self.kind}s had processed {len(partial)} {self.kind}(s) "
                f"({partial.counts}) when its input failed; they are in .partial_result"
            )
            raise
        return self._result(run)

    # -- reading and sending ------------------------------------------------------------

    def _pump(self, source: Iterator[Any], run: _Run[T]) -> None:
        size = self.sender.batch_size
        with ThreadPoolExecutor(self.workers, thread_name_prefix="erpsync-bulk") as pool:
            running: set[Future[list[BulkOutcome[T]]]] = set()
            try:
                exhausted = False
                while not exhausted:
                    while len(running) >= self.workers:
                        done, pending = wait(running, return_when=FIRST_COMPLETED)
                        running = set(pending)
                        self._collect(done, run)
                    batch: list[BulkItem[T]] = []
                    try:
                        while len(batch) < size:
                            try:
                                raw = next(source)
                            except StopIteration:
                                exhausted = True
                                break
                            item = self._admit(raw, run)
                            if item is not None:
                                batch.append(item)
                    finally:
                        # Even when the input raised part-way: what was read is sent.
                        if batch:
                            running.add(pool.submit(self._send, batch))
            finally:
                # Started batches finish whatever happens: abandoning them would leave
                # their outcome unknown.
                done, _ = wait(running)
                self._collect(done, run)

    @staticmethod
    def _collect(done: Iterable[Future[list[BulkOutcome[T]]]], run: _Run[T]) -> None:
        for future in done:
            for outcome in future.result():
                run.outcomes[outcome.index] = outcome

    def _admit(self, raw: Any, run: _Run[T]) -> BulkItem[T] | None:
        """Number one input; the item to send, or None when it is settled without a write
        (not a record, or a repeat of an external id already in this run)."""
        index = run.read
        run.read += 1
        if not isinstance(raw, self.accepts):
            error = ConfigurationError(
                f"expected {'an' if self.accepts.__name__[0] in 'AEIOU' else 'a'} "
                f"{self.accepts.__name__}, got {type(raw).__name__}"
            )
            run.outcomes[index] = failed(index, None, error, backend=self.backend, kind=self.kind)
            return None
        key = getattr(raw, "external_id", None)
        key = key if isinstance(key, str) and key else None
        if key is not None:
            leader = run.leaders.setdefault(key, index)
            if leader != index:
                run.repeats[index] = (leader, key)
                return None
        return BulkItem(index, raw, key)

    def _send(self, batch: list[BulkItem[T]]) -> list[BulkOutcome[T]]:
        """One batch through the sender; never raises (failures become outcomes)."""
        try:
            answers = list(self.sender.send(batch))
            if len(answers) != len(batch):
                raise ServiceError(
                    f"the batch sender answered {len(answers)} times for {len(batch)} {self.kind}s",
                    retryable=False,
                )
        except BaseException as exc:  # a bug or an error outside any one record
            if not isinstance(exc, Exception):
                raise
            return [self._failed(item, exc) for item in batch]
        return [self._outcome(item, answer) for item, answer in zip(batch, answers, strict=True)]

    def _outcome(self, item: BulkItem[T], answer: object) -> BulkOutcome[T]:
        if isinstance(answer, BaseException):
            return self._failed(item, answer)
        if (
            isinstance(answer, tuple)
            and len(answer) == 2
            and isinstance(answer[0], self.accepts)
            and answer[1] in _WRITTEN
        ):
            return BulkOutcome(item.index, item.key, answer[1], answer[0])
        return self._failed(
            item,
            ServiceError(
                f"the batch sender answered {type(answer).__name__} for a {self.kind}",
                retryable=False,
            ),
        )

    def _failed(self, item: BulkItem[T], exc: BaseException) -> BulkOutcome[T]:
        return failed(item.index, item.key, exc, backend=self.backend, kind=self.kind)

    # -- the result ---------------------------------------------------------------------

    def _result(self, run: _Run[T]) -> BulkResult[T]:
        """Every outcome so far, repeats settled from their first."""
        outcomes = dict(run.outcomes)
        for index, (leader, key) in run.repeats.items():
            first = outcomes.get(leader)
            if first is not None and first.record is not None:
                outcomes[index] = BulkOutcome(index, key, "existed", first.record)
                continue
            cause = first.error if first is not None and first.error is not None else None
            error = cause or ServiceError(f"the first {self.kind} with this key was not settled")
            repeat: BulkOutcome[T] = failed(index, key, error, backend=self.backend, kind=self.kind)
            assert repeat.error is not None
            note = (
                f"input #{leader} has the same external id and failed (see its outcome); "
                "this repeat was not sent"
            )
            earlier, repeat.error.hint = repeat.error.hint, None
            repeat.error.with_context(hint=f"{note}. {earlier}" if earlier else note)
            outcomes[index] = repeat
        # Every input read has an outcome by now: its batch finished (the engine waits).
        return BulkResult(outcomes.values())
