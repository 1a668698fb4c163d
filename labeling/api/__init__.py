"""The JSON API's route table: one list drives Starlette's routing, the access policy every route passes
(each operation declares its action, labeling/policy.py) and /api/openapi.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from starlette.routing import Route

from labeling import schemas, web
from labeling.api import access, media, projects, users, work


@dataclass(frozen=True)
class Op:
    """One operation: method, path, handler, the policy action it asks about, and what the OpenAPI document says."""

    method: str
    path: str
    handler: Callable
    action: str
    status: int = 200
    body: Any = None  # a Pydantic model, or a JSON schema dict
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

OPS: list[Op] = [
    Op("POST", "/api/projects/{project_id}/next", work.next_task, "work.next", tags=("queue",)),
    Op("POST", "/api/assignments/{assignment_id}/submit", work.submit, "work.submit", 201, schemas.SubmitBody,
       tags=("queue",)),
    Op("POST", "/api/users", users.create_user, "user.create", 201, schemas.UserCreate, tags=("users",)),
    Op("GET", "/api/users", users.list_users, "user.list", query=(*PAGE, "role", "active"), response="page",
       tags=("users",)),
    Op("GET", "/api/users/me", users.me, "user.me", tags=("users",)),
    Op("POST", "/api/users/me/token", users.rotate_my_token, "user.me.token", 201, tags=("users",)),
    Op("GET", "/api/users/{user_id}", users.get_user, "user.read", tags=("users",)),
    Op("POST", "/api/users/{user_id}/token", users.rotate_token, "user.token", 201, tags=("users",)),
    Op("POST", "/api/users/{user_id}/password", users.reset_password, "user.password", body=schemas.PasswordReset,
       tags=("users",)),
    Op("POST", "/api/users/{user_id}/deactivate", users.deactivate, "user.deactivate", tags=("users",)),
    Op("POST", "/api/users/{user_id}/reactivate", users.reactivate, "user.reactivate", tags=("users",)),
    Op("POST", "/api/projects", projects.create_project, "project.create", 201, schemas.ProjectCreate,
       tags=("projects",)),
    Op("GET", "/api/projects", projects.list_projects, "project.list", query=(*PAGE, "status"), response="page",
       tags=("projects",)),
    Op("GET", "/api/projects/{project_id}", projects.get_project, "project.read", tags=("projects",)),
    Op("PATCH", "/api/projects/{project_id}", projects.update_project, "project.update", body=schemas.ProjectUpdate,
       tags=("projects",)),
    Op("DELETE", "/api/projects/{project_id}", projects.delete_project, "project.delete", query=("confirm",),
       tags=("projects",)),
    Op("GET", "/api/projects/{project_id}/pool", access.get_pool, "pool.read", tags=("access",)),
    Op("PUT", "/api/projects/{project_id}/pool", access.set_pool, "pool.update", body=schemas.PoolUpdate,
       tags=("access",)),
    Op("POST", "/api/projects/{project_id}/tasks", projects.import_tasks, "tasks.import", 201, IMPORT_BODY,
       tags=("tasks",)),
    Op("GET", "/api/projects/{project_id}/tasks", projects.list_tasks, "tasks.list", query=(*PAGE, "state", "gold"),
       response="page", tags=("tasks",)),
    Op("POST", "/api/projects/{project_id}/tasks/delete", projects.delete_tasks, "tasks.delete",
       body=schemas.TasksDelete, tags=("tasks",)),
    Op("POST", "/api/assignments/{assignment_id}/skip", work.skip, "work.skip", tags=("queue",)),
    Op("POST", "/api/assignments/{assignment_id}/release", work.release, "work.release", tags=("queue",)),
    Op("POST", "/api/assignments/{assignment_id}/renew", work.renew, "work.renew", tags=("queue",)),
    Op("GET", "/api/projects/{project_id}/results", projects.results, "results.read", query=PAGE, response="page",
       tags=("consensus",)),
    Op("GET", "/api/projects/{project_id}/quality", projects.quality, "quality.read", tags=("consensus",)),
    Op("POST", "/api/projects/{project_id}/consensus", projects.recompute, "consensus.recompute",
       tags=("consensus",)),
    Op("POST", "/api/projects/{project_id}/workers/{worker_id}/block", access.block_worker, "worker.block",
       tags=("access",)),
    Op("POST", "/api/projects/{project_id}/workers/{worker_id}/unblock", access.unblock_worker, "worker.unblock",
       tags=("access",)),
    Op("DELETE", "/api/projects/{project_id}/workers/{worker_id}/answers", access.remove_answers,
       "worker.answers.delete", query=("confirm",), tags=("access",)),
    Op("POST", "/api/teams", access.create_team, "team.create", 201, schemas.TeamCreate, tags=("access",)),
    Op("GET", "/api/teams", access.list_teams, "team.list", query=PAGE, response="page", tags=("access",)),
    Op("GET", "/api/teams/{team_id}", access.get_team, "team.read", tags=("access",)),
    Op("DELETE", "/api/teams/{team_id}", access.delete_team, "team.delete", tags=("access",)),
    Op("GET", "/api/teams/{team_id}/members", access.team_members, "team.read", query=PAGE, response="page",
       tags=("access",)),
    Op("POST", "/api/teams/{team_id}/members", access.add_members, "team.update", body=schemas.TeamMembers,
       tags=("access",)),
    Op("DELETE", "/api/teams/{team_id}/members/{worker_id}", access.remove_member, "team.update", tags=("access",)),
    Op("GET", "/api/audit", access.audit_log, "audit.read", query=(*PAGE, "project_id", "action"), response="page",
       tags=("access",)),
    Op("POST", "/api/media", media.upload, "media.upload", 201, {"multipart/form-data": {"schema": {"type": "object"}}},
       tags=("media",)),
]


def routes() -> list[Route]:
    """Starlette routes for every operation (one Route per method, so 405s stay correct), each behind the policy."""
    return [web.route(op.method, op.path, op.handler, op.action) for op in OPS]
