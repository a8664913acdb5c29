"""The one write-at-most-once engine: write, look up on an unknown outcome, back off, rewrite.

Every create both backends make goes through :class:`WriteOnce`, one record at a time
(:meth:`WriteOnce.one`) or a group that travels in one request (:meth:`WriteOnce.many`,
a QuickBooks batch). The rules, in the order they apply:

1. The idempotency key (QuickBooks ``requestid``; NetSuite relies on ``externalId``) is
   made ONCE, before the first attempt, and re-sent while the same group is re-sent
   after an unanswered attempt (stripe-python's rule). After an answer, a repeat under
   that key would only replay the answer, so what is sent again goes under a new key.
2. ``look_first``: records already holding their external id are reported ``existed``
   without a write (for ERPs with no server-side guard).
3. When the outcome is unknown (lost answer, 5xx, throttled to the end) the ERP itself
   is asked, by external id, BEFORE anything is re-sent: found means our attempt wrote
   it (``created``); absent means it is written again after a backoff. A record that
   cannot be looked up (no external id) is only ever re-sent unchanged under its key,
   and when that runs out it is reported as "may or may not exist", never re-sent under
   a new key (which could write it twice).
4. A refusal because the external id is taken (``duplicate``) is looked up too: the
   holder is returned as ``existed`` (or ``created`` when an earlier attempt of this
   very write made it).
5. After the last round an absent record fails with a hint that a repeat is safe.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from erpsync.backend.results import WriteStatus, copy_error
from erpsync.errors import (
    ConflictError,
    DuplicateError,
    ErpSyncError,
    InvalidRequestError,
    RateLimitError,
    ServiceError,
)
from erpsync.transport import RetryPolicy, new_idempotency_key

__all__ = ["Settled", "WriteOnce", "outcome_unknown"]

_log = logging.getLogger("erpsync.backend")

P = TypeVar("P")
R = TypeVar("R")

#: What became of one record of a group: the record and how, or why not.
Settled = tuple[R, WriteStatus] | ErpSyncError


def outcome_unknown(error: ErpSyncError) -> bool:
    """Whether a failed write may or may not have happened (or was refused unprocessed
    for reasons that pass): worth looking up and sending again."""
    if isinstance(error, RateLimitError):
        return True
    return isinstance(error, ServiceError) and not isinstance(error, ConflictError)


def _is_duplicate(error: ErpSyncError) -> bool:
    return isinstance(error, DuplicateError)


@dataclass
class _Group(Generic[P, R]):
    """The bookkeeping of one :meth:`WriteOnce.many` call."""

    items: Sequence[P]
    send: Callable[[Sequence[P], str, bool], Sequence[R | ErpSyncError]]
    lookup: Callable[[Sequence[P]], Sequence[R | None]]
    keyed: Callable[[P], bool]
    pending: list[int]
    settled: dict[int, Settled[R]] = field(default_factory=dict)
    errors: dict[int, ErpSyncError] = field(default_factory=dict)
    looked: set[int] = field(default_factory=set)
    unanswered: bool = False
    absent: bool = False

    def look(self, indexes: list[int], status: WriteStatus) -> list[int]:
        """Look these items up; settle the found ones as ``status``; return the rest.

        After an unknown outcome a found record was written by our own attempt, so it
        is reported ``created`` whatever ``status`` says."""
        self.looked.update(indexes)
        if not indexes:
            return []
        found = self.lookup([self.items[i] for i in indexes])
        rest: list[int] = []
        for index, record in zip(indexes, found, strict=True):
            if record is None:
                rest.append(index)
                continue
            error = self.errors.get(index)
            how: WriteStatus = "created" if error and outcome_unknown(error) else status
            if how == "created" and error is not None:
                _log.info("an earlier attempt had written it: %s", error.record or "record")
            self.settled[index] = (record, how)
        return rest


class WriteOnce:
    """The write-at-most-once policy of one backend: how many rounds, how long to wait.

    ``retry`` is the backend's RetryPolicy (its ``max_attempts`` is the default number of
    rounds, its backoff the wait between them); ``sleep`` and ``rng`` come from the
    transport options, so tests on a fake clock stay deterministic. ``duplicate`` says
    whether an error is the ERP refusing an external id that is taken.
    """

    def __init__(
        self,
        retry: RetryPolicy,
        *,
        backend: str,
        sleep: Callable[[float], None],
        rng: random.Random | None = None,
        duplicate: Callable[[ErpSyncError], bool] = _is_duplicate,
    ) -> None:
        self.retry = retry
        self.backend = backend
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._duplicate = duplicate

    def pause(self, retry_number: int) -> None:
        """The backoff before re-sending a write found not to have happened."""
        with self._rng_lock:
            wait = self.retry.backoff(retry_number, self._rng)
        self._sleep(wait)

    # -- one record ---------------------------------------------------------------------

    def one(
        self,
        write: Callable[[str, bool], R],
        lookup: Callable[[], R | None] | None,
        *,
        look_first: bool = False,
        rounds: int | None = None,
        key: str | None = None,
    ) -> tuple[R, WriteStatus]:
        """Write one record at most once; raise its error when it is not written.

        ``write(key, resend)`` sends it under idempotency key ``key``; ``resend`` says
        whether the transport may re-send it by itself when its outcome is unknown (only
        when there is no ``lookup``: the record cannot be found by external id).
        ``lookup()`` returns the record holding the external id, or None.
        """

        def send(_items: Sequence[None], key: str, resend: bool) -> list[R | ErpSyncError]:
            return [write(key, resend)]

        def find(_items: Sequence[None]) -> list[R | None]:
            return [lookup() if lookup is not None else None]

        outcome = self.many(
            [None],
            send,
            find,
            keyed=lambda _item: lookup is not None,
            look_first=look_first,
            rounds=rounds,
            key=key,
        )[0]
        if isinstance(outcome, ErpSyncError):
            raise outcome
        return outcome

    # -- a group sent in one request ----------------------------------------------------

    def many(
        self,
        items: Sequence[P],
        send: Callable[[Sequence[P], str, bool], Sequence[R | ErpSyncError]],
        lookup: Callable[[Sequence[P]], Sequence[R | None]],
        *,
        keyed: Callable[[P], bool],
        look_first: bool = False,
        rounds: int | None = None,
        key: str | None = None,
    ) -> list[Settled[R]]:
        """Write a group at most once each; one :data:`Settled` per item, in order.

        ``send(items, key, resend)`` answers one record or error per item, or raises when
        the whole request failed (then its outcome may be unknown for all of them).
        ``lookup(items)`` answers, per item, the record holding its external id or None;
        it is asked only about items for which ``keyed(item)`` is true.
        """
        group = _Group(items, send, lookup, keyed, pending=list(range(len(items))))
        if look_first:
            group.pending = group.look([i for i in group.pending if keyed(items[i])], "existed")
            group.pending += [i for i in range(len(items)) if not keyed(items[i])]
            group.pending.sort()
        key = key or new_idempotency_key()  # once, before the first attempt
        sent: list[int] = []
        total = max(self.retry.max_attempts if rounds is None else rounds, 1)
        for number in range(total):
            if not group.pending:
                break
            if number > 0 and not (group.unanswered and group.pending == sent):
                key = new_idempotency_key()  # answered, or a different group: a new key
            sent = list(group.pending)
            self._round(group, key, rewrite=number > 0)
            if group.pending and group.absent and number < total - 1:
                self.pause(number)
        self._give_up(group)
        return [group.settled[i] for i in range(len(items))]

    def _round(self, group: _Group[P, R], key: str, *, rewrite: bool) -> None:
        """Send what is pending once and sort each answer: written, to look up, to re-send,
        or failed."""
        pending = group.pending
        group.looked, group.absent = set(), False
        blind = not all(group.keyed(group.items[i]) for i in pending)
        try:
            answers = group.send([group.items[i] for i in pending], key, blind)
            group.unanswered = False
        except ErpSyncError as exc:
            answers = [exc] * len(pending)
            group.unanswered = True
            if blind and outcome_unknown(exc):
                # Something in the group cannot be looked up: only the same request under
                # the same key (the ERP replays its first answer) can settle it.
                group.errors.update(dict.fromkeys(pending, exc))
                return
        if len(answers) != len(pending):
            raise ServiceError(f"{len(answers)} answers for {len(pending)} writes", retryable=False)
        group.pending = []
        look: list[int] = []
        for index, answer in zip(pending, answers, strict=True):
            if not isinstance(answer, ErpSyncError):
                group.settled[index] = (answer, "created")
                continue
            group.errors[index] = answer
            unknown = outcome_unknown(answer)
            worth = (
                unknown
                or self._duplicate(answer)
                or (rewrite and isinstance(answer, InvalidRequestError))
            )
            if worth and group.keyed(group.items[index]):
                look.append(index)
            elif unknown and not group.unanswered:
                group.pending.append(index)  # refused unprocessed inside an answered group
            else:
                group.settled[index] = answer
        for index in group.look(look, "created" if rewrite else "existed"):
            if outcome_unknown(group.errors[index]):
                group.pending.append(index)
                group.absent = True
            else:
                group.settled[index] = group.errors[index]
        group.pending.sort()

    def _give_up(self, group: _Group[P, R]) -> None:
        """Settle what is still pending after the last round, with a hint that says
        whether a repeat is safe."""
        if not group.pending:
            return
        if group.unanswered:
            unseen = [
                i for i in group.pending if group.keyed(group.items[i]) and i not in group.looked
            ]
            rest = set(group.look(unseen, "created"))
            group.pending = [i for i in group.pending if i in rest or i not in unseen]
        for index in group.pending:
            last = group.errors.get(index) or ServiceError(
                "the write's outcome stayed unknown", retryable=False
            )
            error = copy_error(last)
            error.hint = None
            if group.keyed(group.items[index]) and outcome_unknown(last):
                error.with_context(
                    hint=f"No record with this external id exists in {self.backend} (looked "
                    "up after this failure): repeating the call is safe"
                )
            elif group.unanswered:
                error.with_context(
                    hint=f"{self.backend} never answered, so this record may or may not "
                    "exist; it has no external id to look it up by and was not re-sent "
                    "under a new idempotency key, which could have duplicated it. Check "
                    f"{self.backend} before repeating it"
                )
            else:
                error.with_context(hint=last.hint)
            group.settled[index] = error
