"""Kafka TLS / SASL_SSL settings reach every client: kafka-python, aiokafka, and the faust worker's aiokafka driver."""
from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import SecretStr

from runtime.kafka import aiokafka_config, client_config
from runtime.settings import Settings
from streams.app import faust_options

PASSWORD = "kafka-Secr3t-for-tests"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and key (CN=drive) made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI needed to make a client certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "client.pem", folder / "client.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=drive",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(kafka_bootstrap="kafka-1.example.internal:9093", embedded_profile=False, data_dir=tmp_path,
                    **values)


def _worker_auth(settings: Settings, tmp_path: Path) -> dict[str, Any]:
    """What faust's aiokafka driver passes to its consumers and producers for these settings."""
    return dict(credentials_to_aiokafka_auth(faust_options(settings, tmp_path).get("broker_credentials")))


def test_mutual_tls_reaches_the_worker_with_the_client_certificate(tmp_path: Path,
                                                                    certificate: tuple[Path, Path]) -> None:
    """SSL with a client certificate: the worker's aiokafka clients get SSL and a verifying context with the CA."""
    cert, key = certificate
    settings = _settings(tmp_path, kafka_security_protocol="SSL", kafka_ssl_cafile=cert, kafka_ssl_certfile=cert,
                         kafka_ssl_keyfile=key)
    auth = _worker_auth(settings, tmp_path)
    assert isinstance(faust_options(settings, tmp_path)["broker_credentials"], faust.SSLCredentials)
    assert auth["security_protocol"] == "SSL"
    context = auth["ssl_context"]
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert any(c["subject"] == ((("commonName", "drive"),),) for c in context.get_ca_certs())
    python_side = client_config(settings)
    assert (python_side["security_protocol"], python_side["ssl_certfile"], python_side["ssl_keyfile"]) == (
        "SSL", str(cert), str(key))


def test_sasl_ssl_reaches_the_worker_with_scram_and_tls(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    """SASL_SSL + SCRAM-SHA-512: the worker's clients get the user, the secret's value and a TLS context."""
    cert, _ = certificate
    settings = _settings(tmp_path, kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
                         kafka_sasl_username="drive-worker", kafka_sasl_password=SecretStr(PASSWORD),
                         kafka_ssl_cafile=cert)
    auth = _worker_auth(settings, tmp_path)
    assert (auth["security_protocol"], auth["sasl_mechanism"], auth["sasl_plain_username"],
            auth["sasl_plain_password"]) == ("SASL_SSL", "SCRAM-SHA-512", "drive-worker", PASSWORD)
    assert isinstance(auth["ssl_context"], ssl.SSLContext)
    for config in (client_config(settings), aiokafka_config(settings)):
        assert (config["security_protocol"], config["sasl_mechanism"], config["sasl_plain_username"]) == (
            "SASL_SSL", "SCRAM-SHA-512", "drive-worker")
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings.model_dump())


def test_plaintext_worker_sends_no_credentials(tmp_path: Path) -> None:
    """PLAINTEXT (the embedded default): no credentials and no TLS on the worker's clients."""
    settings = _settings(tmp_path)
    assert "broker_credentials" not in faust_options(settings, tmp_path)
    assert _worker_auth(settings, tmp_path) == {"security_protocol": "PLAINTEXT"}


def test_hostname_check_can_only_be_turned_off_explicitly(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    """DRIVE_KAFKA_SSL_CHECK_HOSTNAME=false is honoured by the worker; it defaults to on."""
    cert, _ = certificate
    settings = _settings(tmp_path, kafka_security_protocol="SSL", kafka_ssl_cafile=cert,
                         kafka_ssl_check_hostname=False)
    assert _worker_auth(settings, tmp_path)["ssl_context"].check_hostname is False
