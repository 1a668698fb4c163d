"""The console's teams pages (labeling/console/teams.py): a requester sees only their own teams (an admin every team,
with its owner), another requester's team is a 404 page like a missing one, workers get 403; both lists page by
keyset; the project settings' pool editor offers the caller's teams and never drops a listed team unasked."""

from __future__ import annotations

import re

import pytest

from labeling import paging
from labeling.console import teams as teams_console
from labeling.errors import InvalidInput
from tests.conftest import bearer


def html(response) -> str:  # noqa: ANN001
    assert "text/html" in response.headers["content-type"], response.text[:200]
    return response.text


async def _team(client, token: str, name: str, members: list[str] = ()) -> dict:  # noqa: ANN001
    r = await client.post("/api/teams", json={"name": name, "members": list(members)}, headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


def _row(page: str, team_id: int) -> str:
    found = re.search(rf'<tr data-team-id="{team_id}"[^>]*>(.*?)</tr>', page, re.S)
    assert found, f"no row for team {team_id}"
    return found.group(1)


async def test_a_requester_sees_their_own_teams_with_members_and_pools(client, requester, new_project, make_user):
    for name in ("wes", "ava"):
        await make_user("worker", name)
    _, other = await make_user("requester", "rival")
    mine = await _team(client, requester, "annotators", ["wes", "ava"])
    empty = await _team(client, requester, "spare")
    theirs = await _team(client, other, "rival crew", ["wes"])
    project = await new_project(name="reviews")
    r = await client.put(f"/api/projects/{project['id']}/pool", json={"all_workers": False, "teams": [mine["id"]]},
                         headers=bearer(requester))
    assert r.status_code == 200, r.text

    page = html(await client.get("/console/teams", headers=bearer(requester)))
    assert "rival crew" not in page and f'data-team-id="{theirs["id"]}"' not in page
    assert page.index(f'data-team-id="{empty["id"]}"') < page.index(f'data-team-id="{mine["id"]}"')  # newest first
    row = _row(page, mine["id"])
    assert f'href="/console/teams/{mine["id"]}"' in row and 'data-stat="members">2<' in row
    assert re.findall(r"<li>([a-z]+)</li>", row) == ["ava", "wes"]  # by name
    assert f'<a href="/console/projects/{project["id"]}/settings">reviews</a>' in row
    assert 'data-stat="owner"' not in row  # the caller's own
    assert "nobody yet" in _row(page, empty["id"]) and "no project" in _row(page, empty["id"])
    assert 'href="/console/teams" accesskey="t" aria-current="page"' in page


async def test_an_admin_sees_every_team_with_its_owner(client, admin, requester, make_user):
    _, other = await make_user("requester", "rival")
    mine = await _team(client, requester, "annotators")
    theirs = await _team(client, other, "rival crew")
    page = html(await client.get("/console/teams", headers=bearer(admin)))
    assert '<span data-stat="owner">req</span>' in _row(page, mine["id"])
    assert '<span data-stat="owner">rival</span>' in _row(page, theirs["id"])
    one = html(await client.get(f"/console/teams/{theirs['id']}", headers=bearer(admin)))
    assert "rival crew" in one and '<span data-stat="owner">rival</span>' in one
    people = html(await client.get("/console/people", headers=bearer(admin)))
    assert f'<a href="/console/teams/{theirs["id"]}">rival crew</a>' in people  # the people page links each team


async def test_another_requesters_team_is_a_404_page_and_workers_get_403(client, requester, make_user):
    team = await _team(client, requester, "secret squad")
    _, other = await make_user("requester", "rival")
    theirs = await client.get(f"/console/teams/{team['id']}", headers=bearer(other))
    missing = await client.get("/console/teams/999999", headers=bearer(other))
    assert theirs.status_code == missing.status_code == 404
    assert f"no team {team['id']}" in html(theirs) and "secret squad" not in theirs.text
    assert "no team 999999" in html(missing)
    assert "secret squad" not in html(await client.get("/console/teams", headers=bearer(other)))
    _, worker = await make_user("worker")
    for path in ("/console/teams", f"/console/teams/{team['id']}"):
        r = await client.get(path, headers=bearer(worker))
        assert r.status_code == 403 and "Not allowed" in html(r), path
        r = await client.get(path)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}", path
    mine = html(await client.get(f"/console/teams/{team['id']}", headers=bearer(requester)))
    assert '<h1 id="team-heading">secret squad</h1>' in mine


async def test_the_teams_list_pages_newest_first(client, requester, monkeypatch):
    monkeypatch.setattr(teams_console, "TEAMS_PER_PAGE", 2)
    made = [(await _team(client, requester, f"team {i}"))["id"] for i in range(5)]
    seen, url = [], "/console/teams"
    while url:
        page = html(await client.get(url, headers=bearer(requester)))
        seen += [int(i) for i in re.findall(r'<tr data-team-id="(\d+)"', page)]
        assert ('accesskey="f">First page' in page) == (url != "/console/teams")
        found = re.search(r'id="next-teams" accesskey="n" href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == made[::-1]
    r = await client.get("/console/teams?cursor=nonsense", headers=bearer(requester))
    assert r.status_code == 400 and "cursor" in html(r)


async def test_a_teams_page_lists_its_members_by_name_in_pages(client, requester, make_user, monkeypatch):
    monkeypatch.setattr(teams_console, "MEMBERS_PER_PAGE", 2)
    names = ["mia", "bob", "zoe", "ann", "kai"]
    for name in names:
        await make_user("worker", name)
    team = await _team(client, requester, "crew", names)
    seen, url = [], f"/console/teams/{team['id']}"
    while url:
        page = html(await client.get(url, headers=bearer(requester)))
        seen += re.findall(r'<li data-member="([a-z]+)"', page)
        found = re.search(r'id="next-members" accesskey="n" href="([^"]+)"', page)
        url = found.group(1) if found else None
    assert seen == sorted(names)
    assert '<span data-stat="members">5 members</span>' in page


async def test_a_teams_page_names_only_the_pools_its_viewer_may_see(client, admin, requester, new_project,
                                                                   make_user):
    team = await _team(client, requester, "crew")
    project = await new_project(name="mine")
    await client.put(f"/api/projects/{project['id']}/pool", json={"all_workers": False, "teams": [team["id"]]},
                     headers=bearer(requester))
    _, other = await make_user("requester", "rival")
    r = await client.post("/api/projects", json={"name": "not yours", "task_type": "text_classification",
                                                 "labels": ["a"]}, headers=bearer(other))
    theirs = r.json()
    # An admin may list any team in any pool: the team's owner does not see that project.
    r = await client.put(f"/api/projects/{theirs['id']}/pool", json={"all_workers": False, "teams": [team["id"]]},
                         headers=bearer(admin))
    assert r.status_code == 200, r.text
    page = html(await client.get(f"/console/teams/{team['id']}", headers=bearer(requester)))
    assert f'href="/console/projects/{project["id"]}/settings">mine<' in page
    assert "not yours" not in page and 'data-pools="1"' in page
    assert "not yours" in html(await client.get(f"/console/teams/{team['id']}", headers=bearer(admin)))


async def test_the_pool_editor_offers_the_callers_teams_and_keeps_a_listed_one(client, admin, requester,
                                                                              new_project, make_user):
    mine = await _team(client, requester, "my crew")
    _, other = await make_user("requester", "rival")
    theirs = await _team(client, other, "rival crew")
    project = await new_project()
    r = await client.put(f"/api/projects/{project['id']}/pool",
                         json={"all_workers": False, "teams": [theirs["id"]]}, headers=bearer(admin))
    assert r.status_code == 200, r.text
    page = html(await client.get(f"/console/projects/{project['id']}/settings", headers=bearer(requester)))
    ticked = dict(re.findall(r'name="teams" value="(\d+)" (checked|)', page))
    # The requester's own team is offered; the team an admin listed stays ticked, so saving keeps it.
    assert ticked == {str(mine["id"]): "", str(theirs["id"]): "checked"}
    assert 'href="/console/teams" id="manage-teams"' in page
    fresh = html(await client.get("/console/projects/new", headers=bearer(other)))
    assert 'name="teams" value="%d"' % theirs["id"] in fresh and "my crew" not in fresh


async def test_the_nav_links_to_teams_for_requesters_and_admins(client, admin, requester):
    for token in (admin, requester):
        page = html(await client.get("/console/projects", headers=bearer(token)))
        assert 'href="/console/teams" accesskey="t"' in page and "<kbd>T</kbd> teams" in page


def test_a_name_cursor_round_trips_and_a_forged_one_names_the_cursor():
    assert paging.decode_name(paging.encode_name("ann.o'neil@x", "members"), "members") == "ann.o'neil@x"
    assert paging.decode_name(None, "members") is None
    for bad in ("nonsense", paging.encode(5, "members"), paging.encode_name("ann", "other members")):
        with pytest.raises(InvalidInput) as raised:
            paging.decode_name(bad, "members")
        assert raised.value.field == "cursor"


@pytest.mark.parametrize("raw", ["0", "abc", "-1", "1.5", "99999999999999999999999", "%00"])
async def test_a_team_page_with_a_bad_id_is_a_404_page(client, requester, raw):
    r = await client.get(f"/console/teams/{raw}", headers=bearer(requester))
    assert r.status_code == 404 and "text/html" in r.headers["content-type"], (raw, r.status_code, r.text[:200])


@pytest.mark.parametrize("cursor", ["nonsense", "%00", paging.encode(3, "teams"),
                                    "eyJhZnRlcl9uYW1lIjogImFcdTAwMDAifQ",  # {"after_name": "a\u0000"}
                                    "eyJhZnRlcl9uYW1lIjogIiJ9"])  # {"after_name": ""}
async def test_a_team_page_with_a_forged_cursor_is_a_400_page_naming_it(client, requester, cursor):
    team = await _team(client, requester, "crew")
    r = await client.get(f"/console/teams/{team['id']}?cursor={cursor}", headers=bearer(requester))
    assert r.status_code == 400 and "cursor" in html(r), (cursor, r.status_code, r.text[:300])
