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
    #: Stream mode: the external id was already written earlier in this stream (its
    #: outcome handed out and forgotten). The sender must ask the ERP whether it exists
    #: rather than trust anything it remembers from before the run.
    repeat: bool = False


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
    """What one run of the engine has seen and not yet handed out.

    ``keep`` (:meth:`BulkEngine.run`): every keyed leader's outcome is kept, so any
    repeat is settled from it. Without (:meth:`BulkEngine.stream`): an outcome is dropped
    once yielded, and only the external ids seen are remembered (a repeat of one whose
    first was already handed out is sent again, marked ``repeat``)."""

    keep: bool
    #: Outcomes settled but not yet handed out, by input index.
    outcomes: dict[int, BulkOutcome[T]] = field(default_factory=dict)
    #: The input holding each external id first, while its outcome may still be needed.
    leaders: dict[str, int] = field(default_factory=dict)
    #: Repeats waiting for their leader's outcome: index -> (leader index, key).
    repeats: dict[int, tuple[int, str]] = field(default_factory=dict)
    #: Leaders' outcomes kept for the repeats still to come (all of them with ``keep``).
    firsts: dict[int, BulkOutcome[T]] = field(default_factory=dict)
    waiting: dict[int, int] = field(default_factory=dict)
    #: Stream mode: external ids whose first outcome was handed out.
    seen: set[str] = field(default_factory=set)
    read: int = 0
    next: int = 0


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
        collected: list[BulkOutcome[T]] = []
        try:
            collected.extend(self._outcomes(iter(inputs), _Run(keep=True)))
        except BaseException as exc:
            # The caller's input broke (or the run was interrupted); what was written
            # must not vanish with it. The outcomes ride on the exception.
            partial = BulkResult(collected)
            with contextlib.suppress(AttributeError, TypeError):
                exc.partial_result = partial  # type: ignore[attr-defined]
            exc.add_note(
                f"erpsync: create_{self.kind}s had processed {len(partial)} {self.kind}(s) "
                f"({partial.counts}) when its input failed; they are in .partial_result"
            )
            raise
        return BulkResult(collected)

    def stream(self, inputs: Iterable[Any]) -> Iterator[BulkOutcome[T]]:
        """The outcomes one by one, in input order, each as soon as it and all before it
        are settled; nothing is kept once handed out, so memory stays flat however long
        the input (a few batches of outcomes, and the external ids seen).

        The same guarantees as :meth:`run`, except two: when the input raises, the
        outcomes of what was read are yielded first and then the exception propagates
        (no ``partial_result``: they were all handed out); and an external id repeated
        after its first's outcome was handed out is sent again, marked
        :attr:`BulkItem.repeat`, so that the sender asks the ERP (the write-at-most-once
        engine reports it ``existed``) instead of trusting what it remembers.
        Closing the iterator early waits for the batches already started."""
        return self._outcomes(iter(inputs), _Run(keep=False))

    # -- reading and sending ------------------------------------------------------------

    def _outcomes(self, source: Iterator[Any], run: _Run[T]) -> Iterator[BulkOutcome[T]]:
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
                        yield from self._ready(run)
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
                    yield from self._ready(run)
            except GeneratorExit:
                # Closed early: nobody is listening, but started batches still finish
                # (abandoning them would leave their outcome unknown).
                wait(running)
                raise
            except BaseException:
                # The input broke: started batches finish, their outcomes go out first.
                done, _ = wait(running)
                self._collect(done, run)
                yield from self._ready(run)
                raise
            done, _ = wait(running)
            self._collect(done, run)
            yield from self._ready(run)

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
        if key is None:
            return BulkItem(index, raw, None)
        leader = run.leaders.setdefault(key, index)
        if leader != index:
            run.repeats[index] = (leader, key)
            run.waiting[leader] = run.waiting.get(leader, 0) + 1
            return None
        return BulkItem(index, raw, key, repeat=key in run.seen)

    def _ready(self, run: _Run[T]) -> Iterator[BulkOutcome[T]]:
        """Hand out, in order, every outcome whose predecessors are all handed out."""
        while True:
            index = run.next
            outcome = run.outcomes.pop(index, None)
            if outcome is None and index in run.repeats:
                outcome = self._repeat(index, run)
            if outcome is None:
                return
            run.next += 1
            key = outcome.key
            if key is not None and run.leaders.get(key) == index:
                if run.keep or run.waiting.get(index):
                    run.firsts[index] = outcome
                if not run.keep:
                    run.seen.add(key)
                    if not run.waiting.get(index):
                        del run.leaders[key]
            yield outcome

    def _repeat(self, index: int, run: _Run[T]) -> BulkOutcome[T] | None:
        """The outcome of a repeat, settled from its leader's (None: not settled yet)."""
        leader, key = run.repeats[index]
        first = run.firsts.get(leader)
        if first is None:
            return None  # the leader comes first in input order: never reached
        del run.repeats[index]
        run.waiting[leader] -= 1
        if not run.keep and not run.waiting[leader]:
            del run.waiting[leader], run.firsts[leader]
            if run.leaders.get(key) == leader:
                del run.leaders[key]
        if first.record is not None:
            return BulkOutcome(index, key, "existed", first.record)
        error = first.error or ServiceError(f"the first {self.kind} with this key was not settled")
        repeat: BulkOutcome[T] = failed(index, key, error, backend=self.backend, kind=self.kind)
        assert repeat.error is not None
        note = (
            f"input #{leader} has the same external id and failed (see its outcome); "
            "this repeat was not sent"
        )
        earlier, repeat.error.hint = repeat.error.hint, None
        repeat.error.with_context(hint=f"{note}. {earlier}" if earlier else note)
        return repeat

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
