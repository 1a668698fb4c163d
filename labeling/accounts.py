"""Account lifecycle, for admins: list, create, reset a password, rotate a token, deactivate and reactivate.

Taking access away works at once in the process that decides it (the route forgets its remembered
credentials) and within web.AUTH_RECHECK_SECONDS in every other process (auth.bump_epoch). A deactivated user's
live leases go back to the queue.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import audit, auth, models, paging, queue, schemas
from labeling.auth import Principal
from labeling.errors import Conflict, NotFound, Unauthenticated
from labeling.models import Role
from labeling.sqltx import Tx


def public(row: Any) -> dict:
    """The API shape of a user (never a hash)."""
    return {"id": row.id, "username": row.username, "role": row.role, "is_active": bool(row.is_active),
            "created_at": schemas.iso(row.created_at)}


def _row(tx: Tx, user_id: int, statement: str = "auth.user_for_update") -> Any:
    """The user, held against other changes of the account until the transaction ends (PostgreSQL), or NotFound:
    a change decides on the account as it stays (two deactivations at once did both, audited twice)."""
    row = tx.one(statement, {"user": user_id})
    if row is None:
        raise NotFound(f"no user {user_id}", field="user_id")
    return row


def _entry(tx: Tx, actor: Principal | str, action: str, row: Any, **details: Any) -> None:
    audit.record(tx, actor, action, object_type="user", object_id=row.id,
                 details={"username": row.username, "role": row.role, **details})


def create(tx: Tx, actor: Principal | str, username: str, role: Role | str,
           password_hash: str | None) -> tuple[dict, str]:
    """A new account (auth.create_user), audited; returns (public user, API token)."""
    created, token = auth.create_user(tx, username, role, password_hash=password_hash)
    _entry(tx, actor, "user.create", _row(tx, created["id"], "auth.user"))
    return created, token


def rotate_token(tx: Tx, actor: Principal, user_id: int, presented_hash: str | None = None) -> str:
    """A new API token for a user (an admin for anyone, anyone for themselves); the old one stops working.
    `presented_hash`: the hash of the token a user rotating their own token signed in with, which must still be
    theirs: two rotations with one token at once both passed sign-in, and the first to commit left the other's
    new token dead although it answered 201 (one after the other, the second is refused: its token is gone)."""
    row = _row(tx, user_id)
    if presented_hash is not None and row.token_hash != presented_hash:
        raise Unauthenticated("the API token is not valid", field="Authorization")
    token = auth.rotate_token(tx, user_id)
    _entry(tx, actor, "user.token_rotate", row)
    return token


def reset_password(tx: Tx, actor: Principal, user_id: int, password_hash: str) -> None:
    """A new password for the web UI; the user's sessions end."""
    row = _row(tx, user_id)
    auth.set_password(tx, user_id, password_hash)
    _entry(tx, actor, "user.password_reset", row)


def deactivate(tx: Tx, actor: Principal, user_id: int) -> dict:
    """Stop a user: tokens and sessions stop working, live leases go back to the queue. Their answers stay.
    Refused for yourself, so an active admin always remains to undo it."""
    row = _row(tx, user_id)
    if row.id == actor.id:
        raise Conflict("you cannot deactivate yourself; ask another admin", field="user_id")
    released = 0
    if row.is_active:
        tx.run("auth.set_active", {"user": user_id, "active": False})
        # Their sessions stay, and work no more (a session is an active user's): a page still open can be told the
        # account was deactivated, not only that it is signed out. Reactivation ends them.
        auth.bump_epoch(tx)
        released = queue.release_worker_leases(tx, user_id)
        _entry(tx, actor, "user.deactivate", row, leases_released=released)
    return {**public(row), "is_active": False, "leases_released": released}


def reactivate(tx: Tx, actor: Principal, user_id: int) -> dict:
    """Let a deactivated user sign in again (with the token and password they had)."""
    row = _row(tx, user_id)
    if not row.is_active:
        tx.run("auth.set_active", {"user": user_id, "active": True})
        auth.end_sessions(tx, user_id)  # the sessions from before: signing in again starts a new one
        _entry(tx, actor, "user.reactivate", row)
    return {**public(row), "is_active": True}


async def get(conn: AsyncConnection, user_id: int) -> dict:
    """One user, or NotFound."""
    u = models.users
    row = (await conn.execute(select(u).where(u.c.id == user_id))).first()
    if row is None:
        raise NotFound(f"no user {user_id}", field="user_id")
    return public(row)


async def usernames(conn: AsyncConnection, user_ids: set[int]) -> dict[int, str]:
    """The usernames of these users, by id (the console names teams' owners with them)."""
    u = models.users
    return dict((await conn.execute(select(u.c.id, u.c.username).where(u.c.id.in_(sorted(user_ids))))).all())


async def page(conn: AsyncConnection, cursor: str | None, limit: int, *, role: str | None = None,
               active: bool | None = None) -> dict:
    """A page of users in id order, optionally of one role or only (in)active ones."""
    u = models.users
    query = select(u).order_by(u.c.id).limit(limit + 1)
    after = paging.decode(cursor, "users")
    if after is not None:
        query = query.where(u.c.id > after)
    if role:
        query = query.where(u.c.role == auth.check_role(role).value)
    if active is not None:
        query = query.where(u.c.is_active.is_(active))
    rows = (await conn.execute(query)).all()
    return paging.page([public(r) for r in rows], limit, "users")
