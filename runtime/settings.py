"""Typed settings read from DRIVE_* environment variables; secrets stay SecretStr and are never printed."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.enums import Channel, Severity

DEV_NAME_HASH_KEY = "drive-alerts-development-key-change-me"
DEV_DEAD_LETTER_KEY = "drive-alerts-development-dead-letter-key-change-me"
DEV_ACK_LINK_SECRET = "drive-alerts-development-ack-secret-change-me"
DEV_WEB_SESSION_SECRET = "drive-alerts-development-web-session-secret-change-me"
_SEVERITIES = tuple(s.value for s in Severity if s is not Severity.UNKNOWN)
_CHANNELS = tuple(c.value for c in Channel if c is not Channel.UNKNOWN)


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
    kafka_client_id: str = Field("drive-alerts", description="Client id the Kafka clients send (shows in broker logs and quotas).")
    kafka_replication_factor: int = Field(-1, description="Replication factor of topics made by `topics apply`; -1 uses the broker's default.")
    producer_linger_ms: int = Field(5, description="How long a producer waits to fill a batch before sending (ms).")
    embedded_producer_batch_size: int = Field(1, description="Embedded profile: producer batch size in bytes; 1 puts each record in its own batch so Tansu's latest offset is exact.")
    embedded_consumer_max_poll_interval_ms: int = Field(5000, description="Embedded profile: kafka-python consumers' max_poll_interval_ms, which bounds Tansu's slow group joins.")
    embedded_consumer_session_timeout_ms: int = Field(6000, description="Embedded profile: kafka-python consumers' session_timeout_ms; Tansu holds a group join for about half of it.")
    embedded_consumer_heartbeat_interval_ms: int = Field(2000, description="Embedded profile: kafka-python consumers' heartbeat_interval_ms (a third of the session timeout).")
    embedded_stream_rebalance_timeout_s: float = Field(2.0, gt=0, description="Embedded profile: the streams workers' rebalance timeout (s); Tansu holds every group join this long, so it is the wait of each worker start and failover.")
    embedded_stream_session_timeout_s: float = Field(10.0, gt=0, description="Embedded profile: the streams workers' session timeout (s): how long a silent worker keeps its partitions.")
    embedded_stream_heartbeat_interval_s: float = Field(1.0, gt=0, description="Embedded profile: the streams workers' heartbeat interval (s).")
    embedded_profile: bool | None = Field(None, description="Turn on the Tansu workarounds (BROKER-NOTES.md); default: on exactly when the embedded broker is used.")
    embedded_live_fetch_max_wait_ms: int = Field(25, ge=5, description="Embedded profile: fetch wait (ms) of the streams and the dispatcher outside table recovery; Tansu holds each fetch this long, so it is the latency floor of every hop (recovery keeps DRIVE_STREAM_FETCH_MAX_WAIT_MS).")
    embedded_checkpoint_s: float = Field(1.0, gt=0, description="Embedded profile: how often `up` copies what the memory-only broker must keep across a restart (compacted topics, uncommitted tails, group offsets) to data_dir/broker-copy.db.")
    embedded_broker_port: int = Field(0, description="Port of the embedded broker; 0 picks a free loopback port.")
    production: bool | None = Field(None, description="Production safety checks at start (refuse development secrets and placeholders, the development agencies file, the sample feed mappings); default: on exactly when an external Kafka is used without the embedded profile.")
    schema_registry_url: str | None = Field(None, description="Confluent-compatible schema registry; unset means the local schema-id table.")
    schema_registry_username: str | None = Field(None, description="Schema registry basic-auth user.")
    schema_registry_password: SecretStr | None = Field(None, description="Schema registry basic-auth password (secret).")

    # --- personal data
    name_hash_key: SecretStr = Field(SecretStr(DEV_NAME_HASH_KEY), description="Key of the keyed hash that replaces names at the door (secret; set it in production).")
    dead_letter_key: SecretStr = Field(SecretStr(DEV_DEAD_LETTER_KEY), description="Key that encrypts the raw bytes of refused records (dead letters, files under failed/); secret: only the dead-letter operators and the connectors hold it. Set it in production.")
    dead_letter_retention_days: float = Field(30.0, gt=0, description="Days the encrypted raw bytes of a dead letter or refused file are kept; after that only the record's description (field names, types, lengths, fingerprints) stays.")

    # --- connectors
    journal_keep_s: float = Field(3600.0, gt=0, description="Intake journal: seconds a source record's payload is kept once it is covered (against a cluster: published; embedded: processed by the worker and in `up`'s broker copy); a record about someone who is not a Drive subject is gone within this window.")
    intake_dedupe_days: float = Field(30.0, gt=0, description="Intake journal: days an agency's event id and a hash of the record's content are remembered, so a repeat is answered duplicate or conflict (the payload itself goes after DRIVE_JOURNAL_KEEP_S).")
    intake_max_ahead_h: float = Field(24.0, gt=0, description="Intake: an event's occurred_at or recorded_at may be at most this many hours ahead of now (agency clocks drift; an incident dated years ahead is refused).")
    intake_max_age_days: float = Field(7300.0, gt=0, description="Intake: an event's occurred_at or recorded_at may be at most this many days old (history loaded late is fine; a date in year 1 is a mistake).")
    intake_host: str = Field("127.0.0.1", description="Address the HTTP intake listens on.")
    intake_port: int = Field(8081, description="Port of the HTTP intake.")
    intake_public_url: str | None = Field(None, description="External base URL of the HTTP intake (behind a proxy: the public https URL); the problem type URIs of its refusals (RFC 9457) point at its /problems page. Default: http://DRIVE_INTAKE_HOST:DRIVE_INTAKE_PORT.")
    intake_max_body_bytes: int = Field(1_048_576, description="Largest accepted HTTP intake body; larger gets 413.")
    intake_max_batch: int = Field(500, description="Most records in one intake batch.")
    intake_signature_max_age_s: int = Field(300, description="Oldest accepted HMAC signature timestamp (replay window).")
    agencies_file: Path | None = Field(None, description="YAML file of agencies: credentials and allowed topics; default: the built-in development agencies.")
    filedrop_dir: Path | None = Field(None, description="Root of the file drop (one sub-folder per agency); default data_dir/filedrop.")
    filedrop_poll_s: float = Field(2.0, description="How often the file drop looks for new files.")
    sqlpoll_interval_s: float = Field(5.0, description="How often SQL polling sources are read.")
    feed_mappings_dir: Path | None = Field(None, description="Folder of per-agency feed mapping YAML files (file drop and SQL polling); default: the shipped examples in connectors/mappings/sample_config.")
    filedrop_max_bytes: int = Field(50 * 1024 * 1024, description="Largest dropped file read; larger files go to failed/ unread.")
    filedrop_settle_s: float | None = Field(None, description="A dropped file without a .done marker is read once unchanged this long; default filedrop_poll_s.")
    sqlpoll_source_url: SecretStr | None = Field(None, description="SQLAlchemy URL of the agency database polled by SQL feeds without url_env (secret: may hold a password).")
    sqlpoll_batch_size: int = Field(500, description="Most rows read from one SQL source per poll.")
    connector_max_cell_chars: int = Field(1000, ge=1, description="Longest cell (file drop) or column value (SQL polling) a feed reads; a longer one refuses its row.")

    # --- streams (correlation engine)
    stream_fetch_max_wait_ms: int = Field(100, description="Streams: longest a Kafka fetch waits for data (ms); Tansu holds every fetch this long, so it bounds latency. Keep >= 100.")
    stream_partitions: int = Field(6, description="Streams: partitions of the internal subject-events topic and the state changelogs (the most workers that share the work).")
    stream_store: str = Field("auto", description="Streams: faust table store of the subjects' states; auto = memory:// with the embedded broker (`up` keeps the durable copy), rocksdb:// on a cluster (a restarted worker reads only the changelog tail).")
    stream_tick_interval_s: float = Field(60.0, description="Streams: how often the wall clock ticks the timers (pending breach grace, expiry warnings, pruning).")
    stream_clock: Literal["wall", "simulated"] = Field("wall", description="Streams: wall = real time with a ticker; simulated = time only from ticks and event recorded_at (replay).")
    escalation_window_days: int = Field(28, description="Rules: escalation counts incidents and breaches in this many days ending at the event.")
    escalation_min_events: int = Field(3, description="Rules: incidents and breaches within the window that trigger a frequency escalation.")
    flap_window_min: int = Field(30, description="Rules: EM zone/signal events of one device within this many minutes form one group and one alert.")
    expiry_horizon_h: int = Field(72, description="Rules: warn this many hours before bail, an order or a licence ends.")
    late_grace_h: int = Field(24, description="Rules: hours a breach report for a condition not on record waits for the record.")
    state_retention_days: int = Field(90, description="Rules: days ended conditions are kept to judge late reports; older events teach but do not alert.")

    # --- acknowledgement, escalation, webhooks
    public_base_url: str = Field("http://127.0.0.1:8082", description="External base URL of the webhooks service (behind a proxy: the public https URL); Twilio signatures and ack links use it.")
    webhooks_host: str = Field("127.0.0.1", description="Address the webhooks service (Twilio callbacks, ack links) listens on.")
    webhooks_port: int = Field(8082, description="Port of the webhooks service.")
    webhook_replay_window_s: int = Field(900, description="A valid Twilio signature seen again within this many seconds is refused as a replay.")
    ack_link_secret: SecretStr = Field(SecretStr(DEV_ACK_LINK_SECRET), description="Key that signs e-mail acknowledgement links (secret; set it in production).")
    ack_link_ttl_h: int = Field(24, description="Hours an e-mail acknowledgement link stays valid.")
    escalation_critical_min: int = Field(15, description="Minutes an unacknowledged CRITICAL alert waits before each escalation level.")
    escalation_high_min: int = Field(60, description="Minutes an unacknowledged HIGH alert waits before each escalation level.")
    escalation_levels: int = Field(2, description="Escalation levels of each recipient who has not acknowledged: 1 = the duty managers on call; 2 and above = every active duty manager.")
    escalation_interval_s: float = Field(30.0, description="How often the dispatcher looks for unacknowledged alerts due to escalate or be re-sent.")
    resend_critical_min: int = Field(10, ge=1, description="Minutes between re-sends of an unacknowledged CRITICAL alert to each recipient who has not acknowledged it.")
    resend_critical_max: int = Field(6, ge=0, description="Most re-sends of an unacknowledged CRITICAL alert to one recipient (0: none).")
    resend_high_min: int = Field(60, ge=1, description="Minutes between re-sends of an unacknowledged HIGH alert to each recipient who has not acknowledged it.")
    resend_high_max: int = Field(1, ge=0, description="Most re-sends of an unacknowledged HIGH alert to one recipient (0: none).")

    # --- staff web app (sign-in, sessions) and the review chronology
    web_host: str = Field("127.0.0.1", description="Address the staff web app listens on.")
    web_port: int = Field(8083, description="Port of the staff web app (also its /metrics, /healthz and /readyz).")
    web_base_url: str | None = Field(None, description="External base URL of the staff web app (behind a proxy: the public https URL); OpenID Connect redirects come back to it, and https makes its cookies Secure. Default http://web_host:web_port.")
    web_session_secret: SecretStr = Field(SecretStr(DEV_WEB_SESSION_SECRET), description="Key that encrypts and signs the web app's session cookies and hashes its one-time sign-in codes (secret; set it in production).")
    web_session_max_age_s: int = Field(28800, ge=60, description="Web app: a session ends this many seconds after sign-in, however active (a shift).")
    web_session_idle_s: int = Field(1800, ge=60, description="Web app: a session ends after this many seconds without a request.")
    web_sign_in: Literal["auto", "oidc", "code"] = Field("auto", description="Web app sign-in: oidc = OpenID Connect (DRIVE_OIDC_*), code = a one-time code sent to the staff member's registered phone or e-mail; auto = oidc when DRIVE_OIDC_ISSUER is set, else code. Production refuses code.")
    web_sign_in_code_ttl_s: int = Field(600, ge=30, description="Web app: seconds a one-time sign-in code stays valid.")
    web_sign_in_code_attempts: int = Field(5, ge=1, description="Web app: wrong tries of one sign-in code before it is void.")
    web_programme_leads: str = Field("", description="Web app: staff ids (comma-separated) of the programme leads, who may open every subject's chronology; each must also be registered staff.")
    oidc_issuer: str | None = Field(None, description="OpenID Connect issuer URL of the organisation's identity provider (its /.well-known/openid-configuration is read); set turns OIDC sign-in on.")
    oidc_client_id: str | None = Field(None, description="OpenID Connect client id of the staff web app.")
    oidc_client_secret: SecretStr | None = Field(None, description="OpenID Connect client secret of the staff web app (secret).")
    oidc_scopes: str = Field("openid email profile", description="OpenID Connect scopes asked for (space-separated; openid is required).")
    oidc_staff_claim: str = Field("email", description="ID token claim naming the staff member: email (matched to the registry's e-mail) or any other claim, e.g. sub or preferred_username (matched to the staff id).")
    chronology_silence_h: float = Field(24.0, gt=0, description="Chronology: during a bail period, this many hours without any agency record is flagged as a gap.")

    # --- delivery (dispatcher, SMS, e-mail)
    channels_by_severity: str = Field("CRITICAL=SMS+EMAIL,HIGH=SMS+EMAIL,MEDIUM=EMAIL,LOW=EMAIL", description="Delivery: channels per alert severity, SEVERITY=CHANNEL[+CHANNEL] comma-separated (channels SMS, EMAIL).")
    delivery_max_attempts: int = Field(6, description="Delivery: attempts of one message before a transient fault counts as permanent (then failover).")
    delivery_backoff_base_s: float = Field(5.0, description="Delivery: first retry delay (s); doubles each attempt, times a random 0.5-1.0 jitter.")
    delivery_backoff_cap_s: float = Field(300.0, description="Delivery: longest retry delay (s) before jitter.")
    sender_concurrency: int = Field(8, ge=1, description="Delivery: provider calls (Twilio, SMTP) the dispatcher's sender makes at once.")
    sender_interval_s: float = Field(1.0, description="Delivery: how often the dispatcher's sender looks for due retries when no newly recorded alert wakes it (s).")
    twilio_account_sid: str | None = Field(None, description="Twilio account SID; with the auth token it turns SMS on (unset: the local outbox).")
    twilio_auth_token: SecretStr | None = Field(None, description="Twilio auth token (secret).")
    twilio_from_number: str | None = Field(None, description="Twilio sender number (E.164); used when no messaging service SID is set.")
    twilio_messaging_service_sid: str | None = Field(None, description="Twilio messaging service SID (preferred over the from number).")
    twilio_status_callback_url: str | None = Field(None, description="URL Twilio posts delivery status to; default public_base_url + /twilio/status.")
    twilio_base_url: str | None = Field(None, description="Override of Twilio's API base URL (tests point it at a local server).")
    twilio_timeout_s: float = Field(10.0, description="Timeout of one Twilio API request (s); a timeout is a transient fault.")
    smtp_host: str | None = Field(None, description="SMTP server host; set turns e-mail on (unset: the local outbox).")
    smtp_port: int = Field(587, description="SMTP server port.")
    smtp_security: Literal["starttls", "ssl", "none"] = Field("starttls", description="SMTP transport security: starttls, ssl (implicit TLS) or none.")
    smtp_username: str | None = Field(None, description="SMTP login user (no login when unset).")
    smtp_password: SecretStr | None = Field(None, description="SMTP login password (secret).")
    smtp_from: str = Field("drive-alerts@localhost", description="Sender address of alert e-mails; its domain also names the Message-IDs.")
    smtp_timeout_s: float = Field(10.0, description="Timeout of one SMTP conversation step (s).")
    smtp_ca_file: Path | None = Field(None, description="CA bundle to verify the SMTP server's certificate (default: the system store).")

    # --- observability (each process serves /metrics, /healthz and /readyz)
    metrics_host: str = Field("127.0.0.1", description="Address the metrics/health servers of the worker, dispatcher, chronology feed, file drop and SQL polling listen on (the intake and webhooks serve /metrics on their own port).")
    worker_metrics_port: int = Field(9101, description="Port of the streams worker's /metrics, /healthz and /readyz; 0 turns it off.")
    dispatcher_metrics_port: int = Field(9102, description="Port of the dispatcher's /metrics, /healthz and /readyz; 0 turns it off.")
    filedrop_metrics_port: int = Field(9103, description="Port of the file drop's /metrics, /healthz and /readyz; 0 turns it off.")
    sqlpoll_metrics_port: int = Field(9104, description="Port of SQL polling's /metrics, /healthz and /readyz; 0 turns it off.")
    chronology_metrics_port: int = Field(9105, description="Port of the chronology feed's /metrics, /healthz and /readyz; 0 turns it off.")
    metrics_refresh_s: float = Field(15.0, gt=0, description="How often the gauges that need work are refreshed (s): the dispatcher's ledger gauges (one grouped query each) and every consumer's lag.")

    # --- logging
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    library_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("WARNING", description="Log level of the chatty client libraries (kafka-python, aiokafka); never below log_level.")
    log_format: Literal["auto", "json", "console"] = Field("auto", description="auto: console on a TTY, JSON otherwise.")

    @field_validator("channels_by_severity")
    @classmethod
    def _channel_plan(cls, value: str) -> str:
        """Refuse a plan the dispatcher could not follow, at start rather than at the first alert."""
        seen: set[str] = set()
        for entry in filter(None, (part.strip() for part in value.split(","))):
            severity, equals, channels = (piece.strip().upper() for piece in entry.partition("="))
            chosen = [c.strip() for c in channels.split("+")]
            if not equals or severity not in _SEVERITIES:
                raise ValueError(f"entry {entry!r} must be SEVERITY=CHANNEL[+CHANNEL] with a severity of "
                                 f"{', '.join(_SEVERITIES)}")
            if not all(c in _CHANNELS for c in chosen):
                raise ValueError(f"entry {entry!r}: channels must be {' and/or '.join(_CHANNELS)}, joined by +")
            if severity in seen:
                raise ValueError(f"severity {severity} is given twice")
            seen.add(severity)
        return value

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
    def is_production(self) -> bool:
        """Production safety checks apply: asked for, or an external Kafka without the embedded profile."""
        if self.production is not None:
            return self.production
        return not self.uses_embedded_broker and not self.embedded_workarounds

    @property
    def programme_lead_ids(self) -> frozenset[str]:
        """The staff ids of DRIVE_WEB_PROGRAMME_LEADS."""
        return frozenset(part.strip() for part in self.web_programme_leads.split(",") if part.strip())

    @property
    def uses_oidc(self) -> bool:
        """The web app signs staff in through OpenID Connect (else with one-time codes)."""
        return self.web_sign_in == "oidc" or (self.web_sign_in == "auto" and self.oidc_issuer is not None)

    @property
    def resolved_web_base_url(self) -> str:
        return (self.web_base_url or f"http://{self.web_host}:{self.web_port}").rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'drive-alerts.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
