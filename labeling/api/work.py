"""The worker's side of the queue: next, submit, skip, release, renew; reports, the worker's own answers and
changing one, the labeling page's progress. Who may is decided inside the queue's transaction (queue.admit asks
the policy with the project it already has in memory): no extra round trip."""

from __future__ import annotations

import hashlib
import hmac
import time

from starlette.requests import Request
from starlette.responses import Response

from labeling import annotations, auth, media, queue, reports, schemas, tasktypes, web, worker_answers, worker_stats
from labeling.api import projects as projects_api
from labeling.errors import InvalidInput

MAX_SMALL_BODY = 64 * 1024
SUBMIT_OVERHEAD_BYTES = 64 * 1024  # a submit's body: its answer (LABELING_MAX_ANSWER_BYTES) and a little more


def resume_value(media_key: bytes, worker_id: int, task_id: int) -> str:
    """What gives a released task back to its worker (`?prefer_task=ID&resume=VALUE`): a signature of the worker and
    the task, so a worker can ask again only for a task the queue once leased them, never pick one (a gold task, a
    friend's task) by its id."""
    return hmac.new(media_key, f"resume {worker_id} {task_id}".encode(), hashlib.sha256).hexdigest()[:32]


def preferred_task(request: Request, app: web.AppState, worker_id: int) -> int | None:
    """The task a claim asks for first (`prefer_task`), checked against its `resume` value."""
    if not request.scope["query_string"]:  # the usual call: nothing to parse
        return None
    query = web.query(request, schemas.NextQuery)
    if query.prefer_task is None:
        if query.resume is not None:
            raise InvalidInput("resume goes with prefer_task, the task it gives back", field="resume")
        return None
    if query.resume is None or not auth.same_secret(resume_value(app.media_key, worker_id, query.prefer_task),
                                                    query.resume):
        raise InvalidInput("prefer_task needs resume: the resume value of your lease on that task", field="resume")
    return query.prefer_task


def lease_public(lease: queue.Lease, media_key: bytes, worker_id: int) -> dict:
    """The API shape of a lease: gold or not is never revealed; files of the media folder come with short-lived
    signed URLs (`task.media`, by the reference in the data), so a browser loads them without a lookup."""
    task: dict = {"id": lease.task_id, "data": lease.data}
    if lease.predictions is not None:
        task["predictions"] = lease.predictions
    spec = tasktypes.REGISTRY.get(lease.task_type)
    refs = spec.local_media(lease.data) if spec is not None else []
    if refs:
        task["media"] = media.signed_urls(media_key, refs)
    return {"assignment_id": lease.assignment_id, "task": task, "expires_at": schemas.iso(lease.expires_at),
            "expires_in": max(0.0, round(lease.expires_at - time.time(), 3)),
            "resume": resume_value(media_key, worker_id, lease.task_id)}


def submitted_public(done: queue.Submitted) -> dict:
    """The API shape of a submit's result."""
    return {"annotation_id": done.annotation_id, "assignment_id": done.assignment_id, "task_id": done.task_id,
            "created_at": schemas.iso(done.created_at), "task_complete": done.task_complete}


async def next_task(request: Request, caller: web.Caller) -> Response:
    """POST /api/projects/{id}/next: 200 with a lease, or 204 when nothing is left for this worker."""
    app = web.state(request)
    project_id = web.path_int(request, "project_id")
    max_leases = app.settings.max_leases_per_worker
    prefer = preferred_task(request, app, caller.who.id)
    lease = await app.db.transact(lambda tx: queue.claim_next(tx, app.memory, project_id, caller.who, max_leases,
                                                             prefer_task=prefer), per_statement=True)
    if lease is None:
        return Response(status_code=204)
    return web.ok_stored(lease_public(lease, app.media_key, caller.who.id))


async def submit(request: Request, caller: web.Caller) -> Response:
    """POST /api/assignments/{id}/submit {"answer": {...}}: 201; retried with the same Idempotency-Key, the same 201."""
    assignment_id = web.path_int(request, "assignment_id")
    app = web.state(request)
    raw = await web.read_json(request, app.settings.max_answer_bytes + SUBMIT_OVERHEAD_BYTES)
    body = schemas.parse(schemas.SubmitBody, raw, app.settings)
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 200:
        raise InvalidInput("Idempotency-Key must be 1-200 characters", field="Idempotency-Key")
    result = await app.db.transact(
        lambda tx: annotations.submit(tx, app.memory, assignment_id, caller.who, body.answer, key, body.duration_ms,
                                      body.meta.stored() if body.meta is not None else None),
        per_statement=True)
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return web.ok_stored(submitted_public(result), status_code=201, headers=headers)


async def skip(request: Request, caller: web.Caller) -> Response:
    """POST /api/assignments/{id}/skip {"reason"?, "note"?}: this worker will not see the task again."""
    assignment_id = web.path_int(request, "assignment_id")
    # No body at all: a skip without a reason (from an older script).
    body = schemas.parse(schemas.SkipBody, await web.optional_json(request, MAX_SMALL_BODY))
    app = web.state(request)
    reason = body.reason.value if body.reason is not None else None
    return web.ok(await app.db.transact(lambda tx: queue.skip(tx, app.memory, assignment_id, caller.who, reason,
                                                              body.note)))


async def report(request: Request, caller: web.Caller) -> Response:
    """POST /api/assignments/{id}/report {"text"}: a problem with the task, for the requester (not an answer); the
    same text sent again is answered with the report stored (a retry)."""
    assignment_id = web.path_int(request, "assignment_id")
    body = schemas.parse(schemas.ReportBody, await web.read_json(request, MAX_SMALL_BODY))  # blank: a 400
    app = web.state(request)
    stored = await app.db.transact(lambda tx: reports.report(tx, app.memory, assignment_id, caller.who, body.text))
    headers = {"Idempotent-Replayed": "true"} if stored.pop("replayed") else None
    return web.ok({**stored, "created_at": schemas.iso(stored["created_at"])}, status_code=201, headers=headers)


async def my_answers(request: Request, caller: web.Caller) -> Response:
    """GET /api/projects/{id}/my-answers: this worker's answers in the project, newest first, and which may change."""
    params = web.query(request, schemas.PageQuery)
    async with web.state(request).db.read() as conn:
        project = await projects_api.project_for(request, caller, conn)
        page = await worker_answers.mine(conn, project, caller.who.id, params.cursor, params.limit)
    return web.ok(page)


async def change_answer(request: Request, caller: web.Caller) -> Response:
    """PUT /api/annotations/{id} {"answer", "meta"?}: change one of my answers while the project allows it."""
    annotation_id = web.path_int(request, "annotation_id")
    app = web.state(request)
    raw = await web.read_json(request, app.settings.max_answer_bytes + SUBMIT_OVERHEAD_BYTES)
    body = schemas.parse(schemas.AnswerChange, raw, app.settings)
    meta = body.meta.stored() if body.meta is not None else None
    done = await app.db.transact(lambda tx: annotations.change(tx, app.memory, annotation_id, caller.who,
                                                               body.answer, meta))
    return web.ok({"annotation_id": done.annotation_id, "task_id": done.task_id,
                   "edited_at": schemas.iso(done.edited_at), "task_complete": done.task_complete})


async def progress(request: Request, caller: web.Caller) -> Response:
    """GET /api/projects/{id}/progress: the project's progress and this worker's counts in it."""
    async with web.state(request).db.read() as conn:
        project = await projects_api.project_for(request, caller, conn)
        return web.ok(await worker_stats.progress(conn, project.id, caller.who.id))


async def release(request: Request, caller: web.Caller) -> Response:
    """POST /api/assignments/{id}/release: give the lease back untouched."""
    assignment_id = web.path_int(request, "assignment_id")
    app = web.state(request)
    return web.ok(await app.db.transact(lambda tx: queue.release(tx, app.memory, assignment_id, caller.who)))


async def renew(request: Request, caller: web.Caller) -> Response:
    """POST /api/assignments/{id}/renew: extend the lease, or take an expired one back if the task still needs it."""
    assignment_id = web.path_int(request, "assignment_id")
    app = web.state(request)
    lease = await app.db.transact(lambda tx: queue.renew(tx, app.memory, assignment_id, caller.who))
    return web.ok(lease_public(lease, app.media_key, caller.who.id))
