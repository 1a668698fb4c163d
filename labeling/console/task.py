"""/console/projects/{id}/tasks/{task_id}: one task as its requester reviews it (labeling/task_detail.py): the
data, every worker's answer side by side, skips and problem reports, the consensus with its confidence, and the
review actions (accept, override, more answers, exclude one answer), which the page sends to the JSON API
(labeling/api/reviews.py). The override editor is the worker page's own component for the task type: its
template's `work` block and its script (the spec's `template` and `script`), driven by console_task.js."""

from __future__ import annotations

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from labeling import task_detail, tasktypes, web
from labeling.console import frame
from labeling.console.results import view_config
from labeling.worker_ui import pages


def editor_markup(spec: tasktypes.TaskTypeSpec) -> Markup:
    """The worker page's work area for this task type (its template's `work` block), for the override editor."""
    template = pages.templates().env.get_template(spec.template)
    context = template.new_context({"is_image": spec.media == "image", "multi": spec.multi})
    return Markup("".join(template.blocks["work"](context)))


@frame.page("console.project")
async def task_page(request: Request, caller: web.Caller) -> Response:
    """GET /console/projects/{project_id}/tasks/{task_id}"""
    async with web.state(request).db.read() as conn:
        row = await frame.project_for(request, caller, conn)
        detail = await task_detail.detail(conn, row.id, web.path_int(request, "task_id"))
    spec = tasktypes.get(row.task_type)
    return frame.render(request, caller, "console/task.html", {
        "task": detail, "config": view_config(row), "spec": spec, "editor": editor_markup(spec),
        "reviewable": detail["gold"] is None,
    }, project=row, tab="results")


PAGES = [("GET", "/console/projects/{project_id}/tasks/{task_id}", task_page)]
