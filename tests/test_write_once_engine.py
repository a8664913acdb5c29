"""The one write-at-most-once engine (erpsync.backend.WriteOnce), on its own."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from erpsync.backend import WriteOnce
from erpsync.errors import (
    AuthenticationError,
    DuplicateError,
    ErpSyncError,
    RateLimitError,
    ServiceError,
)
from erpsync.http import RetryPolicy


class Erp:
    """One record slot; ``faults`` are raised by the next writes, ``commit`` says whether
    a faulted write took effect anyway (a lost answer)."""

    def __init__(self, faults: Sequence[ErpSyncError] = (), *, commit: bool = False) -> None:
        self.faults = list(faults)
        self.commit = commit
        self.record: str | None = None
        self.keys: list[str] = []
        self.resends: list[bool] = []
        self.lookups = 0

    def write(self, key: str, resend: bool) -> str:
        self.keys.append(key)
        self.resends.append(resend)
        if self.faults:
            fault = self.faults.pop(0)
            if self.commit:
                self.record = "r1"
            raise fault
        self.record = "r1"
        return "r1"

    def lookup(self) -> str | None:
        self.lookups += 1
        return self.record


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def engine(sleeps: list[float]) -> WriteOnce:
    return WriteOnce(
        RetryPolicy(max_attempts=3, base_delay=0.5),
        backend="Test",
        sleep=sleeps.append,
        rng=random.Random(1),
    )


def test_the_key_is_made_once_and_reused_after_an_unanswered_attempt(engine, sleeps) -> None:
    erp = Erp([ServiceError("connection dropped")])
    assert engine.one(erp.write, erp.lookup) == ("r1", "created")
    assert len(erp.keys) == 2 and erp.keys[0] == erp.keys[1]
    assert erp.lookups == 1 and len(sleeps) == 1
    assert erp.resends == [False, False]  # keyed: the transport must not re-send blindly


def test_a_lost_answer_is_found_by_lookup_and_not_written_again(engine, sleeps) -> None:
    erp = Erp([ServiceError("answer lost")], commit=True)
    assert engine.one(erp.write, erp.lookup) == ("r1", "created")
    assert len(erp.keys) == 1 and sleeps == []


def test_a_taken_external_id_returns_the_holder_as_existed(engine) -> None:
    erp = Erp([DuplicateError("taken")])
    erp.record = "r0"
    assert engine.one(erp.write, erp.lookup) == ("r0", "existed")


def test_a_duplicate_refusal_without_a_holder_is_raised(engine) -> None:
    erp = Erp([DuplicateError("number in use")])
    with pytest.raises(DuplicateError):
        engine.one(erp.write, erp.lookup)


def test_look_first_finds_without_writing(engine) -> None:
    erp = Erp()
    erp.record = "r0"
    assert engine.one(erp.write, erp.lookup, look_first=True) == ("r0", "existed")
    assert erp.keys == []


def test_other_errors_are_raised_at_once(engine) -> None:
    erp = Erp([AuthenticationError("no")])
    with pytest.raises(AuthenticationError):
        engine.one(erp.write, erp.lookup)
    assert erp.lookups == 0


def test_after_the_last_round_an_absent_record_says_a_repeat_is_safe(engine, sleeps) -> None:
    erp = Erp([RateLimitError("slow down")] * 3)
    with pytest.raises(RateLimitError) as caught:
        engine.one(erp.write, erp.lookup)
    assert "repeating the call is safe" in str(caught.value)
    assert len(set(erp.keys)) == 1 and len(erp.keys) == 3 and len(sleeps) == 2


def test_without_a_lookup_only_the_same_key_is_re_sent(engine, sleeps) -> None:
    erp = Erp([ServiceError("lost")] * 3)
    with pytest.raises(ServiceError) as caught:
        engine.one(erp.write, None)
    assert len(set(erp.keys)) == 1 and erp.resends == [True] * 3
    assert "may or may not exist" in str(caught.value) and sleeps == []


def test_a_group_re_sends_only_what_is_absent_under_a_new_key_after_an_answer(engine) -> None:
    sent: list[tuple[list[str], str]] = []
    stored: set[str] = set()

    def send(items: Sequence[str], key: str, resend: bool) -> list[str | ErpSyncError]:
        sent.append((list(items), key))
        answers: list[str | ErpSyncError] = []
        for item in items:
            if item == "b" and len(sent) == 1:
                answers.append(ServiceError("item b: system fault"))
            else:
                stored.add(item)
                answers.append(item.upper())
        return answers

    def lookup(items: Sequence[str]) -> list[str | None]:
        return [item.upper() if item in stored else None for item in items]

    settled = engine.many(["a", "b", "c"], send, lookup, keyed=lambda _: True)
    assert settled == [("A", "created"), ("B", "created"), ("C", "created")]
    assert [items for items, _ in sent] == [["a", "b", "c"], ["b"]]
    assert sent[0][1] != sent[1][1]  # answered: a repeat under the old key would replay it
