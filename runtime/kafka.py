"""Kafka client factory: client configs, producers, consumers and admin built from Settings."""
from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from runtime.embedded_broker import EmbeddedBroker
from runtime.settings import Settings


class BootstrapMissing(RuntimeError):
    """No Kafka bootstrap is configured: start the embedded broker with broker_for(settings)."""


def resolve_bootstrap(settings: Settings) -> str:
    """The configured bootstrap servers; raises BootstrapMissing when the embedded broker is meant."""
    if not settings.kafka_bootstrap:
        raise BootstrapMissing("DRIVE_KAFKA_BOOTSTRAP is unset: wrap the run in runtime.kafka.broker_for(settings)")
    return settings.kafka_bootstrap


def with_bootstrap(settings: Settings, bootstrap: str) -> Settings:
    """A copy of settings pointing at `bootstrap`, keeping the embedded profile decision of the original."""
    return settings.model_copy(update={"kafka_bootstrap": bootstrap,
                                       "embedded_profile": settings.embedded_workarounds})


@contextmanager
def broker_for(settings: Settings) -> Iterator[str]:
    """Yield the bootstrap string, starting (and afterwards stopping) the embedded broker only when none is set."""
    if settings.kafka_bootstrap:
        yield settings.kafka_bootstrap
        return

    log_path = settings.data_dir / "tansu.log"
    with EmbeddedBroker(port=settings.embedded_broker_port, log_path=log_path.resolve()) as broker:
        yield broker.bootstrap


def _bootstrap_list(settings: Settings) -> list[str]:
    return [part.strip() for part in resolve_bootstrap(settings).split(",") if part.strip()]


def _uses_ssl(settings: Settings) -> bool:
    return settings.kafka_security_protocol in ("SSL", "SASL_SSL")


def _uses_sasl(settings: Settings) -> bool:
    return settings.kafka_security_protocol.startswith("SASL_")


def _sasl_password(settings: Settings) -> str | None:
    """The only place the SASL secret leaves its SecretStr."""
    secret = settings.kafka_sasl_password
    return secret.get_secret_value() if secret is not None else None


def client_config(settings: Settings) -> dict[str, Any]:
    """Connection settings in kafka-python's names, shared by producer, consumer and admin."""
    config: dict[str, Any] = {
        "bootstrap_servers": _bootstrap_list(settings),
        "client_id": settings.kafka_client_id,
        "security_protocol": settings.kafka_security_protocol,
    }
    if _uses_ssl(settings):
        config.update({
            "ssl_cafile": _path(settings.kafka_ssl_cafile),
            "ssl_certfile": _path(settings.kafka_ssl_certfile),
            "ssl_keyfile": _path(settings.kafka_ssl_keyfile),
            "ssl_check_hostname": settings.kafka_ssl_check_hostname,
        })
    if _uses_sasl(settings):
        config.update({
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": _sasl_password(settings),
        })
    return config


def aiokafka_config(settings: Settings) -> dict[str, Any]:
    """The same connection settings in aiokafka's names (for faust and aiokafka clients)."""
    config: dict[str, Any] = {
        "bootstrap_servers": _bootstrap_list(settings),
        "client_id": settings.kafka_client_id,
        "security_protocol": settings.kafka_security_protocol,
    }
    if _uses_ssl(settings):
        config["ssl_context"] = ssl_context(settings)
    if _uses_sasl(settings):
        config.update({
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": _sasl_password(settings),
        })
    return config


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """TLS context for aiokafka/faust from the CA bundle and optional client certificate."""
    from aiokafka.helpers import create_ssl_context

    context = create_ssl_context(cafile=_path(settings.kafka_ssl_cafile),
                                 certfile=_path(settings.kafka_ssl_certfile),
                                 keyfile=_path(settings.kafka_ssl_keyfile))
    context.check_hostname = settings.kafka_ssl_check_hostname
    return context


def _path(value: Any) -> str | None:
    return str(value) if value is not None else None


def producer_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """kafka-python producer settings: idempotent, acks=all, bytes in, small linger, no compression."""
    config = client_config(settings)
    config.update({
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": settings.producer_linger_ms,
        "compression_type": None,
    })
    if settings.embedded_workarounds:
        # One record per batch keeps Tansu's ListOffsets(latest) exact (BROKER-NOTES).
        config["batch_size"] = settings.embedded_producer_batch_size
    config.update(overrides)
    return config


def make_producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    """A kafka-python producer for byte keys and values."""
    return KafkaProducer(**producer_config(settings, **overrides))


def consumer_config(settings: Settings, group_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """kafka-python consumer settings: bytes out, earliest reset, manual commits, Tansu workarounds if on."""
    config = client_config(settings)
    config.update({
        "group_id": group_id,
        "auto_offset_reset": "earliest",
        "enable_auto_commit": False,
        "allow_auto_create_topics": False,
    })
    if settings.embedded_workarounds and group_id is not None:
        # Tansu holds a group join for about half the session timeout (kafka-python's default 45 s
        # meant ~23 s to get an assignment) and for the rebalance timeout, set from max_poll_interval.
        config.update({
            "max_poll_interval_ms": settings.embedded_consumer_max_poll_interval_ms,
            "session_timeout_ms": settings.embedded_consumer_session_timeout_ms,
            "heartbeat_interval_ms": settings.embedded_consumer_heartbeat_interval_ms,
            # Tansu holds a fetch for its whole wait: a group consumer's latency floor (kafka-python waits 500 ms)
            "fetch_max_wait_ms": settings.embedded_live_fetch_max_wait_ms,
        })
    config.update(overrides)
    return config


def make_consumer(settings: Settings, *topics: str, group_id: str | None = None,
                  **overrides: Any) -> KafkaConsumer:
    """A kafka-python consumer of byte keys and values, subscribed to `topics` when given."""
    return KafkaConsumer(*topics, **consumer_config(settings, group_id=group_id, **overrides))


def read_all(settings: Settings, *topics: str, timeout_s: float = 30.0) -> list[Any]:
    """Every record now on `topics` (full names), read without a group from the beginning to the end offsets."""
    consumer = make_consumer(settings)
    try:
        partitions = [TopicPartition(topic, p) for topic in topics for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return []
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        records: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while not all(read_to_end(consumer, tp, ends[tp]) for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {', '.join(topics)} to the end within {timeout_s:g} s")
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def read_to_end(consumer: KafkaConsumer, tp: TopicPartition, listed_end: int) -> bool:
    """True once a consumer reading `tp` from the beginning has passed its end: the listed end offset and, for a
    partition with records, the high watermark of a fetch (Tansu lists the start of the last batch + 1)."""
    position = consumer.position(tp)
    if position < listed_end:
        return False
    if listed_end == 0:
        return True
    watermark = consumer.highwater(tp)
    return watermark is not None and position >= watermark


def make_admin(settings: Settings, **overrides: Any) -> KafkaAdminClient:
    """A kafka-python admin client."""
    return KafkaAdminClient(**{**client_config(settings), **overrides})
