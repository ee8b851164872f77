"""RFC 9457 problem details: application/problem+json answers, a type URI per code, and the page the URIs point at.

A service's problem types are sections of (code, title) rows. Each code's type URI is `<base>/problems#<anchor>`,
and the service serves that page itself, so the URI of every refusal opens its explanation. Members a service
answered before problem+json (e.g. a word in `status`) are kept beside the standard ones: RFC 9457 tells
consumers to ignore a standard member whose value has another type, so old clients and problem clients both work.
"""
from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

PROBLEM_JSON = "application/problem+json"
PROBLEMS_PATH = "/problems"
_POINTER_PARTS = re.compile(r"\[(\d+)\]|([^.\[]+)")


@dataclass(frozen=True)
class Section:
    """A group of problem types on the page: a heading, a sentence saying what they are, and the (code, title) rows;
    `prefix` keeps the anchors of one section apart from another's (a field code and a refusal code may share a name)."""

    heading: str
    intro: str
    rows: Mapping[str, str]
    prefix: str = ""

    def anchor(self, code: str) -> str:
        """The fragment of a code: lower case, hyphens (`TOO_LONG` -> `too-long`), after the section's prefix."""
        return self.prefix + code.lower().replace("_", "-")


def type_uri(base_url: str, section: Section, code: str) -> str:
    """The type URI of a code: where the page explains it."""
    return f"{base_url.rstrip('/')}{PROBLEMS_PATH}#{section.anchor(code)}"


def json_pointer(path: str, prefix: str = "") -> str:
    """An RFC 6901 pointer for a dotted field path (`details.conditions[0].kind` -> `/details/conditions/0/kind`)."""
    parts = (m.group(1) or m.group(2) for m in _POINTER_PARTS.finditer(path))
    return prefix + "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def problem(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> web.Response:
    """An application/problem+json answer."""
    return web.json_response(dict(body), status=status, content_type=PROBLEM_JSON, headers=headers)


def page_html(title: str, sections: Sequence[Section]) -> str:
    """The problem types page: one anchored entry per code."""
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.heading)}</h2><p>{html.escape(section.intro)}</p><dl>")
        parts += [f"<dt id=\"{section.anchor(code)}\"><code>{html.escape(code)}</code></dt><dd>{html.escape(text)}</dd>"
                  for code, text in section.rows.items()]
        parts.append("</dl>")
    return "".join(parts) + "</body></html>"


def page_markdown(title: str, intro: str, sections: Sequence[Section]) -> str:
    """The same page as Markdown (docs/problems.md), with explicit anchors so the fragments match."""
    lines = [f"# {title}", "", intro, ""]
    for section in sections:
        lines += [f"## {section.heading}", "", section.intro, "", "| code | meaning |", "| --- | --- |"]
        lines += [f"| <a id=\"{section.anchor(code)}\"></a>`{code}` | {text} |" for code, text in section.rows.items()]
        lines.append("")
    return "\n".join(lines)


def page_route(app: web.Application, title: str, sections: Sequence[Section]) -> None:
    """Serve the page at /problems."""
    page = page_html(title, sections)

    async def serve(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app.router.add_get(PROBLEMS_PATH, serve)
