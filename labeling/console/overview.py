"""/console/projects/{id}: a project's overview (its progress and settings at a glance)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from labeling import membership, projects, web
from labeling.console import frame
from labeling.console import projects as listing
from labeling.models import ProjectStatus


@frame.page("console.project")
async def overview(request: Request, caller: web.Caller) -> Response:
    """GET /console/projects/{project_id}"""
    async with web.state(request).db.read() as conn:
        row = await frame.project_for(request, caller, conn)
        counts = (await listing.progress(conn, [row.id])).get(row.id, listing.EMPTY)
        figures = (await listing.standing(conn, [row.id])).get(row.id, listing.NO_STANDING)
        # who is listed, by name: "listed workers and teams" was all it said, also of a pool listing nobody
        pool = None if row.pool_all else await membership.pool(conn, row)
    return frame.render(request, caller, "console/overview.html", {
        "progress": counts, **figures, "status": ProjectStatus(row.status).name, "settings": projects.public(row),
        "pool": pool},
        project=row, tab="overview")


PAGES = [("GET", "/console/projects/{project_id}", overview)]
TABS = [frame.Tab("overview", "Overview", "", order=0, accesskey="o")]
