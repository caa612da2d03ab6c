"""A hostile HTTP/2 client in plain sockets: opens gRPC calls and never reads their answers.

It announces a receive window of 0, so the server may send headers but no DATA: every answer
it computes has to wait on the server. It acknowledges SETTINGS and PING (a peer that does not
is dropped, which would end the attack early) and ignores the server's stream limit, as an
attacker would. Used by the slow-client test (tests/serving/test_slow_client.py) and
bench/slow_client.py. Only what a unary gRPC call needs of HTTP/2 and HPACK is here.
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass, field

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
SETTINGS_ENABLE_PUSH, SETTINGS_INITIAL_WINDOW_SIZE = 0x2, 0x4
DEFAULT_WINDOW = 65_535


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    """One HTTP/2 frame."""
    return (
        struct.pack(">I", len(payload))[1:]
        + bytes([kind, flags])
        + struct.pack(">I", stream)
        + payload
    )


def _integer(value: int, prefix_bits: int) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([value])
    out, value = [limit], value - limit
    while value >= 128:
        out.append((value % 128) + 128)
        value //= 128
    return bytes([*out, value])


def _string(text: str) -> bytes:
    raw = text.encode()
    return _integer(len(raw), 7) + raw  # no Huffman coding


def header_block(headers: list[tuple[str, str]]) -> bytes:
    """HPACK: every header a literal without indexing, with a new name (no table state)."""
    return b"".join(b"\x00" + _string(name) + _string(value) for name, value in headers)


@dataclass
class Tally:
    """What the server did with the streams: ended (trailers or reset) or still waiting."""

    headers: set[int] = field(default_factory=set)  # streams that got (initial) headers
    ended: set[int] = field(default_factory=set)  # trailers-only answers and resets
    reset: set[int] = field(default_factory=set)
    goaway: bool = False
    data_bytes: int = 0


class SlowClient:
    """One connection that sends unary gRPC calls and never opens its receive window."""

    def __init__(self, host: str, port: int, metadata: list[tuple[str, str]] = ()) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.authority = f"{host}:{port}"
        self.metadata = list(metadata)
        self.tally = Tally()
        self._send_lock = threading.Lock()
        self._window = threading.Condition()
        self._connection_window = DEFAULT_WINDOW
        self._next_stream = 1
        settings = struct.pack(">HI", SETTINGS_ENABLE_PUSH, 0)
        settings += struct.pack(">HI", SETTINGS_INITIAL_WINDOW_SIZE, 0)
        self._send(PREFACE + frame(SETTINGS, 0, 0, settings))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def call(self, path: str, message: bytes) -> int:
        """Open a stream calling `path` with one serialized request; its stream id."""
        stream, self._next_stream = self._next_stream, self._next_stream + 2
        headers = [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", self.authority),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            *self.metadata,
        ]
        body = b"\x00" + struct.pack(">I", len(message)) + message
        with self._window:
            self._window.wait_for(lambda: self._connection_window >= len(body), timeout=30)
            self._connection_window -= len(body)
        self._send(
            frame(HEADERS, END_HEADERS, stream, header_block(headers))
            + frame(DATA, END_STREAM, stream, body)
        )
        return stream

    def close(self) -> None:
        """Drop the connection (the server then cancels what waits)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _send(self, data: bytes) -> None:
        with self._send_lock:
            self.sock.sendall(data)

    def _read(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    return
                buffer += chunk
                while len(buffer) >= 9:
                    length = int.from_bytes(buffer[:3], "big")
                    if len(buffer) < 9 + length:
                        break
                    kind, flags = buffer[3], buffer[4]
                    stream = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
                    payload, buffer = buffer[9 : 9 + length], buffer[9 + length :]
                    self._on_frame(kind, flags, stream, payload)
        except OSError:
            return

    def _on_frame(self, kind: int, flags: int, stream: int, payload: bytes) -> None:
        t = self.tally
        if kind == SETTINGS and not flags & ACK:
            self._send(frame(SETTINGS, ACK, 0))
        elif kind == PING and not flags & ACK:
            self._send(frame(PING, ACK, 0, payload))
        elif kind == WINDOW_UPDATE and stream == 0:
            with self._window:
                self._connection_window += int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
                self._window.notify_all()
        elif kind == HEADERS:
            t.headers.add(stream)
            if flags & END_STREAM:
                t.ended.add(stream)
        elif kind == RST_STREAM:
            t.reset.add(stream)
            t.ended.add(stream)
        elif kind == DATA:
            t.data_bytes += len(payload)
        elif kind == GOAWAY:
            t.goaway = True
