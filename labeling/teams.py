"""Teams: named groups of workers that requesters (and admins) list in their projects' pools.

A team belongs to the user who made it. Changing its members, or deleting it, moves the version of every project
whose pool lists it (membership.touch), so the queue sees the change at the next claim or submit. An archived
project's pool does not change (policy.CONTENT_CHANGES: pool.update), but a team it lists still may: the team is its
owner's and other pools may list it, and an archived project hands out no work through it until un-archived.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import audit, membership, models, paging, policy, schemas
from labeling.auth import Principal
from labeling.errors import Conflict, NotFound
from labeling.models import Role
from labeling.sqltx import Tx, is_unique_violation


async def load(conn: AsyncConnection, team_id: int) -> tuple[Any, policy.Team]:
    """The team row and the policy's view of it, or NotFound."""
    row = (await conn.execute(select(models.teams).where(models.teams.c.id == team_id))).first()
    if row is None:
        raise NotFound(f"no team {team_id}", field="team_id")
    return row, policy.Team(row.id, row.owner_id)


def _row(tx: Tx, team_id: int, statement: str = "teams.row") -> Any:
    """The team row read by `statement` (teams.row_for_share holds it against a deletion, teams.row_for_update
    against any change), or NotFound."""
    row = tx.one(statement, {"team": team_id})
    if row is None:
        raise NotFound(f"no team {team_id}", field="team_id")
    return row


def _entry(tx: Tx, actor: Principal, action: str, team: Any, details: dict) -> None:
    audit.record(tx, actor, action, object_type="team", object_id=team.id, owner_id=team.owner_id,
                 details={"name": team.name, **details})


def create(tx: Tx, actor: Principal, name: str, members: list[int | str]) -> int:
    """A new team of the actor's with these workers; returns its id."""
    if tx.scalar("teams.id_by_name", {"owner": actor.id, "name": name}) is not None:
        raise Conflict(f"you already have a team named {name!r}", field="name")
    worker_ids = membership.resolve_workers(tx, actor, members, "members")
    try:
        with tx.isolated():
            team_id = tx.scalar("teams.insert", {"name": name, "owner": actor.id, "now": time.time()})
    except Exception as exc:
        if is_unique_violation(exc):  # made meanwhile by another request
            raise Conflict(f"you already have a team named {name!r}", field="name") from None
        raise
    tx.run_many("teams.add_member", [{"team": team_id, "worker": w} for w in worker_ids])
    _entry(tx, actor, "team.create", _row(tx, team_id), {"members": audit.ids(worker_ids)})
    return team_id


def add_members(tx: Tx, actor: Principal, team_id: int, members: list[int | str]) -> int:
    """Add workers to a team (those already in it stay); returns how many joined (not those already in it)."""
    team = _row(tx, team_id, "teams.row_for_share")
    worker_ids = membership.resolve_workers(tx, actor, members, "workers")
    added = sum(tx.run("teams.add_member", {"team": team_id, "worker": w}) for w in worker_ids)
    tx.run("projects.touch_team", {"team": team_id, "now": time.time()})
    _entry(tx, actor, "team.members_add", team, {"workers": audit.ids(worker_ids)})
    return added


def remove_member(tx: Tx, actor: Principal, team_id: int, worker_id: int) -> None:
    """Take a worker out of a team. A worker who is not in it is already out: the same 200 (a retried removal was a
    404, where adding a member twice is a 200), nothing changed or recorded; an id that is no worker's is a 404."""
    team = _row(tx, team_id, "teams.row_for_share")
    if tx.run("teams.remove_member", {"team": team_id, "worker": worker_id}) == 0:
        row = tx.one("auth.user", {"user": worker_id})
        if row is None or row.role != Role.worker.value:
            raise NotFound(f"no worker {worker_id}", field="worker_id")
        return
    tx.run("projects.touch_team", {"team": team_id, "now": time.time()})
    _entry(tx, actor, "team.members_remove", team, {"workers": [worker_id]})


def delete(tx: Tx, actor: Principal, team_id: int) -> None:
    """Delete a team; the pools that listed it no longer do."""
    team = _row(tx, team_id, "teams.row_for_update")
    tx.run("projects.touch_team", {"team": team_id, "now": time.time()})
    tx.run("teams.delete", {"team": team_id})
    _entry(tx, actor, "team.delete", team, {})


def public(row: Any, n_members: int) -> dict:
    """The API shape of a team."""
    return {"id": row.id, "name": row.name, "owner_id": row.owner_id, "members": n_members,
            "created_at": schemas.iso(row.created_at)}


async def get(conn: AsyncConnection, row: Any) -> dict:
    """A team with its number of members."""
    tm = models.team_members
    count = await conn.scalar(select(func.count()).select_from(tm).where(tm.c.team_id == row.id))
    return public(row, int(count or 0))


async def page(conn: AsyncConnection, user: Principal, cursor: str | None, limit: int) -> dict:
    """A page of teams: a requester's own, every team for an admin (the list counterpart of team.read)."""
    t, tm = models.teams, models.team_members
    members = select(func.count()).select_from(tm).where(tm.c.team_id == t.c.id).scalar_subquery()
    query = select(t, members.label("n_members")).order_by(t.c.id).limit(limit + 1)
    after = paging.decode(cursor, "teams")
    if after is not None:
        query = query.where(t.c.id > after)
    if user.role is not Role.admin:
        query = query.where(t.c.owner_id == user.id)
    rows = (await conn.execute(query)).all()
    return paging.page([public(r, r.n_members) for r in rows], limit, "teams")


async def _members(conn: AsyncConnection, team_id: int, key: Any, after: Any, limit: int) -> list[dict]:
    """Up to limit + 1 of a team's members ordered by `key` (a users column), after that key's value:
    {id, username, is_active}."""
    u, tm = models.users, models.team_members
    query = (select(u.c.id, u.c.username, u.c.is_active).join(tm, tm.c.worker_id == u.c.id)
             .where(tm.c.team_id == team_id).order_by(key).limit(limit + 1))
    if after is not None:
        query = query.where(key > after)
    return [{"id": r.id, "username": r.username, "is_active": bool(r.is_active)}
            for r in (await conn.execute(query)).all()]


async def members_page(conn: AsyncConnection, team_id: int, cursor: str | None, limit: int) -> dict:
    """A page of a team's members: {id, username, is_active}."""
    scope = f"teams/{team_id}/members"
    return paging.page(await _members(conn, team_id, models.users.c.id, paging.decode(cursor, scope), limit), limit,
                       scope)


def _visible(user: Principal) -> Any:
    """The list counterpart of team.read: a requester's own teams, every team for an admin."""
    t = models.teams
    return t.c.owner_id == user.id if user.role is not Role.admin else true()


async def newest_page(conn: AsyncConnection, user: Principal, cursor: str | None, limit: int) -> dict:
    """A page of the teams `page` lists, newest first (the one just made on top): the console's order."""
    t, tm = models.teams, models.team_members
    members = select(func.count()).select_from(tm).where(tm.c.team_id == t.c.id).scalar_subquery()
    query = (select(t, members.label("n_members")).where(_visible(user))
             .order_by(t.c.id.desc()).limit(limit + 1))
    before = paging.decode(cursor, "teams/newest")
    if before is not None:
        query = query.where(t.c.id < before)
    rows = (await conn.execute(query)).all()
    return paging.page([public(r, r.n_members) for r in rows], limit, "teams/newest")


async def member_lists(conn: AsyncConnection, team_ids: list[int], shown: int) -> dict[int, list[dict]]:
    """The first `shown` members (by username) of each listed team, in one read: {team_id: [{id, username,
    is_active}]}."""
    u, tm = models.users, models.team_members
    out: dict[int, list[dict]] = defaultdict(list)
    if not team_ids:
        return out
    ranked = (select(tm.c.team_id, u.c.id, u.c.username, u.c.is_active,
                     func.row_number().over(partition_by=tm.c.team_id, order_by=u.c.username).label("n"))
              .join(u, u.c.id == tm.c.worker_id).where(tm.c.team_id.in_(team_ids)).subquery())
    rows = (await conn.execute(select(ranked).where(ranked.c.n <= shown)
                               .order_by(ranked.c.team_id, ranked.c.username))).all()
    for r in rows:
        out[r.team_id].append({"id": r.id, "username": r.username, "is_active": bool(r.is_active)})
    return out


async def members_by_name(conn: AsyncConnection, team_id: int, cursor: str | None, limit: int) -> dict:
    """A page of a team's members in username order (the console's): {id, username, is_active}; the cursor
    continues after a username."""
    scope = f"names:{team_id}"  # short: a cursor holds a username of up to 100 characters, in 200
    rows = await _members(conn, team_id, models.users.c.username, paging.decode_name(cursor, scope), limit)
    data = rows[:limit]
    return {"data": data,
            "next": paging.encode_name(data[-1]["username"], scope) if len(rows) > limit and data else None}


async def pools_listing(conn: AsyncConnection, user: Principal, team_ids: list[int]) -> dict[int, list[dict]]:
    """The projects this user may see whose pool lists each team: {team_id: [{id, name}]} (by project id). An admin
    may list a requester's team in another requester's pool: that project is not the team owner's to see."""
    p, pt = models.projects, models.pool_teams
    out: dict[int, list[dict]] = defaultdict(list)
    if not team_ids:
        return out
    query = (select(pt.c.team_id, p.c.id, p.c.name).join(p, p.c.id == pt.c.project_id)
             .where(pt.c.team_id.in_(team_ids), membership.visible_projects(user)).order_by(pt.c.team_id, p.c.id))
    for r in (await conn.execute(query)).all():
        out[r.team_id].append({"id": r.id, "name": r.name})
    return out
