"""The JSON API's route table: one list drives Starlette's routing, the access policy every route passes
(each operation declares its action, labeling/policy.py) and /api/openapi.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from starlette.routing import Route

from labeling import schemas, web
from labeling.api import access, export, leaderboard, media, projects, reviews, users, work
from labeling.export.options import NAMES as OPTION_NAMES


@dataclass(frozen=True)
class Op:
    """One operation: method, path, handler, the policy action it asks about, and what the OpenAPI document says."""

    method: str
    path: str
    handler: Callable
    action: str
    status: int = 200
    body: Any = None  # a Pydantic model, or a JSON schema dict
    body_required: bool = True
    response: str = "object"
    query: tuple[str, ...] = ()
    tags: tuple[str, ...] = field(default=())
    direct: bool = False  # a queue call: with a token and no cookie it skips the middleware stack (labeling.app.App)


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
LEADERBOARD_QUERY = ("by", "bootstrap", "seed")

OPS: list[Op] = [
    Op("POST", "/api/projects/{project_id}/next", work.next_task, "work.next", query=("prefer_task",),
       tags=("queue",), direct=True),
    Op("POST", "/api/assignments/{assignment_id}/submit", work.submit, "work.submit", 201, schemas.SubmitBody,
       tags=("queue",), direct=True),
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
    Op("GET", "/api/projects/{project_id}/tasks/{task_id}", projects.get_task, "tasks.read", tags=("tasks",)),
    Op("DELETE", "/api/projects/{project_id}/tasks", projects.delete_tasks, "tasks.delete",
       body=schemas.TasksDelete, tags=("tasks",)),
    Op("POST", "/api/assignments/{assignment_id}/skip", work.skip, "work.skip", body=schemas.SkipBody,
       body_required=False, tags=("queue",)),
    Op("POST", "/api/assignments/{assignment_id}/report", work.report, "work.report", 201, schemas.ReportBody,
       tags=("queue",)),
    Op("GET", "/api/projects/{project_id}/my-answers", work.my_answers, "work.answers", query=PAGE, response="page",
       tags=("queue",)),
    Op("PUT", "/api/annotations/{annotation_id}", work.change_answer, "work.change", body=schemas.AnswerChange,
       tags=("queue",)),
    Op("GET", "/api/projects/{project_id}/progress", work.progress, "work.progress", tags=("queue",)),
    Op("POST", "/api/assignments/{assignment_id}/release", work.release, "work.release", tags=("queue",)),
    Op("POST", "/api/assignments/{assignment_id}/renew", work.renew, "work.renew", tags=("queue",)),
    Op("GET", "/api/projects/{project_id}/results", projects.results, "results.read", query=PAGE, response="page",
       tags=("consensus",)),
    Op("POST", "/api/projects/{project_id}/tasks/{task_id}/accept", reviews.accept, "task.accept",
       tags=("reviews",)),
    Op("POST", "/api/projects/{project_id}/tasks/{task_id}/override", reviews.override, "task.override",
       body=schemas.OverrideBody, tags=("reviews",)),
    Op("POST", "/api/projects/{project_id}/tasks/{task_id}/more-answers", reviews.more_answers, "task.more_answers",
       tags=("reviews",)),
    Op("POST", "/api/projects/{project_id}/tasks/{task_id}/answers/{annotation_id}/exclude", reviews.exclude,
       "answer.exclude", body=schemas.ExcludeBody, body_required=False, tags=("reviews",)),
    Op("GET", "/api/projects/{project_id}/quality", projects.quality, "quality.read", tags=("consensus",)),
    Op("POST", "/api/projects/{project_id}/consensus", projects.recompute, "consensus.recompute",
       body=schemas.RecomputeBody, body_required=False, tags=("consensus",)),
    Op("GET", "/api/projects/{project_id}/leaderboard", leaderboard.project_leaderboard, "leaderboard.read",
       query=LEADERBOARD_QUERY, tags=("evaluation",)),
    Op("GET", "/api/leaderboard", leaderboard.combined_leaderboard, "leaderboard.read",
       query=("projects", *LEADERBOARD_QUERY), tags=("evaluation",)),
    Op("GET", "/api/projects/{project_id}/export", export.export, "project.export", query=EXPORT_QUERY,
       response="file", tags=("export",)),
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


def direct_routes() -> list[tuple[str, str, Callable]]:
    """(method, path, handler behind the policy gate) of the queue calls the app may serve directly."""
    return [(op.method, op.path, web.guarded(op.action, op.handler)) for op in OPS if op.direct]


def routes() -> list[Route]:
    """Starlette routes for every operation, each behind the policy: one Route per path, so a 405 lists every
    method the path has."""
    return web.method_routes((op.path, op.method, web.guarded(op.action, op.handler)) for op in OPS)
