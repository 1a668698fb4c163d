"""Who may work on a project: its pool (every worker, or the workers and teams listed) and the facts the policy
decides on (labeling/policy.py), read cheaply enough for the queue's hot path.

A pool change, a status change and a change of a listed team's members all move the project's version
(`projects.updated_at`, `touch`). The queue caches project rows by version, and this module caches "is this worker
listed" by (project, version, worker), so a claim or submit that finds its project in memory decides membership
without a round trip; every statement that trusts the cache checks the version again, so no grant outlives a
change made in another process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlalchemy import and_, exists, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from labeling import audit, models, policy
from labeling.auth import Principal
from labeling.errors import InvalidInput, NotFound, PreconditionFailed
from labeling.models import ProjectStatus, Role
from labeling.sqltx import Tx

LISTING_LIMIT = 100_000  # remembered (project, version, worker) answers per process
MAX_REFS = 10_000  # workers or teams named in one request
LOOKUP_CHUNK = 1_000


@dataclass
class Listings:
    """Per server process (in queue.Memory): whether a worker is listed in a project's pool, by project version."""

    known: dict[tuple[int, float, int], bool] = field(default_factory=dict)


def facts(row: Any, listed: bool | None = None) -> policy.Project:
    """The policy's view of a project row."""
    return policy.Project(row.id, row.owner_id, bool(row.pool_all), listed)


def tx_facts(tx: Tx, cache: Listings, row: Any, user: Principal) -> policy.Project:
    """The policy's view of a project for this user inside a transaction, the listing from the process's cache."""
    if not policy.needs_listing(user, row.pool_all):
        return facts(row)
    key = (row.id, row.updated_at, user.id)
    listed = cache.known.get(key)
    if listed is None:
        listed = tx.scalar("membership.listed", {"project": row.id, "worker": user.id}) is not None
        if len(cache.known) >= LISTING_LIMIT:
            cache.known.clear()
        cache.known[key] = listed
    return facts(row, listed)


def _listed_clause(project_id: Any, worker_id: int) -> ColumnElement[bool]:
    pw, pt, tm = models.pool_workers, models.pool_teams, models.team_members
    return or_(
        exists().where(pw.c.project_id == project_id, pw.c.worker_id == worker_id),
        exists().where(pt.c.project_id == project_id, tm.c.team_id == pt.c.team_id, tm.c.worker_id == worker_id))


def etag(row: Any) -> str:
    """The project's version as an HTTP entity tag: its updated_at, which every change of its settings, status or
    pool (a listed team's members too) moves forward, never back and never twice to one value."""
    return f'"{row.updated_at!r}"'


def check_version(row: Any, if_match: str | None) -> None:
    """PreconditionFailed unless `if_match` (an If-Match header: entity tags, comma-separated, or `*`) names the
    project's version as held (a client that sends none changes it unconditionally, as before)."""
    if if_match is None:
        return
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags or etag(row) in tags:
        return
    raise PreconditionFailed(f"project {row.id} changed since you read it: its ETag is now {etag(row)}; read it "
                             "again and send your change with that ETag in If-Match", field="If-Match")


def locked(tx: Tx, project_id: int, action: str | None = None) -> Any:
    """The project row, held for change until the transaction ends (PostgreSQL), or NotFound; with `action`, once
    the project's status allows it (policy.check_status: an archived project's content does not change). (This
    loader and `load` live here, below labeling/projects.py, so that every module that changes a project can use
    them.)"""
    return _held(tx, "projects.row_for_update", project_id, action)


def _held(tx: Tx, statement: str, project_id: int, action: str | None) -> Any:
    row = tx.one(statement, {"project": project_id})
    if row is None:
        raise NotFound(f"no project {project_id}", field="project_id")
    if action is not None:
        policy.check_status(row, action)
    return row


def shared(tx: Tx, project_id: int, action: str | None = None) -> Any:
    """`locked`, for a write that adds to a project without changing its row (an import, a report, a changed answer,
    a recompute's results): the row is held until the transaction ends against every change of it (a status,
    settings, labels or pool change, a deletion: each takes `locked` first), but not against other such writes nor
    the queue (PostgreSQL KEY SHARE, which the foreign-key checks of the rows it inserts take anyway), so the write
    sees the project as it stays until it commits."""
    return _held(tx, "projects.row_for_share", project_id, action)


async def load(conn: AsyncConnection, project_id: int) -> Any:
    """The project row, or NotFound."""
    row = (await conn.execute(select(models.projects).where(models.projects.c.id == project_id))).first()
    if row is None:
        raise NotFound(f"no project {project_id}", field="project_id")
    return row


async def project(conn: AsyncConnection, user: Principal, project_id: int) -> tuple[Any, policy.Project]:
    """The project row and the policy's view of it for this user (NotFound if there is no such project)."""
    row = await load(conn, project_id)
    if not policy.needs_listing(user, row.pool_all):
        return row, facts(row)
    return row, facts(row, await listed(conn, row.id, user.id))


async def listed(conn: AsyncConnection, project_id: int, worker_id: int) -> bool:
    """Whether a worker is listed in a project's pool, directly or through a team."""
    return bool(await conn.scalar(select(_listed_clause(project_id, worker_id))))


def visible_projects(user: Principal, *, working: bool = False) -> ColumnElement[bool]:
    """The list counterpart of policy rule project.read: a requester's own projects, every project for an admin,
    and for a worker the active projects whose pool has them. `working`: only active projects, for anyone."""
    p = models.projects
    active = p.c.status == ProjectStatus.active.value
    if user.role is Role.admin:
        clause: ColumnElement[bool] = true()
    elif user.role is Role.requester:
        clause = p.c.owner_id == user.id
    else:
        clause = and_(active, or_(p.c.pool_all.is_(True), _listed_clause(p.c.id, user.id)))
    return and_(clause, active) if working else clause


# ---- naming workers and teams ------------------------------------------------------------------------------------

def _chunks(values: list, size: int = LOOKUP_CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def resolve_workers(tx: Tx, actor: Principal, refs: list[int | str], field_name: str) -> list[int]:
    """Worker ids for a list of ids and usernames; InvalidInput naming the first that is not a worker.

    Workers are the crowd every requester may list, but requesters and admins are not theirs to find: an account
    that is no worker gets the words a missing one gets ("no worker 'bob'"), unless it is the actor's own or the
    actor is an admin (who may read every account), who are told its role."""
    if len(refs) > MAX_REFS:
        raise InvalidInput(f"{field_name}: at most {MAX_REFS:,} at once", field=field_name)
    ids = sorted({r for r in refs if isinstance(r, int)})
    names = sorted({r for r in refs if isinstance(r, str)})
    found: dict[int | str, Any] = {}
    for chunk in _chunks(ids):
        found.update({row.id: row for row in tx.rows("membership.users_by_ids", {"ids": chunk})})
    for chunk in _chunks(names):
        found.update({row.username: row for row in tx.rows("membership.users_by_names", {"names": chunk})})
    out: list[int] = []
    for index, ref in enumerate(refs):
        row = found.get(ref)
        if row is None or (row.role != Role.worker.value
                           and not policy.can(actor, "user.role", policy.User(row.id))):
            raise InvalidInput(f"{field_name}[{index}]: no worker {ref!r}", field=field_name)
        if row.role != Role.worker.value:
            article = "an" if row.role.startswith(("a", "e", "i", "o", "u")) else "a"
            raise InvalidInput(f"{field_name}[{index}]: {row.username} is {article} {row.role}, not a worker",
                               field=field_name)
        out.append(row.id)
    return sorted(set(out))


def touch(tx: Tx, project_id: int) -> None:
    """Move a project's version forward (who may work on it changed)."""
    tx.run("projects.touch", {"project": project_id, "now": time.time()})


# ---- pools --------------------------------------------------------------------------------------------------------

async def pool(conn: AsyncConnection, row: Any) -> dict:
    """A project's pool: all workers, or the workers and teams listed."""
    u, pw, t, pt = models.users, models.pool_workers, models.teams, models.pool_teams
    workers = (await conn.execute(select(u.c.id, u.c.username).join(pw, pw.c.worker_id == u.c.id)
                                  .where(pw.c.project_id == row.id).order_by(u.c.id))).all()
    teams = (await conn.execute(select(t.c.id, t.c.name).join(pt, pt.c.team_id == t.c.id)
                                .where(pt.c.project_id == row.id).order_by(t.c.id))).all()
    return {"project_id": row.id, "all_workers": bool(row.pool_all),
            "workers": [{"id": w.id, "username": w.username} for w in workers],
            "teams": [{"id": team.id, "name": team.name} for team in teams]}


def set_pool(tx: Tx, actor: Principal, project_id: int, all_workers: bool, workers: list[int | str],
             teams: list[int], if_match: str | None = None) -> None:
    """Replace a project's pool. Listed teams must be the actor's (any team, for an admin). With `if_match`, only
    while the project is the version the caller read (check_version)."""
    row = locked(tx, project_id, "pool.update")
    check_version(row, if_match)
    if all_workers and (workers or teams):
        raise InvalidInput("workers: list workers or teams only with all_workers false",
                           field="workers" if workers else "teams")
    worker_ids = resolve_workers(tx, actor, workers, "workers")
    if len(teams) > MAX_REFS:
        raise InvalidInput(f"teams: at most {MAX_REFS:,} at once", field="teams")
    for index, team_id in enumerate(teams):
        team = tx.one("teams.row_for_share", {"team": team_id})  # a deletion racing this waits, or is seen
        if team is None or not policy.can(actor, "team.read", policy.Team(team.id, team.owner_id)):
            raise InvalidInput(f"teams[{index}]: no team {team_id}", field="teams")
    tx.run("membership.clear_pool_workers", {"project": project_id})
    tx.run("membership.clear_pool_teams", {"project": project_id})
    tx.run_many("membership.add_pool_worker", [{"project": project_id, "worker": w} for w in worker_ids])
    tx.run_many("membership.add_pool_team", [{"project": project_id, "team": t} for t in sorted(set(teams))])
    tx.run("membership.set_pool_all", {"project": project_id, "all": all_workers})
    touch(tx, project_id)
    audit.record(tx, actor, "project.pool", project=row, details={
        "all_workers": all_workers, "workers": audit.ids(worker_ids), "n_workers": len(worker_ids),
        "teams": audit.ids(sorted(set(teams)))})
