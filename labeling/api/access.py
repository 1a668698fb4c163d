"""Who may work where, and what happened: project pools, teams, a project's workers (block, unblock, remove
their answers), and the audit log."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labeling import audit, membership, people, schemas, teams, web
from labeling.api import projects as projects_api
from labeling.api.projects import project_for
from labeling.consensus import runner
from labeling.errors import Conflict


async def get_pool(request: Request, caller: web.Caller) -> Response:
    """GET /api/projects/{id}/pool: every worker, or the workers and teams listed."""
    async with web.state(request).db.read() as conn:
        row = await project_for(request, caller, conn)
        return web.ok(await membership.pool(conn, row), headers=projects_api.versioned(row))


async def set_pool(request: Request, caller: web.Caller) -> Response:
    """PUT /api/projects/{id}/pool {"all_workers", "workers", "teams"}: replace the pool. Workers left out get 404
    on the project from their next request on; their live leases expire as usual."""
    app = web.state(request)
    async with app.db.read() as conn:
        row = await project_for(request, caller, conn)
    expected = projects_api.if_match(request)
    body = schemas.parse(schemas.PoolUpdate, await web.read_json(request, 2 * schemas.REFS_BODY_BYTES))  # workers, teams
    await app.db.transact(lambda tx: membership.set_pool(tx, caller.who, row.id, body.all_workers, body.workers,
                                                         body.teams, expected))
    async with app.db.read() as conn:
        row = await membership.load(conn, row.id)
        return web.ok(await membership.pool(conn, row), headers=projects_api.versioned(row))


async def block_worker(request: Request, caller: web.Caller) -> Response:
    """POST /api/projects/{id}/workers/{worker_id}/block: stop a worker here; their answers leave consensus."""
    app = web.state(request)
    async with app.db.read() as conn:
        row = await project_for(request, caller, conn)
    worker_id = web.path_int(request, "worker_id")
    return web.ok(await app.db.transact(lambda tx: people.block(tx, app.memory, caller.who, row.id, worker_id)))


async def unblock_worker(request: Request, caller: web.Caller) -> Response:
    """POST /api/projects/{id}/workers/{worker_id}/unblock: let a blocked worker work here again."""
    app = web.state(request)
    async with app.db.read() as conn:
        row = await project_for(request, caller, conn)
    worker_id = web.path_int(request, "worker_id")
    return web.ok(await app.db.transact(lambda tx: people.unblock(tx, caller.who, row.id, worker_id)))


async def remove_answers(request: Request, caller: web.Caller) -> Response:
    """DELETE /api/projects/{id}/workers/{worker_id}/answers?confirm=true: everything one worker did here is
    deleted, the tasks they completed reopen, and the project's consensus is recomputed without them."""
    app = web.state(request)
    async with app.db.read() as conn:
        row = await project_for(request, caller, conn)
    worker_id = web.path_int(request, "worker_id")
    confirm = web.query(request, schemas.ConfirmQuery).confirm
    removed = await app.db.transact(
        lambda tx: people.remove_answers(tx, app.memory, caller.who, row.id, worker_id, confirm))
    # Consensus and worker skills as if the worker had never answered (its own transactions, audited). The removal
    # has committed: a project archived or changed before the recompute could write is said, not answered with a 409.
    try:
        consensus = await runner.recompute_project(app.db, row, mem=app.memory, actor=caller.who)
    except Conflict as exc:
        return web.ok({**removed, "consensus": None,
                       "consensus_not_recomputed": f"{exc.message} (the answers are removed)"})
    return web.ok({**removed, "consensus": consensus, "consensus_not_recomputed": None})


async def _team(request: Request, caller: web.Caller, conn: Any) -> Any:
    row, seen = await teams.load(conn, web.path_int(request, "team_id"))
    caller.check(seen)
    return row


async def create_team(request: Request, caller: web.Caller) -> Response:
    """POST /api/teams {"name", "members"?}: a team of yours."""
    app = web.state(request)
    body = schemas.parse(schemas.TeamCreate, await web.read_json(request, schemas.REFS_BODY_BYTES))
    team_id = await app.db.transact(lambda tx: teams.create(tx, caller.who, body.name, body.members))
    async with app.db.read() as conn:
        row, _ = await teams.load(conn, team_id)
        return web.created(request, await teams.get(conn, row), f"/api/teams/{team_id}")


async def list_teams(request: Request, caller: web.Caller) -> Response:
    """GET /api/teams: your teams (every team, for an admin)."""
    params = web.query(request, schemas.PageQuery)
    async with web.state(request).db.read() as conn:
        return web.ok(await teams.page(conn, caller.who, params.cursor, params.limit))


async def get_team(request: Request, caller: web.Caller) -> Response:
    """GET /api/teams/{id}"""
    async with web.state(request).db.read() as conn:
        return web.ok(await teams.get(conn, await _team(request, caller, conn)))


async def team_members(request: Request, caller: web.Caller) -> Response:
    """GET /api/teams/{id}/members: a page of its workers."""
    params = web.query(request, schemas.PageQuery)
    async with web.state(request).db.read() as conn:
        row = await _team(request, caller, conn)
        return web.ok(await teams.members_page(conn, row.id, params.cursor, params.limit))


async def add_members(request: Request, caller: web.Caller) -> Response:
    """POST /api/teams/{id}/members {"workers": [...]}: add workers (by id or username)."""
    app = web.state(request)
    async with app.db.read() as conn:
        row = await _team(request, caller, conn)
    body = schemas.parse(schemas.TeamMembers, await web.read_json(request, schemas.REFS_BODY_BYTES))
    added = await app.db.transact(lambda tx: teams.add_members(tx, caller.who, row.id, body.workers))
    return web.ok({"team_id": row.id, "added": added})


async def remove_member(request: Request, caller: web.Caller) -> Response:
    """DELETE /api/teams/{id}/members/{worker_id}"""
    app = web.state(request)
    async with app.db.read() as conn:
        row = await _team(request, caller, conn)
    worker_id = web.path_int(request, "worker_id")
    await app.db.transact(lambda tx: teams.remove_member(tx, caller.who, row.id, worker_id))
    return web.ok({"team_id": row.id, "removed": worker_id})


async def delete_team(request: Request, caller: web.Caller) -> Response:
    """DELETE /api/teams/{id}: the pools that listed it no longer do."""
    app = web.state(request)
    async with app.db.read() as conn:
        row = await _team(request, caller, conn)
    await app.db.transact(lambda tx: teams.delete(tx, caller.who, row.id))
    return web.ok({"deleted": {"team_id": row.id, "name": row.name}})


async def audit_log(request: Request, caller: web.Caller) -> Response:
    """GET /api/audit?project_id=&action=: newest first; an admin reads all, a requester their projects' and their
    own actions. Entries cannot be changed through the API."""
    params = web.query(request, schemas.AuditQuery)
    async with web.state(request).db.read() as conn:
        return web.ok(await audit.page(conn, caller.who, params.cursor, params.limit, project_id=params.project_id,
                                       action=params.action))
