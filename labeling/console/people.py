"""/console/people (admins): users with their role and status (create, reset a password, deactivate, reactivate,
rotate a token) and teams with their members (create, add, remove). The page reads; every change goes through
the JSON API (labeling/api/users.py, labeling/api/access.py) from console-people.js, so there is one validation
path and errors come back naming their field."""

from __future__ import annotations

from sqlalchemy import select
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
        team_page = await teams.newest_page(conn, caller.who, None, TEAMS_LIMIT)  # an admin's: every team
        members = await teams.member_lists(conn, [t["id"] for t in team_page["data"]], MEMBERS_SHOWN)
        owners = await accounts.usernames(conn, {t["owner_id"] for t in team_page["data"]})
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
    before = paging.decode(cursor, "people")
    if before is not None:
        query = query.where(u.c.id < before)
    rows = (await conn.execute(query)).all()
    return paging.page([accounts.public(r) for r in rows], USERS_PER_PAGE, "people")


PAGES = [("GET", "/console/people", people_page)]
