"""Per-channel rendering: SMS (GSM-7, two segments) and e-mail (plain + escaped HTML), every body guarded."""
from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from consumers.delivery.guard import is_safe, unsafe_token_count
from schemas.alert_text import RULE_PHRASES

SMS_MAX_SEPTETS = 306  # two concatenated GSM-7 segments of 153
GSM7_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
              "¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENDED = "^{}\\[~]|€"  # two septets each (escape + char)
_TRANSLITERATE = {"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " ",
                  "•": "-", "\t": " "}
AckLinkFn = Callable[[str, str], "str | None"]


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What one message may say: the alert's coded facts and the recipient's minimised texts."""

    alert_id: str
    severity: str
    rule: str
    ack_code: str
    subject_id: str
    role: str
    victim_refs: tuple[str, ...]
    texts: tuple[str, ...]

    @property
    def known_codes(self) -> tuple[str, ...]:
        """Codes the guard accepts as they are (the ack code may be all letters)."""
        return (self.ack_code, self.subject_id, *self.victim_refs, self.alert_id[:8].upper())


@dataclass(frozen=True, slots=True)
class Rendered:
    """A guarded body; `replaced` when the guard refused the draft and the generic body was used."""

    body: str
    replaced: bool = False
    unsafe_count: int = 0


def to_gsm7(text: str) -> str:
    """Text in the GSM-7 alphabet: typographic marks transliterated, accents stripped where needed, others dropped."""
    out = []
    for char in text:
        char = _TRANSLITERATE.get(char, char)
        if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in char):
            out.append(char)
            continue
        plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append("".join(c for c in plain if c in GSM7_BASIC or c in GSM7_EXTENDED))
    return "".join(out)


def gsm7_septets(text: str) -> int:
    """Length of GSM-7 text in septets (extension characters count two)."""
    return sum(2 if c in GSM7_EXTENDED else 1 for c in text)


def _clip_septets(text: str, budget: int) -> str:
    if gsm7_septets(text) <= budget:
        return text
    clipped = text
    while clipped and gsm7_septets(clipped + "..") > budget:
        clipped = clipped[:-1]
    return clipped.rsplit(" ", 1)[0].rstrip(" .,;:") + ".." if " " in clipped else clipped + ".."


def rule_phrase(rule: str) -> str:
    """The rule's phrase from the wording contract, else its id in words."""
    return RULE_PHRASES.get(rule) or re.sub(r"[._]+", " ", rule).strip().lower()


def _core_text(text: str, facts: MessageFacts) -> str:
    """A recipient text without the DRIVE/severity prefix, alert ref and ack instruction the template adds itself."""
    text = re.sub(rf"^\s*DRIVE\s+{re.escape(facts.severity)}\s+", "", text.strip())
    # the streams' alert ref (alert id prefix) goes: the ack code is the one reference a recipient sees
    text = re.sub(rf"^{re.escape(facts.alert_id[:8].upper())}:\s*", "", text)
    return re.sub(r"\s*Reply ACK \S+?\.?\s*$", "", text).strip()


def _reference(facts: MessageFacts) -> str:
    """Case or client reference: an IDVA's message names only their own client."""
    if facts.role == "IDVA" and facts.victim_refs:
        return f"client {' '.join(facts.victim_refs)}"
    return f"case {facts.subject_id}"


def safe_body(facts: MessageFacts) -> str:
    """The generic body used when a draft fails the guard: no text from the alert at all."""
    return (f"DRIVE {facts.severity} alert {facts.ack_code} for {_reference(facts)}: details in the case system. "
            f"Reply ACK {facts.ack_code}")


def _guarded(draft: str, facts: MessageFacts) -> Rendered:
    count = unsafe_token_count(draft, facts.known_codes)
    if count == 0:
        return Rendered(draft)
    return Rendered(to_gsm7(safe_body(facts)), replaced=True, unsafe_count=count)


def render_sms(facts: MessageFacts) -> Rendered:
    """The SMS body: DRIVE, severity, ack code, the recipient's texts, how to acknowledge; <= 306 GSM-7 septets."""
    head = f"DRIVE {facts.severity} alert {facts.ack_code}: "
    tail = f" Reply ACK {facts.ack_code}"
    middle = to_gsm7(" / ".join(_core_text(t, facts) for t in facts.texts))
    budget = SMS_MAX_SEPTETS - gsm7_septets(head) - gsm7_septets(tail)
    return _guarded(to_gsm7(head) + _clip_septets(middle, budget) + to_gsm7(tail), facts)


def render_email_body(facts: MessageFacts) -> Rendered:
    """The plain-text e-mail body stored in the ledger (the ack link is added at send time)."""
    lines = [f"DRIVE {facts.severity} alert {facts.ack_code}", ""]
    lines += [_core_text(t, facts) for t in facts.texts]
    lines += ["", f"Reply ACK {facts.ack_code} by SMS, or use the link below to acknowledge.",
              "Details are in the case system."]
    return _guarded("\n".join(lines), facts)


def email_subject(severity: str, rule: str, ack_code: str) -> str:
    """'[DRIVE <SEVERITY>] <rule phrase> <code>', or a phrase-free subject if the phrase fails the guard."""
    subject = f"[DRIVE {severity}] {rule_phrase(rule)} {ack_code}"
    return subject if is_safe(subject, (ack_code,)) else f"[DRIVE {severity}] alert {ack_code}"


def email_parts(body: str, link: str | None) -> tuple[str, str]:
    """(plain text, HTML) of a stored e-mail body with the acknowledgement link, every text escaped in HTML."""
    text = body if link is None else f"{body}\n\nAcknowledge: {link}\n"
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in body.split("\n") if line.strip())
    if link is not None:
        paragraphs += f'<p><a href="{html.escape(link, quote=True)}">Acknowledge this alert</a></p>'
    return text, f"<!DOCTYPE html><html><body>{paragraphs}</body></html>"


def failover_text(ack_code: str, role: str, staff_id: str) -> str:
    """The duty manager's text when a recipient could not be reached on any channel."""
    return f"Alert {ack_code} could not reach {role.replace('_', ' ').lower()} {staff_id}. Review now."
