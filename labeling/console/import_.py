"""/console/projects/{id}/import: drop JSON, JSON Lines or CSV files (CSV columns mapped to data fields in the page)
or image files; the page's script (labeling/static/console-import.js) sends them to the import API
(POST /api/projects/{id}/tasks, all or nothing: a bad line is named and nothing is stored) and images first to the
media upload API (POST /api/media), in batches with a progress bar."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labeling import tasks, tasktypes, web
from labeling.console import frame
from labeling.errors import InvalidInput

IMAGE_BATCH_BYTES = 8 * 1024 * 1024  # one upload request's images at most (several requests show progress)


def data_fields(spec: tasktypes.TaskTypeSpec) -> list[str]:
    """The data fields a task of this type needs, asked of the spec itself: validate growing data and collect each
    field it says is required (so CSV columns can be mapped to them)."""
    data: dict[str, Any] = {}
    ctx = tasktypes.Context(labels=("x",))
    for _ in range(8):
        try:
            spec.validate_data(dict(data), ctx)
            break
        except InvalidInput as exc:
            field = exc.field or ""
            if not (field.startswith("data.") and "required" in exc.message) or field[5:] in data:
                break
            data[field[5:]] = "x"
    return list(data)


@frame.page("console.project")
async def import_page(request: Request, caller: web.Caller) -> Response:
    """GET /console/projects/{project_id}/import"""
    async with web.state(request).db.read() as conn:
        row = await frame.project_for(request, caller, conn)
    spec = tasktypes.get(row.task_type)
    app = web.state(request)
    return frame.render(request, caller, "console/import.html", {
        "fields": data_fields(spec), "is_image": spec.media == "image", "max_tasks": tasks.MAX_TASKS_PER_IMPORT,
        "batch_bytes": min(IMAGE_BATCH_BYTES, app.settings.max_body_bytes // 2),
        "media_max_bytes": app.settings.media_max_bytes}, project=row, tab="import")


PAGES = [("GET", "/console/projects/{project_id}/import", import_page)]
TABS = [frame.Tab("import", "Import", "import", order=10, accesskey="i")]
