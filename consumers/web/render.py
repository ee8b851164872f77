"""A page of the web app: a template rendered with the viewer, their CSRF token and the clock."""
from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from consumers.web.deps import deps_of
from consumers.web.sessions import csrf_token, current_viewer


async def page(request: web.Request, name: str, context: dict[str, object], status: int = 200) -> web.Response:
    """The template `name` with `context`, the viewer (or None), this browser's CSRF token and `now`."""
    values = {"viewer": await current_viewer(request), "csrf": await csrf_token(request), "now": deps_of(request).now(),
              **context}
    return aiohttp_jinja2.render_template(name, request, values, status=status)
