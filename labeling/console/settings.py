"""A project's settings: /console/projects/new (create) and /console/projects/{id}/settings (edit), one form and
one script (labeling/static/console-project.js) that send the JSON API's own bodies (POST /api/projects, PATCH
/api/projects/{id}, PUT .../pool), so schemas.py is the one validation path and its errors name the input. The
instructions' live preview is rendered by the worker page's own renderer (POST /console/preview)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from labeling import jsonio, membership, paging, projects, schemas, tasktypes, teams, web
from labeling.console import frame
from labeling.worker_ui import markup, pages

PREVIEW_BODY_BYTES = 2 * 1024 * 1024


def task_types() -> list[dict]:
    """Every task type for the form: name, display name, description, whether it needs labels, its page keys."""
    specs = sorted(tasktypes.REGISTRY.values(), key=lambda s: (s.order, s.name))
    return [{"name": s.name, "display_name": s.display_name, "description": s.description,
             "needs_labels": s.needs_labels, "reserved_keys": s.reserved_keys} for s in specs]


async def _teams(conn: Any, caller: web.Caller) -> list[dict]:
    return (await teams.page(conn, caller.who, None, paging.MAX_LIMIT))["data"]


def _form(settings: dict, pool: dict, team_list: list[dict], *, new: bool) -> dict:
    redundancy = settings["redundancy"]
    adaptive = isinstance(redundancy, dict)
    styles = {s["name"]: s for s in settings["label_styles"]}
    labels = []
    for item in settings["labels"]:
        name = item["name"] if isinstance(item, dict) else item
        given = item if isinstance(item, dict) else {}
        labels.append({"name": name, "color": given.get("color") or styles.get(name, {}).get("color", "#888888"),
                       "color_given": bool(given.get("color")), "hotkey": given.get("hotkey") or ""})
    edit = settings["edit_window"]
    listed_teams = {t["id"] for t in pool["teams"]}
    offered = {t["id"] for t in team_list}
    # A listed team the caller's list leaves out (past its first page, or put there by an admin) stays ticked, so
    # saving the form never drops it unasked.
    kept = [{**t, "members": None, "checked": True} for t in pool["teams"] if t["id"] not in offered]
    return {
        "new": new, "settings": settings, "labels": labels, "adaptive": adaptive,
        "fixed": redundancy if not adaptive else redundancy["min"],
        "rmin": redundancy["min"] if adaptive else redundancy, "rmax": redundancy["max"] if adaptive else redundancy,
        "target": redundancy["target_confidence"] if adaptive else 0.9,
        "edit_kind": "minutes" if isinstance(edit, int) else edit, "edit_minutes": edit if isinstance(edit, int) else 30,
        "options_json": jsonio.dumps(settings["options"] or {}),
        "pool": pool, "pool_workers": ", ".join(w["username"] for w in pool["workers"]),
        "teams": [{**t, "checked": t["id"] in listed_teams} for t in team_list] + kept,
        "task_types": task_types(),
    }


DEFAULTS = {"name": "", "task_type": "text_classification", "labels": [], "label_styles": [], "instructions": "",
            "redundancy": 1, "lease_seconds": 600, "gold_first_n": 0, "gold_fraction": 0.0, "gold_min": 5,
            "gold_threshold": 0.0, "options": {}, "edit_window": "until_final", "status": "active"}


@frame.page("console.projects")
async def new_project(request: Request, caller: web.Caller) -> Response:
    """GET /console/projects/new"""
    async with web.state(request).db.read() as conn:
        team_list = await _teams(conn, caller)
    pool = {"all_workers": True, "workers": [], "teams": []}
    return frame.render(request, caller, "console/project_form.html", _form(DEFAULTS, pool, team_list, new=True))


@frame.page("console.project")
async def settings_page(request: Request, caller: web.Caller) -> Response:
    """GET /console/projects/{project_id}/settings"""
    async with web.state(request).db.read() as conn:
        row = await frame.project_for(request, caller, conn)
        pool = await membership.pool(conn, row)
        team_list = await _teams(conn, caller)
    context = _form(projects.public(row), pool, team_list, new=False)
    context["version"] = membership.etag(row)  # sent back in If-Match: a save meets what changed since (412)
    return frame.render(request, caller, "console/project_form.html", context, project=row, tab="settings")


@frame.page("console.projects")
async def preview(request: Request, caller: web.Caller) -> Response:
    """POST /console/preview {"instructions": "..."}: the instructions as the worker page shows them (HTML)."""
    app = web.state(request)
    body = schemas.parse(schemas.InstructionsPreview, await web.read_json(request, PREVIEW_BODY_BYTES), app.settings)
    return HTMLResponse(str(markup.render(body.instructions, body.top_heading)), headers=pages.SECURITY_HEADERS)


PAGES = [
    ("GET", "/console/projects/new", new_project),
    ("GET", "/console/projects/{project_id}/settings", settings_page),
    ("POST", "/console/preview", preview),
]
TABS = [frame.Tab("settings", "Settings", "settings", order=90, accesskey="s")]
