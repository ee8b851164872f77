"""The engine: dedupe, flapping, late records, grace expiry, stale events, custody order, registry gating."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from schemas.details import Arrest, CustodyRelease, EmSignalLoss, EmZoneExit
from schemas.enums import (
    BreachEventType,
    CaseEventType,
    CaseStatus,
    ConditionKind,
    CustodyReleaseType,
    IncidentEventType,
    OffenceCategory,
)
from schemas.shared import Source
from streams.rules import apply, empty
from streams.rules.state import CustodyStatus
from tests.unit.rules_fixtures import (
    CM,
    CONFIG,
    DAY,
    HOUR,
    NO_CONTACT_V1,
    SUBJECT,
    T0,
    ZONE,
    ZONE_EXCLUSION,
    bail,
    breach_report,
    case_event,
    condition,
    event,
    incident,
    order,
    rules,
    run,
    subject,
    tick,
    zone_entry,
)

NC = ConditionKind.NO_CONTACT
MIN = timedelta(minutes=1)


def test_the_same_event_twice_gives_one_alert():
    """Redelivery of an event (same event_id) raises nothing the second time."""
    e = incident("VIC-A1")
    state, first = run(subject(), e)
    _, second = apply(state, e, T0 + HOUR, CONFIG)
    assert len(first) == 1 and second == []


def test_a_redelivered_event_leaves_the_state_unchanged():
    """A seen event id changes nothing at all."""
    e = incident("VIC-A1")
    state, _ = run(subject(), e)
    again, _ = apply(state, e, T0 + HOUR, CONFIG)
    assert again == state


def test_another_agencys_event_with_the_same_id_is_not_a_repeat():
    """Each agency numbers its own events: a court order and a police breach report that happen to share an id
    are two events (the intake accepts both), so the breach of the order's no-contact condition still alerts."""
    court = Source(agency="court-bham", system="hmcts-cp")
    the_order = replace(order(condition("C1", NC, person="VIC-A1")), event_id="SHARED-1", source=court)
    report = replace(breach_report(NC, condition_id="C1"), event_id="SHARED-1")
    state, _ = run(subject(), the_order)
    _, alerts = apply(state, report, T0 + HOUR, CONFIG)
    assert "breach.no_contact" in rules(alerts)


def test_alert_ids_are_deterministic():
    """The same rule, subject and trigger give the same alert id in independent states."""
    e = incident("VIC-A1")
    _, [a] = run(subject(), e)
    _, [b] = run(subject(), e, now=T0 + DAY)
    assert a.alert_id == b.alert_id and len(a.alert_id) == 24


def _exit(at):
    return event(BreachEventType.EM_ZONE_EXIT, EmZoneExit(device_ref="TAG-1", zone_ref=ZONE.value), at=at)


def test_em_zone_flapping_within_the_window_is_grouped():
    """Entries and exits of one zone within the flap window give one alert carrying the group key."""
    state, _ = run(subject(), bail(ZONE_EXCLUSION))
    _, alerts = run(state, zone_entry(T0), _exit(T0 + 5 * MIN), zone_entry(T0 + 10 * MIN),
                    _exit(T0 + 20 * MIN), zone_entry(T0 + 45 * MIN))
    assert rules(alerts) == ["breach.exclusion_zone"]
    assert alerts[0].group_key == f"em:TAG-1:zone:{ZONE.value}"


def test_em_zone_entry_after_a_quiet_window_alerts_again():
    """Once the flap window passes with no event of the group, an entry is a new alert."""
    state, _ = run(subject(), bail(ZONE_EXCLUSION))
    _, alerts = run(state, zone_entry(T0), _exit(T0 + 5 * MIN), zone_entry(T0 + 40 * MIN))
    assert rules(alerts) == ["breach.exclusion_zone", "breach.exclusion_zone"]
    assert alerts[0].alert_id != alerts[1].alert_id


def test_signal_loss_flapping_is_grouped():
    """Signal lost, restored and lost again within the window gives one alert."""
    def lost(at):
        return event(BreachEventType.EM_SIGNAL_LOSS, EmSignalLoss(device_ref="TAG-1", restored=False), at=at)
    back = event(BreachEventType.EM_SIGNAL_LOSS, EmSignalLoss(device_ref="TAG-1", restored=True), at=T0 + MIN)
    _, alerts = run(subject(), lost(T0), back, lost(T0 + 10 * MIN))
    assert rules(alerts) == ["breach.em_tamper"]


def test_a_late_bail_record_raises_the_pending_breach():
    """A report of no known condition waits; the bail record covering its time then raises the breach."""
    report = breach_report(NC, bail_ref="BAIL-1", protected_person_ref="VIC-A1")
    state, first = run(subject(), report)
    late_bail = bail(NO_CONTACT_V1, at=T0 - 10 * DAY)
    state, second = apply(state, late_bail, T0 + HOUR, CONFIG)
    breach = [a for a in second if a.rule == "breach.no_contact"]
    assert first == [] and len(breach) == 1
    assert set(breach[0].trigger_event_ids) == {report.event_id, late_bail.event_id}
    assert state.pending == ()


def test_a_late_record_not_covering_the_breach_time_raises_no_breach():
    """A record whose condition started after the reported contact settles the report without a breach."""
    state, _ = run(subject(), breach_report(NC, bail_ref="BAIL-1"))
    state, alerts = apply(state, bail(condition("C1", NC, person="VIC-A1", start=T0 + HOUR)), T0 + HOUR, CONFIG)
    assert "breach.no_contact" not in rules(alerts) and state.pending == ()


def test_grace_expiry_raises_breach_unverified_to_the_case_manager():
    """When late_grace passes with no record, the case manager hears "condition not on record"."""
    state, _ = run(subject(), breach_report(NC, bail_ref="BAIL-X"))
    state, alerts = tick(state, T0 + MIN + CONFIG.late_grace)
    assert rules(alerts) == ["breach.unverified"]
    assert [r.staff_id for r in alerts[0].recipients] == [CM] and state.pending == ()


def test_no_unverified_alert_before_the_grace_passes():
    """A pending report within its grace raises nothing on tick."""
    state, _ = run(subject(), breach_report(NC, bail_ref="BAIL-X"))
    state, alerts = tick(state, T0 + CONFIG.late_grace - HOUR)
    assert alerts == [] and len(state.pending) == 1


def test_an_event_older_than_retention_updates_state_but_raises_nothing():
    """A very late custody release is learnt (custody) but alerts nobody."""
    old = event(IncidentEventType.CUSTODY_RELEASE, CustodyRelease(
        custody_ref="CUS-1", force_area="WM", release_type=CustodyReleaseType.BAILED), at=T0 - 100 * DAY)
    state, alerts = apply(subject(), old, T0, CONFIG)
    assert alerts == [] and state.custody.status == CustodyStatus.IN_COMMUNITY


def test_a_late_custody_fact_does_not_override_a_newer_one():
    """An arrest dated before the known release leaves the subject in the community."""
    release = event(IncidentEventType.CUSTODY_RELEASE, CustodyRelease(
        custody_ref="CUS-1", force_area="WM", release_type=CustodyReleaseType.BAILED), at=T0)
    arrest = event(IncidentEventType.ARREST, Arrest(force_area="WM", offence_category=OffenceCategory.ASSAULT),
                   at=T0 - HOUR)
    state, _ = run(subject(), release, arrest, now=T0 + HOUR)
    assert state.custody.status == CustodyStatus.IN_COMMUNITY


def test_a_subject_without_a_case_gets_no_alert():
    """Without the registry entry there is nobody to tell, so nothing is raised."""
    _, alerts = run(empty(SUBJECT), incident("VIC-A1"))
    assert alerts == []


def test_a_closed_case_gets_no_alert():
    """After CASE_CLOSED, events raise nothing."""
    closed = case_event(status=CaseStatus.CLOSED, event_type=CaseEventType.CASE_CLOSED, at=T0 - DAY)
    state, _ = run(subject(), closed)
    _, alerts = run(state, incident("VIC-A1"))
    assert alerts == []


def test_tick_prunes_conditions_ended_beyond_retention():
    """An ended condition is kept for state_retention after its end, then dropped."""
    state, _ = run(subject(), order(condition("C1", NC, person="VIC-A1", end=T0)))
    kept, _ = tick(state, T0 + CONFIG.state_retention - DAY)
    pruned, _ = tick(state, T0 + CONFIG.state_retention + DAY)
    assert len(kept.conditions) == 1 and pruned.conditions == ()


def test_seen_ids_are_bounded():
    """The seen-event set keeps at most seen_ids_max ids."""
    state = subject()
    for i in range(CONFIG.seen_ids_max + 10):
        state, _ = apply(state, incident("VIC-A1", at=T0 - 40 * DAY + i * MIN), T0, CONFIG)
    assert len(state.seen_events) == CONFIG.seen_ids_max
