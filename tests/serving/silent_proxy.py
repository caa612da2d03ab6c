"""A TCP proxy that can go silent: bytes are held, connections stay open, nothing is refused.

That is how a network partition or a stalled database looks to a client: no error, no answer.
"""

from __future__ import annotations

import socket
import threading
import time

HOLD_POLL_S = 0.02


class SilentProxy:
    """Forwards 127.0.0.1:`port` to `target`; `silent` holds every byte until it is cleared."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.silent = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, name="silent-proxy", daemon=True).start()

    def close(self) -> None:
        """Stop forwarding and close every connection."""
        self.silent.clear()
        for s in self._sockets:
            s.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            while self.silent.is_set():  # a new connection hangs too
                time.sleep(HOLD_POLL_S)
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self.silent.is_set():
                    time.sleep(HOLD_POLL_S)
                sink.sendall(data)
        except OSError:
            pass  # closed
