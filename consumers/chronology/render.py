"""Renders a review chronology from its jinja2 templates: a standalone printable HTML page, or Markdown."""
from __future__ import annotations

from functools import cache

import jinja2

from consumers.chronology import times
from consumers.chronology.review import Review
from consumers.chronology.timeline import timeline

FORMATS = ("html", "markdown")
RULE_WORDS = {"NOT_ACKNOWLEDGED": "not acknowledged", "ESCALATED": "escalated", "DELIVERY_FAILED": "delivery failed",
              "NOBODY_TOLD": "nobody told", "RELEASE_WITHOUT_ALERT": "release without alert",
              "SILENCE_DURING_BAIL": "silence during bail", "ACK_REFUSED": "acknowledgement refused"}


def _markdown_cell(text: object) -> str:
    """A value that cannot end a Markdown table cell or row."""
    return " ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|")


def add_filters(env: jinja2.Environment) -> jinja2.Environment:
    """The time and wording filters every template of the chronology (and the web app) uses."""
    env.filters.update(both=times.both, uk=times.uk, utc=times.utc, iso=times.iso, duration=times.duration,
                       md=_markdown_cell, flag_words=lambda code: RULE_WORDS.get(code, code.lower()))
    env.globals["age"] = times.age
    return env


@cache
def _environment(fmt: str) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("consumers.chronology", "templates"),
                             autoescape=fmt == "html", trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    return add_filters(env)


def context(r: Review) -> dict[str, object]:
    """What the chronology templates read: the review and its timeline."""
    return {"review": r, "timeline": timeline(r)}


def render(fmt: str, r: Review) -> str:
    """The review as a standalone HTML page (`html`) or a Markdown document (`markdown`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown chronology format {fmt!r}")
    name = "chronology.html" if fmt == "html" else "chronology.md"
    return _environment(fmt).get_template(name).render(**context(r))

