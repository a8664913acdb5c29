"""The one bulk engine (erpsync.backend.BulkEngine) with batch senders of its own."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from decimal import Decimal

import pytest

from erpsync.backend import BulkEngine, BulkItem, BulkResult, OneAtATime, Settled
from erpsync.errors import ConfigurationError, NotFoundError, ServiceError
from erpsync.models import Invoice, InvoiceLine, Ref


def invoice(n: int, key: str | None = "") -> Invoice:
    return Invoice(
        external_id=f"inv-{n}" if key == "" else key,
        customer=Ref(id="1"),
        date=dt.date(2026, 11, 3),
        lines=[InvoiceLine(amount=Decimal(n + 1))],
    )


class Batches:
    """A batch sender that records every batch; ``fail`` maps an external id to the error
    its invoice gets."""

    def __init__(self, size: int, fail: dict[str, Exception] | None = None) -> None:
        self.batch_size = size
        self.batches: list[list[int]] = []
        self.fail = fail or {}
        self._lock = threading.Lock()

    def send(self, batch: Sequence[BulkItem[Invoice]]) -> list[Settled[Invoice]]:
        with self._lock:
            self.batches.append([item.index for item in batch])
        answers: list[Settled[Invoice]] = []
        for item in batch:
            error = self.fail.get(str(item.key))
            if isinstance(error, NotFoundError):
                answers.append(error)
            elif error is not None:
                raise error
            else:
                answers.append((item.record.model_copy(update={"id": str(item.index)}), "created"))
        return answers


def engine(sender: Batches, workers: int = 2) -> BulkEngine[Invoice]:
    return BulkEngine(sender, accepts=Invoice, workers=workers, backend="Test")


def test_batches_of_the_senders_size_and_one_outcome_per_input_in_order() -> None:
    sender = Batches(30)
    result = engine(sender).run(invoice(n) for n in range(70))
    assert sorted(len(b) for b in sender.batches) == [10, 30, 30]
    assert [o.index for o in result] == list(range(70))
    assert result.counts == {"created": 70, "existed": 0, "failed": 0}


def test_input_raising_mid_batch_keeps_what_was_read_in_partial_result() -> None:
    """40 read, batches of 30: the second batch (10 invoices) is sent, not lost."""
    sender = Batches(30)

    def source() -> Iterator[Invoice]:
        for n in range(40):
            yield invoice(n)
        raise KeyError("the caller's source broke")

    with pytest.raises(KeyError) as caught:
        engine(sender).run(source())
    partial = caught.value.partial_result  # type: ignore[attr-defined]
    assert isinstance(partial, BulkResult)
    assert len(partial) == 40 and partial.ok
    assert sorted(i for b in sender.batches for i in b) == list(range(40))
    assert any("partial_result" in note for note in caught.value.__notes__)


def test_a_repeated_external_id_is_sent_once_and_reports_existed() -> None:
    sender = Batches(3)
    inputs = [invoice(0), invoice(1), invoice(0, "inv-0"), invoice(2), invoice(1, "inv-1")]
    result = engine(sender, workers=1).run(inputs)
    assert [o.status for o in result] == ["created", "created", "existed", "created", "existed"]
    assert result[2].record == result[0].record
    assert sorted(i for b in sender.batches for i in b) == [0, 1, 3]


def test_a_repeat_of_a_failed_invoice_fails_naming_its_first() -> None:
    sender = Batches(10, fail={"inv-0": NotFoundError("Object Not Found", record="Customer 9")})
    result = engine(sender).run([invoice(0), invoice(0, "inv-0")])
    assert [o.status for o in result] == ["failed", "failed"]
    assert result[0].error is not None and result[0].error.record == "invoice inv-0 (Customer 9)"
    assert result[1].error is not None and "input #0" in str(result[1].error)


def test_a_sender_that_raises_fails_its_batch_each_named_after_its_invoice() -> None:
    sender = Batches(2, fail={"inv-1": ServiceError("boom", record="batch 1")})
    result = engine(sender, workers=1).run([invoice(0), invoice(1), invoice(2), invoice(3, None)])
    assert [o.status for o in result] == ["failed", "failed", "created", "created"]
    assert [o.error.record for o in result[:2] if o.error] == ["invoice inv-0", "invoice inv-1"]
    assert result[0].error is not result[1].error  # each outcome has its own copy


def test_inputs_that_are_not_records_fail_without_being_sent() -> None:
    sender = Batches(5)
    result = engine(sender).run([invoice(0), "nope", invoice(1)])
    assert [o.status for o in result] == ["created", "failed", "created"]
    assert isinstance(result[1].error, ConfigurationError)
    assert result[1].error.record == "invoice #1"
    assert sorted(i for b in sender.batches for i in b) == [0, 2]


def test_one_at_a_time_turns_errors_into_answers() -> None:
    def write(inv: Invoice) -> tuple[Invoice, str]:
        if inv.external_id == "inv-1":
            raise NotFoundError("gone")
        return inv, "existed"

    result = BulkEngine(
        OneAtATime(write),  # type: ignore[arg-type]
        accepts=Invoice,
        workers=3,
        backend="Test",
    ).run(invoice(n) for n in range(3))
    assert [o.status for o in result] == ["existed", "failed", "existed"]


# -- stream: outcomes one by one, nothing kept ----------------------------------------------


def test_stream_yields_in_order_and_reads_only_a_few_batches_ahead() -> None:
    sender = Batches(10)
    read: list[int] = []

    def source() -> Iterator[Invoice]:
        for n in range(1000):
            read.append(n)
            yield invoice(n)

    stream = engine(sender, workers=2).stream(source())
    first = next(stream)
    assert first.index == 0 and first.status == "created"
    assert len(read) <= 4 * 10  # a few batches ahead, not the whole input
    rest = list(stream)
    assert [o.index for o in rest] == list(range(1, 1000))


def test_stream_settles_a_near_repeat_from_its_first_and_resends_a_far_one() -> None:
    sender = Batches(2)
    inputs = [invoice(0), invoice(0, "inv-0")] + [invoice(n) for n in range(1, 20)]
    inputs.append(invoice(0, "inv-0"))  # long after the first was handed out
    repeats: list[bool] = []
    original = sender.send

    def send(batch: Sequence[BulkItem[Invoice]]) -> list[Settled[Invoice]]:
        repeats.extend(item.repeat for item in batch if item.key == "inv-0")
        return original(batch)

    sender.send = send  # type: ignore[method-assign]
    outcomes = list(engine(sender, workers=1).stream(inputs))
    assert [o.index for o in outcomes] == list(range(len(inputs)))
    assert outcomes[1].status == "existed" and outcomes[1].record == outcomes[0].record
    # The far repeat is sent again, marked, for the sender to ask the ERP.
    assert repeats == [False, True]


def test_stream_hands_out_what_was_read_before_the_input_raises() -> None:
    sender = Batches(30)

    def source() -> Iterator[Invoice]:
        for n in range(40):
            yield invoice(n)
        raise KeyError("the caller's source broke")

    seen: list[int] = []
    with pytest.raises(KeyError):
        for outcome in engine(sender).stream(source()):
            seen.append(outcome.index)
    assert seen == list(range(40))


def test_closing_a_stream_early_waits_for_started_batches() -> None:
    sender = Batches(5)
    stream = engine(sender, workers=2).stream(invoice(n) for n in range(100))
    assert next(stream).index == 0
    stream.close()
    sent = sorted(i for b in sender.batches for i in b)
    assert sent == list(range(len(sent))) and len(sent) < 100  # no batch left half-done
