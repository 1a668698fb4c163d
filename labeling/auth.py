"""Passwords, API tokens and who a request is: hashing and lookups, no HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import models
from labeling.errors import Conflict, Forbidden, InvalidInput, NotFound
from labeling.models import Role
from labeling.sqltx import Tx, is_unique_violation

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class Principal:
    """The authenticated user of a request."""

    id: int
    username: str
    role: Role

    def require(self, *roles: Role) -> "Principal":
        """Fail unless this user has one of `roles` (admins may do everything)."""
        if self.role is Role.admin or self.role in roles:
            return self
        wanted = " or ".join(r.value for r in roles)
        raise Forbidden(f"this needs a {wanted} account; {self.username} is a {self.role.value}")


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


def new_token() -> str:
    """A fresh API token (shown once; only its hash is stored)."""
    return "lbl_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are long and random, so a plain SHA-256 is the right hash (lookups stay indexed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_username(username: object) -> str:
    """Fail unless username is 1-100 characters of letters, digits and _.@-."""
    if not isinstance(username, str) or not USERNAME_RE.match(username):
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
    """Fail unless the password is a string of at least MIN_PASSWORD characters."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD} characters", field="password")
    return password


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


def ensure_token_user(tx: Tx, token: str, username: str = "admin", role: Role = Role.admin) -> dict:
    """Make sure a user with this API token exists (LABELING_ADMIN_TOKEN); create it if not."""
    row = tx.one("auth.user_by_token_hash", {"token_hash": hash_token(token)})
    if row is not None:
        return {"id": row.id, "username": row.username, "role": row.role}
    name, n = username, 1
    while tx.scalar("auth.user_id_by_name", {"username": name}) is not None:
        n += 1
        name = f"{username}{n}"
    user, _ = create_user(tx, name, role, token=token)
    return user


def rotate_token(tx: Tx, user_id: int) -> str:
    """Replace a user's API token; the old one stops working at once."""
    token = new_token()
    if tx.run("auth.set_token", {"user": user_id, "token_hash": hash_token(token)}) == 0:
        raise NotFound(f"no user {user_id}", field="user_id")
    return token


def set_password(tx: Tx, user_id: int, password_hash: str) -> None:
    """Give a user a new password (hashed by `password_hash`) for the web UI."""
    if tx.run("auth.set_password", {"user": user_id, "password_hash": password_hash}) == 0:
        raise NotFound(f"no user {user_id}", field="user_id")


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


async def principal_for_id(conn: AsyncConnection, user_id: int) -> Principal | None:
    """The active user with this id (session cookies carry the id), or None."""
    row = (await conn.execute(select(models.users.c.id, models.users.c.username, models.users.c.role).where(
        models.users.c.id == user_id, models.users.c.is_active.is_(True)))).first()
    return Principal(row.id, row.username, Role(row.role)) if row else None


async def login(conn: AsyncConnection, username: str, password: str) -> Principal | None:
    """The user if username and password match, else None (same answer for unknown user and bad password)."""
    row = (await conn.execute(select(models.users).where(models.users.c.username == username))).first()
    if row is None or not row.is_active:
        verify_password(password, hash_password("timing-equaliser"))
        return None
    if not verify_password(password, row.password_hash):
        return None
    return Principal(row.id, row.username, Role(row.role))
