"""docs/architecture.md holds: each layer imports only what its row allows, commands live only in entrypoints/."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("schemas", "runtime", "connectors", "streams", "consumers", "migrations", "entrypoints")
IO_LIBRARIES = ("kafka", "aiokafka", "faust", "mode", "aiohttp", "sqlalchemy", "twilio", "alembic")
# layer -> project packages it may import (docs/architecture.md)
ALLOWED = {
    "schemas": {"schemas"},
    "runtime": {"schemas", "runtime"},
    "connectors": {"schemas", "runtime", "connectors"},
    "streams": {"schemas", "runtime", "streams"},
    "consumers": {"schemas", "runtime", "consumers"},
    "migrations": {"schemas", "runtime", "connectors", "consumers", "migrations"},
    "entrypoints": set(LAYERS),
}
MAX_LINES = 300


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _imports(path: Path) -> list[str]:
    """Every module name a file imports (absolute imports; relative ones resolved to the file's package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:
            names.append(".".join(path.relative_to(ROOT).parts[:-node.level]) + (f".{node.module}" if node.module else ""))
    return names


def _all_files() -> list[Path]:
    return [p for layer in LAYERS for p in _modules(layer)]


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_what_it_may(layer: str) -> None:
    """A module imports project packages of its own row of the table only."""
    wrong = [f"{path.relative_to(ROOT)} imports {name}" for path in _modules(layer) for name in _imports(path)
             if name.split(".")[0] in LAYERS and name.split(".")[0] not in ALLOWED[layer]]
    assert wrong == []


def test_the_contract_has_no_io() -> None:
    """schemas/ imports no Kafka, faust, HTTP or database library."""
    wrong = [f"{path.relative_to(ROOT)} imports {name}" for path in _modules("schemas") for name in _imports(path)
             if name.split(".")[0] in IO_LIBRARIES]
    assert wrong == []


def test_rules_are_pure() -> None:
    """streams/rules/ imports only the contract and itself: no faust, Kafka, database or HTTP, no stream machinery."""
    wrong = [f"{path.relative_to(ROOT)} imports {name}" for path in _modules("streams/rules") for name in _imports(path)
             if name.split(".")[0] in IO_LIBRARIES or (name.split(".")[0] in LAYERS
                                                         and not name.startswith(("schemas", "streams.rules")))]
    assert wrong == []


def test_nothing_imports_the_entry_points() -> None:
    """Only entrypoints/ itself (and tests) import entrypoints."""
    wrong = [f"{path.relative_to(ROOT)} imports {name}" for path in _all_files() for name in _imports(path)
             if name.split(".")[0] == "entrypoints" and path.relative_to(ROOT).parts[0] != "entrypoints"]
    assert wrong == []


@pytest.mark.parametrize("layer", ("connectors", "streams", "consumers"))
def test_no_command_lives_below_the_entry_points(layer: str) -> None:
    """No module of connectors/, streams/ or consumers/ defines a CLI command or parses arguments."""
    wrong = []
    for path in _modules(layer):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        if "add_arguments" in defined or "argparse" in _imports(path):
            wrong.append(str(path.relative_to(ROOT)))
    assert wrong == []


def test_every_module_is_small() -> None:
    """No project module is over 300 lines."""
    long = {str(p.relative_to(ROOT)): n for p in _all_files()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_checker_sees_a_breach(tmp_path: Path) -> None:
    """The import reader finds imports inside functions too (so the tests above can fail)."""
    probe = tmp_path / "probe.py"
    probe.write_text("import os\n\ndef f():\n    from connectors.intake.submit import Intake\n", encoding="utf-8")
    assert _imports(probe) == ["os", "connectors.intake.submit"]
