"""A list's cursor continues that list only: given to another project's list, another endpoint or another team's
members it is a 400 naming `cursor`, never a page read from the wrong place (a silent skip or an empty last page)."""

from __future__ import annotations

import base64
import json

import pytest

from labeling import paging
from labeling.errors import InvalidInput
from tests.conftest import bearer, every_page, text_tasks


async def _next(client, url: str, token: str) -> str:
    r = await client.get(url, params={"limit": 1}, headers=bearer(token))
    assert r.status_code == 200 and r.json()["next"], r.text
    return r.json()["next"]


async def test_a_cursor_of_another_list_is_a_400_naming_the_cursor(client, admin, requester, new_project):
    first = await new_project(text_tasks(3), redundancy=1)
    second = await new_project([{"data": {"text": f"other {i}"}} for i in range(3)], redundancy=1)
    for i in range(2):  # results in the first project
        lease = (await client.post(f"/api/projects/{first['id']}/next", headers=bearer(requester))).json()
        r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                              headers=bearer(requester))
        assert r.status_code == 201, r.text
    cursors = {
        "first tasks": await _next(client, f"/api/projects/{first['id']}/tasks", requester),
        "first results": await _next(client, f"/api/projects/{first['id']}/results", requester),
        "first my-answers": await _next(client, f"/api/projects/{first['id']}/my-answers", requester),
        "projects": await _next(client, "/api/projects", requester),
        "audit": await _next(client, "/api/audit", requester),
        "users": await _next(client, "/api/users", admin),
    }
    second_tasks = f"/api/projects/{second['id']}/tasks"
    uses = [
        (second_tasks, "first tasks"),  # another project's tasks: the first project's ids are all smaller
        (f"/api/projects/{second['id']}/results", "first results"),
        (f"/api/projects/{second['id']}/my-answers", "first my-answers"),
        (f"/api/projects/{first['id']}/results", "first tasks"),  # another endpoint of the same project
        (f"/api/projects/{first['id']}/tasks", "first results"),
        (f"/api/projects/{first['id']}/tasks", "audit"),  # a newest-first list's cursor to an oldest-first one
        ("/api/audit", "first tasks"),
        ("/api/projects", "first tasks"),
        ("/api/users", "projects"),
    ]
    for url, name in uses:
        token = admin if url == "/api/users" else requester
        r = await client.get(url, params={"cursor": cursors[name]}, headers=bearer(token))
        assert r.status_code == 400, (url, name, r.status_code, r.text)
        error = r.json()["error"]
        assert error["field"] == "cursor" and "another list" in error["message"], (url, name, error)
    # each cursor still continues its own list
    r = await client.get(f"/api/projects/{first['id']}/tasks", params={"cursor": cursors["first tasks"]},
                         headers=bearer(requester))
    assert r.status_code == 200 and [t["external_id"] for t in r.json()["data"]] == ["t1", "t2"]
    assert len(await every_page(client, second_tasks, requester, 1)) == 3


async def test_a_team_members_cursor_continues_that_team_only(client, make_user, requester):
    for i in range(3):
        await make_user("worker", f"crew{i}")
    teams = []
    for name in ("one", "two"):
        r = await client.post("/api/teams", json={"name": name, "members": ["crew0", "crew1", "crew2"]},
                              headers=bearer(requester))
        assert r.status_code == 201, r.text
        teams.append(r.json()["id"])
    cursor = await _next(client, f"/api/teams/{teams[0]}/members", requester)
    r = await client.get(f"/api/teams/{teams[1]}/members", params={"cursor": cursor}, headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["field"] == "cursor", r.text
    r = await client.get(f"/api/teams/{teams[0]}/members", params={"cursor": cursor}, headers=bearer(requester))
    assert r.status_code == 200 and len(r.json()["data"]) == 2


def test_a_cursor_made_before_cursors_named_their_list_is_still_read():
    old = base64.urlsafe_b64encode(json.dumps({"after": 7}).encode()).decode().rstrip("=")
    assert paging.decode(old, "projects/1/tasks") == 7
    assert paging.decode(paging.encode(7, "projects/1/tasks"), "projects/1/tasks") == 7
    for bad in (paging.encode(7, "projects/2/tasks"),
                base64.urlsafe_b64encode(b'{"after": 7, "list": 3}').decode()):
        with pytest.raises(InvalidInput) as raised:
            paging.decode(bad, "projects/1/tasks")
        assert raised.value.field == "cursor"


def test_the_longest_name_cursor_fits_the_cursor_parameter():
    cursor = paging.encode_name("x" * 100, f"names:{2**53 - 1}")
    assert len(cursor) <= 200
