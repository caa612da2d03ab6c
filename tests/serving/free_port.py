"""A TCP port nobody listens on right now (for servers started in subprocesses)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """Bind port 0, note the port the OS gave, release it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
