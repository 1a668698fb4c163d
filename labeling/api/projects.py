"""/api/projects: create, read, list, update, delete; tasks; results and quality. Every handler asks the policy
(`caller.check`) about the project it read before anything else, then reads its body."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labeling import deletion, media, membership, policy, projects, schemas, task_detail, tasks, web
from labeling.api import media as media_api
from labeling.consensus import runner
from labeling.errors import InvalidInput

RECOMPUTE_BODY_BYTES = 64 * 1024


async def project_for(request: Request, caller: web.Caller, conn: Any) -> Any:
    """The route's project, once the policy allows the caller's action on it (404 otherwise) and the project's
    status does (409: an archived project's content does not change), before the route reads its body. The write
    checks the status again with the row it locks."""
    row, seen = await membership.project(conn, caller.who, web.path_int(request, "project_id"))
    caller.check(seen)
    policy.check_status(row, caller.action)
    return row


def versioned(row: Any, settings: bool = True) -> dict | None:
    """The project's version in ETag, for its requester (who may send it back in If-Match to change it only as
    read: membership.check_version); a worker's view carries none."""
    return {"ETag": membership.etag(row)} if settings else None


def if_match(request: Request) -> str | None:
    """The If-Match header: the project version a change is meant for (None: change it whatever its version)."""
    value = request.headers.get("if-match")
    if value is not None and not value.strip():
        raise InvalidInput("If-Match: empty; send the ETag of the project as read, or leave the header out",
                           field="If-Match")
    if value is not None and not _ENTITY_TAGS.search(value):  # a 412 would say the project changed: it did not
        shown = value if len(value) <= 60 else value[:60] + "..."
        raise InvalidInput(f"If-Match: {shown!r} is not an entity tag: send the ETag as read (a quoted value, as "
                           'the ETag header gives it), several separated by commas, or *', field="If-Match")
    return value


_ENTITY_TAGS = re.compile(schemas.ENTITY_TAGS)


async def _view(request: Request, caller: web.Caller, project_id: int) -> tuple[dict, dict | None]:
    """The project as the caller may see it, and its ETag header (for its requester)."""
    async with web.state(request).db.read() as conn:
        row, seen = await membership.project(conn, caller.who, project_id)
        settings = caller.can("project.settings", seen)
        return await projects.view(conn, row, settings=settings), versioned(row, settings)


async def create_project(request: Request, caller: web.Caller) -> Response:
    """POST /api/projects"""
    app = web.state(request)
    raw = await web.read_json(request, schemas.project_body_limit(app.settings))
    body = schemas.parse(schemas.ProjectCreate, raw, app.settings)
    project_id = await app.db.transact(lambda tx: projects.create(tx, caller.who, body))
    view, headers = await _view(request, caller, project_id)
    response = web.created(request, view, f"/api/projects/{project_id}")
    response.headers.update(headers or {})
    return response


async def list_projects(request: Request, caller: web.Caller) -> Response:
    """GET /api/projects: the projects you may read (a worker: the active ones whose pool has them)."""
    params = web.query(request, schemas.ProjectListQuery)
    async with web.state(request).db.read() as conn:
        page = await projects.list_(conn, caller.who, params.cursor, params.limit, status=params.status)
    return web.ok(page)


async def get_project(request: Request, caller: web.Caller) -> Response:
    """GET /api/projects/{id}: settings and progress for its requester; for a worker, what labeling needs."""
    async with web.state(request).db.read() as conn:
        row = await project_for(request, caller, conn)
        settings = caller.can("project.settings", membership.facts(row))
        return web.ok(await projects.view(conn, row, settings=settings), headers=versioned(row, settings))


async def update_project(request: Request, caller: web.Caller) -> Response:
    """PATCH /api/projects/{id}: settings and status; with If-Match, only if the project is still as read (412)."""
    app = web.state(request)
    async with app.db.read() as conn:
        row = await project_for(request, caller, conn)
    expected = if_match(request)
    raw = await web.read_json(request, schemas.project_body_limit(app.settings))
    body = schemas.parse(schemas.ProjectUpdate, raw, app.settings)
    await app.db.transact(lambda tx: projects.update_settings(tx, app.memory, caller.who, row.id, body, expected))
    view, headers = await _view(request, caller, row.id)
    return web.ok(view, headers=headers)


async def delete_project(request: Request, caller: web.Caller) -> Response:
    """DELETE /api/projects/{id}?confirm=NAME: the project and everything under it; unused uploads leave the disk."""
    app = web.state(request)
    async with app.db.read() as conn:
        row = await project_for(request, caller, conn)
    # Strict as every query string (web.query): a repeated confirm was read as its last value and an unknown
    # parameter passed unseen. The missing or wrong name keeps deletion's message, which says what to send.
    params = web.single_params(request)
    for name in sorted(params.keys() - {"confirm"}):
        raise InvalidInput(f"{name}: is not a known field", field=name)
    confirm = params.get("confirm")
    deleted = await app.db.transact(lambda tx: deletion.delete_project(tx, caller.who, row.id, confirm))
    # Only now that the deletion has committed: a transaction of its own, which imports naming the files wait for
    removed = await app.db.transact(lambda tx: media.remove_unused(tx, app.settings.media_dir, deleted.unused,
                                                                   deleted.owner_id))
    return web.ok({"deleted": {"project_id": row.id, "name": deleted.name, **deleted.sizes, "media_files": removed}})


IMPORT_TYPES = ("a JSON array of tasks (application/json), JSON Lines (application/x-ndjson) or files "
                "(multipart/form-data)")


async def import_tasks(request: Request, caller: web.Caller) -> Response:
    """POST /api/projects/{id}/tasks: a JSON array, JSON Lines, or multipart image uploads; all or nothing."""
    app = web.state(request)
    content_type = request.headers.get("content-type", "")
    async with app.db.read() as conn:
        project = await project_for(request, caller, conn)
    if not tasks.is_lines(content_type):
        web.check_media_type(request, (*web.JSON_TYPES, "multipart/form-data"), IMPORT_TYPES)
    # Uploaded images are written before the tasks that show them are checked; a refused import takes them away.
    async with media_api.placing(app) as placed:
        if web.media_type(request) == "multipart/form-data":
            items, sizes = await media_api.tasks_from_upload(request, app.settings, placed,
                                                                  project.task_type)
        else:
            body = await web.read_body(request, app.settings.max_body_bytes)
            items = await asyncio.to_thread(tasks.read_items, body, content_type, tasks.MAX_TASKS_PER_IMPORT)
            sizes = media.Sizes(app.settings.media_dir)
        # The media-folder files the tasks may name (policy media.name): what the database records as the
        # caller's among those they name, and the images this import brings. Those must be there, now and when it
        # commits, but for the images it brings along: `placing` puts them back after the commit if a deletion's
        # removal of unused uploads took one meanwhile (also before they are checked here: a removal between their
        # placing and this check made them "no file").
        brought = frozenset(upload.path for upload in placed.uploads)
        async with app.db.read() as conn:
            may_name = await media.nameable(conn, caller.who, tasks.named_media(items, project.task_type), brought)
        # Off the event loop: a large import takes seconds to check (and image sizes are read from files).
        parsed = await asyncio.to_thread(tasks.validate, items, project.task_type, project.labels,
                                         app.settings.media_dir, sizes=sizes,
                                         max_task_bytes=app.settings.max_task_bytes, may_name=may_name,
                                         brought=brought, options=project.options)
        # Checked against the project as read above; the import's transaction holds the row and asks it again.
        created = await app.db.transact(lambda tx: tasks.import_(tx, caller.who, project, parsed, sizes=sizes,
                                                                 uploads_in=app.settings.media_dir, brought=brought))
    return web.ok({"created": created}, status_code=201)


async def list_tasks(request: Request, caller: web.Caller) -> Response:
    """GET /api/projects/{id}/tasks?cursor=&limit=&state=open|complete&gold=true|false"""
    params = web.query(request, schemas.TaskListQuery)
    async with web.state(request).db.read() as conn:
        project = await project_for(request, caller, conn)
        page = await tasks.list_(conn, project.id, params.cursor, params.limit, state=params.state, gold=params.gold)
    return web.ok(page)


async def get_task(request: Request, caller: web.Caller) -> Response:
    """GET /api/projects/{id}/tasks/{task_id}: the task, every answer with its metadata, skips, problem reports."""
    task_id = web.path_int(request, "task_id")
    async with web.state(request).db.read() as conn:
        project = await project_for(request, caller, conn)
        return web.ok(await task_detail.detail(conn, project.id, task_id))


async def delete_tasks(request: Request, caller: web.Caller) -> Response:
    """DELETE /api/projects/{id}/tasks {"task_ids"|"external_ids", "confirm": true}: tasks with their answers and results"""
    app = web.state(request)
    async with app.db.read() as conn:
        project = await project_for(request, caller, conn)
    body = schemas.parse(schemas.TasksDelete, await web.read_json(request, schemas.REFS_BODY_BYTES), app.settings)
    deleted = await app.db.transact(lambda tx: deletion.delete_tasks(
        tx, caller.who, project.id, body.task_ids, body.external_ids, body.confirm))
    return web.ok({"deleted": deleted})


async def results(request: Request, caller: web.Caller) -> Response:
    """GET /api/projects/{id}/results: the consensus of each task that has one."""
    params = web.query(request, schemas.PageQuery)
    async with web.state(request).db.read() as conn:
        project = await project_for(request, caller, conn)
        page = await runner.results_page(conn, project.id, params.cursor, params.limit)
    return web.ok(page)


async def quality(request: Request, caller: web.Caller) -> Response:
    """GET /api/projects/{id}/quality: agreement, worker scores, confusion."""
    async with web.state(request).db.read() as conn:
        project = await project_for(request, caller, conn)
        report = await runner.quality(conn, project)
    return web.ok(report)


async def recompute(request: Request, caller: web.Caller) -> Response:
    """POST /api/projects/{id}/consensus: re-estimate worker skills and every task's consensus."""
    app = web.state(request)
    async with app.db.read() as conn:
        project = await project_for(request, caller, conn)
    body = schemas.parse(schemas.RecomputeBody, await web.optional_json(request, RECOMPUTE_BODY_BYTES))
    return web.ok(await runner.recompute_project(app.db, project, method=body.method, mem=app.memory,
                                                 actor=caller.who))
