"""The JSON API's route table: one list drives Starlette's routing, the access policy every route passes
(each operation declares its action, labeling/policy.py) and /api/openapi.json (labeling/api/openapi.py).

A new operation names its request body and query string with the Pydantic models of labeling/schemas.py and its
response with one of labeling/responses.py: `Op("GET", "/api/x/{x_id}", handler, "x.read", response=R.X,
query=S.XQuery)`; tests/test_openapi.py fails for an operation whose response is not typed, and checks real
responses against the document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from starlette.routing import Route

from labeling import policy, responses, schemas, web
from labeling.api import access, export, leaderboard, media, meta, openapi, projects, reviews, users, work

FILE = object()  # a download (the export): its media type depends on what was asked for


@dataclass(frozen=True)
class Op:
    """One operation: method, path, handler, the policy action it asks about, and what the OpenAPI document says:
    its success status, request body, response (a Pydantic model or type; FILE for a download), query model,
    request headers it reads, response headers it may send, statuses answered without content, extra error
    statuses."""

    method: str
    path: str
    handler: Callable
    action: str
    status: int = 200
    body: Any = None  # a Pydantic model, or {media type: {"schema": ...}}
    body_required: bool = True
    response: Any = None  # a Pydantic model (labeling/responses.py), a union of them, or FILE
    query: type | None = None  # a Pydantic model of the query parameters
    tags: tuple[str, ...] = field(default=())
    request_headers: tuple[str, ...] = ()  # names in labeling/api/openapi.py REQUEST_HEADERS
    response_headers: dict[str, str] = field(default_factory=dict)
    no_content: tuple[int, ...] = ()
    errors: tuple[int, ...] = ()
    refs: tuple[type, ...] = ()  # models a body given as a dict refers to (#/components/schemas/NAME)
    direct: bool = False  # a queue call: with a token and no cookie it skips the middleware stack (labeling.app.App)


IMPORT_BODY = {
    "application/json": {"schema": {"type": "array", "maxItems": 100_000, "items": {"anyOf": [
        {"$ref": "#/components/schemas/TaskIn"}, schemas.BARE_TASK]}}},
    "application/x-ndjson": {"schema": {"type": "string", "description": "JSON Lines, one task object a line"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "array", "items": {"type": "string", "format": "binary"}, "description": (
            "images (each becomes a task) and .json/.jsonl files of task lines")}}}},
}
UPLOAD_BODY = {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "array", "items": {"type": "string", "format": "binary"}, "description": "images"}}}}}
REPLAYED = {"Idempotent-Replayed": "true when this answers a retry with the Idempotency-Key of an earlier submit"}
REPORT_REPLAYED = {"Idempotent-Replayed": "true when this answers a report of the same text on the same assignment "
                                          "sent before (a retry): the report stored then, not a new one"}
VERSION = {"ETag": "the project's version (its requester's view): send it in If-Match to change the project only "
                   "as read; every change of its settings, status or pool moves it"}
S, R = schemas, responses

OPS: list[Op] = [
    Op("POST", "/api/projects/{project_id}/next", work.next_task, "work.next", query=S.NextQuery, response=R.Lease,
       no_content=(204,), tags=("queue",), direct=True),
    Op("POST", "/api/assignments/{assignment_id}/submit", work.submit, "work.submit", 201, S.SubmitBody,
       response=R.Submitted, request_headers=("Idempotency-Key",), response_headers=REPLAYED, tags=("queue",),
       direct=True),
    Op("POST", "/api/users", users.create_user, "user.create", 201, S.UserCreate, response=R.UserCreated,
       response_headers={"Location": "the new account's path, /api/users/{id}"}, tags=("users",)),
    Op("GET", "/api/users", users.list_users, "user.list", query=S.UserListQuery, response=R.UserPage,
       tags=("users",)),
    Op("GET", "/api/users/me", users.me, "user.me", response=R.Me, tags=("users",)),
    Op("POST", "/api/users/me/token", users.rotate_my_token, "user.me.token", 201, response=R.Token, tags=("users",)),
    Op("GET", "/api/users/{user_id}", users.get_user, "user.read", response=R.User, tags=("users",)),
    Op("POST", "/api/users/{user_id}/token", users.rotate_token, "user.token", 201, response=R.Token,
       tags=("users",)),
    Op("POST", "/api/users/{user_id}/password", users.reset_password, "user.password", body=S.PasswordReset,
       response=R.PasswordResetDone, tags=("users",)),
    Op("POST", "/api/users/{user_id}/deactivate", users.deactivate, "user.deactivate", response=R.UserDeactivated,
       tags=("users",)),
    Op("POST", "/api/users/{user_id}/reactivate", users.reactivate, "user.reactivate", response=R.User,
       tags=("users",)),
    Op("POST", "/api/projects", projects.create_project, "project.create", 201, S.ProjectCreate, response=R.Project,
       response_headers={"Location": "the new project's path, /api/projects/{id}", **VERSION}, tags=("projects",)),
    Op("GET", "/api/projects", projects.list_projects, "project.list", query=S.ProjectListQuery,
       response=R.ProjectPage, tags=("projects",)),
    Op("GET", "/api/projects/{project_id}", projects.get_project, "project.read", response=R.ProjectView,
       response_headers=VERSION, tags=("projects",)),
    Op("PATCH", "/api/projects/{project_id}", projects.update_project, "project.update", body=S.ProjectUpdate,
       response=R.ProjectView, request_headers=("If-Match",), response_headers=VERSION, errors=(412,),
       tags=("projects",)),
    Op("DELETE", "/api/projects/{project_id}", projects.delete_project, "project.delete", query=S.ProjectDeleteQuery,
       response=R.ProjectDeleted, tags=("projects",)),
    Op("GET", "/api/projects/{project_id}/pool", access.get_pool, "pool.read", response=R.Pool,
       response_headers=VERSION, tags=("access",)),
    Op("PUT", "/api/projects/{project_id}/pool", access.set_pool, "pool.update", body=S.PoolUpdate, response=R.Pool,
       request_headers=("If-Match",), response_headers=VERSION, errors=(412,), tags=("access",)),
    Op("POST", "/api/projects/{project_id}/tasks", projects.import_tasks, "tasks.import", 201, IMPORT_BODY,
       response=R.Imported, refs=(S.TaskIn,), tags=("tasks",)),
    Op("GET", "/api/projects/{project_id}/tasks", projects.list_tasks, "tasks.list", query=S.TaskListQuery,
       response=R.TaskPage, tags=("tasks",)),
    Op("GET", "/api/projects/{project_id}/tasks/{task_id}", projects.get_task, "tasks.read", response=R.TaskDetail,
       tags=("tasks",)),
    Op("DELETE", "/api/projects/{project_id}/tasks", projects.delete_tasks, "tasks.delete", body=S.TasksDelete,
       response=R.TasksDeleted, tags=("tasks",)),
    Op("POST", "/api/assignments/{assignment_id}/skip", work.skip, "work.skip", body=S.SkipBody,
       body_required=False, response=R.Skipped, tags=("queue",)),
    Op("POST", "/api/assignments/{assignment_id}/report", work.report, "work.report", 201, S.ReportBody,
       response=R.Reported, response_headers=REPORT_REPLAYED, tags=("queue",)),
    Op("GET", "/api/projects/{project_id}/my-answers", work.my_answers, "work.answers", query=S.PageQuery,
       response=R.MyAnswerPage, tags=("queue",)),
    Op("PUT", "/api/annotations/{annotation_id}", work.change_answer, "work.change", body=S.AnswerChange,
       response=R.AnswerChanged, tags=("queue",)),
    Op("GET", "/api/projects/{project_id}/progress", work.progress, "work.progress", response=R.WorkerProgress,
       tags=("queue",)),
    Op("POST", "/api/assignments/{assignment_id}/release", work.release, "work.release", response=R.Released,
       tags=("queue",)),
    Op("POST", "/api/assignments/{assignment_id}/renew", work.renew, "work.renew", response=R.Lease,
       tags=("queue",)),
    Op("GET", "/api/projects/{project_id}/results", projects.results, "results.read", query=S.PageQuery,
       response=R.ResultPage, tags=("consensus",)),
    Op("GET", "/api/projects/{project_id}/quality", projects.quality, "quality.read", response=R.Quality,
       tags=("consensus",)),
    Op("POST", "/api/projects/{project_id}/consensus", projects.recompute, "consensus.recompute",
       body=S.RecomputeBody, body_required=False, response=R.Recomputed, tags=("consensus",)),
    Op("GET", "/api/projects/{project_id}/export", export.export, "project.export", query=export.ExportQuery,
       response=FILE, tags=("export",)),
    Op("POST", "/api/projects/{project_id}/workers/{worker_id}/block", access.block_worker, "worker.block",
       response=R.WorkerBlock, tags=("access",)),
    Op("POST", "/api/projects/{project_id}/workers/{worker_id}/unblock", access.unblock_worker, "worker.unblock",
       response=R.WorkerBlock, tags=("access",)),
    Op("DELETE", "/api/projects/{project_id}/workers/{worker_id}/answers", access.remove_answers,
       "worker.answers.delete", query=S.ConfirmQuery, response=R.AnswersRemoved, tags=("access",)),
    Op("POST", "/api/teams", access.create_team, "team.create", 201, S.TeamCreate, response=R.Team,
       response_headers={"Location": "the new team's path, /api/teams/{id}"}, tags=("access",)),
    Op("GET", "/api/teams", access.list_teams, "team.list", query=S.PageQuery, response=R.TeamPage, tags=("access",)),
    Op("GET", "/api/teams/{team_id}", access.get_team, "team.read", response=R.Team, tags=("access",)),
    Op("DELETE", "/api/teams/{team_id}", access.delete_team, "team.delete", response=R.TeamDeleted, tags=("access",)),
    Op("GET", "/api/teams/{team_id}/members", access.team_members, "team.read", query=S.PageQuery,
       response=R.TeamMemberPage, tags=("access",)),
    Op("POST", "/api/teams/{team_id}/members", access.add_members, "team.update", body=S.TeamMembers,
       response=R.MembersAdded, tags=("access",)),
    Op("DELETE", "/api/teams/{team_id}/members/{worker_id}", access.remove_member, "team.update",
       response=R.MemberRemoved, tags=("access",)),
    Op("GET", "/api/audit", access.audit_log, "audit.read", query=S.AuditQuery, response=R.AuditPage,
       tags=("access",)),
    Op("POST", "/api/media", media.upload, "media.upload", 201, UPLOAD_BODY, response=R.Uploaded, tags=("media",)),
    Op("POST", "/api/projects/{project_id}/tasks/{task_id}/accept", reviews.accept, "task.accept",
       response=R.Reviewed, tags=("reviews",)),
    Op("POST", "/api/projects/{project_id}/tasks/{task_id}/override", reviews.override, "task.override",
       body=S.OverrideBody, response=R.Reviewed, tags=("reviews",)),
    Op("POST", "/api/projects/{project_id}/tasks/{task_id}/more-answers", reviews.more_answers, "task.more_answers",
       body=S.MoreAnswersBody, body_required=False, response=R.Reviewed, tags=("reviews",)),
    Op("POST", "/api/projects/{project_id}/tasks/{task_id}/answers/{annotation_id}/exclude", reviews.exclude,
       "answer.exclude", body=S.ExcludeBody, body_required=False, response=R.Reviewed, tags=("reviews",)),
    Op("GET", "/api/projects/{project_id}/leaderboard", leaderboard.project_leaderboard, "leaderboard.read",
       query=S.LeaderboardQuery, response=S.Leaderboard, errors=(409,), tags=("evaluation",)),
    Op("GET", "/api/leaderboard", leaderboard.combined_leaderboard, "leaderboard.read",
       query=S.CombinedLeaderboardQuery, response=S.Leaderboard, errors=(409,), tags=("evaluation",)),
    Op("GET", "/api/health", meta.health, "health.read", response=R.Health, tags=("meta",)),
    Op("GET", "/api/openapi.json", openapi.openapi, "openapi.read", response=R.OpenAPIDocument, tags=("meta",)),
]


def _handler(op: Op) -> Callable:
    """The operation's handler behind the policy gate; a write without a body refuses fields sent anyway, and an
    operation without a query model query parameters (but the public ones, health and the document: a monitor's
    cache-busting parameter is no option mistyped)."""
    handler = web.bodiless(op.handler) if op.body is None and op.method in web.UNSAFE else op.handler
    if op.query is None and not policy.rule(op.action).public:
        handler = web.queryless(handler)
    return web.guarded(op.action, handler)


def direct_routes() -> list[tuple[str, str, Callable]]:
    """(method, path, handler behind the policy gate) of the queue calls the app may serve directly."""
    return [(op.method, op.path, _handler(op)) for op in OPS if op.direct]


def routes() -> list[Route]:
    """Starlette routes for every operation, each behind the policy: one Route per path, so a 405 lists every
    method the path has."""
    return web.method_routes((op.path, op.method, _handler(op)) for op in OPS)
