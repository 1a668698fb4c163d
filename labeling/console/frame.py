"""The console's frame: page decorator, project lookup, the tab registry's Tab, and rendering with the nav and the
project header (see labeling/console/__init__.py for how to add a page)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import Response

from labeling import web
from labeling.api.projects import project_for  # noqa: F401  # the page's project, once the policy allows it (else 404)
from labeling.models import Role
from labeling.worker_ui import pages
from labeling.worker_ui.routes import WORKER_VIEW
from labeling.worker_ui.routes import page  # noqa: F401  # the same gate as the worker UI: login redirect, 403, 404


def _always(row: Any) -> bool:
    return True


@dataclass(frozen=True)
class Tab:
    """A tab of the project header: `suffix` is the path under /console/projects/{id} ("" for the overview);
    `shows(row)` decides whether this project has it."""

    key: str
    title: str
    suffix: str
    order: int
    accesskey: str | None = None
    shows: Callable[[Any], bool] = field(default=_always, compare=False)


def project_url(project_id: int | str, suffix: str = "") -> str:
    """The URL of a project's console page (with "{project_id}": its route's path)."""
    return f"/console/projects/{project_id}" + (f"/{suffix}" if suffix else "")


def tab_path(tab: Tab) -> str:
    """The route path of a tab's page."""
    return project_url("{project_id}", tab.suffix)


def project_tabs(row: Any) -> list[dict]:
    """The tabs this project shows, with their URLs."""
    from labeling import console  # the package imports this module: asked at render time

    return [{"key": t.key, "title": t.title, "url": project_url(row.id, t.suffix), "accesskey": t.accesskey}
            for t in console.tabs() if t.shows(row)]


def render(request: Request, caller: web.Caller, template: str, context: dict | None = None, *,
           project: Any = None, tab: str | None = None, status_code: int = 200) -> Response:
    """A console page: the template with the signed-in user, the nav, and (for a project page) its header."""
    user = caller.who
    from labeling import console

    if request.session.get(WORKER_VIEW):
        request.session.pop(WORKER_VIEW)  # the person chose the console again: "/" brings them here
    ctx = {"user": user, "is_admin": user.role is Role.admin, "project": project, "tab": tab,
           "people_page": "/console/people" in console.paths(), "teams_page": "/console/teams" in console.paths(),
           "account_page": "/console/account" in console.paths(),
           "tabs": project_tabs(project) if project is not None else [], "nav": _nav(request),
           **(context or {})}
    return pages.render(request, template, ctx, status_code=status_code)


def _nav(request: Request) -> str:
    """Which nav entry is current: people, teams, account, or projects (every project page too)."""
    for entry in ("people", "teams", "account"):
        if request.url.path.startswith(f"/console/{entry}"):
            return entry
    return "projects"
