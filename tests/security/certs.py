"""Test certificates made on the spot: a CA, a server certificate for localhost/127.0.0.1, and
client certificates signed by that CA or by a stranger CA (EC P-256: fast to generate)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pair:
    """A certificate file and its private key file (PEM)."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class Certs:
    """Everything a TLS test needs, written under one folder."""

    ca: Path  # the CA certificate that signed server and client
    server: Pair
    client: Pair
    stranger: Pair  # a client certificate from a CA the server does not trust


def make_certs(folder: Path) -> Certs:
    """Write a CA, a server pair, a client pair and a stranger client pair under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _ca("recsys test CA")
    other_key, other_cert = _ca("someone else's CA")
    server = _leaf("localhost", ca_key, ca_cert, server=True)
    client = _leaf("channel-app", ca_key, ca_cert, server=False)
    stranger = _leaf("intruder", other_key, other_cert, server=False)
    ca_path = _write(folder / "ca.pem", _pem_cert(ca_cert))
    return Certs(
        ca_path,
        _write_pair(folder, "server", *server),
        _write_pair(folder, "client", *client),
        _write_pair(folder, "stranger", *stranger),
    )


def _ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        _builder(subject, subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    name: str, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, *, server: bool
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(subject, ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if server:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _builder(subject: x509.Name, issuer: x509.Name, public_key: object) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_pair(
    folder: Path, name: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
) -> Pair:
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Pair(
        _write(folder / f"{name}.pem", _pem_cert(cert)), _write(folder / f"{name}.key", key_pem)
    )


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
