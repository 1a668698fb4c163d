"""/api/users: accounts and tokens."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from labeling import auth, schemas, web
from labeling.auth import Principal
from labeling.models import Role

USER_BODY_BYTES = 64 * 1024


@web.endpoint(Role.admin)
async def create_user(request: Request, user: Principal) -> Response:
    """POST /api/users (admin): make an account; its API token is shown once."""
    body = schemas.parse(schemas.UserCreate, await web.read_json(request, USER_BODY_BYTES))
    auth.check_username(body.username)
    hashed = await asyncio.to_thread(auth.password_hash, body.password)
    created, token = await web.state(request).db.transact(
        lambda tx: auth.create_user(tx, body.username, body.role, password_hash=hashed))
    return web.ok({**created, "token": token}, status_code=201)


@web.endpoint()
async def me(request: Request, user: Principal) -> Response:
    """GET /api/users/me: who this token or session is."""
    return web.ok({"id": user.id, "username": user.username, "role": user.role.value})


@web.endpoint()
async def rotate_my_token(request: Request, user: Principal) -> Response:
    """POST /api/users/me/token: a new API token for yourself; the old one stops working."""
    token = await web.state(request).db.transact(lambda tx: auth.rotate_token(tx, user.id))
    web.state(request).token_cache.clear()
    return web.ok({"id": user.id, "username": user.username, "token": token}, status_code=201)
