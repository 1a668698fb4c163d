"""/console/projects/{id}/import: drop JSON, JSON Lines or CSV files (CSV columns mapped to data fields in the page)
or image files; the page's script (labeling/static/console-import.js) sends them to the import API
(POST /api/projects/{id}/tasks, all or nothing: a bad line is named and nothing is stored). Images go to the same
API as one multipart import, each image a task, with a progress bar: every image is checked before any is written
and a refused import takes its images away again, so a refused drop leaves no file and no media row. A drop larger
than one request may carry (the body limit, the form's file limit) goes in parts, one such import each."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labeling import tasks, tasktypes, web
from labeling.api import media as media_api
from labeling.console import frame
from labeling.errors import InvalidInput
from labeling.models import ProjectStatus

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


def gold_example(spec: tasktypes.TaskTypeSpec, labels: list[str]) -> str:
    """A gold answer of this task type as a CSV cell holds it (JSON), for the page to name when a cell is not JSON:
    a plain label was refused as "not valid JSON" without a word of what to write instead."""
    label = labels[0] if labels else "LABEL"
    examples: dict[str, Any] = {
        "classification": {"label": label}, "multilabel": {"labels": [label]},
        "boxes": {"boxes": [{"label": label, "x": 10, "y": 10, "w": 50, "h": 40}]},
        "spans": {"spans": [{"start": 0, "end": 5, "label": label}]},
        "ranking": {"ranking": [["a"], ["b"]]}, "demonstration": {"text": "..."}}
    return json.dumps(examples[spec.family], ensure_ascii=False)


@frame.page("console.project")
async def import_page(request: Request, caller: web.Caller) -> Response:
    """GET /console/projects/{project_id}/import"""
    async with web.state(request).db.read() as conn:
        row = await frame.project_for(request, caller, conn)
    spec = tasktypes.get(row.task_type)
    app = web.state(request)
    return frame.render(request, caller, "console/import.html", {
        "fields": data_fields(spec), "gold_example": gold_example(spec, list(row.labels)), "is_image": spec.media == "image", "max_tasks": tasks.MAX_TASKS_PER_IMPORT,
        "max_body_bytes": app.settings.max_body_bytes, "max_files": media_api.MAX_FILES,
        "media_max_bytes": app.settings.media_max_bytes, "archived": row.status == ProjectStatus.archived},
        project=row, tab="import")


PAGES = [("GET", "/console/projects/{project_id}/import", import_page)]
TABS = [frame.Tab("import", "Import", "import", order=10, accesskey="i")]
