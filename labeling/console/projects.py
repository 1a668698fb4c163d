"""/console and /console/projects: every project the caller may see with its progress, from the stored counters
(project_counters: at most N_COUNTER_SHARDS small rows per project; no page counts tasks, annotations or
assignments)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from labeling import membership, models, queue, web
from labeling.console import frame
from labeling.models import ProjectStatus

LIST_LIMIT = 500  # projects on one page (a requester has tens; an admin sees the most recent first)


async def progress(conn: Any, project_ids: list[int]) -> dict[int, dict]:
    """Progress of each project from its counter shards, in one grouped read."""
    pc = models.project_counters
    query = (select(pc.c.project_id, *[func.coalesce(func.sum(getattr(pc.c, c)), 0) for c in queue.COUNTERS])
             .where(pc.c.project_id.in_(project_ids)).group_by(pc.c.project_id))
    out = {}
    for row in (await conn.execute(query)).all() if project_ids else []:
        values = dict(zip(queue.COUNTERS, (int(v) for v in row[1:])))
        out[row[0]] = shape(values)
    return out


def shape(values: dict) -> dict:
    """What a progress bar needs: done and total regular tasks, annotations, skips, percent."""
    regular = values["n_tasks"] - values["n_gold_tasks"]
    done = min(values["n_complete"], regular)
    return {"tasks": regular, "gold_tasks": values["n_gold_tasks"], "done": done, "annotations": values["n_annotations"],
            "skips": values["n_skips"], "percent": round(100.0 * done / regular, 1) if regular else 0.0}


EMPTY = shape({c: 0 for c in queue.COUNTERS})


@frame.page("console.projects")
async def home(request: Request, caller: web.Caller) -> Response:
    """GET /console"""
    return RedirectResponse("/console/projects", status_code=303)


@frame.page("console.projects")
async def projects_page(request: Request, caller: web.Caller) -> Response:
    """GET /console/projects"""
    p = models.projects
    query = (select(p.c.id, p.c.name, p.c.task_type, p.c.status, p.c.owner_id, p.c.created_at, p.c.updated_at)
             .where(membership.visible_projects(caller.who)).order_by(p.c.id.desc()).limit(LIST_LIMIT))
    async with web.state(request).db.read() as conn:
        rows = (await conn.execute(query)).all()
        counts = await progress(conn, [r.id for r in rows])
    items = [{"row": r, "status": ProjectStatus(r.status).name, "progress": counts.get(r.id, EMPTY)} for r in rows]
    return frame.render(request, caller, "console/projects.html", {"items": items, "limit": LIST_LIMIT})


PAGES = [
    ("GET", "/console", home),
    ("GET", "/console/projects", projects_page),
]
