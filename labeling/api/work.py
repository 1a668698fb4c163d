"""The worker's side of the queue: next, submit, skip, release, renew."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from labeling import annotations, queue, schemas, web
from labeling.auth import Principal
from labeling.errors import InvalidInput

MAX_ANSWER_BYTES = 4 * 1024 * 1024


@web.endpoint()
async def next_task(request: Request, user: Principal) -> Response:
    """POST /api/projects/{id}/next: 200 with a lease, or 204 when nothing is left for this worker."""
    app = web.state(request)
    project_id = web.path_int(request, "project_id")
    max_leases = app.settings.max_leases_per_worker
    lease = await app.db.transact(lambda tx: queue.claim_next(tx, project_id, user, max_leases), per_statement=True)
    if lease is None:
        return Response(status_code=204)
    return web.ok(lease.public())


@web.endpoint()
async def submit(request: Request, user: Principal) -> Response:
    """POST /api/assignments/{id}/submit {"answer": {...}}: 201; retried with the same Idempotency-Key, the same 201."""
    body = schemas.parse(schemas.SubmitBody, await web.read_json(request, MAX_ANSWER_BYTES))
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 200:
        raise InvalidInput("Idempotency-Key must be 1-200 characters", field="Idempotency-Key")
    assignment_id = web.path_int(request, "assignment_id")

    result = await web.state(request).db.transact(
        lambda tx: annotations.submit(tx, assignment_id, user, body.answer, key, body.duration_ms), per_statement=True)
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return web.ok(result.public(), status_code=201, headers=headers)


@web.endpoint()
async def skip(request: Request, user: Principal) -> Response:
    """POST /api/assignments/{id}/skip: this worker will not see the task again."""
    assignment_id = web.path_int(request, "assignment_id")
    result = await web.state(request).db.transact(lambda tx: queue.skip(tx, assignment_id, user))
    return web.ok(result)


@web.endpoint()
async def release(request: Request, user: Principal) -> Response:
    """POST /api/assignments/{id}/release: give the lease back untouched."""
    assignment_id = web.path_int(request, "assignment_id")
    result = await web.state(request).db.transact(lambda tx: queue.release(tx, assignment_id, user))
    return web.ok(result)


@web.endpoint()
async def renew(request: Request, user: Principal) -> Response:
    """POST /api/assignments/{id}/renew: extend the lease, or take an expired one back if the task still needs it."""
    assignment_id = web.path_int(request, "assignment_id")
    lease = await web.state(request).db.transact(lambda tx: queue.renew(tx, assignment_id, user))
    return web.ok(lease.public())
