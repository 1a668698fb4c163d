"""Passwords, API tokens and who a request is: hashing and lookups, no HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import models
from labeling.errors import Conflict, Forbidden, InvalidInput, NotFound
from labeling.models import Role

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


async def create_user(conn: AsyncConnection, username: str, role: Role | str, password: str | None = None,
                      token: str | None = None) -> tuple[dict, str]:
    """Insert a user; returns (public user, API token)."""
    username, role = check_username(username), check_role(role)
    if password is not None:
        check_password(password)
    existing = await conn.scalar(select(models.users.c.id).where(models.users.c.username == username))
    if existing is not None:
        raise Conflict(f"a user named {username!r} already exists", field="username")
    token = token or new_token()
    user_id = await conn.scalar(insert(models.users).values(
        username=username, role=role.value, password_hash=hash_password(password) if password else None,
        token_hash=hash_token(token), is_active=True, created_at=time.time(),
    ).returning(models.users.c.id))
    return {"id": user_id, "username": username, "role": role.value}, token


async def ensure_token_user(conn: AsyncConnection, token: str, username: str = "admin",
                            role: Role = Role.admin) -> dict:
    """Make sure a user with this API token exists (LABELING_ADMIN_TOKEN); create it if not."""
    row = (await conn.execute(select(models.users).where(models.users.c.token_hash == hash_token(token)))).first()
    if row is not None:
        return {"id": row.id, "username": row.username, "role": row.role}
    name, n = username, 1
    while await conn.scalar(select(models.users.c.id).where(models.users.c.username == name)) is not None:
        n += 1
        name = f"{username}{n}"
    user, _ = await create_user(conn, name, role, token=token)
    return user


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


async def rotate_token(conn: AsyncConnection, user_id: int) -> str:
    """Replace a user's API token; the old one stops working at once."""
    token = new_token()
    result = await conn.execute(update(models.users).where(models.users.c.id == user_id)
                                .values(token_hash=hash_token(token)))
    if result.rowcount == 0:
        raise NotFound(f"no user {user_id}", field="user_id")
    return token
