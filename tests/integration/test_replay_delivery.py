"""A replayed scenario leaves a real ledger behind: `audit` and `chronology` answer who was told what, when."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from entrypoints import cli

pytestmark = pytest.mark.integration
SCENARIO = Path(__file__).resolve().parents[2] / "streams" / "scenarios" / "routing-two-victims.jsonl"


def _drive(capsys: pytest.CaptureFixture[str], base: list[str], *args: str) -> str:
    capsys.readouterr()
    assert cli.main([*base, *args]) == 0
    return capsys.readouterr().out


def test_replay_then_audit_and_chronology(kafka_broker, tmp_path: Path, capsys, restore_logging) -> None:
    """Every printed alert is disclosed to exactly its recipients (SMS + email); a second replay sends nothing new."""
    base = ["--kafka-bootstrap", kafka_broker.bootstrap, "--data-dir", str(tmp_path)]
    alerts = [json.loads(line) for line in _drive(capsys, base, "replay", str(SCENARIO)).splitlines()]
    assert {a["rule"] for a in alerts} >= {"release.bail", "breach.no_contact"}

    disclosed = [json.loads(line) for line in _drive(capsys, base, "audit", "--subject", "DRV-0001", "--json").splitlines()]
    expected = {(a["alert_id"], r["staff_id"], channel)
                for a in alerts for r in a["recipients"] for channel in ("SMS", "EMAIL")}
    assert {(d["alert_id"], d["staff_id"], d["channel"]) for d in disclosed} == expected
    assert {d["outcome"] for d in disclosed} == {"sent"}
    for row in disclosed:  # an IDVA's message names only their own client
        if row["role"] == "IDVA":
            others = {"VIC-0001", "VIC-0002"} - {r["victim_ref"] for a in alerts if a["alert_id"] == row["alert_id"]
                                                 for r in a["recipients"] if r["staff_id"] == row["staff_id"]}
            assert not any(ref in row["body"] for ref in others)

    chronology = _drive(capsys, base, "chronology", "DRV-0001")
    assert "| RECORDED | police.demo recorded BAIL_GRANTED" in chronology  # the release.bail alert's own path
    assert chronology.count("\n### ") == len(alerts) and chronology.count("| RAISED |") == len(alerts)

    _drive(capsys, base, "replay", str(SCENARIO))
    again = _drive(capsys, base, "audit", "--subject", "DRV-0001", "--json").splitlines()
    assert len(again) == len(disclosed)
    outbox = (tmp_path / "outbox.jsonl").read_text().splitlines()
    assert len(outbox) == len(disclosed)  # every message once, re-sends included; none again on the second replay
