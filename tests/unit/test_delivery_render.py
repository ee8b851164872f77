"""Unit tests of delivery rendering and the personal-data guard: GSM-7, two segments, allowlist, safe fallback."""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.delivery.guard import is_safe, unsafe_token_count
from consumers.delivery.render import (
    GSM7_BASIC,
    GSM7_EXTENDED,
    SMS_MAX_SEPTETS,
    MessageFacts,
    email_parts,
    email_subject,
    failover_text,
    gsm7_septets,
    render_email_body,
    render_sms,
    safe_body,
    to_gsm7,
)

STREAMS_TEXT = ("DRIVE HIGH ALT5C2E9: released from police custody (BAILED). Case DRV-000123. At 09:41 GMT 22/11. "
                "Review risk and safety plans today.")
IDVA_TEXT = ("DRIVE CRITICAL ALT5C2E9: no-contact breach. Client VIC-0001. At 09:41 GMT 22/11. Contact client now.")
PERSONAL = ("Zebedee Quartermaine", "12 Lilac Close", "07700 900123", "+447700900123", "zeb@example.com",
            "ZEBEDEE QUARTERMAINE")


def facts(*texts: str, role: str = "CASE_MANAGER", severity: str = "HIGH", victims: tuple[str, ...] = ()) -> MessageFacts:
    return MessageFacts(alert_id="alt5c2e9f0a", severity=severity, rule="release.custody", ack_code="KQXMZR",
                        subject_id="DRV-000123", role=role, victim_refs=victims, texts=texts or (STREAMS_TEXT,))


def test_sms_carries_drive_severity_code_text_and_ack_instruction() -> None:
    """A clean text is kept, framed by DRIVE, severity, the ack code and 'Reply ACK <code>'."""
    rendered = render_sms(facts())
    assert not rendered.replaced
    assert rendered.body.startswith("DRIVE HIGH alert KQXMZR: ")
    assert "released from police custody (BAILED). Case DRV-000123. At 09:41 GMT 22/11." in rendered.body
    assert rendered.body.endswith("Reply ACK KQXMZR")
    assert rendered.body.count("DRIVE HIGH") == 1


def test_the_streams_alert_ref_gives_way_to_the_ack_code() -> None:
    """The alert-id prefix the streams put in a text is dropped, so a recipient sees one reference: the ack code."""
    rendered = render_sms(facts())
    assert "ALT5C2E9" not in rendered.body
    assert rendered.body.startswith("DRIVE HIGH alert KQXMZR: released from police custody")


def test_sms_fits_two_gsm7_segments_with_many_texts() -> None:
    """Texts joined for one staff member are clipped so the body stays within 306 septets."""
    rendered = render_sms(facts(*[STREAMS_TEXT] * 6))
    assert not rendered.replaced
    assert gsm7_septets(rendered.body) <= SMS_MAX_SEPTETS
    assert len(rendered.body) > 250 and rendered.body.endswith("Reply ACK KQXMZR")


@given(st.text(max_size=400))
def test_to_gsm7_output_is_gsm7_only(text: str) -> None:
    """Any input becomes text of the GSM-7 basic and extension tables."""
    assert all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in to_gsm7(text))


def test_to_gsm7_transliterates_typography_and_accents() -> None:
    """Curly quotes, dashes and foreign accents become their GSM-7 look-alikes; emoji are dropped."""
    assert to_gsm7("“Review” – now… ‘ok’ ô ç é 🚨") == '"Review" - now... \'ok\' o c é '


def test_extension_characters_count_two_septets() -> None:
    """Characters of the GSM-7 extension table take an escape septet."""
    assert gsm7_septets("a[b]€") == 8


@pytest.mark.parametrize("personal", PERSONAL)
def test_personal_data_in_a_text_falls_back_to_the_safe_body(personal: str) -> None:
    """A name, address, phone number or e-mail in the alert text never reaches SMS or e-mail bodies."""
    text = f"DRIVE HIGH ALT5C2E9: released from police custody. {personal} informed. Review now."
    for render in (render_sms, render_email_body):
        rendered = render(facts(text))
        assert rendered.replaced and rendered.unsafe_count >= 1
        assert rendered.body.startswith("DRIVE HIGH alert KQXMZR for case DRV-000123: details in the case system.")
        assert personal not in rendered.body
        assert not [w for w in personal.split() if w.isalpha() and w in rendered.body]


def test_safe_body_for_an_idva_names_only_their_client() -> None:
    """The IDVA's fallback body refers to their client, never the perpetrator's case."""
    body = safe_body(facts(role="IDVA", victims=("VIC-0001",)))
    assert body == "DRIVE HIGH alert KQXMZR for client VIC-0001: details in the case system. Reply ACK KQXMZR"
    assert "DRV-000123" not in body and is_safe(body, ("KQXMZR",))


def test_the_safe_and_failover_templates_pass_the_guard() -> None:
    """The texts this package writes itself are allowed by its own guard."""
    assert render_sms(facts(failover_text("KQXMZR", "IDVA", "staff-idva-07"))).replaced is False
    assert render_email_body(facts(IDVA_TEXT, role="IDVA", victims=("VIC-0001",))).replaced is False


def test_guard_counts_each_unknown_word() -> None:
    """Known words, codes, times and punctuation pass; every other word counts."""
    assert unsafe_token_count("Review now: DRV-000123 at 09:41 GMT 22/11 (BAILED).") == 0
    assert unsafe_token_count("Quartermaine visited Lilac") == 3
    assert unsafe_token_count("Ring 07700 900123") == 2  # the phone number and the unknown verb


def test_email_subject_uses_the_rule_phrase_and_code() -> None:
    """The subject is '[DRIVE <SEVERITY>] <rule phrase> <code>'."""
    assert email_subject("HIGH", "release.custody", "KQXMZR") == "[DRIVE HIGH] released from police custody KQXMZR"
    assert email_subject("LOW", "some.Zebedee_rule", "KQXMZR") == "[DRIVE LOW] alert KQXMZR"


def test_email_html_is_escaped_and_carries_the_link() -> None:
    """HTML paragraphs escape markup; the ack link is appended to both parts when given."""
    text, html = email_parts("DRIVE HIGH <b>x</b> & y", "https://drive.example/ack/t?a=1&b=2")
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in html and "<b>" not in html
    assert 'href="https://drive.example/ack/t?a=1&amp;b=2"' in html
    assert text.endswith("Acknowledge: https://drive.example/ack/t?a=1&b=2\n")
    assert "href" not in email_parts("body", None)[1]


def test_idva_texts_for_two_victims_merge_into_one_message() -> None:
    """Two texts for one IDVA become one SMS carrying both."""
    second = IDVA_TEXT.replace("VIC-0001", "VIC-0002")
    rendered = render_sms(dataclasses.replace(facts(IDVA_TEXT, second, role="IDVA"), victim_refs=("VIC-0001", "VIC-0002")))
    assert not rendered.replaced and "VIC-0001" in rendered.body and "VIC-0002" in rendered.body
