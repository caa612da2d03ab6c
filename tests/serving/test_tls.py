"""TLS and mutual TLS from settings, on a real server with generated certificates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from typer.testing import CliRunner

from recsys.stores.sql_events import SqlEventStore
from recsys.stores.sql_keys import open_key_store
from recsys_cli.main import app
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from serving.models.holder import ModelHolder
from serving.transport.server import build_server
from serving.transport.tls import TlsConfigError, channel_credentials, server_credentials
from tests.security.certs import Certs, make_certs
from tests.serving.trained import Trained

RECOMMEND = pb.RecommendRequest(customer_id="C1", channel="web")
runner = CliRunner()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


def serving(model: Trained, store: SqlEventStore, **tls: object) -> Iterator[int]:
    settings = model.settings.model_copy(update=tls)
    holder = ModelHolder()
    holder.swap(model.loaded)
    server, port = build_server(settings, holder=holder, store=store)
    server.start()
    try:
        yield port
    finally:
        server.stop(None)


@pytest.fixture(scope="module")
def tls_port(model: Trained, store: SqlEventStore, certs: Certs) -> Iterator[int]:
    yield from serving(model, store, tls_cert_file=certs.server.cert, tls_key_file=certs.server.key)


@pytest.fixture(scope="module")
def mtls_port(model: Trained, store: SqlEventStore, certs: Certs) -> Iterator[int]:
    yield from serving(
        model,
        store,
        tls_cert_file=certs.server.cert,
        tls_key_file=certs.server.key,
        tls_client_ca_file=certs.ca,
        auth_required=True,
    )


def recommend(port: int, credentials: grpc.ChannelCredentials | None, **kw: object) -> object:
    target = f"localhost:{port}"
    channel = (
        grpc.insecure_channel(target)
        if credentials is None
        else grpc.secure_channel(target, credentials)
    )
    with channel:
        return pb_grpc.RecommendationServiceStub(channel).Recommend(RECOMMEND, timeout=10, **kw)


def test_tls_answers_a_client_that_trusts_the_ca(tls_port: int, certs: Certs) -> None:
    out = recommend(tls_port, channel_credentials(certs.ca))
    assert out.items  # type: ignore[attr-defined]


def test_tls_refuses_plaintext_and_an_untrusting_client(tls_port: int, certs: Certs) -> None:
    with pytest.raises(grpc.RpcError) as plain:
        recommend(tls_port, None)
    assert plain.value.code() == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.RpcError) as untrusted:  # system roots do not know the test CA
        recommend(tls_port, channel_credentials())
    assert untrusted.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mtls_answers_a_client_with_a_certificate_and_a_key(
    mtls_port: int, certs: Certs, model: Trained
) -> None:
    keys = open_key_store(model.settings.resolved_database_url)
    _, key = keys.create(f"mtls-app-{mtls_port}", "channel")
    keys.close()
    credentials = channel_credentials(certs.ca, certs.client.cert, certs.client.key)
    out = recommend(mtls_port, credentials, metadata=(("authorization", f"Bearer {key}"),))
    assert out.items  # type: ignore[attr-defined]
    with pytest.raises(grpc.RpcError) as no_key:  # TLS does not replace the API key
        recommend(mtls_port, credentials)
    assert no_key.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_mtls_refuses_clients_without_a_trusted_certificate(mtls_port: int, certs: Certs) -> None:
    for credentials in (
        channel_credentials(certs.ca),  # no client certificate
        channel_credentials(certs.ca, certs.stranger.cert, certs.stranger.key),  # unknown CA
    ):
        with pytest.raises(grpc.RpcError) as info:
            recommend(mtls_port, credentials)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_the_cli_talks_to_a_server_with_mtls_and_auth(
    mtls_port: int, certs: Certs, model: Trained
) -> None:
    keys = open_key_store(model.settings.resolved_database_url)
    _, key = keys.create(f"cli-{mtls_port}", "channel")
    keys.close()
    tls = [
        "--tls-ca",
        str(certs.ca),
        "--tls-cert",
        str(certs.client.cert),
        "--tls-key",
        str(certs.client.key),
    ]
    args = ["recommend", "C1", "--server", f"localhost:{mtls_port}", *tls]
    result = runner.invoke(app, [*args, "--api-key", key])
    assert result.exit_code == 0, result.output
    assert "C1 on mobile (model v1)" in result.output
    from_env = runner.invoke(app, args, env={"RECSYS_API_KEY": key})
    assert from_env.exit_code == 0, from_env.output
    no_key = runner.invoke(app, args, env={"RECSYS_API_KEY": ""})
    assert no_key.exit_code == 2 and "UNAUTHENTICATED" in no_key.output
    assert "--api-key" in no_key.output
    half = runner.invoke(app, ["recommend", "C1", "--tls-cert", str(certs.client.cert)])
    assert half.exit_code == 2 and "--tls-key" in half.output


# --- start-up errors name the file -----------------------------------------------------------
def settings_with(model: Trained, **tls: object) -> object:
    return model.settings.model_copy(update=tls)


def test_no_tls_settings_mean_plaintext(model: Trained) -> None:
    assert server_credentials(model.settings) is None


def test_a_missing_file_is_named(model: Trained, certs: Certs, tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    settings = settings_with(model, tls_cert_file=missing, tls_key_file=certs.server.key)
    with pytest.raises(TlsConfigError, match=rf"RECSYS_TLS_CERT_FILE={missing}: cannot read"):
        server_credentials(settings)  # type: ignore[arg-type]


def test_a_file_that_is_not_pem_is_named(model: Trained, certs: Certs, tmp_path: Path) -> None:
    junk = tmp_path / "junk.key"
    junk.write_text("hello")
    settings = settings_with(model, tls_cert_file=certs.server.cert, tls_key_file=junk)
    with pytest.raises(TlsConfigError, match=rf"RECSYS_TLS_KEY_FILE={junk}: not a PEM file"):
        server_credentials(settings)  # type: ignore[arg-type]


def test_a_key_of_another_certificate_is_refused_at_build(
    model: Trained, store: SqlEventStore, certs: Certs
) -> None:
    settings = settings_with(model, tls_cert_file=certs.server.cert, tls_key_file=certs.client.key)
    with pytest.raises(TlsConfigError) as info:
        build_server(settings, store=store)  # type: ignore[arg-type]
    message = str(info.value)
    assert str(certs.server.cert) in message and str(certs.client.key) in message
    assert "matching" in message


def test_a_bad_client_ca_is_named(model: Trained, certs: Certs, tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n")
    settings = settings_with(
        model,
        tls_cert_file=certs.server.cert,
        tls_key_file=certs.server.key,
        tls_client_ca_file=bad,
    )
    with pytest.raises(TlsConfigError, match=rf"RECSYS_TLS_CLIENT_CA_FILE={bad}: not a usable"):
        server_credentials(settings)  # type: ignore[arg-type]


def test_half_configurations_are_refused(model: Trained, certs: Certs) -> None:
    with pytest.raises(TlsConfigError, match="RECSYS_TLS_KEY_FILE is not set"):
        server_credentials(settings_with(model, tls_cert_file=certs.server.cert))  # type: ignore[arg-type]
    with pytest.raises(TlsConfigError, match="mutual TLS needs the server's own certificate"):
        server_credentials(settings_with(model, tls_client_ca_file=certs.ca))  # type: ignore[arg-type]
