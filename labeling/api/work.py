"""The worker's side of the queue: next, submit, skip, release, renew."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from labeling import annotations, projects, queue, schemas, web
from labeling.auth import Principal
from labeling.errors import InvalidInput

SUBMIT_OVERHEAD_BYTES = 64 * 1024  # a submit's body: its answer (LABELING_MAX_ANSWER_BYTES) and a little more


def lease_public(lease: queue.Lease) -> dict:
    """The API shape of a lease: gold or not is never revealed."""
    task: dict = {"id": lease.task_id, "data": lease.data}
    if lease.predictions is not None:
        task["predictions"] = lease.predictions
    return {"assignment_id": lease.assignment_id, "task": task, "expires_at": projects.iso(lease.expires_at),
            "expires_in": max(0.0, round(lease.expires_at - time.time(), 3))}


def submitted_public(done: queue.Submitted) -> dict:
    """The API shape of a submit's result."""
    return {"annotation_id": done.annotation_id, "assignment_id": done.assignment_id, "task_id": done.task_id,
            "created_at": projects.iso(done.created_at), "task_complete": done.task_complete}


@web.endpoint()
async def next_task(request: Request, user: Principal) -> Response:
    """POST /api/projects/{id}/next: 200 with a lease, or 204 when nothing is left for this worker."""
    app = web.state(request)
    project_id = web.path_int(request, "project_id")
    max_leases = app.settings.max_leases_per_worker
    lease = await app.db.transact(lambda tx: queue.claim_next(tx, app.memory, project_id, user, max_leases),
                                  per_statement=True)
    if lease is None:
        return Response(status_code=204)
    return web.ok(lease_public(lease))


@web.endpoint()
async def submit(request: Request, user: Principal) -> Response:
    """POST /api/assignments/{id}/submit {"answer": {...}}: 201; retried with the same Idempotency-Key, the same 201."""
    assignment_id = web.path_int(request, "assignment_id")
    app = web.state(request)
    raw = await web.read_json(request, app.settings.max_answer_bytes + SUBMIT_OVERHEAD_BYTES)
    body = schemas.parse(schemas.SubmitBody, raw, app.settings)
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 200:
        raise InvalidInput("Idempotency-Key must be 1-200 characters", field="Idempotency-Key")
    result = await app.db.transact(
        lambda tx: annotations.submit(tx, app.memory, assignment_id, user, body.answer, key, body.duration_ms),
        per_statement=True)
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return web.ok(submitted_public(result), status_code=201, headers=headers)


@web.endpoint()
async def skip(request: Request, user: Principal) -> Response:
    """POST /api/assignments/{id}/skip: this worker will not see the task again."""
    assignment_id = web.path_int(request, "assignment_id")
    app = web.state(request)
    return web.ok(await app.db.transact(lambda tx: queue.skip(tx, app.memory, assignment_id, user)))


@web.endpoint()
async def release(request: Request, user: Principal) -> Response:
    """POST /api/assignments/{id}/release: give the lease back untouched."""
    assignment_id = web.path_int(request, "assignment_id")
    app = web.state(request)
    return web.ok(await app.db.transact(lambda tx: queue.release(tx, app.memory, assignment_id, user)))


@web.endpoint()
async def renew(request: Request, user: Principal) -> Response:
    """POST /api/assignments/{id}/renew: extend the lease, or take an expired one back if the task still needs it."""
    assignment_id = web.path_int(request, "assignment_id")
    app = web.state(request)
    lease = await app.db.transact(lambda tx: queue.renew(tx, app.memory, assignment_id, user))
    return web.ok(lease_public(lease))
