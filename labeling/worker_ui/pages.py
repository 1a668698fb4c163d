"""Rendering for the worker UI: the Jinja2 environment (built once, lazily), security headers, static URLs."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from labeling import resources, tasktypes, web
from labeling.consensus import leaderboard_report
from labeling.worker_ui import markup

# Every asset comes from this server; task text is never markup, so scripts and styles need no exceptions.
# Images may be http(s) URLs given by the requester (data.image), so img-src allows those.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: http: https:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

def task_type_name(name: str) -> str:
    """A task type's display name (from its spec)."""
    spec = tasktypes.REGISTRY.get(name)
    return spec.display_name if spec is not None else name


@functools.cache
def templates() -> Jinja2Templates:
    """The template environment, made on first use (never at import time); autoescape stays on."""
    env = Jinja2Templates(directory=str(resources.templates_dir()))
    env.env.filters["instructions"] = markup.render
    env.env.filters["task_type_name"] = task_type_name
    env.env.filters["isolate"] = leaderboard_report.isolated  # a model name on a line with other words or numbers
    env.env.globals["static"] = static_url
    return env


@functools.cache
def _digest(name: str) -> str:
    path = resources.static_dir() / name
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


def static_url(name: str) -> str:
    """/static/NAME?v=HASH, so a new release is never hidden by a cached old file."""
    return f"/static/{name}?v={_digest(name)}"


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    """A template as an HTML response with the UI's security headers and this session's CSRF token."""
    ctx = {"csrf_token": web.csrf_token(request), **(context or {})}
    response = templates().TemplateResponse(request, name, ctx, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response
