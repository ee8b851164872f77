"""deploy/: every manifest parses; Kubernetes objects validate offline; compose, Dockerfile and env keys are real."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from entrypoints.cli import COMMANDS, build_parser
from runtime.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
BASE = K8S / "base"
KUBERNETES_VERSION = "1.30"
# Custom resources have no schema in kubernetes-validate; they are checked structurally (and the KafkaTopics
# and KafkaUsers against the catalogue and the code in test_deploy_kafka.py, the monitoring resources against the
# exported metrics in test_deploy_monitoring.py).
CUSTOM_KINDS = {("kafka.strimzi.io/v1beta2", "KafkaTopic"), ("kafka.strimzi.io/v1beta2", "KafkaUser"),
                ("monitoring.coreos.com/v1", "PrometheusRule"), ("monitoring.coreos.com/v1", "PodMonitor")}
KUSTOMIZE_FILES = {"kustomization.yaml"}


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc is not None]


def _patch_files() -> set[Path]:
    """Strategic-merge patches named by a kustomization: partial objects, checked against their target instead."""
    found = set()
    for kustomization in K8S.rglob("kustomization.yaml"):
        found |= {kustomization.parent / p["path"] for p in _documents(kustomization)[0].get("patches", [])}
    return found


def _k8s_files() -> list[Path]:
    patches = _patch_files()
    return sorted(p for p in K8S.rglob("*.yaml") if p.name not in KUSTOMIZE_FILES and p not in patches)


def _k8s_objects() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path in _k8s_files() for doc in _documents(path)]


def _agency_secret_names() -> set[str]:
    """The HMAC secret variables the agencies template names (secret_env): the intake reads them, not Settings."""
    [agencies] = _documents(DEPLOY / "agencies.example.yaml")
    return {s["secret_env"] for a in agencies["agencies"] for s in a.get("hmac_secrets", [])}


def _is_setting(env_name: str) -> bool:
    if env_name in _agency_secret_names():
        return True
    return env_name.startswith("DRIVE_") and env_name.removeprefix("DRIVE_").lower() in Settings.model_fields


def test_every_yaml_file_parses() -> None:
    """Every YAML file under deploy/ is well-formed and holds at least one mapping document."""
    files = sorted(DEPLOY.rglob("*.yaml")) + sorted(DEPLOY.rglob("*.yml"))
    assert len(files) > 10
    for path in files:
        docs = _documents(path)
        assert docs and all(isinstance(doc, dict) for doc in docs), path


@pytest.mark.parametrize("path", _k8s_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_kubernetes_manifests_validate_against_the_api_schemas(path: Path) -> None:
    """Each built-in object validates (strictly: no unknown fields) against Kubernetes' OpenAPI schemas, offline."""
    for doc in _documents(path):
        assert doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"), path
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
            assert isinstance(doc.get("spec"), dict)
            continue
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_schema_validation_rejects_a_broken_manifest() -> None:
    """The validator used above does refuse a wrong field type (so the check is real)."""
    broken = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"ports": [{"port": "eighty"}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("folder", [BASE, K8S / "kafka", K8S / "overlays" / "production"],
                         ids=["base", "kafka", "production"])
def test_kustomization_lists_exactly_the_files_that_exist(folder: Path) -> None:
    """resources and patches name every YAML file of the folder (templates *.example.yaml excepted) and only those."""
    kustomization = _documents(folder / "kustomization.yaml")[0]
    listed = set(kustomization.get("resources", [])) | {p["path"] for p in kustomization.get("patches", [])}
    local = {name for name in listed if not name.startswith("..")}
    present = {p.name for p in folder.glob("*.yaml")} - KUSTOMIZE_FILES - {p.name for p in folder.glob("*.example.yaml")}
    assert local == present
    assert all((folder / name).resolve().exists() for name in listed)


def test_every_patch_targets_a_base_object() -> None:
    """Each overlay patch names the kind and name of an object the base defines."""
    base = {(doc["kind"], doc["metadata"]["name"]) for path, doc in _k8s_objects() if BASE in path.parents}
    patches = _patch_files()
    assert patches
    for path in patches:
        for doc in _documents(path):
            assert (doc["kind"], doc["metadata"]["name"]) in base, path


def test_secret_template_holds_placeholders_only_and_is_not_deployed() -> None:
    """The Secret template's every value is a CHANGE-ME placeholder, and the base does not include it."""
    [secret] = _documents(BASE / "secret.example.yaml")
    assert secret["kind"] == "Secret"
    assert all("CHANGE-ME" in value for value in secret["stringData"].values())
    assert "secret.example.yaml" not in _documents(BASE / "kustomization.yaml")[0]["resources"]


def _workloads() -> list[dict[str, Any]]:
    return [doc for _, doc in _k8s_objects() if doc["kind"] in ("Deployment", "StatefulSet", "Job")]


def _containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return workload["spec"]["template"]["spec"]["containers"]


def test_workloads_have_probes_resources_and_run_real_commands() -> None:
    """Long-running containers have liveness/readiness probes and limits; every container runs a real subcommand."""
    kinds = {(w["kind"], w["metadata"]["name"]) for w in _workloads()}
    assert {("StatefulSet", "drive-worker"), ("Deployment", "drive-intake"), ("Deployment", "drive-dispatcher"),
            ("Deployment", "drive-webhooks"), ("Deployment", "drive-filedrop"), ("Deployment", "drive-sqlpoll"),
            ("Deployment", "drive-web"),
            ("Deployment", "drive-chronology-feed"), ("Job", "drive-migrate")} <= kinds
    for workload in _workloads():
        for container in _containers(workload):
            build_parser(container["args"]).parse_args(container["args"])
            assert container["resources"]["requests"] and container["resources"]["limits"]
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            if workload["kind"] != "Job":
                assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
                assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_probe_ports_are_the_ports_the_settings_give_each_role() -> None:
    """Each role's probe port name resolves to the port its settings in the ConfigMap say it serves."""
    config = next(doc for _, doc in _k8s_objects() if doc["kind"] == "ConfigMap")["data"]
    expected = {"intake": "DRIVE_INTAKE_PORT", "webhooks": "DRIVE_WEBHOOKS_PORT", "worker": "DRIVE_WORKER_METRICS_PORT",
                "dispatcher": "DRIVE_DISPATCHER_METRICS_PORT", "chronology-feed": "DRIVE_CHRONOLOGY_METRICS_PORT",
                "filedrop": "DRIVE_FILEDROP_METRICS_PORT",
                "sqlpoll": "DRIVE_SQLPOLL_METRICS_PORT", "web": "DRIVE_WEB_PORT"}
    for workload in _workloads():
        for container in _containers(workload):
            if container["name"] in expected:
                port_name = container["livenessProbe"]["httpGet"]["port"]
                [port] = [p["containerPort"] for p in container["ports"] if p["name"] == port_name]
                assert str(port) == config[expected[container["name"]]], container["name"]


def _manifest_env_names() -> set[str]:
    names: set[str] = set()
    for _, doc in _k8s_objects():
        if doc["kind"] in ("ConfigMap", "Secret"):
            names |= set(doc.get("data", {})) | set(doc.get("stringData", {}))
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            names |= {env["name"] for c in _containers(doc) for env in c.get("env", [])}
    compose = _documents(DEPLOY / "docker-compose.yml")[0]
    for service in compose["services"].values():
        names |= set(service.get("environment", {}) or {})
    names |= set(re.findall(r"^#?\s*(DRIVE_[A-Z0-9_]+)=", (DEPLOY / ".env.example").read_text(), re.MULTILINE))
    names |= set(re.findall(r"\b(DRIVE_[A-Z0-9_]+)\b", (DEPLOY / "Dockerfile").read_text()))
    return names


def test_every_drive_variable_in_the_manifests_is_a_real_setting() -> None:
    """Every DRIVE_* name in ConfigMap, Secret, compose, .env.example and Dockerfile is a Settings field."""
    names = {n for n in _manifest_env_names() if n.startswith("DRIVE_")}
    assert len(names) > 15
    assert sorted(n for n in names if not _is_setting(n)) == []


def test_compose_runs_kafka_kraft_postgres_jobs_and_every_service() -> None:
    """compose has KRaft Kafka, PostgreSQL, migrate/topics jobs, the services, real commands and ordered startup."""
    services = _documents(DEPLOY / "docker-compose.yml")[0]["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["migrate"]["command"] == ["db", "upgrade"] and services["topics"]["command"] == ["topics", "apply"]
    assert {"intake", "worker", "dispatcher", "webhooks", "web"} <= set(services)
    names = {c.name for c in COMMANDS}
    for name, service in services.items():
        if name in ("kafka", "postgres"):
            continue
        assert service["command"][0] in names
        build_parser(service["command"]).parse_args(service["command"])
        assert service["image"].startswith("${APP_IMAGE")
        for dependency in service["depends_on"]:
            assert dependency in services
    for role in ("intake", "worker", "dispatcher", "webhooks"):
        assert services[role]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[role]["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_env_example_holds_no_real_secret() -> None:
    """.env.example sets secrets only to CHANGE-ME placeholders (others are commented out)."""
    secret_fields = {name for name, field in Settings.model_fields.items() if "SecretStr" in repr(field.annotation)}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        match = re.match(r"^(DRIVE_[A-Z0-9_]+|POSTGRES_PASSWORD)=(.*)$", line)
        if match and (match[1] == "POSTGRES_PASSWORD" or match[1].removeprefix("DRIVE_").lower() in secret_fields):
            assert match[2].startswith("CHANGE-ME"), match[1]


def test_dockerfile_is_multistage_non_root_with_the_cli_entrypoint() -> None:
    """The Dockerfile builds in one stage, runs as a non-root USER, enters through drive-alerts and bakes no secret."""
    text = (DEPLOY / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert len(froms) >= 2 and all(f.startswith("python:3.11.") for f in froms) and len(set(froms)) == 1
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r'^ENTRYPOINT \["drive-alerts"\]$', text, re.MULTILINE)
    assert "HEALTHCHECK" in text
    baked = re.findall(r"(DRIVE_[A-Z_]+)=", text)
    secret_fields = {name for name, field in Settings.model_fields.items() if "SecretStr" in repr(field.annotation)}
    assert [n for n in baked if n.removeprefix("DRIVE_").lower() in secret_fields] == []
