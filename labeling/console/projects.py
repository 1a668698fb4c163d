"""/console and /console/projects: every project the caller may see with its progress, from stored bookkeeping only:
the progress counters (project_counters: at most N_COUNTER_SHARDS small rows per project) and the workers' standing
(project_workers: one row per worker of a project, with its last activity and its agreement with consensus as of
the last consensus run). No page counts tasks, annotations or assignments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from labeling import membership, models, queue, schemas, web
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
NO_STANDING = {"activity": None, "agreement": None}


async def standing(conn: Any, project_ids: list[int]) -> dict[int, dict]:
    """Each project's last worker activity and its workers' agreement with consensus (weighted by their answers),
    from project_workers in one grouped read."""
    pw = models.project_workers
    weighted = func.sum(case((pw.c.agreement.is_not(None), pw.c.agreement * pw.c.n_annotations), else_=0.0))
    weight = func.sum(case((pw.c.agreement.is_not(None), pw.c.n_annotations), else_=0))
    query = (select(pw.c.project_id, func.max(pw.c.updated_at), weighted, weight)
             .where(pw.c.project_id.in_(project_ids)).group_by(pw.c.project_id))
    out = {}
    for project_id, last, total, n in (await conn.execute(query)).all() if project_ids else []:
        out[project_id] = {"activity": schemas.iso(last) if last else None,
                           "agreement": float(total) / float(n) if n else None}
    return out


async def _owners(conn: Any, user_ids: set[int]) -> dict[int, str]:
    """Usernames of the projects' owners (an admin sees everyone's projects)."""
    u = models.users
    return dict((await conn.execute(select(u.c.id, u.c.username).where(u.c.id.in_(sorted(user_ids))))).all())


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
        ids = [r.id for r in rows]
        counts, figures = await progress(conn, ids), await standing(conn, ids)
        owners = await _owners(conn, {r.owner_id for r in rows}) if caller.who.role is models.Role.admin else {}
    items = [{"row": r, "status": ProjectStatus(r.status).name, "progress": counts.get(r.id, EMPTY),
              "owner": owners.get(r.owner_id), **figures.get(r.id, NO_STANDING)} for r in rows]
    return frame.render(request, caller, "console/projects.html", {"items": items, "limit": LIST_LIMIT,
                                                                        "new_project_url": "/console/projects/new"})


PAGES = [
    ("GET", "/console", home),
    ("GET", "/console/projects", projects_page),
]
