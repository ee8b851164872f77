"""Known start-up failures as one line naming the setting and what to do (and an exit code); anything else stays a crash."""
from __future__ import annotations

import errno
from pathlib import Path

import aiokafka.errors as aiokafka_errors
import kafka.errors as kafka_errors
import sqlalchemy.exc
from sqlalchemy.engine import make_url

from runtime.embedded_broker import BrokerError
from runtime.settings import Settings

EXIT_REFUSED = 2  # fix the configuration, then start again
EXIT_UNAVAILABLE = 69  # sysexits EX_UNAVAILABLE: a service it needs is not there; an orchestrator may retry
_AUTHORIZATION = (kafka_errors.TopicAuthorizationFailedError, kafka_errors.GroupAuthorizationFailedError,
                  kafka_errors.ClusterAuthorizationFailedError, aiokafka_errors.TopicAuthorizationFailedError,
                  aiokafka_errors.GroupAuthorizationFailedError)


def explain(exc: BaseException, settings: Settings) -> tuple[int, str] | None:
    """(exit code, one line) for a failure the operator can fix; None for a bug (it keeps its traceback)."""
    if isinstance(exc, BrokerError):
        return _broker(exc, settings)
    if _unreachable_kafka(exc):
        return EXIT_UNAVAILABLE, (f"cannot reach Kafka at {settings.kafka_bootstrap} (DRIVE_KAFKA_BOOTSTRAP): check the "
                                  "address and the network, and that DRIVE_KAFKA_SECURITY_PROTOCOL matches the listener")
    if isinstance(exc, (kafka_errors.SaslAuthenticationFailedError, aiokafka_errors.KafkaError)) and \
            "authentication" in str(exc).lower():
        return EXIT_REFUSED, ("Kafka refused the credentials of DRIVE_KAFKA_SASL_USERNAME: check it, "
                              "DRIVE_KAFKA_SASL_PASSWORD and DRIVE_KAFKA_SASL_MECHANISM")
    if isinstance(exc, _AUTHORIZATION):
        return EXIT_REFUSED, (f"Kafka refused an operation to user {settings.kafka_sasl_username or '(none)'} "
                              f"(DRIVE_KAFKA_SASL_USERNAME): {type(exc).__name__}; grant it the ACLs of its service "
                              "(deploy/k8s/kafka/kafka-users.yaml, `drive-alerts deploy strimzi-users`)")
    if isinstance(exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)) and _unreachable_db(exc):
        return EXIT_UNAVAILABLE, (f"cannot use the database {masked_url(settings.resolved_database_url)} "
                                  f"(DRIVE_DATABASE_URL): {_first_line(exc.orig or exc)}")
    if isinstance(exc, OSError):
        return _os_error(exc, settings)
    return None


def _broker(exc: BrokerError, settings: Settings) -> tuple[int, str]:
    if "not installed" in str(exc):
        return EXIT_REFUSED, _first_line(exc)
    log = Path(settings.data_dir).resolve() / "tansu.log"
    return EXIT_UNAVAILABLE, (f"the embedded broker did not start ({_first_line(exc)}); see {log}, or set "
                              "DRIVE_EMBEDDED_BROKER_PORT to a free port (0 picks one)")


def _unreachable_db(exc: sqlalchemy.exc.DBAPIError) -> bool:
    """Connecting failed (a server down, a wrong host or password, an unopenable file), not a statement."""
    text = str(exc.orig or exc).lower()
    return any(hint in text for hint in ("connect", "unable to open", "password authentication", "could not translate"))


def _unreachable_kafka(exc: BaseException) -> bool:
    if isinstance(exc, aiokafka_errors.KafkaConnectionError):
        return True
    return isinstance(exc, kafka_errors.KafkaTimeoutError) and "bootstrap" in str(exc).lower()


def _os_error(exc: OSError, settings: Settings) -> tuple[int, str] | None:
    if exc.errno == errno.EADDRINUSE:
        return EXIT_REFUSED, (f"a port this process listens on is in use ({_first_line(exc)}): stop the other process "
                              "or choose free ports (`drive-alerts settings` lists the *_PORT settings)")
    if exc.filename is None or exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.ENOSPC):
        return None
    path = Path(str(exc.filename)).absolute()
    data_dir = Path(settings.data_dir).absolute()
    if path != data_dir and data_dir not in path.parents:
        return None
    return EXIT_REFUSED, (f"cannot write {path} in the data folder (DRIVE_DATA_DIR={data_dir}): "
                          f"{exc.strerror}; choose a writable folder with DRIVE_DATA_DIR or --data-dir")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def masked_url(url: str) -> str:
    """A database URL fit to print: any password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as its scheme only
        return url.split(":", 1)[0] + ":..."
