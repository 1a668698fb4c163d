"""/console/people (admins): users with their role and status (create, reset a password, deactivate, reactivate,
rotate a token) and teams with their members (create, add, remove). The page reads; every change goes through
the JSON API (labeling/api/users.py, labeling/api/access.py) from console-people.js, so there is one validation
path and errors come back naming their field."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from labeling import accounts, models, paging, schemas, teams, web
from labeling.console import frame

USERS_PER_PAGE = 200
TEAMS_LIMIT = 200
MEMBERS_SHOWN = 200  # members listed per team (a team's own API pages the rest)


@frame.page("console.people")
async def people_page(request: Request, caller: web.Caller) -> Response:
    """GET /console/people?cursor= (a page of users; the teams below)"""
    params = web.query(request, schemas.PageQuery)
    async with web.state(request).db.read() as conn:
        users = await _newest_users(conn, params.cursor)
        team_page = await _newest_teams(conn)
        members = await _members(conn, [t["id"] for t in team_page["data"]])
        owners = await _names(conn, {t["owner_id"] for t in team_page["data"]})
    team_list = [{**t, "owner": owners.get(t["owner_id"], f"#{t['owner_id']}"), "member_list": members[t["id"]]}
                 for t in team_page["data"]]
    return frame.render(request, caller, "console/people.html", {
        "users": users["data"], "next_cursor": users["next"], "first_page": params.cursor is None,
        "teams": team_list, "more_teams": team_page["next"] is not None, "roles": ["worker", "requester", "admin"],
        "me": caller.who.id, "members_shown": MEMBERS_SHOWN})


async def _newest_users(conn, cursor: str | None) -> dict:  # noqa: ANN001
    """A page of users, newest first (the one just made is at the top): the API's shape of each."""
    u = models.users
    query = select(u).order_by(u.c.id.desc()).limit(USERS_PER_PAGE + 1)
    before = paging.decode(cursor)
    if before is not None:
        query = query.where(u.c.id < before)
    rows = (await conn.execute(query)).all()
    return paging.page([accounts.public(r) for r in rows], USERS_PER_PAGE)


async def _newest_teams(conn) -> dict:  # noqa: ANN001
    """The newest teams (an admin sees every team), with their number of members."""
    t, tm = models.teams, models.team_members
    members = select(func.count()).select_from(tm).where(tm.c.team_id == t.c.id).scalar_subquery()
    rows = (await conn.execute(select(t, members.label("n_members")).order_by(t.c.id.desc())
                               .limit(TEAMS_LIMIT + 1))).all()
    return paging.page([teams.public(r, r.n_members) for r in rows], TEAMS_LIMIT)


async def _members(conn, team_ids: list[int]) -> dict[int, list[dict]]:  # noqa: ANN001
    """The members of the listed teams, by team, in one read (at most MEMBERS_SHOWN each)."""
    u, tm = models.users, models.team_members
    out: dict[int, list[dict]] = defaultdict(list)
    if not team_ids:
        return out
    ranked = (select(tm.c.team_id, u.c.id, u.c.username, u.c.is_active,
                     func.row_number().over(partition_by=tm.c.team_id, order_by=u.c.username).label("n"))
              .join(u, u.c.id == tm.c.worker_id).where(tm.c.team_id.in_(team_ids)).subquery())
    rows = (await conn.execute(select(ranked).where(ranked.c.n <= MEMBERS_SHOWN)
                               .order_by(ranked.c.team_id, ranked.c.username))).all()
    for r in rows:
        out[r.team_id].append({"id": r.id, "username": r.username, "is_active": bool(r.is_active)})
    return out


async def _names(conn, user_ids: set[int]) -> dict[int, str]:  # noqa: ANN001
    u = models.users
    rows = (await conn.execute(select(u.c.id, u.c.username).where(u.c.id.in_(list(user_ids) or [0])))).all()
    return {r.id: r.username for r in rows}


PAGES = [("GET", "/console/people", people_page)]
