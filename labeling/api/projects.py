"""/api/projects: create, read, list, update; tasks; results and quality."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from labeling import paging, projects, queue, schemas, task_detail, tasks, web
from labeling.api import media as media_api
from labeling.auth import Principal
from labeling.consensus import runner
from labeling.errors import InvalidInput
from labeling.models import Role


@web.endpoint(Role.requester)
async def create_project(request: Request, user: Principal) -> Response:
    """POST /api/projects"""
    body = schemas.parse(schemas.ProjectCreate, await web.read_json(request))
    db = web.state(request).db
    project_id = await db.transact(lambda tx: projects.create(tx, user, body))
    async with db.read() as conn:
        return web.ok(await projects.get(conn, user, project_id), status_code=201)


@web.endpoint()
async def list_projects(request: Request, user: Principal) -> Response:
    """GET /api/projects"""
    async with web.state(request).db.read() as conn:
        page = await projects.list_(conn, user, request.query_params.get("cursor"),
                                    paging.limit(request.query_params.get("limit")))
    return web.ok(page)


@web.endpoint()
async def get_project(request: Request, user: Principal) -> Response:
    """GET /api/projects/{id}: settings and progress counts."""
    async with web.state(request).db.read() as conn:
        return web.ok(await projects.get(conn, user, web.path_int(request, "project_id")))


@web.endpoint(Role.requester)
async def update_project(request: Request, user: Principal) -> Response:
    """PATCH /api/projects/{id}"""
    body = schemas.parse(schemas.ProjectUpdate, await web.read_json(request))
    project_id = web.path_int(request, "project_id")
    app = web.state(request)
    await app.db.transact(lambda tx: projects.update_settings(tx, app.memory, user, project_id, body))
    async with app.db.read() as conn:
        return web.ok(await projects.get(conn, user, project_id))


async def _managed(request: Request, user: Principal, conn: object) -> object:
    row = await projects.load(conn, web.path_int(request, "project_id"))  # type: ignore[arg-type]
    projects.check_access(row, user, manage=True)
    return row


@web.endpoint(Role.requester)
async def import_tasks(request: Request, user: Principal) -> Response:
    """POST /api/projects/{id}/tasks: a JSON array, JSON Lines, or multipart image uploads; all or nothing."""
    app = web.state(request)
    content_type = request.headers.get("content-type", "")
    async with app.db.read() as conn:
        project = await _managed(request, user, conn)
    if content_type.startswith("multipart/form-data"):
        items = await media_api.tasks_from_upload(request, app.settings)
    else:
        items = tasks.read_items(await web.read_body(request, app.settings.max_body_bytes), content_type)
    parsed = tasks.validate(items, project.task_type, project.labels, app.settings.media_dir)
    created = await app.db.transact(lambda tx: tasks.store(tx, queue.load_project(tx, app.memory, project.id), parsed))
    return web.ok({"created": created}, status_code=201)


def _bool(raw: str | None, field: str) -> bool | None:
    if raw is None or raw == "":
        return None
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise InvalidInput(f"{field} must be true or false", field=field)


@web.endpoint(Role.requester)
async def list_tasks(request: Request, user: Principal) -> Response:
    """GET /api/projects/{id}/tasks?cursor=&limit=&state=open|complete&gold=true|false"""
    params = request.query_params
    async with web.state(request).db.read() as conn:
        project = await _managed(request, user, conn)
        page = await tasks.list_(conn, project.id, params.get("cursor"), paging.limit(params.get("limit")),
                                 state=params.get("state") or None, gold=_bool(params.get("gold"), "gold"))
    return web.ok(page)


@web.endpoint(Role.requester)
async def get_task(request: Request, user: Principal) -> Response:
    """GET /api/projects/{id}/tasks/{task_id}: the task, every answer with its metadata, skips, problem reports."""
    async with web.state(request).db.read() as conn:
        project = await _managed(request, user, conn)
        return web.ok(await task_detail.detail(conn, project.id, web.path_int(request, "task_id")))


@web.endpoint(Role.requester)
async def results(request: Request, user: Principal) -> Response:
    """GET /api/projects/{id}/results: the consensus of each task that has one."""
    params = request.query_params
    async with web.state(request).db.read() as conn:
        project = await _managed(request, user, conn)
        page = await runner.results_page(conn, project.id, params.get("cursor"), paging.limit(params.get("limit")))
    return web.ok(page)


@web.endpoint(Role.requester)
async def quality(request: Request, user: Principal) -> Response:
    """GET /api/projects/{id}/quality: agreement, worker scores, confusion."""
    async with web.state(request).db.read() as conn:
        project = await _managed(request, user, conn)
        report = await runner.quality(conn, project)
    return web.ok(report)


@web.endpoint(Role.requester)
async def recompute(request: Request, user: Principal) -> Response:
    """POST /api/projects/{id}/consensus: re-estimate worker skills and every task's consensus."""
    body = await web.read_json(request) if int(request.headers.get("content-length") or 0) else {}
    method = body.get("method", "auto") if isinstance(body, dict) else "auto"
    app = web.state(request)
    async with app.db.read() as conn:
        project = await _managed(request, user, conn)
    return web.ok(await runner.recompute_project(app.db, project, method=method, mem=app.memory))
