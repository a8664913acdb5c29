"""The shared emulator machinery, exercised through a tiny echoing emulator over raw HTTP
(``requests``), both in-process and served on loopback."""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import ClassVar

import pytest
import requests
from urllib3.exceptions import ProtocolError

from erpsync.errors import ConfigurationError
from erpsync.testing.core.emulator import (
    Clock,
    Drop,
    Emulator,
    FakeClock,
    Fault,
    FaultPlan,
    Governance,
    Latency,
    SystemClock,
    Window,
    clock_datetime,
    intercepting,
)
from erpsync.testing.core.wire import WireRequest, WireResponse

ECHO = "https://echo.example.test"
OTHER = "https://other.example.test"


class Echo(Emulator):
    """Answers every request with what it received; counts what it committed."""

    intercept_prefixes: ClassVar[tuple[str, ...]] = (ECHO,)
    service_name = "Echo"

    def __init__(self, *, gate: threading.Event | None = None, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.committed: list[WireRequest] = []
        self.gate = gate
        self.entered = threading.Semaphore(0)
        self._lock = threading.Lock()

    def _dispatch(self, request: WireRequest) -> WireResponse:
        with self._lock:
            self.committed.append(request)
            n = len(self.committed)
        if request.path == "/boom":
            raise RuntimeError("kaboom")
        if request.path == "/wrong-type":
            return "not a response"  # type: ignore[return-value]
        if request.path == "/hold" and self.gate is not None:
            self.entered.release()
            self.gate.wait(5)
        payload = {
            "service": self.service_name,
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "body": request.text(),
            "content_type": request.headers.get("Content-Type"),
        }
        return WireResponse.json(
            201 if request.method == "POST" else 200,
            payload,
            {"Location": f"{request.base}/v1/thing/{n}", "intuit_tid": f"tid-{n}"},
        )

    def _throttled(self, request: WireRequest, reason: str) -> WireResponse:
        body = (
            f"<IntuitResponse><Fault><Error code='3001'>{reason}</Error></Fault></IntuitResponse>"
        )
        return WireResponse.text(429, body, content_type="application/xml")

    def _server_error(self, request: WireRequest, status: int) -> WireResponse:
        return WireResponse.json(status, {"error": "SERVICE_UNAVAILABLE", "status": status})

    def _governance_scope(self, request: WireRequest) -> str | None:
        return "batch" if request.path.startswith("/batch") else None

    def _governed(self, request: WireRequest) -> bool:
        return not request.path.startswith("/oauth")


class Other(Echo):
    intercept_prefixes: ClassVar[tuple[str, ...]] = (OTHER,)
    service_name = "Other"


def req(path: str = "/v1/thing", method: str = "GET", body: bytes = b"") -> WireRequest:
    return WireRequest.build(method, ECHO + path, {"Content-Type": "application/json"}, body)


def answer(emu: Emulator, path: str = "/v1/thing", method: str = "GET") -> WireResponse:
    result = emu.handle(req(path, method))
    assert isinstance(result, WireResponse)
    return result


@contextlib.contextmanager
def reachable(emu: Emulator, mode: str) -> Iterator[str]:
    """The emulator's base URL, in-process (its intercepted host) or served on loopback."""
    if mode == "inprocess":
        with emu:
            yield ECHO
    else:
        url = emu.serve()
        try:
            yield url
        finally:
            emu.shutdown()


MODES = ["inprocess", "served"]


@pytest.fixture(autouse=True)
def _nothing_left_intercepting() -> Iterator[None]:
    yield
    assert not intercepting(), "a test left the shared responses mock running"


# -- clocks ------------------------------------------------------------------------------


def test_fake_clock_starts_at_the_documented_default_and_moves_only_when_told() -> None:
    clock = FakeClock()
    assert clock_datetime(clock) == datetime(2026, 11, 1, tzinfo=UTC)
    assert clock.now() == clock.now()
    clock.sleep(2.5)
    assert clock.advance(0.5) == datetime(2026, 11, 1, tzinfo=UTC).timestamp() + 3
    assert isinstance(clock, Clock)


def test_fake_clock_accepts_epoch_and_naive_datetimes_as_utc() -> None:
    assert FakeClock(1000.0).now() == 1000.0
    assert (
        FakeClock(datetime(2030, 1, 2, 3, 4, 5)).now()
        == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    )


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_fake_clock_never_runs_backwards(bad: float) -> None:
    with pytest.raises(ConfigurationError):
        FakeClock().advance(bad)


def test_fake_clock_rejects_a_start_that_is_not_a_time() -> None:
    with pytest.raises(ConfigurationError):
        FakeClock("yesterday")  # type: ignore[arg-type]


def test_fake_clock_is_thread_safe() -> None:
    clock = FakeClock(0.0)

    def tick() -> None:
        for _ in range(1000):
            clock.sleep(1.0)

    threads = [threading.Thread(target=tick) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.now() == 8000.0


def test_system_clock_is_real_time_with_scaled_sleep() -> None:
    clock = SystemClock(time_scale=0.001)
    assert abs(clock.now() - time.time()) < 1
    started = time.monotonic()
    clock.sleep(2.0)  # 2 ms of real time
    elapsed = time.monotonic() - started
    assert 0.0015 <= elapsed < 0.5
    started = time.monotonic()
    SystemClock(time_scale=0).sleep(100)
    assert time.monotonic() - started < 0.05
    with pytest.raises(ConfigurationError):
        SystemClock(time_scale=-1)


def test_emulator_defaults_to_real_time() -> None:
    assert isinstance(Echo().clock, SystemClock)
    with pytest.raises(ConfigurationError):
        Echo(clock=object())


# -- handle() ----------------------------------------------------------------------------


def test_handle_dispatches_and_adds_a_date_from_the_emulator_clock() -> None:
    emu = Echo(clock=FakeClock())
    result = answer(emu, "/v1/thing?x=1", "POST")
    assert result.status == 201
    assert result.headers["Date"] == "Sun, 01 Nov 2026 00:00:00 GMT"
    assert result.headers["intuit_tid"] == "tid-1"
    assert len(emu.committed) == 1


def test_a_dispatch_exception_becomes_the_services_500_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu = Echo(clock=FakeClock())
    with caplog.at_level(logging.ERROR, logger="erpsync.testing"):
        result = answer(emu, "/boom")
    assert result.status == 500
    assert result.body and b"SERVICE_UNAVAILABLE" in result.body  # the subclass's own body
    assert any("kaboom" in (r.exc_text or "") for r in caplog.records)
    assert emu.stats.errors == 1
    assert answer(emu, "/wrong-type").status == 500
    assert answer(emu).status == 200  # the emulator carries on


def test_a_failing_hook_still_yields_an_answer() -> None:
    class Broken(Echo):
        def _governed(self, request: WireRequest) -> bool:
            raise KeyError("oops")

    result = Broken(clock=FakeClock()).handle(req())
    assert isinstance(result, WireResponse)
    assert result.status == 500


def test_a_throttle_hook_that_fails_falls_back_to_a_plain_429() -> None:
    class Broken(Echo):
        def _throttled(self, request: WireRequest, reason: str) -> WireResponse:
            raise ValueError("no")

    emu = Broken(clock=FakeClock())
    emu.inject("throttle")
    assert answer(emu).status == 429
    assert emu.committed == []


def test_the_default_server_error_is_plain_text() -> None:
    class Bare(Emulator):
        intercept_prefixes = (ECHO,)
        service_name = "Bare"

        def _dispatch(self, request: WireRequest) -> WireResponse:
            return WireResponse.empty()

        def _throttled(self, request: WireRequest, reason: str) -> WireResponse:
            return WireResponse.text(429, reason)

    emu = Bare(clock=FakeClock())
    emu.inject("server_error", status=502)
    result = answer(emu)
    assert result.status == 502
    assert result.headers["Content-Type"].startswith("text/plain")
    assert b"Bare" in result.body
    assert answer(emu).status == 204


# -- in-process --------------------------------------------------------------------------


def test_in_process_reaches_handle_with_body_query_and_headers() -> None:
    emu = Echo(clock=FakeClock())
    with emu:
        assert emu.active
        r = requests.post(f"{ECHO}/v1/thing?a=1&b=two", json={"x": 1})
    assert not emu.active
    assert r.status_code == 201
    assert r.json() == {
        "service": "Echo",
        "method": "POST",
        "path": "/v1/thing",
        "query": {"a": ["1"], "b": ["two"]},
        "body": '{"x": 1}',
        "content_type": "application/json",
    }
    assert r.headers["Location"] == f"{ECHO}/v1/thing/1"
    assert r.headers["intuit_tid"] == "tid-1"
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("text body", "text body"),
        (b"\x00bytes", "\x00bytes"),
        (None, ""),
        (io.BytesIO(b"file body"), "file body"),
        ((chunk for chunk in [b"gen", "erated"]), "generated"),
    ],
)
def test_in_process_normalises_every_kind_of_body(data: object, expected: str) -> None:
    with Echo(clock=FakeClock()):
        r = requests.put(f"{ECHO}/v1/thing", data=data)  # type: ignore[arg-type]
    assert r.json()["body"] == expected


def test_start_and_stop_nest_and_a_stopped_emulator_is_no_longer_reached() -> None:
    emu, other = Echo(clock=FakeClock()), Other(clock=FakeClock())
    with other:
        emu.start()
        emu.start()
        emu.stop()
        assert requests.get(f"{ECHO}/x").status_code == 200
        emu.stop()
        emu.stop()  # extra stops are harmless
        with pytest.raises(requests.exceptions.ConnectionError, match="Responses"):
            requests.get(f"{ECHO}/x")
        assert requests.get(f"{OTHER}/x").json()["service"] == "Other"


def test_a_prefix_only_catches_urls_at_a_boundary() -> None:
    with Echo(clock=FakeClock()), pytest.raises(requests.exceptions.ConnectionError):
        requests.get("https://echo.example.test.evil/x")


def test_two_in_process_and_one_served_at_once() -> None:
    echo, other, served = Echo(clock=FakeClock()), Other(clock=FakeClock()), Other()
    url = served.serve()
    try:
        with echo, other:
            assert requests.get(f"{ECHO}/a").json()["service"] == "Echo"
            assert requests.get(f"{OTHER}/b").json()["service"] == "Other"
            r = requests.post(f"{url}/c", data=b"served")
            assert r.status_code == 201
            assert r.json()["body"] == "served"
            assert r.headers["Location"] == f"{url}/v1/thing/1"
            # localhost passes through too
            port = url.rsplit(":", 1)[1]
            assert requests.get(f"http://localhost:{port}/d").status_code == 200
    finally:
        served.shutdown()
    assert [r.path for r in echo.committed] == ["/a"]
    assert [r.path for r in other.committed] == ["/b"]
    assert [r.path for r in served.committed] == ["/c", "/d"]


def test_the_newest_emulator_of_a_host_wins_until_it_stops() -> None:
    first, second = Echo(clock=FakeClock()), Echo(clock=FakeClock())
    with first:
        with second:
            requests.get(f"{ECHO}/1")
        requests.get(f"{ECHO}/2")
    assert [r.path for r in second.committed] == ["/1"]
    assert [r.path for r in first.committed] == ["/2"]


def test_an_emulator_without_prefixes_cannot_start() -> None:
    class Nowhere(Echo):
        intercept_prefixes = ()

    emu = Nowhere()
    with pytest.raises(ConfigurationError):
        emu.start()
    assert not emu.active


def test_in_process_works_from_many_threads() -> None:
    emu = Echo(clock=FakeClock())
    codes: list[int] = []
    with emu:

        def call() -> None:
            for _ in range(10):
                codes.append(requests.get(f"{ECHO}/t").status_code)

        threads = [threading.Thread(target=call) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert codes == [200] * 60
    assert emu.stats.requests == 60


# -- served ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_every_method_is_answered(method: str, mode: str) -> None:
    emu = Echo(clock=FakeClock())
    with reachable(emu, mode) as url:
        r = requests.request(method, f"{url}/v1/thing?q=1", data=b"payload")
    assert r.status_code == (201 if method == "POST" else 200)
    assert r.json()["method"] == method
    assert r.json()["body"] == "payload"
    assert r.json()["query"] == {"q": ["1"]}


@pytest.mark.parametrize("mode", MODES)
def test_head_has_headers_but_no_body(mode: str) -> None:
    emu = Echo(clock=FakeClock())
    with reachable(emu, mode) as url:
        r = requests.head(f"{url}/x")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["intuit_tid"] == "tid-1"
    assert emu.committed[0].method == "HEAD"


def test_served_reads_chunked_bodies_and_keeps_connections_alive() -> None:
    emu = Echo(clock=FakeClock())
    with reachable(emu, "served") as url, requests.Session() as session:
        chunked = session.post(f"{url}/c", data=(c for c in [b"one,", b"two,", b"three"]))
        sized = session.post(f"{url}/s", data=b"x" * 70000)
    assert chunked.json()["body"] == "one,two,three"
    assert sized.json()["body"] == "x" * 70000
    assert len(emu.committed) == 2


def test_serve_is_idempotent_and_shutdown_really_stops() -> None:
    emu = Echo(clock=FakeClock())
    url = emu.serve()
    assert emu.served_url == url
    assert emu.serve() == url
    assert url.startswith("http://127.0.0.1:")
    with requests.Session() as session:
        assert session.get(f"{url}/warm").status_code == 200
        emu.shutdown()
        assert emu.served_url is None
        # Neither the pooled keep-alive connection nor a new one reaches it any more.
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(f"{url}/after")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{url}/after")
    emu.shutdown()  # harmless twice
    assert [r.path for r in emu.committed] == ["/warm"]


@pytest.mark.parametrize(
    "head",
    [
        b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: lots\r\n\r\n",
    ],
)
def test_served_answers_a_malformed_body_with_400(head: bytes) -> None:
    emu = Echo(clock=FakeClock())
    with reachable(emu, "served") as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(head)
            reply = sock.recv(4096)
        assert requests.get(f"{url}/still-up").status_code == 200
    assert reply.startswith(b"HTTP/1.1 400")
    assert [r.path for r in emu.committed] == ["/still-up"]


@pytest.mark.parametrize(
    "head",
    [
        b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999\r\n\r\nabc",
        b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n",
    ],
)
def test_served_refuses_an_oversized_body_unread(head: bytes) -> None:
    emu = Echo(clock=FakeClock())
    with reachable(emu, "served") as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(head)
            reply = sock.recv(4096)
        assert requests.get(f"{url}/still-up").status_code == 200
    assert reply.startswith(b"HTTP/1.1 413")
    assert [r.path for r in emu.committed] == ["/still-up"]


def test_serve_on_ipv6_loopback() -> None:
    emu = Echo(clock=FakeClock())
    try:
        url = emu.serve(host="::1")
    except ConfigurationError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert url.startswith("http://[::1]:")
        assert requests.get(f"{url}/six").json()["path"] == "/six"
    finally:
        emu.shutdown()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", ""])
def test_serve_refuses_non_loopback_hosts(host: str) -> None:
    with pytest.raises(ConfigurationError, match="loopback"):
        Echo().serve(host=host)


def test_serve_accepts_localhost_and_rejects_bad_ports() -> None:
    emu = Echo(clock=FakeClock())
    with pytest.raises(ConfigurationError):
        emu.serve(port=70000)
    url = emu.serve(host="localhost")
    try:
        assert requests.get(f"{url}/x").status_code == 200
    finally:
        emu.shutdown()


def test_served_dispatch_errors_are_500s_and_the_server_is_quiet(
    capfd: pytest.CaptureFixture[str],
) -> None:
    emu = Echo(clock=FakeClock())
    emu.inject("drop", match=lambda r: r.path == "/drop")
    with reachable(emu, "served") as url:
        assert requests.get(f"{url}/boom").status_code == 500
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"{url}/drop")
        assert requests.get(f"{url}/ok").status_code == 200
    assert capfd.readouterr().err == ""


# -- governance --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_concurrency_limit_answers_the_services_429_without_dispatching(mode: str) -> None:
    gate = threading.Event()
    emu = Echo(clock=FakeClock(), gate=gate, governance=Governance(concurrency=2))
    with reachable(emu, mode) as url:
        held = [threading.Thread(target=requests.get, args=(f"{url}/hold",)) for _ in range(2)]
        for t in held:
            t.start()
        for _ in held:
            assert emu.entered.acquire(timeout=5)
        over = requests.get(f"{url}/over")
        oauth = requests.get(f"{url}/oauth/token")  # not governed
        gate.set()
        for t in held:
            t.join()
        after = requests.get(f"{url}/after")
    assert over.status_code == 429
    assert "concurrency" in over.text
    assert over.headers["Content-Type"] == "application/xml"
    assert oauth.status_code == 200
    assert after.status_code == 200
    assert "/over" not in [r.path for r in emu.committed]
    stats = emu.stats
    assert stats.throttled == 1
    assert stats.max_concurrent == 2
    assert stats.in_flight == 0


class _BlockingClock(FakeClock):
    """A fake clock whose first sleep holds its caller until released: a request caught
    in its latency."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.sleeping = threading.Event()
        self._first = True

    def sleep(self, seconds: float) -> None:
        first, self._first = self._first, False
        if first:
            self.sleeping.set()
            self.release.wait(5)
        super().sleep(seconds)


def test_concurrency_counts_requests_still_in_their_latency() -> None:
    clock = _BlockingClock()
    emu = Echo(clock=clock, latency=0.5, governance=Governance(concurrency=1))
    results: list[WireResponse | Drop] = []
    slow = threading.Thread(target=lambda: results.append(emu.handle(req("/first"))))
    slow.start()
    assert clock.sleeping.wait(timeout=5)
    # Answered at arrival; the answer waits out its latency, still holding its place.
    assert [r.path for r in emu.committed] == ["/first"]
    second = answer(emu, "/second")
    clock.release.set()
    slow.join()
    assert second.status == 429
    assert [r.path for r in emu.committed] == ["/first"]
    assert [r.status for r in results if isinstance(r, WireResponse)] == [200]


def test_windows_throttle_and_slide_with_the_emulator_clock() -> None:
    clock = FakeClock()
    emu = Echo(clock=clock, governance=Governance(windows=(Window(3, 1.0),)))
    assert [answer(emu).status for _ in range(3)] == [200, 200, 200]
    refused = answer(emu)
    assert refused.status == 429
    assert b"3 requests per 1 s" in refused.body
    clock.advance(0.5)
    assert answer(emu).status == 429  # throttled ones do not extend the window
    clock.advance(0.5)
    assert answer(emu).status == 200
    assert len(emu.committed) == 4
    assert emu.stats.throttled == 2


def test_scoped_windows_count_only_their_scope_while_global_ones_count_all() -> None:
    clock = FakeClock()
    gov = Governance(windows=(Window(5, 60), Window(2, 60, scope="batch")))
    emu = Echo(clock=clock, governance=gov)
    assert answer(emu, "/batch", "POST").status == 201
    assert answer(emu, "/batch", "POST").status == 201
    assert answer(emu, "/batch", "POST").status == 429
    assert answer(emu, "/query").status == 200
    assert answer(emu, "/query").status == 200
    assert answer(emu, "/query").status == 200  # 5th in the global window (2 batch + 3)
    assert answer(emu, "/query").status == 429
    assert emu.stats.throttled == 2


def test_time_scale_shrinks_the_windows() -> None:
    clock = FakeClock()
    emu = Echo(clock=clock, governance=Governance(windows=(Window(2, 60),), time_scale=0.01))
    assert [answer(emu).status for _ in range(3)] == [200, 200, 429]
    clock.advance(0.5)
    assert answer(emu).status == 429
    clock.advance(0.11)  # 0.61 s > 60 s * 0.01
    assert answer(emu).status == 200


def test_ungoverned_requests_skip_and_do_not_fill_the_windows() -> None:
    emu = Echo(clock=FakeClock(), governance=Governance(concurrency=1, windows=(Window(1, 60),)))
    assert [answer(emu, "/oauth/token").status for _ in range(5)] == [200] * 5
    assert answer(emu).status == 200
    assert answer(emu).status == 429
    assert answer(emu, "/oauth/token").status == 200


def test_disabled_governance_throttles_nothing_but_still_measures() -> None:
    gate = threading.Event()
    emu = Echo(
        clock=FakeClock(),
        gate=gate,
        governance=Governance(concurrency=1, windows=(Window(1, 60),), enabled=False),
    )
    t = threading.Thread(target=emu.handle, args=(req("/hold"),))
    t.start()
    assert emu.entered.acquire(timeout=5)
    assert answer(emu).status == 200
    assert answer(emu).status == 200
    gate.set()
    t.join()
    assert emu.stats.max_concurrent == 2
    assert emu.stats.throttled == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: Governance(concurrency=0),
        lambda: Governance(time_scale=0),
        lambda: Governance(windows=("10/s",)),  # type: ignore[arg-type]
        lambda: Window(0, 1),
        lambda: Window(1, 0),
        lambda: Latency(-1),
        lambda: Latency(jitter=float("nan")),
        lambda: Fault("explode"),
        lambda: Fault("server_error", status=42),
        lambda: FaultPlan(rates={"drop": 1.5}),
        lambda: FaultPlan(rates={"gremlins": 0.1}),
        lambda: FaultPlan(rates={"drop": 0.6, "slow": 0.6}),
        lambda: FaultPlan(script=["drop"]),  # type: ignore[list-item]
        lambda: Echo(latency=-0.1),
        lambda: Echo(faults={"drop": 1}),
        lambda: Echo(governance={"concurrency": 1}),
    ],
)
def test_bad_configuration_is_a_configuration_error(make: object) -> None:
    with pytest.raises(ConfigurationError):
        make()  # type: ignore[operator]


# -- latency -----------------------------------------------------------------------------


def test_latency_goes_through_the_clock_so_a_fake_clock_makes_it_instant() -> None:
    clock = FakeClock(0.0)
    emu = Echo(clock=clock, latency=0.25)
    started = time.monotonic()
    for _ in range(100):
        answer(emu)
    assert time.monotonic() - started < 1
    assert clock.now() == pytest.approx(25.0)


def test_jitter_and_distributions_are_seeded() -> None:
    def run(seed: int) -> list[float]:
        clock = FakeClock(0.0)
        lat = Latency(0.1, jitter=0.2, distribution=lambda r: r.expovariate(10))
        emu = Echo(clock=clock, latency=lat, seed=seed)
        times = []
        for _ in range(20):
            before = clock.now()
            answer(emu)
            times.append(clock.now() - before)
        return times

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    assert all(t >= 0.1 for t in first)
    assert max(t - 0.1 for t in first) > 0.05


def test_latency_samples_are_never_negative() -> None:
    import random

    assert Latency(distribution=lambda r: -5.0).sample(random.Random(0)) == 0.0


def test_latency_applies_to_throttled_answers_too() -> None:
    clock = FakeClock(0.0)
    emu = Echo(clock=clock, latency=1.0, governance=Governance(windows=(Window(1, 60),)))
    answer(emu)
    assert answer(emu).status == 429
    assert clock.now() == 2.0


# -- faults ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_server_error_fault_is_the_services_5xx_and_nothing_is_committed(mode: str) -> None:
    emu = Echo(clock=FakeClock())
    emu.inject("server_error", status=502)
    with reachable(emu, mode) as url:
        r = requests.post(f"{url}/v1/thing", data=b"{}")
        again = requests.post(f"{url}/v1/thing", data=b"{}")
    assert r.status_code == 502
    assert r.json() == {"error": "SERVICE_UNAVAILABLE", "status": 502}
    assert again.status_code == 201
    assert len(emu.committed) == 1
    assert emu.stats.faults_by_kind == {"server_error": 1}


@pytest.mark.parametrize("mode", MODES)
def test_throttle_fault_is_the_services_429_and_nothing_is_committed(mode: str) -> None:
    emu = Echo(clock=FakeClock())
    emu.inject("throttle", times=2)
    with reachable(emu, mode) as url:
        answers = [requests.get(f"{url}/x") for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert "<IntuitResponse>" in answers[0].text  # the subclass's own throttle body
    assert "injected" in answers[0].text
    assert len(emu.committed) == 1


@pytest.mark.parametrize("mode", MODES)
def test_drop_aborts_the_connection_before_processing(mode: str) -> None:
    emu = Echo(clock=FakeClock())
    emu.inject("drop")
    with reachable(emu, mode) as url:
        with pytest.raises(requests.exceptions.ConnectionError) as caught:
            requests.post(f"{url}/v1/thing", data=b"{}")
        assert requests.get(f"{url}/next").status_code == 200
    assert [r.path for r in emu.committed] == ["/next"]
    if mode == "inprocess":
        reason = caught.value.args[0]
        assert isinstance(reason, ProtocolError)
        assert "Connection aborted" in str(reason)


@pytest.mark.parametrize("mode", MODES)
def test_lose_response_commits_the_write_but_the_client_never_hears(mode: str) -> None:
    emu = Echo(clock=FakeClock())
    emu.inject("lose_response")
    with reachable(emu, mode) as url, requests.Session() as session:
        with pytest.raises(requests.exceptions.ConnectionError):
            session.post(f"{url}/v1/thing", data=b'{"n": 1}')
        assert session.get(f"{url}/v1/thing/1").status_code == 200
    assert [(r.method, r.text()) for r in emu.committed] == [("POST", '{"n": 1}'), ("GET", "")]


def test_lose_response_keeps_the_lost_answer_for_assertions() -> None:
    emu = Echo(clock=FakeClock())
    emu.inject("lose_response")
    result = emu.handle(req("/v1/thing", "POST"))
    assert isinstance(result, Drop)
    assert result.kind == "lose_response"
    assert result.response is not None
    assert result.response.status == 201
    dropped = Echo(clock=FakeClock())
    dropped.inject("drop")
    assert dropped.handle(req()) == Drop("drop")


@pytest.mark.parametrize("mode", MODES)
def test_slow_fault_delays_through_the_clock_then_answers(mode: str) -> None:
    clock = FakeClock(0.0)
    emu = Echo(clock=clock, latency=0.1)
    emu.inject("slow", delay=30.0)
    with reachable(emu, mode) as url:
        assert requests.get(f"{url}/x").status_code == 200
    assert clock.now() == pytest.approx(30.1)
    assert len(emu.committed) == 1


def test_inject_matches_only_the_requests_it_names_in_order() -> None:
    emu = Echo(clock=FakeClock())
    emu.inject("server_error", status=500, match=lambda r: r.method == "POST")
    emu.inject("throttle", match=lambda r: r.method == "POST")
    emu.inject("server_error", status=503, match=lambda r: r.path == "/special")
    assert emu.faults.pending == 3
    assert answer(emu).status == 200
    assert answer(emu, "/special").status == 503
    assert answer(emu, "/v1/thing", "POST").status == 500
    assert answer(emu, "/v1/thing", "POST").status == 429
    assert answer(emu, "/v1/thing", "POST").status == 201
    assert emu.faults.pending == 0
    with pytest.raises(ConfigurationError):
        emu.inject("drop", times=0)
    with pytest.raises(ConfigurationError):
        emu.inject("gremlins")


def test_a_script_is_consumed_in_order_with_none_as_a_clean_pass() -> None:
    plan = FaultPlan(
        script=[Fault("server_error"), None, Fault("throttle")],
        match=lambda r: r.method == "POST",
    )
    emu = Echo(clock=FakeClock(), faults=plan)
    assert answer(emu).status == 200  # not a POST: script untouched
    statuses = [answer(emu, "/w", "POST").status for _ in range(4)]
    assert statuses == [503, 201, 429, 201]


def _rate_run(seed: int, n: int = 300) -> list[str]:
    emu = Echo(
        clock=FakeClock(),
        faults=FaultPlan(seed=seed, rates={"server_error": 0.2, "drop": 0.1, "slow": 0.1}),
    )
    outcomes = []
    for _ in range(n):
        result = emu.handle(req())
        outcomes.append("drop" if isinstance(result, Drop) else str(result.status))
    return outcomes


def test_seeded_rates_repeat_exactly_and_roughly_honour_the_rates() -> None:
    first = _rate_run(42)
    assert first == _rate_run(42)
    assert first != _rate_run(43)
    assert 30 <= first.count("503") <= 90  # 20 % of 300
    assert 10 <= first.count("drop") <= 50  # 10 %


def test_rates_apply_only_to_matching_requests_and_slow_uses_slow_delay() -> None:
    clock = FakeClock(0.0)
    plan = FaultPlan(rates={"slow": 1.0}, match=lambda r: r.method == "POST", slow_delay=2.0)
    emu = Echo(clock=clock, faults=plan)
    answer(emu)
    assert clock.now() == 0.0
    answer(emu, "/w", "POST")
    assert clock.now() == 2.0
    assert emu.stats.faults_by_kind == {"slow": 1}


# -- counters and reset ------------------------------------------------------------------


def test_stats_count_requests_dispatches_throttles_and_faults() -> None:
    emu = Echo(clock=FakeClock(), governance=Governance(windows=(Window(3, 60),)))
    emu.inject("drop")
    emu.inject("server_error")
    for _ in range(5):
        emu.handle(req())
    stats = emu.stats
    assert stats.requests == 5
    assert stats.faults == 2
    assert dict(stats.faults_by_kind) == {"drop": 1, "server_error": 1}
    assert stats.dispatched == 1
    assert stats.throttled == 2
    assert stats.max_concurrent == 1


def test_reset_runtime_makes_the_emulator_behave_as_new() -> None:
    clock = FakeClock(0.0)
    plan = FaultPlan(seed=3, rates={"server_error": 0.5}, script=[Fault("throttle")])
    emu = Echo(
        clock=clock,
        latency=Latency(jitter=1.0),
        faults=plan,
        governance=Governance(windows=(Window(50, 3600),)),
    )

    def run() -> tuple[list[int], float]:
        start = clock.now()
        return [answer(emu).status for _ in range(60)], clock.now() - start

    first = run()
    emu.inject("drop", times=5)
    assert emu.stats.requests == 60
    emu.reset_runtime()
    assert emu.stats.requests == 0
    assert emu.faults.pending == 1  # the constructor's script re-armed, injections gone
    assert run() == first
    assert first[0][0] == 429
    assert first[0].count(429) > 1  # window exhausted too


def test_drop_repr_and_fault_plan_repr_hold_no_surprises() -> None:
    assert "pending=0" in repr(FaultPlan())
    assert repr(SystemClock()) == "SystemClock(time_scale=1.0)"
    assert "2026-11-01" in repr(FakeClock())


def test_serve_beyond_loopback_only_when_asked_and_with_a_warning(caplog) -> None:
    emu = Echo(clock=FakeClock())
    with pytest.raises(ConfigurationError, match="allow_remote"):
        emu.serve(host="0.0.0.0")
    with caplog.at_level("WARNING", logger="erpsync.testing"):
        url = emu.serve(host="0.0.0.0", allow_remote=True)
    try:
        assert url.startswith("http://127.0.0.1:")  # a wildcard bind, reached locally
        assert requests.get(f"{url}/wide").json()["path"] == "/wide"
        assert any("beyond loopback" in r.getMessage() for r in caplog.records)
    finally:
        emu.shutdown()
    with pytest.raises(ConfigurationError, match="loopback"):
        emu.serve(host="example.com", allow_remote=True)  # names are refused: bind an address
