"""What an emulator's latency means: the answer leaves ``latency`` after the request
arrived, the emulator's own work included (as a real service's latency includes its
processing). On a fake clock work takes no time, so the whole latency is waited."""

from __future__ import annotations

import socket
import threading
import time
from typing import ClassVar

import pytest

from erpsync.testing.core.emulator import Emulator, FakeClock, Governance, SystemClock
from erpsync.testing.core.wire import WireRequest, WireResponse

HOST = "https://latency.example.test"


class Recording(SystemClock):
    """Real time whose waits are recorded instead of slept."""

    def __init__(self, time_scale: float = 1.0) -> None:
        super().__init__(time_scale)
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


class Busy(Emulator):
    """Spends ``work`` real seconds on every answer, and notes when it answered."""

    intercept_prefixes: ClassVar[tuple[str, ...]] = (HOST,)
    service_name = "Busy"

    def __init__(self, work: float, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.work = work
        self.events: list[str] = []

    def _dispatch(self, request: WireRequest) -> WireResponse:
        time.sleep(self.work)
        self.events.append("dispatched")
        return WireResponse.json(200, {"ok": True})

    def _throttled(self, request: WireRequest, reason: str) -> WireResponse:
        return WireResponse.text(429, reason)


def _request(arrived: float | None = None) -> WireRequest:
    return WireRequest.build("POST", f"{HOST}/thing", {}, b"{}", arrived=arrived)


def test_the_work_is_part_of_the_latency_on_real_time() -> None:
    clock = Recording()
    emu = Busy(0.02, clock=clock, latency=0.05)
    result = emu.handle(_request())
    assert isinstance(result, WireResponse) and result.status == 200
    assert emu.events == ["dispatched"]
    # 20 ms of the 50 went into the answer: at most 30 ms are left to wait (none when
    # a loaded machine made the work take longer than the latency).
    assert len(clock.waits) <= 1
    assert sum(clock.waits) <= 0.03 + 1e-9


def test_the_latency_counts_from_the_arrival_it_is_given() -> None:
    clock = Recording()
    emu = Busy(0.0, clock=clock, latency=0.05)
    emu.handle(_request(time.perf_counter() - 0.04))
    assert sum(clock.waits) <= 0.01 + 1e-9
    waits = len(clock.waits)
    emu.handle(_request(time.perf_counter() - 1.0))  # already late: no wait
    assert len(clock.waits) == waits


def test_scaled_time_scales_the_work_too() -> None:
    clock = Recording(time_scale=0.1)  # 1 s of latency is 100 ms of real time
    emu = Busy(0.02, clock=clock, latency=1.0)  # 20 ms real = 200 ms of scaled time
    emu.handle(_request())
    assert sum(clock.waits) <= 0.8 + 1e-9


def test_on_a_fake_clock_the_whole_latency_is_waited_after_the_work() -> None:
    clock = FakeClock()
    start = clock.now()
    emu = Busy(0.01, clock=clock, latency=0.05)
    emu.handle(_request())
    assert clock.now() - start == pytest.approx(0.05)


def test_the_served_latency_counts_from_the_request_line() -> None:
    """Headers that arrive late are the service's time: the loopback server stamps the
    arrival when the request line is in, not when the whole request is."""
    clock = Recording()
    emu = Busy(0.0, clock=clock, latency=0.05)
    url = emu.serve()
    try:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"POST /thing HTTP/1.1\r\n")
            time.sleep(0.03)
            sock.sendall(b"Host: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")
    finally:
        emu.shutdown()
    # The 30 ms between the request line and the rest count (less the server thread's
    # start under load); stamped at the whole request, about 50 ms would be left.
    assert sum(clock.waits) <= 0.035


class Holding(Busy):
    """Holds its first answer until told, so that a second request meets a full gate."""

    def __init__(self, **kw: object) -> None:
        super().__init__(0.0, **kw)
        self.held = threading.Event()
        self.release = threading.Event()

    def _dispatch(self, request: WireRequest) -> WireResponse:
        if not self.held.is_set():
            self.held.set()
            self.release.wait(5)
        return super()._dispatch(request)


def test_a_throttled_answer_also_leaves_after_the_latency() -> None:
    clock = FakeClock()
    start = clock.now()
    emu = Holding(clock=clock, latency=0.05, governance=Governance(concurrency=1))
    first = threading.Thread(target=emu.handle, args=(_request(),))
    first.start()
    assert emu.held.wait(5)
    refused = emu.handle(_request())
    waited = clock.now() - start  # the first is still in its answer: this is the 429's
    emu.release.set()
    first.join(5)
    assert isinstance(refused, WireResponse) and refused.status == 429
    assert waited == pytest.approx(0.05)
    assert clock.now() - start == pytest.approx(0.10)
