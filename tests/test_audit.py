"""The audit log records every requester and admin action, is read in pages (admins all, requesters their own),
and cannot be changed through the API."""

from __future__ import annotations

from labeling import audit
from tests.conftest import bearer, text_tasks


async def _entries(client, token, **params) -> list[dict]:
    out, cursor = [], None
    while True:
        query = {"limit": 7, **params, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/audit", params=query, headers=bearer(token))).json()
        out += page["data"]
        cursor = page["next"]
        if cursor is None:
            return out


async def test_every_requester_and_admin_action_is_recorded(client, admin, requester, make_user, new_project):
    worker, worker_token = await make_user("worker", "w-audited")
    helper, _ = await make_user("worker", "w-helper")
    created = await client.post("/api/users", json={"username": "newbie", "role": "worker", "password": "a-password"},
                                headers=bearer(admin))
    newbie = created.json()["id"]
    await client.post(f"/api/users/{newbie}/password", json={"password": "another-password"}, headers=bearer(admin))
    await client.post(f"/api/users/{newbie}/token", headers=bearer(admin))
    await client.post(f"/api/users/{newbie}/deactivate", headers=bearer(admin))
    await client.post(f"/api/users/{newbie}/reactivate", headers=bearer(admin))
    await client.post("/api/users/me/token", headers=bearer(worker_token))

    project = await new_project(tasks=text_tasks(3), redundancy=1)  # create + import
    pid = project["id"]
    url = f"/api/projects/{pid}"
    await client.patch(url, json={"instructions": "new words"}, headers=bearer(requester))
    await client.patch(url, json={"status": "paused"}, headers=bearer(requester))
    await client.patch(url, json={"status": "active"}, headers=bearer(requester))
    team = (await client.post("/api/teams", json={"name": "t", "members": [worker["id"]]},
                              headers=bearer(requester))).json()
    await client.post(f"/api/teams/{team['id']}/members", json={"workers": [helper["id"]]}, headers=bearer(requester))
    await client.delete(f"/api/teams/{team['id']}/members/{helper['id']}", headers=bearer(requester))
    await client.put(f"{url}/pool", json={"all_workers": False, "teams": [team["id"]]}, headers=bearer(requester))
    await client.post(f"{url}/consensus", headers=bearer(requester))
    await client.post(f"{url}/workers/{worker['id']}/block", headers=bearer(requester))
    await client.post(f"{url}/workers/{worker['id']}/unblock", headers=bearer(requester))
    await client.delete(f"{url}/workers/{worker['id']}/answers", params={"confirm": "true"}, headers=bearer(requester))
    await client.request("DELETE", f"{url}/tasks", json={"external_ids": ["t0"], "confirm": True}, headers=bearer(requester))
    await client.delete(f"/api/teams/{team['id']}", headers=bearer(requester))
    r = await client.delete(url, params={"confirm": project["name"]}, headers=bearer(requester))
    assert r.status_code == 200, r.text

    entries = await _entries(client, admin)
    actions = [e["action"] for e in reversed(entries)]  # oldest first
    assert actions == [  # (the fixtures' users are made below the API, unaudited)
        "user.create", "user.password_reset", "user.token_rotate", "user.deactivate", "user.reactivate",
        "user.token_rotate", "project.create", "tasks.import", "project.update", "project.status", "project.status",
        "team.create", "team.members_add", "team.members_remove", "project.pool", "project.recompute",
        "worker.block", "worker.unblock", "worker.answers_delete", "project.recompute", "tasks.delete", "team.delete",
        "project.delete",
    ]
    by_action = {e["action"]: e for e in entries}
    assert by_action["project.delete"]["details"]["name"] == project["name"]
    assert by_action["project.delete"]["actor"] == "req" and by_action["project.delete"]["project_id"] == pid
    assert by_action["user.deactivate"]["object_type"] == "user" and by_action["user.deactivate"]["object_id"] == newbie
    assert by_action["tasks.import"]["details"]["created"] == 3
    status = [e for e in entries if e["action"] == "project.status"]
    assert [(e["details"]["from"], e["details"]["to"]) for e in reversed(status)] == [("active", "paused"),
                                                                                      ("paused", "active")]
    # The requester reads their projects' entries and their own actions, even after the project is gone.
    own = await _entries(client, requester)
    assert {e["action"] for e in own} >= {"project.create", "project.delete", "team.create", "tasks.delete"}
    assert not {e["action"] for e in own} & {"user.create", "user.deactivate"}
    assert [e["action"] for e in await _entries(client, requester, action="project.status")] == ["project.status"] * 2
    assert await _entries(client, requester, project_id=pid + 1000) == []


async def test_a_gold_block_is_recorded_as_the_systems(client, requester, make_user, new_project, admin):
    _, token = await make_user("worker")
    project = await new_project(tasks=[{"data": {"text": "g"}, "gold": {"label": "pos"}}],
                                gold_first_n=1, gold_min=1, gold_threshold=0.9)
    lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(token))).json()
    await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "neg"}},
                      headers=bearer(token))
    blocked = await _entries(client, requester, action="worker.block")
    assert len(blocked) == 1 and blocked[0]["actor"] == audit.SYSTEM and blocked[0]["actor_id"] is None


async def test_the_audit_log_cannot_be_changed_through_the_api(client, admin, make_user):
    _, worker = await make_user("worker")
    assert (await client.get("/api/audit", headers=bearer(worker))).status_code == 403
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert (await client.request(method, "/api/audit", headers=bearer(admin))).status_code == 405
    r = await client.get("/api/audit", params={"project_id": "x"}, headers=bearer(admin))
    assert r.status_code == 400 and r.json()["error"]["field"] == "project_id"
