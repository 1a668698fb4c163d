"""The audit log: who did what, when, to which object. Written in the transaction of the action it records
(so an action and its entry commit together), read in pages, never changed or deleted through the API.

Every requester and admin action records one entry:

    audit.record(tx, user, "project.export", project=project, details={"format": "coco"})

`actor` is the Principal of the request, or CLI / SYSTEM for the command line and the platform itself (a worker
stopped for low gold accuracy). An entry about a project also keeps the project's owner, so its requester still
reads it after the project is deleted.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import models, paging, schemas
from labeling.auth import Principal
from labeling.errors import InvalidInput
from labeling.models import Role
from labeling.sqltx import Tx

CLI = "cli"
SYSTEM = "system"
MAX_DETAIL_IDS = 100  # ids listed in an entry's details (the count says how many there were)


def record(tx: Tx, actor: Principal | str, action: str, *, project: Any = None, object_type: str | None = None,
           object_id: int | None = None, owner_id: int | None = None, details: dict | None = None,
           now: float | None = None) -> None:
    """Add an entry in the caller's transaction. `project` (a row with id and owner_id) is the object unless
    another is named; `owner_id` (the project's owner by default) is the requester who may read the entry."""
    if object_type is None:
        object_type, object_id = ("project", project.id) if project is not None else ("none", None)
    tx.run("audit.insert", {
        "at": time.time() if now is None else now,
        "actor_id": actor.id if isinstance(actor, Principal) else None,
        "actor": actor.username if isinstance(actor, Principal) else actor,
        "action": action, "object_type": object_type, "object_id": object_id,
        "project_id": project.id if project is not None else None,
        "owner_id": project.owner_id if project is not None else owner_id,
        "details": details or {}})


def ids(values: list[int]) -> list[int]:
    """A list of ids short enough for an entry's details."""
    return list(values[:MAX_DETAIL_IDS])


def public(row: Any) -> dict:
    """The API shape of an entry."""
    return {"id": row.id, "at": schemas.iso(row.at), "actor": row.actor, "actor_id": row.actor_id, "action": row.action,
            "object_type": row.object_type, "object_id": row.object_id, "project_id": row.project_id,
            "details": row.details}


async def page(conn: AsyncConnection, user: Principal, cursor: str | None, limit: int, *,
               project_id: int | None = None, action: str | None = None) -> dict:
    """Entries newest first: an admin reads all; a requester, those about their projects and their own actions."""
    a = models.audit_log
    query = select(a).order_by(a.c.id.desc()).limit(limit + 1)
    before = paging.decode(cursor, "audit")
    if before is not None:
        query = query.where(a.c.id < before)
    if user.role is not Role.admin:
        query = query.where(or_(a.c.owner_id == user.id, a.c.actor_id == user.id))
    if project_id is not None:
        query = query.where(a.c.project_id == project_id)
    if action:
        if len(action) > 60:
            raise InvalidInput("action is at most 60 characters", field="action")
        query = query.where(a.c.action == action)
    rows = (await conn.execute(query)).all()
    return paging.page([public(r) for r in rows], limit, "audit")
