"""TLS and mutual TLS: server credentials from settings, channel credentials for clients.

Files are read and checked when the server is built, so a wrong path or a certificate that
does not match its key stops start-up with a message naming the file, instead of surfacing
later as failed handshakes.
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import grpc

from recsys.settings import Settings

log = logging.getLogger(__name__)
CERT_ENV = "RECSYS_TLS_CERT_FILE"
KEY_ENV = "RECSYS_TLS_KEY_FILE"
CLIENT_CA_ENV = "RECSYS_TLS_CLIENT_CA_FILE"


class TlsConfigError(ValueError):
    """A TLS file is missing, unreadable, not PEM, or does not fit with the others."""


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """Credentials for `add_secure_port`, or None when no certificate is configured (plaintext).

    With `tls_client_ca_file` set, clients must present a certificate signed by that CA (mTLS).
    """
    cert_file, key_file, ca_file = (
        settings.tls_cert_file,
        settings.tls_key_file,
        settings.tls_client_ca_file,
    )
    if cert_file is None and key_file is None:
        if ca_file is not None:
            raise TlsConfigError(
                f"{CLIENT_CA_ENV} is set but {CERT_ENV} and {KEY_ENV} are not: mutual TLS "
                "needs the server's own certificate and key"
            )
        return None
    if cert_file is None or key_file is None:
        missing = CERT_ENV if cert_file is None else KEY_ENV
        raise TlsConfigError(f"TLS needs both {CERT_ENV} and {KEY_ENV}; {missing} is not set")
    cert = read_pem(cert_file, CERT_ENV, "CERTIFICATE")
    key = read_pem(key_file, KEY_ENV, "PRIVATE KEY")
    check_pair(cert_file, key_file)
    client_ca = None
    if ca_file is not None:
        client_ca = read_pem(ca_file, CLIENT_CA_ENV, "CERTIFICATE")
        check_ca(ca_file, CLIENT_CA_ENV)
    log.info("TLS on%s", " with client certificates required (mTLS)" if client_ca else "")
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def channel_credentials(
    ca_file: Path | None = None, cert_file: Path | None = None, key_file: Path | None = None
) -> grpc.ChannelCredentials:
    """Client credentials: trust `ca_file` (system roots when None); cert + key for mTLS."""
    if (cert_file is None) != (key_file is None):
        raise TlsConfigError("a client certificate needs both --tls-cert and --tls-key")
    ca = read_pem(ca_file, "--tls-ca", "CERTIFICATE") if ca_file is not None else None
    cert = read_pem(cert_file, "--tls-cert", "CERTIFICATE") if cert_file is not None else None
    key = read_pem(key_file, "--tls-key", "PRIVATE KEY") if key_file is not None else None
    if cert_file is not None and key_file is not None:
        check_pair(cert_file, key_file, "--tls-cert", "--tls-key")
    return grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert
    )


def read_pem(path: Path, source: str, kind: str) -> bytes:
    """The bytes of PEM file `path` holding a `kind` block; TlsConfigError naming file + source."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TlsConfigError(f"{source}={path}: cannot read: {exc.strerror or exc}") from exc
    if b"-----BEGIN " not in data or kind.encode() + b"-----" not in data:
        raise TlsConfigError(f"{source}={path}: not a PEM file holding a {kind}")
    return data


def check_pair(
    cert_file: Path, key_file: Path, cert_source: str = CERT_ENV, key_source: str = KEY_ENV
) -> None:
    """TlsConfigError unless the certificate chain parses and matches the private key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(cert_file), str(key_file), password=_no_password)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise TlsConfigError(
            f"{cert_source}={cert_file} and {key_source}={key_file}: not a usable certificate "
            f"and matching unencrypted private key ({_reason(exc)})"
        ) from exc


def check_ca(ca_file: Path, source: str) -> None:
    """TlsConfigError unless `ca_file` holds certificates OpenSSL can load."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_verify_locations(cafile=str(ca_file))
    except (ssl.SSLError, OSError) as exc:
        raise TlsConfigError(f"{source}={ca_file}: not a usable CA file ({_reason(exc)})") from exc


def _no_password() -> str:
    # gRPC cannot use an encrypted key; without this OpenSSL would prompt on the terminal
    raise ValueError("the private key is encrypted; gRPC needs an unencrypted key")


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "reason", None) or exc)
