"""Typed settings read from DRIVE_* environment variables; secrets stay SecretStr and are never printed."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_NAME_HASH_KEY = "drive-alerts-development-key-change-me"


class Settings(BaseSettings):
    """Every setting of every process; the README's settings table lists them all."""

    model_config = SettingsConfigDict(env_prefix="DRIVE_", env_file=None, extra="ignore")

    # --- where things live
    data_dir: Path = Field(Path("var"), description="Folder for the embedded database, outbox, file drop and worker state.")
    database_url: str | None = Field(None, description="SQLAlchemy URL of the ledger/journal database; default sqlite under data_dir.")

    # --- Kafka
    topic_prefix: str = Field("drive.", description="Prefix of every topic name.")
    kafka_bootstrap: str | None = Field(None, description="host:port[,host:port] of the Kafka cluster; unset means start the embedded Tansu broker.")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field("PLAINTEXT", description="Kafka security protocol.")
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field("SCRAM-SHA-512", description="SASL mechanism when the protocol is SASL_*.")
    kafka_sasl_username: str | None = Field(None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password (secret).")
    kafka_ssl_cafile: Path | None = Field(None, description="CA bundle that signed the brokers' certificates.")
    kafka_ssl_certfile: Path | None = Field(None, description="Client certificate for mutual TLS.")
    kafka_ssl_keyfile: Path | None = Field(None, description="Private key of the client certificate.")
    kafka_ssl_check_hostname: bool = Field(True, description="Verify the broker host name against its certificate.")
    embedded_profile: bool | None = Field(None, description="Turn on the Tansu workarounds (BROKER-NOTES.md); default: on exactly when the embedded broker is used.")
    embedded_broker_port: int = Field(0, description="Port of the embedded broker; 0 picks a free loopback port.")
    schema_registry_url: str | None = Field(None, description="Confluent-compatible schema registry; unset means the local schema-id table.")
    schema_registry_username: str | None = Field(None, description="Schema registry basic-auth user.")
    schema_registry_password: SecretStr | None = Field(None, description="Schema registry basic-auth password (secret).")

    # --- personal data
    name_hash_key: SecretStr = Field(SecretStr(DEV_NAME_HASH_KEY), description="Key of the keyed hash that replaces names at the door (secret; set it in production).")

    # --- connectors
    intake_host: str = Field("127.0.0.1", description="Address the HTTP intake listens on.")
    intake_port: int = Field(8081, description="Port of the HTTP intake.")
    intake_max_body_bytes: int = Field(1_048_576, description="Largest accepted HTTP intake body; larger gets 413.")
    intake_max_batch: int = Field(500, description="Most records in one intake batch.")
    intake_signature_max_age_s: int = Field(300, description="Oldest accepted HMAC signature timestamp (replay window).")
    agencies_file: Path | None = Field(None, description="YAML file of agencies: credentials and allowed topics; default: the built-in development agencies.")
    filedrop_dir: Path | None = Field(None, description="Root of the file drop (one sub-folder per agency); default data_dir/filedrop.")
    filedrop_poll_s: float = Field(2.0, description="How often the file drop looks for new files.")
    sqlpoll_interval_s: float = Field(5.0, description="How often SQL polling sources are read.")

    # --- logging
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    log_format: Literal["auto", "json", "console"] = Field("auto", description="auto: console on a TTY, JSON otherwise.")

    def topic(self, short_name: str) -> str:
        """Full topic name for a catalogue short name."""
        return f"{self.topic_prefix}{short_name}"

    @property
    def uses_embedded_broker(self) -> bool:
        return self.kafka_bootstrap is None

    @property
    def embedded_workarounds(self) -> bool:
        return self.uses_embedded_broker if self.embedded_profile is None else self.embedded_profile

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'drive-alerts.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
