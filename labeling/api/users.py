"""/api/users: who am I and my token for everyone; accounts for admins (list, create, reset a password, rotate a
token, deactivate, reactivate). A change that takes access away is forgotten at once by this process."""

from __future__ import annotations

from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import Response

from labeling import accounts, auth, policy, schemas, web
from labeling.auth import Principal

USER_BODY_BYTES = 64 * 1024


def _user_id(request: Request, caller: web.Caller) -> int:
    user_id = web.path_int(request, "user_id")
    caller.check(policy.User(user_id))
    return user_id


async def create_user(request: Request, caller: web.Caller) -> Response:
    """POST /api/users (admin): make an account; its API token is shown once."""
    app = web.state(request)
    body = schemas.parse(schemas.UserCreate, await web.read_json(request, USER_BODY_BYTES))
    auth.check_username(body.username)
    hashed = await app.gate.hash(body.password)
    created, token = await app.db.transact(
        lambda tx: accounts.create(tx, caller.who, body.username, body.role, hashed))
    return web.created(request, {**created, "token": token}, f"/api/users/{created['id']}")


async def list_users(request: Request, caller: web.Caller) -> Response:
    """GET /api/users?role=&active= (admin): every account, a page at a time."""
    params = web.query(request, schemas.UserListQuery)
    async with web.state(request).db.read() as conn:
        page = await accounts.page(conn, params.cursor, params.limit, role=params.role, active=params.active)
    return web.ok(page)


async def get_user(request: Request, caller: web.Caller) -> Response:
    """GET /api/users/{id} (admin)"""
    user_id = _user_id(request, caller)
    async with web.state(request).db.read() as conn:
        return web.ok(await accounts.get(conn, user_id))


async def me(request: Request, caller: web.Caller) -> Response:
    """GET /api/users/me: who this token or session is."""
    user = caller.who
    return web.ok({"id": user.id, "username": user.username, "role": user.role.value})


async def rotate_my_token(request: Request, caller: web.Caller) -> Response:
    """POST /api/users/me/token: a new API token for yourself; the old one stops working."""
    app, user = web.state(request), caller.who
    presented = web.bearer_token(request)  # None: signed in with a session, which a rotation leaves standing
    presented_hash = auth.hash_token(presented) if presented is not None else None
    token = await app.db.transact(lambda tx: accounts.rotate_token(tx, user, user.id, presented_hash))
    app.forget_credentials()
    return web.ok({"id": user.id, "username": user.username, "token": token}, status_code=201)


async def rotate_token(request: Request, caller: web.Caller) -> Response:
    """POST /api/users/{id}/token (admin): a new API token for anyone, shown once; the old one stops working."""
    user_id = _user_id(request, caller)
    app = web.state(request)
    token = await app.db.transact(lambda tx: accounts.rotate_token(tx, caller.who, user_id))
    app.forget_credentials()
    return web.ok({"id": user_id, "token": token}, status_code=201)


async def reset_password(request: Request, caller: web.Caller) -> Response:
    """POST /api/users/{id}/password {"password"} (admin): a new web UI password; the user's sessions end."""
    user_id = _user_id(request, caller)
    app = web.state(request)
    body = schemas.parse(schemas.PasswordReset, await web.read_json(request, USER_BODY_BYTES))
    hashed = await app.gate.hash(body.password)
    await app.db.transact(lambda tx: accounts.reset_password(tx, caller.who, user_id, hashed))
    app.forget_credentials()
    return web.ok({"id": user_id, "password_reset": True})


async def _switch(request: Request, caller: web.Caller, change: Callable[[Any, Principal, int], dict]) -> Response:
    user_id = _user_id(request, caller)
    app = web.state(request)
    result = await app.db.transact(lambda tx: change(tx, caller.who, user_id))
    app.forget_credentials()
    return web.ok(result)


async def deactivate(request: Request, caller: web.Caller) -> Response:
    """POST /api/users/{id}/deactivate (admin): tokens and sessions stop working, live leases go back."""
    return await _switch(request, caller, accounts.deactivate)


async def reactivate(request: Request, caller: web.Caller) -> Response:
    """POST /api/users/{id}/reactivate (admin): the user may sign in again with what they had."""
    return await _switch(request, caller, accounts.reactivate)
