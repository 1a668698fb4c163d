"""Who may work where: pools (all workers, listed workers, teams), project status, what workers see, and how fast a
change reaches the queue of this process and of another one."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from labeling.app import create_app
from tests.conftest import bearer, text_tasks

WORKER_VIEW = {"id", "name", "task_type", "labels", "label_styles", "edit_window", "instructions", "status"}


async def _next(client, token, project_id):
    return await client.post(f"/api/projects/{project_id}/next", headers=bearer(token))


async def _pool(client, token, project_id, **body):
    return await client.put(f"/api/projects/{project_id}/pool", json=body, headers=bearer(token))


@pytest.fixture
async def crew(make_user):
    """Three workers: (user dict, token)."""
    return [await make_user("worker", f"crew{i}") for i in range(3)]


async def test_a_listed_pool_admits_only_its_workers_and_the_owner(client, requester, new_project, crew):
    (a, a_token), (b, b_token), _ = crew
    project = await new_project(tasks=text_tasks(4), redundancy=2)
    pid = project["id"]
    assert project["all_workers"] is True and project["status"] == "active"
    held = (await _next(client, a_token, pid)).json()

    r = await _pool(client, requester, pid, all_workers=False, workers=[b["username"]])
    assert r.status_code == 200, r.text
    assert r.json() == {"project_id": pid, "all_workers": False, "teams": [],
                        "workers": [{"id": b["id"], "username": b["username"]}]}
    # Left out: the project no longer exists for them, their lease included.
    assert (await _next(client, a_token, pid)).status_code == 404
    r = await client.post(f"/api/assignments/{held['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                          headers=bearer(a_token))
    assert r.status_code == 404 and r.json()["error"]["field"] == "assignment_id"
    assert (await client.get(f"/api/projects/{pid}", headers=bearer(a_token))).status_code == 404
    assert (await client.get("/api/projects", headers=bearer(a_token))).json()["data"] == []
    # Listed, and the owner labeling their own project.
    assert (await _next(client, b_token, pid)).status_code == 200
    assert (await _next(client, requester, pid)).status_code == 200
    listed = (await client.get("/api/projects", headers=bearer(b_token))).json()["data"]
    assert [p["id"] for p in listed] == [pid] and set(listed[0]) == WORKER_VIEW
    # Back to everyone.
    assert (await _pool(client, requester, pid, all_workers=True)).json()["all_workers"] is True
    assert (await _next(client, a_token, pid)).status_code == 200


async def test_workers_see_only_what_labeling_needs(client, requester, new_project, crew):
    _, token = crew[0]
    project = await new_project(tasks=[{"data": {"text": "x"}, "gold": {"label": "pos"}}], instructions="Be kind",
                                 gold_first_n=1, gold_threshold=0.5)
    seen = (await client.get(f"/api/projects/{project['id']}", headers=bearer(token))).json()
    assert {k: v for k, v in seen.items() if k not in ("label_styles", "edit_window")} == {
        "id": project["id"], "name": project["name"], "task_type": "text_classification",
        "labels": ["pos", "neg", "neu"], "instructions": "Be kind", "status": "active"}
    assert [style["name"] for style in seen["label_styles"]] == ["pos", "neg", "neu"]  # how labels look, no more
    assert set(seen) == WORKER_VIEW
    lease = (await _next(client, token, project["id"])).json()
    assert set(lease["task"]) == {"id", "data"}  # no gold, not even whether it is gold
    for path in ("tasks", "results", "quality", "pool"):
        assert (await client.get(f"/api/projects/{project['id']}/{path}", headers=bearer(token))).status_code == 403
    full = (await client.get(f"/api/projects/{project['id']}", headers=bearer(requester))).json()
    assert full["gold_threshold"] == 0.5 and "progress" in full


@pytest.mark.parametrize(("task_type", "page_options"), [
    ("text_classification", {}), ("named_entities", {"span_unit": "character", "span_overlap": "allow"})])
async def test_the_labeling_page_gives_workers_only_the_options_it_reads(client, new_project, crew, task_type,
                                                                          page_options):
    """A requester's own options (a license, notes on a client) stay out of the worker's page, as out of the API."""
    _, token = crew[0]
    own = {"license": "cc-by-4.0", "client_notes": "Acme pays 3 cents a task"}
    project = await new_project(task_type=task_type, options={**own, **({"span_unit": "character"} if page_options
                                                                          else {})})
    page = await client.get(f"/projects/{project['id']}/label", headers=bearer(token))
    assert page.status_code == 200
    config = json.loads(re.search(r'<script type="application/json" id="label-config">(.*?)</script>', page.text,
                                  re.S).group(1))
    assert config["options"] == page_options
    assert "Acme" not in page.text and "cc-by-4.0" not in page.text


async def test_teams_put_their_members_in_a_pool_as_they_change(client, requester, new_project, crew):
    (a, a_token), (b, b_token), _ = crew
    project = await new_project(tasks=text_tasks(6), redundancy=3)
    pid = project["id"]
    team = await client.post("/api/teams", json={"name": "night shift", "members": [a["id"]]},
                             headers=bearer(requester))
    assert team.status_code == 201 and team.json()["members"] == 1
    tid = team.json()["id"]
    assert (await _pool(client, requester, pid, all_workers=False, teams=[tid])).status_code == 200
    assert (await _next(client, a_token, pid)).status_code == 200
    assert (await _next(client, b_token, pid)).status_code == 404

    r = await client.post(f"/api/teams/{tid}/members", json={"workers": [b["username"]]}, headers=bearer(requester))
    assert r.status_code == 200 and r.json()["added"] == 1
    assert (await _next(client, b_token, pid)).status_code == 200
    # `added` counts who joined: a worker already in the team is not counted again.
    r = await client.post(f"/api/teams/{tid}/members", json={"workers": [b["username"], a["id"]]},
                          headers=bearer(requester))
    assert r.status_code == 200 and r.json()["added"] == 0
    members = (await client.get(f"/api/teams/{tid}/members", headers=bearer(requester))).json()["data"]
    assert [m["id"] for m in members] == sorted([a["id"], b["id"]])

    assert (await client.delete(f"/api/teams/{tid}/members/{a['id']}", headers=bearer(requester))).status_code == 200
    assert (await _next(client, a_token, pid)).status_code == 404
    # Removed again (a retry): already out, the same 200 as adding a member twice; an id that is no worker's, 404.
    again = await client.delete(f"/api/teams/{tid}/members/{a['id']}", headers=bearer(requester))
    assert again.status_code == 200 and again.json() == {"team_id": tid, "removed": a["id"]}, again.text
    assert (await client.delete(f"/api/teams/{tid}/members/999999", headers=bearer(requester))).status_code == 404
    removals = (await client.get("/api/audit?action=team.members_remove", headers=bearer(requester))).json()["data"]
    assert len(removals) == 1, removals
    assert (await client.delete(f"/api/teams/{tid}", headers=bearer(requester))).status_code == 200
    assert (await _next(client, b_token, pid)).status_code == 404
    assert (await client.get(f"/api/projects/{pid}/pool", headers=bearer(requester))).json()["teams"] == []


async def test_pools_name_only_workers_and_your_own_teams(client, requester, make_user, new_project, crew):
    project = await new_project()
    url_owner = bearer(requester)
    _, other = await make_user("requester", "other-requester")
    theirs = (await client.post("/api/teams", json={"name": "theirs"}, headers=bearer(other))).json()
    for body, field in (({"all_workers": False, "teams": [theirs["id"]]}, "teams"),
                        ({"all_workers": False, "workers": ["nobody-here"]}, "workers"),
                        ({"all_workers": False, "workers": ["other-requester"]}, "workers"),
                        ({"all_workers": True, "workers": [crew[0][0]["id"]]}, "workers"),
                        ({"all_workers": False, "workers": [True]}, "workers[0]"),
                        ({"workers": []}, "all_workers")):
        r = await client.put(f"/api/projects/{project['id']}/pool", json=body, headers=url_owner)
        assert r.status_code == 400 and r.json()["error"]["field"] == field, (body, r.text)
    assert (await client.get(f"/api/projects/{project['id']}/pool", headers=url_owner)).json()["all_workers"] is True
    assert (await client.get(f"/api/teams/{theirs['id']}", headers=url_owner)).status_code == 404
    assert [t["id"] for t in (await client.get("/api/teams", headers=url_owner)).json()["data"]] == []
    r = await client.post("/api/teams", json={"name": "theirs"}, headers=bearer(other))
    assert r.status_code == 409 and r.json()["error"]["field"] == "name"


async def test_paused_and_archived_projects_serve_no_tasks(client, requester, new_project, crew):
    (_, a_token), (_, b_token), _ = crew
    project = await new_project(tasks=text_tasks(3), redundancy=1)
    pid, url = project["id"], f"/api/projects/{project['id']}"
    held = (await _next(client, a_token, pid)).json()

    r = await client.patch(url, json={"status": "paused"}, headers=bearer(requester))
    assert r.status_code == 200 and r.json()["status"] == "paused"
    refused = await _next(client, b_token, pid)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "project_paused"
    assert (await _next(client, b_token, pid)).json() == refused.json()  # stable: the same answer every time
    # A lease handed out before the pause is handed back and may still be answered.
    assert (await _next(client, a_token, pid)).json()["assignment_id"] == held["assignment_id"]
    r = await client.post(f"/api/assignments/{held['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                          headers=bearer(a_token))
    assert r.status_code == 201
    assert (await client.get("/api/projects", headers=bearer(b_token))).json()["data"] == []
    assert (await client.get(url, headers=bearer(b_token))).json()["status"] == "paused"

    assert (await client.patch(url, json={"status": "active"}, headers=bearer(requester))).status_code == 200
    second = (await _next(client, b_token, pid)).json()
    r = await client.patch(url, json={"status": "archived"}, headers=bearer(requester))
    assert r.status_code == 200 and r.json()["progress"]["live_leases"] == 0  # its leases went back
    archived = await _next(client, b_token, pid)
    assert archived.status_code == 409 and archived.json()["error"]["code"] == "project_archived"
    late = await client.post(f"/api/assignments/{second['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                             headers=bearer(b_token))
    assert late.status_code == 404  # the lease was released with the archiving
    r = await client.patch(url, json={"status": "closed"}, headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["field"] == "status"
    statuses = {p["status"] for p in (await client.get("/api/projects?status=archived",
                                                       headers=bearer(requester))).json()["data"]}
    assert statuses == {"archived"}


async def test_the_home_page_lists_only_projects_the_worker_may_work_on(client, requester, new_project, crew):
    (a, a_token), (_, b_token), _ = crew
    open_project = await new_project(tasks=text_tasks(1))
    listed = await new_project(tasks=text_tasks(1))
    paused = await new_project(tasks=text_tasks(1), status="paused")
    await _pool(client, requester, listed["id"], all_workers=False, workers=[a["id"]])
    page_a = (await client.get("/", headers=bearer(a_token))).text
    page_b = (await client.get("/", headers=bearer(b_token))).text
    assert f'data-project-id="{listed["id"]}"' in page_a and f'data-project-id="{listed["id"]}"' not in page_b
    assert f'data-project-id="{open_project["id"]}"' in page_a and f'data-project-id="{open_project["id"]}"' in page_b
    assert f'data-project-id="{paused["id"]}"' not in page_a
    label = await client.get(f"/projects/{listed['id']}/label", headers=bearer(b_token))
    assert label.status_code == 404 and "text/html" in label.headers["content-type"]


async def test_another_process_honours_a_pool_change_at_its_next_claim(client, app, db, settings, requester,
                                                                        new_project, crew):
    """Two apps on one database, as two server processes: each caches project rows and pool listings by project
    version; a change made through one is seen by the other's very next claim and submit (the version moved)."""
    (a, a_token), (_, b_token), _ = crew
    project = await new_project(tasks=text_tasks(4), redundancy=2)
    pid = project["id"]
    await _pool(client, requester, pid, all_workers=False, workers=[a["id"], crew[1][0]["id"]])
    other = create_app(settings, db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://other") as second:
        lease = (await _next(second, a_token, pid)).json()  # remembered by the second process
        assert (await _next(second, b_token, pid)).status_code == 200
        await _pool(client, requester, pid, all_workers=False, workers=[crew[1][0]["id"]])  # the first process
        assert (await _next(second, a_token, pid)).status_code == 404
        r = await second.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                              headers=bearer(a_token))
        assert r.status_code == 404
        assert (await _next(second, b_token, pid)).status_code == 200
