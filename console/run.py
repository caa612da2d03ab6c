"""Serve the console with uvicorn: HTTP on 127.0.0.1 unless told otherwise, HTTPS with the
same TLS settings as `recsys serve` (RECSYS_TLS_CERT_FILE/KEY_FILE; a client CA = mutual TLS)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

import grpc
import uvicorn

from console.app import build_app
from console.backend import Backend
from recsys.settings import Settings
from serving.transport.tls import server_credentials


@dataclass(frozen=True)
class Where:
    """Where the console listens and which server it calls."""

    host: str
    port: int
    server: str
    credentials: grpc.ChannelCredentials | None = None  # to the gRPC server; None = plaintext


def tls_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's TLS options from the settings ({} = plain HTTP).

    The files are checked as `recsys serve` checks them (TlsConfigError names a bad one).
    """
    if server_credentials(settings) is None:
        return {}
    options: dict[str, Any] = {
        "ssl_certfile": str(settings.tls_cert_file),
        "ssl_keyfile": str(settings.tls_key_file),
    }
    if settings.tls_client_ca_file is not None:
        options["ssl_ca_certs"] = str(settings.tls_client_ca_file)
        options["ssl_cert_reqs"] = ssl.CERT_REQUIRED
    return options


def url(where: Where, tls: bool) -> str:
    """The address to open in a browser."""
    host = "127.0.0.1" if where.host in ("0.0.0.0", "") else where.host
    return f"{'https' if tls else 'http'}://{host}:{where.port}/"


def serve(where: Where, settings: Settings) -> None:
    """Run until Ctrl-C / SIGTERM."""
    tls = tls_options(settings)
    app = build_app(Backend(where.server, where.credentials), settings.console, secure=bool(tls))
    config = uvicorn.Config(
        app,
        host=where.host,
        port=where.port,
        log_level="warning",
        proxy_headers=False,  # client addresses (the sign-in limit) are the socket's own
        server_header=False,
        **tls,
    )
    uvicorn.Server(config).run()
