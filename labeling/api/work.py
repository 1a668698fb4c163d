"""The worker's side of the queue: next, submit, skip, release, renew. Who may is decided inside the queue's
transaction (queue.admit asks the policy with the project it already has in memory): no extra round trip."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from labeling import annotations, media, queue, schemas, tasktypes, web
from labeling.errors import InvalidInput

MAX_ANSWER_BYTES = 4 * 1024 * 1024


def lease_public(lease: queue.Lease, media_key: bytes) -> dict:
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
            "expires_in": max(0.0, round(lease.expires_at - time.time(), 3))}


def submitted_public(done: queue.Submitted) -> dict:
    """The API shape of a submit's result."""
    return {"annotation_id": done.annotation_id, "assignment_id": done.assignment_id, "task_id": done.task_id,
            "created_at": schemas.iso(done.created_at), "task_complete": done.task_complete}


async def next_task(request: Request, caller: web.Caller) -> Response:
    """POST /api/projects/{id}/next: 200 with a lease, or 204 when nothing is left for this worker."""
    app = web.state(request)
    project_id = web.path_int(request, "project_id")
    max_leases = app.settings.max_leases_per_worker
    lease = await app.db.transact(lambda tx: queue.claim_next(tx, app.memory, project_id, caller.who, max_leases),
                                  per_statement=True)
    if lease is None:
        return Response(status_code=204)
    return web.ok(lease_public(lease, app.media_key))


async def submit(request: Request, caller: web.Caller) -> Response:
    """POST /api/assignments/{id}/submit {"answer": {...}}: 201; retried with the same Idempotency-Key, the same 201."""
    body = schemas.parse(schemas.SubmitBody, await web.read_json(request, MAX_ANSWER_BYTES))
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 200:
        raise InvalidInput("Idempotency-Key must be 1-200 characters", field="Idempotency-Key")
    assignment_id = web.path_int(request, "assignment_id")
    app = web.state(request)
    result = await app.db.transact(
        lambda tx: annotations.submit(tx, app.memory, assignment_id, caller.who, body.answer, key, body.duration_ms),
        per_statement=True)
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return web.ok(submitted_public(result), status_code=201, headers=headers)


async def skip(request: Request, caller: web.Caller) -> Response:
    """POST /api/assignments/{id}/skip: this worker will not see the task again."""
    assignment_id = web.path_int(request, "assignment_id")
    app = web.state(request)
    return web.ok(await app.db.transact(lambda tx: queue.skip(tx, app.memory, assignment_id, caller.who)))


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
    return web.ok(lease_public(lease, app.media_key))
