"""The JSON API's route table: one list drives both Starlette's routing and /api/openapi.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from starlette.routing import Route

from labeling import schemas, web
from labeling.api import export, media, projects, users, work
from labeling.export.options import NAMES as OPTION_NAMES


@dataclass(frozen=True)
class Op:
    """One operation: method, path, handler and what the OpenAPI document says of it."""

    method: str
    path: str
    handler: Callable
    status: int = 200
    body: Any = None  # a Pydantic model, or a JSON schema dict
    body_required: bool = True
    response: str = "object"
    query: tuple[str, ...] = ()
    tags: tuple[str, ...] = field(default=())


TASK_SCHEMA = {
    "type": "object",
    "description": "A task object; a manifest line {\"source-ref\": ...} or {\"source\": ...} is accepted as data.",
    "properties": {
        "data": {"type": "object"}, "gold": {"type": "object"}, "predictions": {"type": "object"},
        "priority": {"type": "integer"}, "external_id": {"type": "string"},
    },
}
IMPORT_BODY = {
    "application/json": {"schema": {"type": "array", "items": TASK_SCHEMA, "maxItems": 100_000}},
    "application/x-ndjson": {"schema": {"type": "string", "description": "JSON Lines, one task object a line"}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "array", "items": {"type": "string", "format": "binary"}}}}},
}
PAGE = ("cursor", "limit")
EXPORT_QUERY = ("format", *OPTION_NAMES)

OPS: list[Op] = [
    Op("POST", "/api/projects/{project_id}/next", work.next_task, query=("prefer_task",), tags=("queue",)),
    Op("POST", "/api/assignments/{assignment_id}/submit", work.submit, 201, schemas.SubmitBody, tags=("queue",)),
    Op("POST", "/api/users", users.create_user, 201, schemas.UserCreate, tags=("users",)),
    Op("GET", "/api/users/me", users.me, tags=("users",)),
    Op("POST", "/api/users/me/token", users.rotate_my_token, 201, tags=("users",)),
    Op("POST", "/api/projects", projects.create_project, 201, schemas.ProjectCreate, tags=("projects",)),
    Op("GET", "/api/projects", projects.list_projects, query=PAGE, response="page", tags=("projects",)),
    Op("GET", "/api/projects/{project_id}", projects.get_project, tags=("projects",)),
    Op("PATCH", "/api/projects/{project_id}", projects.update_project, body=schemas.ProjectUpdate, tags=("projects",)),
    Op("POST", "/api/projects/{project_id}/tasks", projects.import_tasks, 201, IMPORT_BODY, tags=("tasks",)),
    Op("GET", "/api/projects/{project_id}/tasks", projects.list_tasks, query=(*PAGE, "state", "gold"),
       response="page", tags=("tasks",)),
    Op("GET", "/api/projects/{project_id}/tasks/{task_id}", projects.get_task, tags=("tasks",)),
    Op("POST", "/api/assignments/{assignment_id}/skip", work.skip, body=schemas.SkipBody, body_required=False,
       tags=("queue",)),
    Op("POST", "/api/assignments/{assignment_id}/report", work.report, 201, schemas.ReportBody, tags=("queue",)),
    Op("GET", "/api/projects/{project_id}/my-answers", work.my_answers, query=PAGE, response="page",
       tags=("queue",)),
    Op("PUT", "/api/annotations/{annotation_id}", work.change_answer, body=schemas.AnswerChange, tags=("queue",)),
    Op("GET", "/api/projects/{project_id}/progress", work.progress, tags=("queue",)),
    Op("POST", "/api/assignments/{assignment_id}/release", work.release, tags=("queue",)),
    Op("POST", "/api/assignments/{assignment_id}/renew", work.renew, tags=("queue",)),
    Op("GET", "/api/projects/{project_id}/results", projects.results, query=PAGE, response="page", tags=("consensus",)),
    Op("GET", "/api/projects/{project_id}/quality", projects.quality, tags=("consensus",)),
    Op("POST", "/api/projects/{project_id}/consensus", projects.recompute, body=schemas.RecomputeBody,
       tags=("consensus",)),
    Op("GET", "/api/projects/{project_id}/export", export.export, query=EXPORT_QUERY, response="file",
       tags=("export",)),
    Op("POST", "/api/media", media.upload, 201, {"multipart/form-data": {"schema": {"type": "object"}}},
       tags=("media",)),
]


def routes() -> list[Route]:
    """Starlette routes for every operation: one per path, so a 405 lists every method the path has."""
    return web.method_routes((op.path, op.method, op.handler) for op in OPS)
