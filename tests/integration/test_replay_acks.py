"""Acknowledgement and escalation through the real `drive-alerts replay`: ack lines, re-sends and escalations on the
simulated clock, then `audit --json` and `chronology` against the replay's ledger."""
from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from entrypoints import cli
from entrypoints.replay.run import replay
from tests.unit.test_scenarios_expected import expected_outcome, outcome_of, scenario_path
from tests.unit.test_scenarios_pure import replayed

pytestmark = pytest.mark.integration
CM, IDVA, DM1, DM2 = "staff-cm-01", "staff-idva-07", "staff-dm-01", "staff-dm-02"


class Replayed:
    """One scenario replayed into its own data folder, with the audit and chronology commands over it."""

    def __init__(self, capsys: Any, base: list[str], name_or_path: str | Path) -> None:
        self.capsys, self.base = capsys, base
        path = name_or_path if isinstance(name_or_path, Path) else scenario_path(name_or_path)
        capsys.readouterr()
        assert cli.main([*base, "replay", str(path)]) == 0
        captured = capsys.readouterr()
        self.lines = [json.loads(line) for line in captured.out.splitlines()]
        self.err = captured.err

    def run(self, *args: str) -> str:
        self.capsys.readouterr()
        assert cli.main([*self.base, *args]) == 0
        return self.capsys.readouterr().out

    def disclosures(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.run("audit", "--subject", "DRV-0001", "--json").splitlines()]

    def acks(self) -> dict[str, dict[str, Any]]:
        rows = [json.loads(x) for x in self.run("audit", "--subject", "DRV-0001", "--acks", "--json").splitlines()]
        return {r["staff_id"]: r for r in rows}

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.run("audit", "--subject", "DRV-0001", "--events", "--json").splitlines()]


@pytest.fixture
def replay_into(kafka_broker: Any, tmp_path: Path, capsys: Any, restore_logging: None,
                monkeypatch: pytest.MonkeyPatch):
    """Replays a scenario through the CLI into a fresh data folder (the test's broker, the replay's own topics)."""
    count = Counter[str]()
    monkeypatch.setenv("DRIVE_EMBEDDED_PROFILE", str(getattr(kafka_broker, "embedded", True)).lower())

    def run(name_or_path: str | Path) -> Replayed:
        count["n"] += 1
        base = ["--kafka-bootstrap", kafka_broker.bootstrap, "--data-dir", str(tmp_path / f"run-{count['n']}")]
        return Replayed(capsys, base, name_or_path)

    return run


def _escalations(rows: list[dict[str, Any]]) -> set[tuple[str, int, str]]:
    """(duty manager, level, recipient it is about) of every escalation message sent."""
    return {(r["staff_id"], r["level"], r["regarding"]) for r in rows if r["purpose"] == "ESCALATION"}


def _resends(rows: list[dict[str, Any]]) -> set[tuple[str, int]]:
    return {(r["staff_id"], r["resend"]) for r in rows if r["purpose"] == "RESEND"}


def test_unacknowledged_critical_escalates_and_is_resent(replay_into: Any) -> None:
    """Nobody acknowledges: re-sends every 10 minutes, level 1 to the on-call duty manager at 15, level 2 to every
    duty manager at 30, each about each recipient; stdout is the alert lines only, as the pure engine prints them."""
    run = replay_into("ack-unacknowledged-critical-escalates")
    assert run.lines == list(replayed("ack-unacknowledged-critical-escalates")[0])
    assert outcome_of(run.lines) == expected_outcome("ack-unacknowledged-critical-escalates")
    rows = run.disclosures()
    assert _escalations(rows) == {(DM1, 1, CM), (DM1, 1, IDVA), (DM1, 2, CM), (DM1, 2, IDVA), (DM2, 2, CM),
                                  (DM2, 2, IDVA)}
    assert _resends(rows) == {(s, n) for s in (CM, IDVA) for n in (1, 2, 3)}
    at = {(r["staff_id"], r["level"], r["resend"], r["regarding"]): r["at"] for r in rows if r["channel"] == "SMS"}
    assert at[(DM1, 1, 0, IDVA)] == "2026-11-23T20:07:00+00:00"  # the breach came in at 19:52
    assert at[(DM2, 2, 0, CM)] == "2026-11-23T20:22:00+00:00"
    assert at[(IDVA, 0, 3, None)] == "2026-11-23T20:22:00+00:00"
    assert {r["outcome"] for r in rows} == {"sent"} and all(r["acknowledged_at"] is None for r in rows)
    acks = run.acks()
    assert {s: (a["acknowledged_at"], a["escalation_level"], a["resends"]) for s, a in acks.items()} == {
        CM: (None, 2, 3), IDVA: (None, 2, 3)}
    escalated = [e for e in run.events() if e["action"] == "ESCALATED"]
    assert sorted((e["staff_id"], e["detail"]["level"], tuple(e["detail"]["notified"])) for e in escalated) == [
        (CM, 1, (DM1,)), (CM, 2, (DM1, DM2)), (IDVA, 1, (DM1,)), (IDVA, 2, (DM1, DM2))]
    chronology = run.run("chronology", "DRV-0001")
    assert chronology.count("| NOT ACKNOWLEDGED |") == 2
    assert "duty manager(s) staff-dm-01, staff-dm-02 told (level 2) about staff-idva-07: SMS, EMAIL" in chronology
    assert chronology.count("| RESENT |") == 6 and chronology.count("| ESCALATED |") == 4
    # the flag is dated when it escalated (level 2 at 20:22), not when the alert was raised (19:52)
    assert "**ESCALATED** 23/11/2026 20:22 GMT (20:22:00 UTC):" in chronology, chronology
    assert re.search(r"which happened \d\d/\d\d/\d{4} \d\d:\d\d (GMT|BST) \(", chronology)  # UK time beside UTC


def test_acknowledged_by_both_recipients_nothing_escalates(replay_into: Any) -> None:
    """The case manager replies ACK by SMS, the IDVA uses the e-mail link: two hours on, nothing more is sent."""
    run = replay_into("ack-by-both-recipients")
    assert outcome_of(run.lines) == expected_outcome("ack-by-both-recipients")
    rows = run.disclosures()
    assert {r["purpose"] for r in rows} == {"ALERT"} and len(rows) == 4
    acks = run.acks()
    assert {s: (a["acknowledged_by"], a["ack_via"], a["escalation_level"], a["resends"]) for s, a in acks.items()} \
        == {CM: (CM, "SMS", 0, 0), IDVA: (IDVA, "LINK", 0, 0)}
    assert "ack-by-both-recipients.jsonl:9: acknowledged:" in run.err
    assert "| ESCALATED |" not in run.run("chronology", "DRV-0001")


def test_acknowledged_by_the_case_manager_only_still_escalates_for_the_idva(replay_into: Any) -> None:
    """The case manager's ack is theirs alone: the IDVA is re-sent the alert and escalated to the duty manager."""
    run = replay_into("ack-by-case-manager-only")
    assert outcome_of(run.lines) == expected_outcome("ack-by-case-manager-only")
    rows = run.disclosures()
    assert _escalations(rows) == {(DM1, 1, IDVA)}
    assert _resends(rows) == {(IDVA, 1), (IDVA, 2)}
    cm_rows = [r for r in rows if r["staff_id"] == CM]
    assert {(r["acknowledged_by"], r["ack_via"]) for r in cm_rows} == {(CM, "SMS")}
    dm = [r for r in rows if r["staff_id"] == DM1]
    assert {(r["regarding"], r["acknowledged_at"]) for r in dm} == {(IDVA, None)}
    assert "idva staff-idva-07 has not acknowledged for 15 minutes" in dm[0]["body"]
    chronology = run.run("chronology", "DRV-0001")
    recipients = {line.split(" | ")[0].strip("| "): line for line in chronology.splitlines()
                  if line.startswith(("| staff-cm-01 |", "| staff-idva-07 |"))}
    assert "via SMS" in recipients[CM] and "NOT ACKNOWLEDGED" in recipients[IDVA]


def test_duty_manager_takes_the_escalation_and_acknowledges_on_behalf(replay_into: Any) -> None:
    """After level 1 the duty manager acks the escalation by SMS (no level 2), then acknowledges for the IDVA with a
    reason in the web app; the case manager uses the link. Both staff ids and the reason are in the audit."""
    run = replay_into("ack-on-behalf-by-duty-manager")
    rows = run.disclosures()
    assert {lvl for _, lvl, _ in _escalations(rows)} == {1}
    assert _resends(rows) == {(CM, 1), (IDVA, 1)}
    acks = run.acks()
    assert (acks[IDVA]["acknowledged_by"], acks[IDVA]["ack_via"], acks[IDVA]["ack_reason"]) == (
        DM1, "ON_BEHALF", "SPOKE_TO_RECIPIENT")
    assert (acks[CM]["acknowledged_by"], acks[CM]["ack_via"]) == (CM, "LINK")
    assert {a["escalation_acked_by"] for a in acks.values()} == {DM1}
    on_behalf = next(e for e in run.events() if e["action"] == "ACKNOWLEDGED" and e["staff_id"] == IDVA)
    assert (on_behalf["detail"]["by"], on_behalf["detail"]["through"]) == (DM1, "WEB")
    chronology = run.run("chronology", "DRV-0001")
    assert "staff-idva-07 (idva) acknowledged for them by staff-dm-01 (SPOKE_TO_RECIPIENT)" in chronology
    assert "| TAKEN | duty manager staff-dm-01 took the escalation about staff-idva-07" in chronology


def test_refused_ack_lines_are_named_on_stderr_and_the_replay_goes_on(replay_into: Any, tmp_path: Path) -> None:
    """An ack by someone who received no such alert, for a rule never raised, or on behalf without a reason is a
    refused line with its line number; the good ack after them still acknowledges."""
    lines = scenario_path("ack-by-case-manager-only").read_text().splitlines()
    ack = lines.index(next(line for line in lines if line.startswith('{"ack"')))
    bad = [{"ack": {"staff_id": "staff-idva-09", "rule": "breach.no_contact"}},  # the other victim's IDVA
           {"ack": {"staff_id": CM, "rule": "breach.curfew"}},
           {"ack": {"staff_id": DM1, "rule": "breach.no_contact", "on_behalf_of": IDVA}}]
    scenario = tmp_path / "refused-acks.jsonl"
    scenario.write_text("\n".join([*lines[:ack], *map(json.dumps, bad), *lines[ack:]]) + "\n")
    run = replay_into(scenario)
    n = ack + 1
    assert f"refused-acks.jsonl:{n}: refused: ack by staff-idva-09 of breach.no_contact: no breach.no_contact " \
           f"alert was addressed to staff-idva-09" in run.err
    assert f"refused-acks.jsonl:{n + 1}: refused: ack by staff-cm-01 of breach.curfew: no breach.curfew alert" \
        in run.err
    assert f"refused-acks.jsonl:{n + 2}: refused: ack by staff-dm-01 for staff-idva-07 of breach.no_contact: " \
           f"REASON_REQUIRED" in run.err
    assert f"refused-acks.jsonl:{n + 3}: acknowledged:" in run.err
    assert outcome_of(run.lines) == expected_outcome("ack-by-case-manager-only")
    assert run.acks()[CM]["ack_via"] == "SMS" and run.acks()[IDVA]["acknowledged_at"] is None
    refused = [e["detail"]["reason"] for e in run.events() if e["action"] == "ACK_REFUSED"]
    assert refused == ["REASON_REQUIRED"]  # the API's refusal is audited; the replay's own look-ups are not acks


def test_without_delivery_ack_lines_are_reported_not_applied(settings_factory: Any) -> None:
    """`--no-deliver` keeps no ledger: each ack line says so on stderr and stdout is the alert lines as ever."""
    out, err = io.StringIO(), io.StringIO()
    assert replay(scenario_path("ack-by-both-recipients"), settings_factory(), out, err=err, timeout_s=60) == 0
    assert [json.loads(line) for line in out.getvalue().splitlines()] == list(replayed("ack-by-both-recipients")[0])
    assert "ack-by-both-recipients.jsonl:9: not applied: ack by staff-cm-01 (--no-deliver keeps no ledger)" in \
        err.getvalue()
