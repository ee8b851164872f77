"""The pure parts of ops safety: folder locks, secret and name checks, the channel plan, log filters, failure lines."""
from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import socket
from pathlib import Path

import kafka.errors
import pytest
import sqlalchemy.exc
from aiohttp.http_exceptions import BadHttpMessage
from pydantic import SecretStr, ValidationError

from entrypoints import cli, failures, preflight
from entrypoints.up.readiness import last_word
from runtime.embedded_broker import BrokerError
from runtime.folders import FolderInUse, hold_lock
from runtime.log_filters import QuietStops
from runtime.safety import secret_refusals, unknown_variables
from runtime.settings import DEV_ACK_LINK_SECRET, DEV_NAME_HASH_KEY, Settings

GOOD_KEY = SecretStr("x" * 40)


# --------------------------------------------------------------------------- the data folder lock


def test_a_held_lock_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    first = hold_lock(tmp_path / "up.lock", "drive-alerts up")
    with pytest.raises(FolderInUse) as busy:
        hold_lock(tmp_path / "up.lock", "drive-alerts up")
    assert busy.value.holder.startswith("pid ") and busy.value.holder.endswith(", by drive-alerts up")
    first.release()
    again = hold_lock(tmp_path / "up.lock", "drive-alerts up")  # a clean release leaves nothing stale
    assert again.stale is None
    again.release()
    assert (tmp_path / "up.lock").read_text() == ""


def test_a_lock_left_by_a_dead_holder_is_taken_over_and_reported(tmp_path: Path) -> None:
    (tmp_path / "up.lock").write_text("pid 424242, started 2026-01-01T00:00:00Z, by drive-alerts up\n")
    lock = hold_lock(tmp_path / "up.lock", "drive-alerts up")
    try:
        assert lock.stale == "pid 424242, started 2026-01-01T00:00:00Z, by drive-alerts up"
        assert "424242" not in (tmp_path / "up.lock").read_text()
    finally:
        lock.release()


# --------------------------------------------------------------------------- settings and production safety


@pytest.mark.parametrize("plan", ["CRITICAL=SMS+EMAIL,HIGH=SMS+EMAIL,MEDIUM=EMAIL,LOW=EMAIL", "critical=sms", "",
                                  "HIGH=EMAIL,"])
def test_channel_plans_the_dispatcher_can_follow(plan: str) -> None:
    assert Settings(channels_by_severity=plan).channels_by_severity == plan


@pytest.mark.parametrize(("plan", "rule"), [("CRITICAL=SMS+FAX", "channels must be SMS and/or EMAIL"),
                                            ("CRITCAL=SMS", "with a severity of CRITICAL, HIGH, MEDIUM, LOW"),
                                            ("HIGH", "must be SEVERITY=CHANNEL"), ("HIGH=SMS,HIGH=EMAIL", "given twice")])
def test_channel_plans_it_could_not_follow_are_refused(plan: str, rule: str) -> None:
    with pytest.raises(ValidationError, match=rule):
        Settings(channels_by_severity=plan)


@pytest.mark.parametrize(("values", "production"), [
    ({}, False), ({"kafka_bootstrap": "k:9093"}, True), ({"kafka_bootstrap": "k:9093", "embedded_profile": True}, False),
    ({"kafka_bootstrap": "k:9093", "production": False}, False), ({"production": True}, True)])
def test_production_is_an_external_kafka_unless_said_otherwise(values: dict[str, object], production: bool) -> None:
    assert Settings(**values).is_production is production


def test_secret_refusals_name_the_setting_never_the_value() -> None:
    assert [r.setting for r in secret_refusals(Settings())] == ["DRIVE_NAME_HASH_KEY", "DRIVE_ACK_LINK_SECRET",
                                                                 "DRIVE_DEAD_LETTER_KEY", "DRIVE_WEB_SESSION_SECRET"]
    settings = Settings(name_hash_key=GOOD_KEY, ack_link_secret=SecretStr("short-Zq8"), dead_letter_key=GOOD_KEY,
                        web_session_secret=GOOD_KEY,
                        database_url="postgresql+psycopg://drive:CHANGE-ME-pw@db/drive")
    lines = [r.line() for r in secret_refusals(settings)]
    assert lines[0].startswith("DRIVE_ACK_LINK_SECRET is only 9 characters long: use a random secret of 32+")
    assert lines[1].startswith("DRIVE_DATABASE_URL still holds a CHANGE-ME placeholder")
    assert not any("Zq8" in line or "CHANGE-ME-pw" in line for line in lines)
    assert secret_refusals(Settings(name_hash_key=GOOD_KEY, ack_link_secret=SecretStr("y" * 32),
                                    dead_letter_key=GOOD_KEY, web_session_secret=GOOD_KEY)) == []
    assert DEV_NAME_HASH_KEY != DEV_ACK_LINK_SECRET


def test_weak_agency_hmac_secrets_are_refused_in_production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An agency's HMAC secret set to a placeholder or a short value is refused (named, never shown); a strong one and
    an unset one (that key is simply off) are not."""
    agencies = tmp_path / "agencies.yaml"
    agencies.write_text("agencies:\n  - id: police.wm\n    topics: [incident]\n    hmac_secrets:\n"
                        "      - {id: wm-1, secret_env: DRIVE_AGENCY_WM_HMAC}\n      - {id: wm-2, secret_env: DRIVE_AGENCY_WM_HMAC2}\n"
                        "      - {id: wm-3, secret_env: DRIVE_AGENCY_WM_HMAC3}\n", "utf-8")
    monkeypatch.setenv("DRIVE_AGENCY_WM_HMAC", "CHANGE-ME-police-secret-0000000000000")
    monkeypatch.setenv("DRIVE_AGENCY_WM_HMAC2", "Zq8-short")
    monkeypatch.delenv("DRIVE_AGENCY_WM_HMAC3", raising=False)
    settings = Settings(name_hash_key=GOOD_KEY, ack_link_secret=GOOD_KEY, dead_letter_key=GOOD_KEY,
                        web_session_secret=GOOD_KEY, agencies_file=str(agencies))
    lines = [r.line() for r in preflight.production_refusals(settings, frozenset({preflight.AGENCIES}))]
    assert lines == [
        "DRIVE_AGENCY_WM_HMAC (agency police.wm, key wm-1) still holds a CHANGE-ME placeholder: replace it with the "
        "secret shared with them (from your secret store)",
        lines[1]]
    assert lines[1].startswith("DRIVE_AGENCY_WM_HMAC2 (agency police.wm, key wm-2) is only 9 characters long: share a ")
    assert not any("Zq8" in line or "police-secret" in line for line in lines)
    monkeypatch.setenv("DRIVE_AGENCY_WM_HMAC2", "k" * 40)
    monkeypatch.setenv("DRIVE_AGENCY_WM_HMAC", "k" * 40)
    assert preflight.production_refusals(settings, frozenset({preflight.AGENCIES})) == []


def test_unknown_variables_are_named_with_the_likely_setting() -> None:
    environ = {"DRIVE_INTAKE_PROT": "1", "DRIVE_LOG_LEVEL": "INFO", "DRIVE_TEST_KAFKA_BOOTSTRAP": "x",
               "DRIVE_AGENCY_POLICE_HMAC": "s", "DRIVE_SQLPOLL_MET_URL": "u", "PATH": "/bin"}
    warnings = unknown_variables(environ, also_known=["DRIVE_SQLPOLL_MET_URL"])
    assert warnings == ["DRIVE_AGENCY_POLICE_HMAC is not a setting; it is ignored (`drive-alerts settings` lists them all)",
                        "DRIVE_INTAKE_PROT is not a setting (did you mean DRIVE_INTAKE_PORT?); it is ignored "
                        "(`drive-alerts settings` lists them all)"]


def test_every_command_decides_whether_production_checks_apply() -> None:
    """A new command must be listed as a service (checked in production) or a tool (not)."""
    names = {c.name for c in cli.COMMANDS}
    assert names == set(preflight.SERVICES) | preflight.TOOLS
    assert not set(preflight.SERVICES) & preflight.TOOLS


def test_a_tool_touches_no_data_folder(tmp_path: Path) -> None:
    """`settings` with an impossible data folder is fine: it never uses it."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    verdict = preflight.check("settings", argparse.Namespace(), Settings(data_dir=blocker / "x"), {})
    assert verdict.errors == []
    assert preflight.check("worker", argparse.Namespace(), Settings(data_dir=blocker / "x", worker_metrics_port=0),
                           {}).errors[0].startswith("DRIVE_DATA_DIR (")


def test_two_settings_naming_one_port_are_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(worker_metrics_port=port, dispatcher_metrics_port=port)
    [refusal] = preflight.port_refusals(settings, [("metrics_host", "worker_metrics_port"),
                                                   ("metrics_host", "dispatcher_metrics_port")])
    assert refusal.line().startswith(f"DRIVE_DISPATCHER_METRICS_PORT names port {port}, as DRIVE_WORKER_METRICS_PORT does")


# --------------------------------------------------------------------------- the CLI


def test_global_options_after_the_command_win(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["--topic-prefix", "before.", "settings", "--topic-prefix", "after.", "--data-dir", "/srv/x"]
    args = cli.build_parser(argv).parse_args(argv)
    assert cli.settings_overrides(args) == {"topic_prefix": "after.", "data_dir": "/srv/x"}
    only_before = ["--topic-prefix", "before.", "settings"]
    assert cli.settings_overrides(cli.build_parser(only_before).parse_args(only_before)) == {"topic_prefix": "before."}


def test_version_is_the_distribution_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.build_parser(["--version"]).parse_args(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"drive-alerts {cli.version()}"


# --------------------------------------------------------------------------- known failures, one line each


def test_known_failures_become_one_line_and_bugs_stay_bugs(tmp_path: Path) -> None:
    settings = Settings(kafka_bootstrap="k1:9093", data_dir=tmp_path,
                        database_url="postgresql+psycopg://drive:pw-Zq8@db:5432/drive")
    code, line = failures.explain(kafka.errors.KafkaTimeoutError("Unable to bootstrap from ['k1:9093']"), settings)
    assert (code, line.split(":")[0]) == (69, "cannot reach Kafka at k1")
    refused = sqlalchemy.exc.OperationalError("connect", {}, Exception('connection to server at "db" failed'))
    code, line = failures.explain(refused, settings)
    assert code == 69 and "DRIVE_DATABASE_URL" in line and "pw-Zq8" not in line and "***" in line
    code, line = failures.explain(BrokerError("the embedded broker is not installed (…): pip install x"), settings)
    assert (code, line) == (2, "the embedded broker is not installed (…): pip install x")
    denied = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "logs" / "worker.log"))
    code, line = failures.explain(denied, settings)
    assert code == 2 and line.startswith(f"cannot write {tmp_path / 'logs' / 'worker.log'} in the data folder")
    assert failures.explain(ValueError("a bug"), settings) is None
    assert failures.explain(sqlalchemy.exc.OperationalError("select", {}, Exception("no such table: x")), settings) is None
    assert failures.explain(PermissionError(errno.EACCES, "Permission denied", "/etc/shadow"), settings) is None


def test_a_components_last_word_is_its_own_line(tmp_path: Path) -> None:
    log = tmp_path / "intake.log"
    log.write_text('{"event": "starting", "level": "info"}\ndrive-alerts: warning: DRIVE_X is not a setting\n'
                   "drive-alerts: DRIVE_AGENCIES_FILE (/x) cannot be read: fix it\n")
    assert last_word(log) == "DRIVE_AGENCIES_FILE (/x) cannot be read: fix it"
    log.write_text('{"event": "starting", "level": "info"}\n{"event": "worker_failed", "level": "error"}\n')
    assert last_word(log) == f"worker_failed (see {log})"
    assert last_word(tmp_path / "none.log") == f"no log at {tmp_path / 'none.log'}"


# --------------------------------------------------------------------------- log filters


def _record(name: str, msg: str, args: tuple[object, ...], error: BaseException | None) -> logging.LogRecord:
    exc_info = (type(error), error, None) if error is not None else None
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, exc_info)


def test_a_cancelled_actor_on_stop_is_not_an_error() -> None:
    logging.getLogger("faust.agents.actor").setLevel(logging.INFO)
    cancelled = asyncio.CancelledError()
    record = _record("faust.agents.actor", "[^-Agent]: Crashed reason=%r", (cancelled,), cancelled)
    assert QuietStops().filter(record) is False  # lowered to DEBUG, which INFO does not log
    assert record.levelno == logging.DEBUG and record.exc_info is None
    real = _record("faust.agents.actor", "[^-Agent]: Crashed reason=%r", (KeyError("x"),), KeyError("x"))
    assert QuietStops().filter(real) is True and real.levelno == logging.ERROR and real.exc_info is not None


def test_a_malformed_request_is_one_info_line_without_its_bytes() -> None:
    logging.getLogger("aiohttp.server").setLevel(logging.INFO)
    error = BadHttpMessage("Invalid header token:\n\n  b'X-Bad\\x01: secret-Zq8'")
    record = _record("aiohttp.server", "Error handling request from %s", ("10.0.0.1",), error)
    assert QuietStops().filter(record) is True
    assert (record.levelno, record.getMessage()) == (logging.INFO, "http request refused: BadHttpMessage (status 400)")
    assert record.exc_info is None and "Zq8" not in record.getMessage()
    other = _record("aiohttp.server", "Error handling request from %s", ("10.0.0.1",), RuntimeError("handler bug"))
    assert QuietStops().filter(other) is True and other.levelno == logging.ERROR


def test_the_web_app_in_production_signs_in_with_oidc_over_https_only() -> None:
    """Production refuses one-time codes, an http issuer or base URL; OIDC without its client id is refused anywhere."""
    from runtime.safety import web_production_refusals, web_sign_in_refusals

    assert [r.setting for r in web_production_refusals(Settings())] == ["DRIVE_OIDC_ISSUER"]
    plain = Settings(oidc_issuer="http://idp.example.org", oidc_client_id="web", web_base_url="http://staff.example.org")
    assert [r.setting for r in web_production_refusals(plain)] == ["DRIVE_OIDC_ISSUER", "DRIVE_WEB_BASE_URL"]
    good = Settings(oidc_issuer="https://idp.example.org", oidc_client_id="web", web_base_url="https://s.example.org")
    assert web_production_refusals(good) == [] and web_sign_in_refusals(good) == []
    assert [r.setting for r in web_sign_in_refusals(Settings(web_sign_in="oidc", oidc_scopes="email"))] == [
        "DRIVE_OIDC_ISSUER", "DRIVE_OIDC_CLIENT_ID", "DRIVE_OIDC_SCOPES"]
    assert web_sign_in_refusals(Settings()) == []
