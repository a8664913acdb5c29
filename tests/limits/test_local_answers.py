"""LocalLimiter counts a request in its windows until ``per`` after its ANSWER.

The service counts a request when it arrives, which is somewhere between our admission
and our answer; stamping the answer's time is what lets the limiter mirror the service's
windows exactly, with no safety margin, and never be early.
"""

from __future__ import annotations

import threading

import pytest

from erpsync.limits import LocalLimiter, RateLimit
from erpsync.testing import FakeClock


def test_the_window_reopens_a_window_after_the_answer_not_the_admission():
    clock = FakeClock()
    limiter = LocalLimiter(rates=[RateLimit(2, 1.0)], clock=clock.now, sleep=clock.sleep)
    start = clock.now()
    admitted = []
    for _ in range(3):
        with limiter.slot():
            admitted.append(clock.now() - start)
            clock.advance(0.25)  # the request is out for a quarter of a second
    # The first answer came at 0.25, so the third request may start at 1.25, not 1.0.
    assert admitted == pytest.approx([0.0, 0.25, 1.25])


def test_a_full_window_of_requests_in_flight_waits_for_an_answer():
    limiter = LocalLimiter(rates=[RateLimit(1, 0.2)])
    holding, go, entered = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with limiter.slot():
            holding.set()
            go.wait(5)

    def second() -> None:
        with limiter.slot():
            entered.set()

    threads = [threading.Thread(target=f, daemon=True) for f in (first, second)]
    threads[0].start()
    assert holding.wait(5)
    threads[1].start()
    # An admission's countdown has not even started while its request is out.
    assert not entered.wait(0.4)  # twice the window: still out, still counted
    assert limiter.in_flight == 1
    go.set()
    threads[0].join(5)
    assert entered.wait(5)  # a window after the answer
    threads[1].join(5)
    assert limiter.in_flight == 0


def test_windows_count_answers_even_when_the_request_failed():
    clock = FakeClock()
    limiter = LocalLimiter(rates=[RateLimit(1, 10.0)], clock=clock.now, sleep=clock.sleep)
    start = clock.now()
    with pytest.raises(OSError), limiter.slot():
        clock.advance(1.0)
        raise OSError("connection reset")
    with limiter.slot():
        assert clock.now() - start == pytest.approx(11.0)
