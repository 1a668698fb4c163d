"""The requester and admin console: HTML pages under /console, beside the worker UI (labeling/worker_ui).

Every page module of this package is found at start-up (`routes()` imports each module of the package that
defines `PAGES`), so a new page is a new file, never an edit of a shared list:

1. **Module**: `labeling/console/NAME.py` with
   `PAGES = [("GET", "/console/projects/{project_id}/NAME", handler), ...]` (method, path, handler) and, for a
   project page, `TABS = [frame.Tab("NAME", "Title", "NAME", order=..., accesskey="x")]`. The handler is
   decorated with `@frame.page("console.project")` (or another console action) and reads its project with
   `row = await frame.project_for(request, caller, conn)` (404 when it is not the caller's, asked of the policy).
   Its tab appears in the project header only because its module is loaded: an unbuilt page is never a dead link.
   A tab's `shows(row)` hides it for projects it does not apply to (the leaderboard: preference projects only).
2. **Template**: `templates/console/NAME.html`, `{% extends "console/base.html" %}`, filling `block content`
   (and `block console_scripts` for a page script in labeling/static/, no inline scripts: the CSP forbids them).
   Render with `frame.render(request, caller, "console/NAME.html", {...}, project=row, tab="NAME")`: the nav, the
   project header and its tabs, the CSRF token (meta `csrf-token`, read by console.js `Console.api`) are added.
3. **Policy action**: pages ask `policy.authorize` through `frame.page(action)` with a console action of
   labeling/policy.py RULES: `console.projects` (requesters and admins; lists filter to what the caller owns),
   `console.project` (the project's owner and admins: every page under /console/projects/{id}), `console.teams`
   and `console.team` (the teams list; one team's page: its owner and admins), `console.people` (admins). A worker
   gets 403; a visitor without credentials is sent to /login, as in the worker UI.
4. **Matrix entry**: one line per route in tests/test_policy_matrix.py MATRIX, in your module's block of the
   console section (CONSOLE_LIST, CONSOLE_PROJECT, CONSOLE_TEAM or CONSOLE_ADMIN).

Tabs in order: Overview 0, Import 10, Results 20, Quality 30, Export 40, Leaderboard 50, Settings 90.
Writes from console pages go through the JSON API (`Console.api` in console.js sends the CSRF header), so there
is one validation path (labeling/schemas.py).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from types import ModuleType

from starlette.routing import BaseRoute

from labeling import web
from labeling.console import frame


@functools.cache
def modules() -> tuple[ModuleType, ...]:
    """Every page module of the package (those that define PAGES), by name."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "PAGES"):
            found.append(module)
    return tuple(found)


@functools.cache
def tabs() -> tuple[frame.Tab, ...]:
    """The project tabs of the loaded page modules, in order; each tab's page must be one of its module's routes."""
    out = []
    for module in modules():
        paths = {path for _, path, _ in module.PAGES}
        for tab in getattr(module, "TABS", ()):
            assert frame.tab_path(tab) in paths, f"{module.__name__}: tab {tab.key!r} has no route {frame.tab_path(tab)}"
            out.append(tab)
    return tuple(sorted(out, key=lambda t: (t.order, t.key)))


@functools.cache
def paths() -> frozenset[str]:
    """Every console page's path (the nav links only to pages that exist: People once its module is there)."""
    return frozenset(path for module in modules() for _, path, _ in module.PAGES)


def routes() -> list[BaseRoute]:
    """The console's routes (one Route per path, each method with its policy action)."""
    # A literal segment wins over a parameter (/console/projects/new before /console/projects/{project_id}):
    # paths with fewer parameters come first (a stable sort keeps each module's order otherwise).
    entries = sorted((entry for module in modules() for entry in module.PAGES), key=lambda e: e[1].count("{"))
    return web.method_routes((path, method, handler) for method, path, handler in entries)
