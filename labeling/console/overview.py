"""/console/projects/{id}: a project's overview (its progress and settings at a glance)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from labeling import projects, web
from labeling.console import frame
from labeling.console import projects as listing
from labeling.models import ProjectStatus


@frame.page("console.project")
async def overview(request: Request, caller: web.Caller) -> Response:
    """GET /console/projects/{project_id}"""
    async with web.state(request).db.read() as conn:
        row = await frame.project_for(request, caller, conn)
        counts = (await listing.progress(conn, [row.id])).get(row.id, listing.EMPTY)
    return frame.render(request, caller, "console/overview.html", {
        "progress": counts, "status": ProjectStatus(row.status).name, "settings": projects.public(row)},
        project=row, tab="overview")


PAGES = [("GET", "/console/projects/{project_id}", overview)]
TABS = [frame.Tab("overview", "Overview", "", order=0, accesskey="o")]
