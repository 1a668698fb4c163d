"""A requester reviewing a task of their project: accept its consensus, override it, ask for one more answer,
leave one answer out of it (labeling/reviews.py). Each is one transaction."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from labeling import reviews, schemas, web
from labeling.api import work
from labeling.api.projects import project_for

SMALL_BODY = 1024


async def _project_id(request: Request, caller: web.Caller) -> int:
    """The route's project once the policy allows the caller's action (404 otherwise); the task's id is read
    (and checked to be a number) before the body."""
    async with web.state(request).db.read() as conn:
        project = await project_for(request, caller, conn)
    web.path_int(request, "task_id")
    return project.id


async def accept(request: Request, caller: web.Caller) -> Response:
    """POST /api/projects/{id}/tasks/{task_id}/accept: the consensus is right as it is."""
    project_id = await _project_id(request, caller)
    task_id = web.path_int(request, "task_id")
    return web.ok(await web.state(request).db.transact(
        lambda tx: reviews.accept(tx, caller.who, project_id, task_id)))


async def override(request: Request, caller: web.Caller) -> Response:
    """POST /api/projects/{id}/tasks/{task_id}/override {"answer"}: the requester's answer replaces the consensus
    in results and exports (checked as a worker's answer to the task is)."""
    app = web.state(request)
    project_id = await _project_id(request, caller)
    task_id = web.path_int(request, "task_id")
    raw = await web.read_json(request, app.settings.max_answer_bytes + work.SUBMIT_OVERHEAD_BYTES)  # as a submit's
    body = schemas.parse(schemas.OverrideBody, raw, app.settings)
    return web.ok(await app.db.transact(lambda tx: reviews.override(tx, caller.who, project_id, task_id,
                                                                    body.answer)))


async def more_answers(request: Request, caller: web.Caller) -> Response:
    """POST /api/projects/{id}/tasks/{task_id}/more-answers {"needed"?}: the task's redundancy goes up by one; it
    is open until the answer comes. With `needed` a retry finds it done and changes nothing."""
    project_id = await _project_id(request, caller)
    task_id = web.path_int(request, "task_id")
    body = schemas.parse(schemas.MoreAnswersBody, await web.optional_json(request, SMALL_BODY))
    return web.ok(await web.state(request).db.transact(
        lambda tx: reviews.more_answers(tx, caller.who, project_id, task_id, body.needed)))


async def exclude(request: Request, caller: web.Caller) -> Response:
    """POST /api/projects/{id}/tasks/{task_id}/answers/{annotation_id}/exclude {"excluded": true|false}: leave
    one answer out of the task's consensus, or count it again."""
    app = web.state(request)
    project_id = await _project_id(request, caller)
    task_id = web.path_int(request, "task_id")
    annotation_id = web.path_int(request, "annotation_id")
    body = schemas.parse(schemas.ExcludeBody, await web.optional_json(request, SMALL_BODY))
    return web.ok(await app.db.transact(lambda tx: reviews.exclude(tx, app.memory, caller.who, project_id, task_id,
                                                                   annotation_id, body.excluded)))
