"""Every shipped scenario through the pure rule engine (no broker): the expected table, valid lines, rule coverage."""
from __future__ import annotations

from functools import cache

import pytest

from consumers.delivery.guard import unsafe_token_count
from entrypoints.replay.model import EngineReplay, Refusal
from entrypoints.replay.scenario import Publish, load_scenario, print_batch
from runtime.settings import Settings
from streams.rules import RULES
from tests.unit.test_scenarios_expected import EXPECTED, WORDING, expected_outcome, outcome_of, scenario_path

NAMES = sorted(EXPECTED)


@cache
def replayed(name: str) -> tuple[tuple[dict, ...], tuple[Refusal, ...]]:
    """The printed alert lines and the refusals of one scenario run through the pure engine."""
    model = EngineReplay.for_settings(Settings())
    lines: list[dict] = []
    refusals: list[Refusal] = []
    for step in load_scenario(scenario_path(name)):
        result = model.run(step)
        lines += print_batch(alert.to_datum() for alert in result.alerts)
        if result.refusal is not None:
            refusals.append(result.refusal)
    return tuple(lines), tuple(refusals)


@pytest.mark.parametrize("name", NAMES)
def test_scenario_raises_the_expected_alerts(name: str) -> None:
    """The scenario raises exactly the table's alerts, each to exactly the table's recipients."""
    lines, _ = replayed(name)
    assert outcome_of(lines) == expected_outcome(name)


@pytest.mark.parametrize("name", NAMES)
def test_every_scenario_line_is_accepted_by_the_contract(name: str) -> None:
    """No line of a shipped scenario is refused (contract validation, name hashing, event-id reuse)."""
    _, refusals = replayed(name)
    assert refusals == ()


@pytest.mark.parametrize("name", NAMES)
def test_scenario_begins_with_the_registry(name: str) -> None:
    """A scenario first publishes its staff and case snapshots from Drive's case management."""
    steps = load_scenario(scenario_path(name))
    first_agency_event = next(i for i, s in enumerate(steps) if isinstance(s, Publish) and s.topic != "case")
    registry = steps[:first_agency_event]
    assert registry and all(s.value["source"]["agency"] == "drive.casemgmt" for s in registry)
    kinds = {s.value["event_type"] for s in registry}
    assert "STAFF_UPDATED" in kinds and kinds - {"STAFF_UPDATED"}


def test_every_rule_of_the_catalogue_is_raised_by_some_scenario() -> None:
    """Adding a rule without a scenario that raises it fails here."""
    raised = {line["rule"] for name in NAMES for line in replayed(name)[0]}
    assert set(RULES) - raised == set()


def test_printed_lines_name_only_registry_staff() -> None:
    """Every recipient of every scenario's alerts is a member of staff the scenario registered."""
    for name in NAMES:
        staff = {s.value["details"]["staff_id"] for s in load_scenario(scenario_path(name))
                 if isinstance(s, Publish) and s.value.get("event_type") == "STAFF_UPDATED"}
        for line in replayed(name)[0]:
            assert {r["staff_id"] for r in line["recipients"]} <= staff, name


@pytest.mark.parametrize("name", sorted(WORDING))
def test_scenario_texts_say_what_the_wording_table_says(name: str) -> None:
    """Where the wording is the behaviour (no conditions, what weakened, a client's position), the texts say it."""
    lines, _ = replayed(name)
    for rule, (staff_id, victim_ref), fragment, said in WORDING[name]:
        texts = [r["text"] for line in lines if line["rule"] == rule for r in line["recipients"]
                 if (r["staff_id"], r["victim_ref"]) == (staff_id, victim_ref)]
        assert texts, (rule, staff_id, victim_ref)
        assert all((fragment in text) == said for text in texts), (fragment, texts)


@pytest.mark.parametrize("name", NAMES)
def test_every_scenario_text_passes_the_delivery_guard(name: str) -> None:
    """Every recipient text is in the wording contract's vocabulary (else delivery would send the generic body)."""
    for line in replayed(name)[0]:
        for r in line["recipients"]:
            known = (line["subject_id"], r["victim_ref"] or "", line["alert_id"][:8].upper())
            assert unsafe_token_count(r["text"], known) == 0, r["text"]
