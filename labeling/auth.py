"""Passwords, API tokens, sessions and who a request is: hashing and lookups, no HTTP."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import jsonio, models
from labeling.errors import Conflict, InvalidInput, NotFound
from labeling.models import Role
from labeling.sqltx import Tx, is_unique_violation

T = TypeVar("T")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1000
SESSION_SECONDS = 14 * 86400
ADMIN_NAME = "admin"  # the user whose API token LABELING_ADMIN_TOKEN is
# A sign-in for an unknown user, a deactivated one or one without a password checks the password against this
# hash (of a random password nobody knows), so it costs what a real check costs and says nothing by its timing.
DUMMY_HASH = "scrypt$16384$8$1$qWapKbUXhLfo8fRgFDF1zA==$BwbwJ094kF9PtUtYBqESVfzTz0FYjSO4orIjuC1QM60="


@dataclass(frozen=True)
class Principal:
    """The authenticated user of a request."""

    id: int
    username: str
    role: Role


def hash_password(password: str) -> str:
    """scrypt with a random salt, encoded with its parameters."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt${n}${r}${p}${salt}${digest}".format(
        **_SCRYPT, salt=base64.b64encode(salt).decode(), digest=base64.b64encode(digest).decode())


def verify_password(password: str, encoded: str | None) -> bool:
    """True when password matches the stored hash (constant-time comparison)."""
    if not encoded:
        return False
    try:
        _, n, r, p, salt, digest = encoded.split("$")
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), dklen=32, n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


class PasswordGate:
    """Password hashing off the event loop, at most `slots` hashes at once (one scrypt takes 50-100 ms of a core
    and 16 MB): a crowd of sign-ins queues here while every other request keeps a core. One per server process."""

    def __init__(self, slots: int | None = None) -> None:
        self.slots = slots or max(1, (os.cpu_count() or 2) // 2)
        self._semaphore: asyncio.Semaphore | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) in a worker thread, once a slot is free."""
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.slots)
        async with self._semaphore:
            return await asyncio.to_thread(fn, *args)

    async def verify(self, password: str, encoded: str | None) -> bool:
        """verify_password off the loop; no stored hash costs the same as a wrong password."""
        matched = await self.run(verify_password, password, encoded or DUMMY_HASH)
        return matched and encoded is not None

    async def hash(self, password: str | None) -> str | None:
        """password_hash off the loop (None stays None)."""
        return None if password is None else await self.run(password_hash, password)


def same_secret(expected: str, presented: str) -> bool:
    """Constant-time comparison of a secret the client presents (a CSRF token, a URL signature) with the right one.

    Compared as UTF-8 bytes: hmac.compare_digest refuses a str with a non-ASCII character (a TypeError, a 500),
    and a header, form field or path may carry any character."""
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), presented.encode("utf-8", "surrogatepass"))


def new_token() -> str:
    """A fresh API token (shown once; only its hash is stored)."""
    return "lbl_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are long and random, so a plain SHA-256 is the right hash (lookups stay indexed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_username(username: object) -> str:
    """Fail unless username is 1-100 characters of letters, digits and _.@-."""
    if not isinstance(username, str) or not USERNAME_RE.fullmatch(username):
        raise InvalidInput("username must be 1-100 letters, digits or _.@- (starting with a letter or digit)",
                           field="username")
    return username


def check_role(role: object) -> Role:
    """Fail unless role is admin, requester or worker."""
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(f"role must be one of admin, requester, worker; got {role!r}", field="role") from None


def check_password(password: object) -> str:
    """Fail unless the password is a string of MIN_PASSWORD to MAX_PASSWORD characters (the API's schemas say the
    same; `labeling users add` took any length)."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"password must be {MIN_PASSWORD} to {MAX_PASSWORD:,} characters", field="password")
    # as the API's JSON reader does: a byte that is not UTF-8 (`labeling users add --password -` reads it as a lone
    # surrogate) failed in the hash, a UnicodeEncodeError, and a NUL made a password no sign-in form can send
    return jsonio.check_text(password, "password")


def password_hash(password: str | None) -> str | None:
    """Check a new password and hash it (slow on purpose: call it outside transactions, off the event loop)."""
    return None if password is None else hash_password(check_password(password))


def create_user(tx: Tx, username: str, role: Role | str, *, password_hash: str | None = None,
                token: str | None = None) -> tuple[dict, str]:
    """Insert a user (with a password hashed by `password_hash`); returns (public user, API token)."""
    username, role = check_username(username), check_role(role)
    if tx.scalar("auth.user_id_by_name", {"username": username}) is not None:
        raise Conflict(f"a user named {username!r} already exists", field="username")
    token = token or new_token()
    values = {"username": username, "role": role.value, "password_hash": password_hash,
              "token_hash": hash_token(token), "now": time.time()}
    try:
        with tx.isolated():
            user_id = tx.scalar("auth.insert_user", values)
    except Exception as exc:
        if is_unique_violation(exc):  # made meanwhile by another process
            raise Conflict(f"a user named {username!r} already exists", field="username") from None
        raise
    return {"id": user_id, "username": username, "role": role.value}, token


def ensure_admin_token(tx: Tx, token: str) -> dict:
    """LABELING_ADMIN_TOKEN is the API token of the admin named `admin`: made if missing, and when the variable
    changes, that same user's token is replaced (the old one stops working). Returns {id, username, role,
    is_active}. A token that an older release gave to another admin stays with that admin."""
    hashed = hash_token(token)
    holder = tx.one("auth.user_by_token_hash", {"token_hash": hashed})
    if holder is not None:
        return {"id": holder.id, "username": holder.username, "role": holder.role, "is_active": holder.is_active}
    row = tx.one("auth.user_by_name", {"username": ADMIN_NAME})
    if row is None:
        try:
            user, _ = create_user(tx, ADMIN_NAME, Role.admin, token=token)
            return {**user, "is_active": True}
        except Conflict:  # another server process starting at the same moment made it: use theirs
            row = tx.one("auth.user_by_name", {"username": ADMIN_NAME})
            if row is not None and row.token_hash == hashed:
                return {"id": row.id, "username": row.username, "role": row.role, "is_active": row.is_active}
    if row is None:
        raise Conflict(f"could not make the user {ADMIN_NAME!r}; start again", field="LABELING_ADMIN_TOKEN")
    if row.role != Role.admin.value:
        raise Conflict(f"LABELING_ADMIN_TOKEN belongs to the user named {ADMIN_NAME!r}, but that user is a "
                       f"{row.role}; rename that user or make it an admin", field="LABELING_ADMIN_TOKEN")
    tx.run("auth.set_token", {"user": row.id, "token_hash": hashed})
    bump_epoch(tx)
    return {"id": row.id, "username": row.username, "role": row.role, "is_active": row.is_active}


def rotate_token(tx: Tx, user_id: int) -> str:
    """Replace a user's API token; the old one stops working at once here, within AUTH_RECHECK_SECONDS elsewhere."""
    token = new_token()
    if tx.run("auth.set_token", {"user": user_id, "token_hash": hash_token(token)}) == 0:
        raise NotFound(f"no user {user_id}", field="user_id")
    bump_epoch(tx)
    return token


def set_password(tx: Tx, user_id: int, password_hash: str) -> None:
    """Give a user a new password (hashed by `password_hash`) for the web UI; their sessions end."""
    if tx.run("auth.set_password", {"user": user_id, "password_hash": password_hash}) == 0:
        raise NotFound(f"no user {user_id}", field="user_id")
    end_sessions(tx, user_id)


def bump_epoch(tx: Tx) -> None:
    """Tell every server process to forget the credentials it remembers (they check the epoch every few seconds)."""
    tx.run("auth.bump_epoch")


async def epoch(conn: AsyncConnection) -> int:
    """The current revocation epoch."""
    return int(await conn.scalar(select(models.auth_epoch.c.epoch).where(models.auth_epoch.c.id == 1)) or 0)


# ---- sessions --------------------------------------------------------------------------------------------------

def start_session(tx: Tx, user_id: int, password_hash: str, now: float | None = None) -> str | None:
    """A new session for a browser whose password matched `password_hash`; returns its id for the cookie (only its
    hash is stored), or None when that is no longer the user's password or the user was deactivated meanwhile: a
    reset or deactivation that committed during the (slow) password check ended the user's sessions, and a session
    started after it signed in with a password that no longer works (one after the other, the sign-in fails). The
    user row is held against such a change until the session is stored (PostgreSQL: FOR SHARE)."""
    now = time.time() if now is None else now
    user = tx.one("auth.user_for_session", {"user": user_id})
    if user is None or not user.is_active or user.password_hash != password_hash:
        return None
    session_id = secrets.token_urlsafe(32)
    tx.run("auth.delete_expired_sessions", {"now": now})
    tx.run("auth.insert_session", {"token_hash": hash_token(session_id), "user": user_id, "now": now,
                                   "expires": now + SESSION_SECONDS})
    return session_id


def end_session(tx: Tx, session_id: str) -> None:
    """Sign-out: the session stops working (here at once, in other processes at their next epoch check)."""
    if tx.run("auth.delete_session", {"token_hash": hash_token(session_id)}):
        bump_epoch(tx)


def end_sessions(tx: Tx, user_id: int) -> None:
    """Every session of a user ends (deactivation, a new password)."""
    tx.run("auth.delete_user_sessions", {"user": user_id})
    bump_epoch(tx)


# ---- who a request is ------------------------------------------------------------------------------------------

async def any_admin(conn: AsyncConnection) -> bool:
    """True when at least one active admin exists."""
    found = await conn.scalar(select(models.users.c.id).where(
        models.users.c.role == Role.admin.value, models.users.c.is_active.is_(True)).limit(1))
    return found is not None


async def principal_for_token(conn: AsyncConnection, token: str) -> Principal | None:
    """The active user owning this API token, or None."""
    row = (await conn.execute(select(models.users.c.id, models.users.c.username, models.users.c.role).where(
        models.users.c.token_hash == hash_token(token), models.users.c.is_active.is_(True)))).first()
    return Principal(row.id, row.username, Role(row.role)) if row else None


async def principal_for_session(conn: AsyncConnection, session_id: str, now: float | None = None) -> Principal | None:
    """The active user of a live session, or None (signed out, expired, or the user deactivated)."""
    u, s = models.users, models.sessions
    now = time.time() if now is None else now
    row = (await conn.execute(select(u.c.id, u.c.username, u.c.role).join(s, s.c.user_id == u.c.id).where(
        s.c.token_hash == hash_token(session_id), s.c.expires_at > now, u.c.is_active.is_(True)))).first()
    return Principal(row.id, row.username, Role(row.role)) if row else None


async def deactivated(conn: AsyncConnection, *, token: str | None = None, session_id: str | None = None,
                      now: float | None = None) -> bool:
    """True when this API token, or this live session, is a deactivated user's (a request it was refused for)."""
    u, s = models.users, models.sessions
    if token is not None:
        query = select(u.c.id).where(u.c.token_hash == hash_token(token), u.c.is_active.is_(False))
    else:
        query = select(u.c.id).join(s, s.c.user_id == u.c.id).where(
            s.c.token_hash == hash_token(session_id or ""), s.c.expires_at > (time.time() if now is None else now),
            u.c.is_active.is_(False))
    return (await conn.execute(query.limit(1))).first() is not None


async def login(conn_factory: Callable[[], Any], gate: PasswordGate, username: str,
                password: str) -> tuple[Principal, str] | None:
    """The user and the password hash their password matched, if username and password match, else None. An unknown
    or deactivated user, or one without a password, costs one password check like anyone else (DUMMY_HASH), so the
    answer and its timing say nothing. The database is read first and let go before the (slow) check: the session
    is then started only if that hash is still the user's (start_session)."""
    async with conn_factory() as conn:
        row = (await conn.execute(select(models.users.c.id, models.users.c.username, models.users.c.role,
                                         models.users.c.password_hash, models.users.c.is_active)
                                  .where(models.users.c.username == username))).first()
    usable = row is not None and row.is_active
    matched = await gate.verify(password, row.password_hash if usable else None)
    return (Principal(row.id, row.username, Role(row.role)), row.password_hash) if usable and matched else None
