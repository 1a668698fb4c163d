"""/console/teams (requesters and admins): the caller's teams, newest first and paged as the API pages them (an
admin: every team, with its owner), each with its first members and the projects whose pools list it; a new team.
/console/teams/{team_id}: one team's members in name order, paged (add, remove), the pools that list it, and
deleting it. The pages read; every change goes through the JSON API (labeling/api/access.py) from
console-teams.js, so there is one validation path and errors come back naming their field."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from labeling import accounts, schemas, teams, web
from labeling.console import frame
from labeling.models import Role

TEAMS_PER_PAGE = 50
MEMBERS_PREVIEW = 6  # members named per team on the list (the team's page lists them all)
MEMBERS_PER_PAGE = 100


@frame.page("console.teams")
async def teams_page(request: Request, caller: web.Caller) -> Response:
    """GET /console/teams?cursor="""
    params = web.query(request, schemas.PageQuery)
    admin = caller.who.role is Role.admin
    async with web.state(request).db.read() as conn:
        found = await teams.newest_page(conn, caller.who, params.cursor, TEAMS_PER_PAGE)
        ids = [t["id"] for t in found["data"]]
        members = await teams.member_lists(conn, ids, MEMBERS_PREVIEW)
        pools = await teams.pools_listing(conn, caller.who, ids)
        owners = await accounts.usernames(conn, {t["owner_id"] for t in found["data"]}) if admin else {}
    items = [{**t, "member_list": members[t["id"]], "pools": pools[t["id"]],
              "owner": owners.get(t["owner_id"]) if t["owner_id"] != caller.who.id else None}
             for t in found["data"]]
    return frame.render(request, caller, "console/teams.html", {
        "teams": items, "next_cursor": found["next"], "first_page": params.cursor is None,
        "per_page": TEAMS_PER_PAGE, "preview": MEMBERS_PREVIEW})


@frame.page("console.team")
async def team_page(request: Request, caller: web.Caller) -> Response:
    """GET /console/teams/{team_id}?cursor= (a page of its members)"""
    params = web.query(request, schemas.PageQuery)
    async with web.state(request).db.read() as conn:
        row, seen = await teams.load(conn, web.path_int(request, "team_id"))
        caller.check(seen)
        team = await teams.get(conn, row)
        members = await teams.members_by_name(conn, row.id, params.cursor, MEMBERS_PER_PAGE)
        pools = (await teams.pools_listing(conn, caller.who, [row.id]))[row.id]
        owner = (await accounts.usernames(conn, {row.owner_id})).get(row.owner_id) if row.owner_id != caller.who.id else None
    return frame.render(request, caller, "console/team.html", {
        "team": team, "owner": owner, "members": members["data"], "next_cursor": members["next"],
        "first_page": params.cursor is None, "per_page": MEMBERS_PER_PAGE, "pools": pools})


PAGES = [
    ("GET", "/console/teams", teams_page),
    ("GET", "/console/teams/{team_id}", team_page),
]
