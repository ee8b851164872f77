"""Kafka client configs built from Settings: protocols, secrets, and the embedded-profile workarounds."""
from __future__ import annotations

import io
import logging
import shutil
import ssl
import subprocess

import pytest
from pydantic import SecretStr

from runtime import kafka as factory
from runtime.settings import Settings

PASSWORD = "s3cret-Hunter2-pw"


def _settings(**values) -> Settings:
    return Settings(kafka_bootstrap="k1:9093,k2:9093", **values)


def test_plaintext_config_has_no_tls_or_sasl():
    """PLAINTEXT gives bootstrap list, client id and protocol only."""
    config = factory.client_config(_settings())
    assert config == {"bootstrap_servers": ["k1:9093", "k2:9093"], "client_id": "drive-alerts",
                      "security_protocol": "PLAINTEXT"}


def test_ssl_config_names_files_and_hostname_check(tmp_path):
    """SSL passes the CA, client certificate and key paths and the hostname check in kafka-python names."""
    config = factory.client_config(_settings(
        kafka_security_protocol="SSL", kafka_ssl_cafile=tmp_path / "ca.pem", kafka_ssl_certfile=tmp_path / "c.pem",
        kafka_ssl_keyfile=tmp_path / "k.pem", kafka_ssl_check_hostname=False))
    assert config["security_protocol"] == "SSL"
    assert config["ssl_cafile"] == str(tmp_path / "ca.pem")
    assert config["ssl_certfile"] == str(tmp_path / "c.pem")
    assert config["ssl_keyfile"] == str(tmp_path / "k.pem")
    assert config["ssl_check_hostname"] is False
    assert "sasl_plain_password" not in config


def test_sasl_ssl_config_passes_the_secret_value():
    """SASL_SSL hands the clients the real password taken out of its SecretStr."""
    config = factory.client_config(_settings(
        kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="drive", kafka_sasl_password=SecretStr(PASSWORD)))
    assert config["sasl_mechanism"] == "SCRAM-SHA-256"
    assert config["sasl_plain_username"] == "drive"
    assert config["sasl_plain_password"] == PASSWORD
    assert config["ssl_check_hostname"] is True


def test_aiokafka_config_builds_an_ssl_context(tmp_path):
    """aiokafka gets an SSLContext (CA and client certificate loaded) and the SASL fields in its names."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI needed to make a client certificate")
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=drive",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    config = factory.aiokafka_config(_settings(
        kafka_security_protocol="SASL_SSL", kafka_ssl_cafile=cert, kafka_ssl_certfile=cert, kafka_ssl_keyfile=key,
        kafka_ssl_check_hostname=False, kafka_sasl_mechanism="PLAIN", kafka_sasl_username="u",
        kafka_sasl_password=SecretStr(PASSWORD)))
    context = config["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname is False
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert any(c["subject"] == ((("commonName", "drive"),),) for c in context.get_ca_certs())
    assert config["sasl_plain_password"] == PASSWORD
    assert "ssl_cafile" not in config


def test_resolve_bootstrap_requires_a_configured_cluster():
    """Without a bootstrap the factory refuses and points at broker_for."""
    with pytest.raises(factory.BootstrapMissing, match="broker_for"):
        factory.client_config(Settings(kafka_bootstrap=None))


def test_with_bootstrap_keeps_the_embedded_profile():
    """Binding an embedded broker's address keeps the Tansu workarounds switched on."""
    embedded_default = Settings(kafka_bootstrap=None)
    bound = factory.with_bootstrap(embedded_default, "127.0.0.1:1234")
    assert bound.kafka_bootstrap == "127.0.0.1:1234"
    assert bound.embedded_workarounds is True
    assert Settings(kafka_bootstrap="127.0.0.1:1234").embedded_workarounds is False


def test_producer_is_idempotent_with_acks_all():
    """Producers are idempotent, acks=all, uncompressed, with the configured linger; overrides win."""
    config = factory.producer_config(_settings(producer_linger_ms=7), client_id="x")
    assert (config["acks"], config["enable_idempotence"], config["compression_type"]) == ("all", True, None)
    assert config["linger_ms"] == 7
    assert config["client_id"] == "x"
    assert "batch_size" not in config


def test_embedded_profile_changes_batching_and_poll_interval():
    """The embedded profile puts one record per batch and shortens max_poll_interval for groups only."""
    settings = _settings(embedded_profile=True, embedded_consumer_max_poll_interval_ms=4000)
    assert factory.producer_config(settings)["batch_size"] == 1
    group = factory.consumer_config(settings, group_id="g")
    assert group["max_poll_interval_ms"] == 4000
    assert (group["session_timeout_ms"], group["heartbeat_interval_ms"]) == (6000, 2000)
    assert "max_poll_interval_ms" not in factory.consumer_config(settings)
    assert "max_poll_interval_ms" not in factory.consumer_config(_settings(), group_id="g")


def test_consumer_reads_from_earliest_and_commits_by_hand():
    """Consumers start at the earliest offset, never auto-commit and never auto-create topics."""
    config = factory.consumer_config(_settings(), group_id="g")
    assert config["group_id"] == "g"
    assert config["auto_offset_reset"] == "earliest"
    assert config["enable_auto_commit"] is False
    assert config["allow_auto_create_topics"] is False


def test_secret_never_reaches_the_log_output(restore_logging):
    """Even when a library logs the whole client config at DEBUG, the password is not in the output."""
    from runtime.logging import configure_logging, get_logger

    stream = io.StringIO()
    configure_logging(Settings(log_level="DEBUG", library_log_level="DEBUG"), stream=stream, force=True)
    config = factory.client_config(_settings(kafka_security_protocol="SASL_PLAINTEXT",
                                             kafka_sasl_password=SecretStr(PASSWORD)))
    # kafka-python's KafkaAdminClient logs exactly this line with its configs.
    logging.getLogger("kafka.admin.client").debug("Starting KafkaAdminClient with configuration: %s", config)
    get_logger("test").info("kafka_config", config=config)
    output = stream.getvalue()
    assert "Starting KafkaAdminClient" in output and "kafka_config" in output
    assert PASSWORD not in output


def test_settings_repr_and_dump_hide_secrets():
    """repr, str and JSON dumps of Settings never show secret values."""
    settings = _settings(kafka_sasl_password=SecretStr(PASSWORD), name_hash_key=SecretStr("name-key-xyz-123"),
                         schema_registry_password=SecretStr("registry-pw-456"))
    shown = repr(settings) + str(settings) + settings.model_dump_json() + str(settings.model_dump())
    for secret in (PASSWORD, "name-key-xyz-123", "registry-pw-456"):
        assert secret not in shown
