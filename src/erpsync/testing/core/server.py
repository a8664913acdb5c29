"""The HTTP server that :meth:`Emulator.serve` starts: loopback addresses only unless the
caller opts in (``allow_remote=True``, ``erpsync sandbox --host``), because the emulators
check credentials but are not hardened servers. Loopback is
:func:`erpsync.transport.is_loopback`'s definition, the one the clients use.
"""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import logging
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from erpsync._redact import redact
from erpsync.errors import ConfigurationError
from erpsync.testing.core.faults import Drop
from erpsync.testing.core.wire import WireRequest, WireResponse
from erpsync.transport.urls import is_loopback

if TYPE_CHECKING:
    from erpsync.testing.core.emulator import Emulator

_log = logging.getLogger("erpsync.testing")


def bind_address(host: str, *, allow_remote: bool = False) -> str:
    """The address to bind for ``host``.

    Loopback (``localhost``, ``127.0.0.0/8``, ``::1``) always; any other IP address only
    with ``allow_remote`` (and then with a warning: anyone who can reach the port can use
    the emulator's printed, made-up credentials). Host names other than ``localhost``
    are refused: bind to an address.
    """
    text = str(host).strip("[]")
    if is_loopback(text):
        return "127.0.0.1" if text.lower() == "localhost" else str(ipaddress.ip_address(text))
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        address = None
    if address is None or not allow_remote:
        raise ConfigurationError(
            f"the emulators serve only on a loopback address (127.0.0.1, ::1), not {host!r}",
            hint="they are test doubles, not hardened servers; pass allow_remote=True "
            "(erpsync sandbox --host ADDR) to bind an IP address beyond loopback",
        )
    _log.warning(
        "serving an emulator beyond loopback on %s: anyone who can reach this port can use "
        "it with its made-up credentials (it is a test double, not a hardened server)",
        address,
    )
    return str(address)


def local_url(address: str, port: int) -> str:
    """The base URL this process reaches a server bound to ``address`` at (a wildcard
    bind such as ``0.0.0.0`` is reached through loopback)."""
    parsed = ipaddress.ip_address(address)
    if parsed.is_unspecified:
        address = "::1" if parsed.version == 6 else "127.0.0.1"
    shown = f"[{address}]" if ":" in address else address
    return f"http://{shown}:{port}"


def start_server(emulator: Emulator, address: str, port: int) -> tuple[_Server, threading.Thread]:
    """Bind ``address:port`` and serve ``emulator`` on a daemon thread."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigurationError(f"port must be an integer in [0, 65535], not {port!r}")
    server_cls = _Server6 if ":" in address else _Server
    try:
        server = server_cls((address, port), _Handler)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot serve the {emulator.service_name} emulator on {address}:{port}: {exc}"
        ) from exc
    server.emulator = emulator
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"{emulator.service_name}-emulator:{server.server_address[1]}",
        daemon=True,
    )
    thread.start()
    return server, thread


def stop_server(server: _Server, thread: threading.Thread | None) -> None:
    """Stop serving and close every open connection (a pooled keep-alive connection
    must not keep reaching a stopped emulator)."""
    server.stopping = True
    server.shutdown()
    server.close_connections()
    server.server_close()
    if thread is not None:
        thread.join(timeout=5)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    emulator: Emulator
    stopping = False

    def __init__(self, address: tuple[str, int], handler: type[_Handler]) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def track(self, sock: socket.socket, open_: bool) -> None:
        with self._open_lock:
            if open_:
                self._open.add(sock)
            else:
                self._open.discard(sock)

    def close_connections(self) -> None:
        with self._open_lock:
            open_socks = list(self._open)
            self._open.clear()
        for sock in open_socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-request is routine for a fault-injecting server.
        _log.debug("emulator connection from %s ended with an error", client_address, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


_HOP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


#: The largest request body the loopback server reads (a bigger one is answered 413
#: unread rather than buffered: the real services refuse far smaller bodies).
MAX_BODY_BYTES = 64 * 1024 * 1024


class _BodyTooLarge(Exception):
    pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    _headers_buffer: list[bytes]
    arrived: float | None = None

    def setup(self) -> None:
        super().setup()
        # Small answers written as headers then body would otherwise meet the client's
        # delayed ACK (Nagle): ~40 ms per request on loopback.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def parse_request(self) -> bool:
        # Called as soon as the request line has arrived: the emulator's latency counts
        # from here (headers and body parsing are the service's time, not extra).
        self.arrived = time.perf_counter()
        return super().parse_request()

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s %s", self.address_string(), redact(format % args))

    def _serve_one(self) -> None:
        if self.server.stopping:  # raced with shutdown(): behave as a closed server
            self.close_connection = True
            return
        try:
            body = self._read_body()
        except _BodyTooLarge:
            self.close_connection = True
            self._write(WireResponse.text(413, "Request body too large."))
            return
        except (ValueError, OSError):
            self.close_connection = True
            self._write(WireResponse.text(400, "Malformed request body."))
            return
        host = self.headers.get("Host") or _host_port(self.server.server_address)
        url = self.path if "://" in self.path else f"http://{host}{self.path}"
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        request = WireRequest.build(self.command, url, headers, body, arrived=self.arrived)
        result = self.server.emulator.handle(request)
        if isinstance(result, Drop):
            # Close without a byte of answer: the client sees the connection aborted.
            self.close_connection = True
            return
        self._write(result)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"x", 16)
                total += size
                if total > MAX_BODY_BYTES:
                    raise _BodyTooLarge
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_BODY_BYTES:
            raise _BodyTooLarge
        return self.rfile.read(length) if length else b""

    def _write(self, response: WireResponse) -> None:
        self.send_response_only(response.status)
        for name, value in response.headers.items():
            if name.lower() not in _HOP_HEADERS:
                self.send_header(name, value)
        no_body = response.status in (204, 304) or response.status < 200
        if not no_body:
            self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD" and not no_body and response.body:
            self._headers_buffer.append(response.body)
        # One write for status line, headers and body.
        self.wfile.write(b"".join(self._headers_buffer))
        self._headers_buffer = []
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve_one


def _host_port(address: Any) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
