"""The model leaderboard of a requester's preference projects: one project, or several combined."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from labeling import membership, schemas, web
from labeling.api import projects as projects_api
from labeling.consensus import evaluation


async def project_leaderboard(request: Request, caller: web.Caller) -> Response:
    """GET /api/projects/{id}/leaderboard?by=&bootstrap=&seed=: the leaderboard.json of `labeling leaderboard`."""
    app = web.state(request)
    async with app.db.read() as conn:
        project = await projects_api.project_for(request, caller, conn)
    params = web.query(request, schemas.LeaderboardQuery)
    return web.ok(await evaluation.board(app.db, [project], by=evaluation.fields_of(params.by),
                                         n_bootstrap=params.bootstrap, seed=params.seed))


async def combined_leaderboard(request: Request, caller: web.Caller) -> Response:
    """GET /api/leaderboard?projects=1,2,3&by=&bootstrap=&seed=: one leaderboard over several of your projects
    (a project that is not yours is a 404, as a missing one)."""
    app = web.state(request)
    params = web.query(request, schemas.CombinedLeaderboardQuery)
    found = []
    async with app.db.read() as conn:
        for project_id in params.projects:
            row, seen = await membership.project(conn, caller.who, project_id)
            caller.check(seen)
            found.append(row)
    return web.ok(await evaluation.board(app.db, found, by=evaluation.fields_of(params.by),
                                         n_bootstrap=params.bootstrap, seed=params.seed))
