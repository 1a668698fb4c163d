"""References inside bodies and query strings that name another tenant's objects: an account, a team, a media file.
What is not the caller's gets the answer a missing one gets (status and body alike), so nothing says it exists."""

from __future__ import annotations

from tests.conftest import bearer, text_tasks


def _same_but_ref(a: dict, b: dict, ref_a: object, ref_b: object) -> bool:
    """Two error bodies are the same once each names the reference it was given."""
    return a == {"error": {**b["error"], "message": b["error"]["message"].replace(repr(ref_b), repr(ref_a))
                           .replace(str(ref_b), str(ref_a))}}


async def test_naming_a_requester_or_admin_as_a_worker_reads_as_no_such_worker(client, make_user, new_project,
                                                                                requester, admin):
    (other, _), (boss, _), (me, _) = (await make_user("requester", "bob"), await make_user("admin", "boss"),
                                      await make_user("requester", "carol"))
    project = await new_project()
    for refs, missing in ((["bob"], "nobody"), (["boss"], "nobody"), ([other["id"]], 99999), ([boss["id"]], 99999)):
        for method, url, key in (("PUT", f"/api/projects/{project['id']}/pool", "workers"),
                                 ("POST", "/api/teams", "members")):
            def body(value, key=key):
                return ({"all_workers": False, "workers": [value]} if key == "workers"
                        else {"name": f"team {value}", "members": [value]})
            there = await client.request(method, url, json=body(refs[0]), headers=bearer(requester))
            gone = await client.request(method, url, json=body(missing), headers=bearer(requester))
            assert there.status_code == gone.status_code == 400, there.text
            assert _same_but_ref(there.json(), gone.json(), refs[0], missing), (there.text, gone.text)
            assert "requester" not in there.text and "admin" not in there.text
    # The caller's own account, and any account for an admin: told what it is, to mend the mistake.
    r = await client.post("/api/teams", json={"name": "me", "members": ["req"]}, headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["message"] == "members[0]: req is a requester, not a worker"
    r = await client.post("/api/teams", json={"name": "them", "members": ["carol"]}, headers=bearer(admin))
    assert r.status_code == 400 and r.json()["error"]["message"] == "members[0]: carol is a requester, not a worker"
    r = await client.post("/api/teams", json={"name": "them", "members": [boss["id"]]}, headers=bearer(admin))
    assert r.json()["error"]["message"] == "members[0]: boss is an admin, not a worker"
    assert me  # a second requester exists for the admin to be told about


async def test_a_project_s_worker_routes_know_no_account_that_never_worked_there(client, make_user, new_project,
                                                                                 requester):
    (other, _), (boss, _), (worker, worker_token) = (await make_user("requester", "bob"),
                                                     await make_user("admin", "boss"), await make_user("worker"))
    project = await new_project(tasks=text_tasks(2), redundancy=1)
    pid = project["id"]
    for user_id in (other["id"], boss["id"]):
        for method, path in (("POST", "block"), ("POST", "unblock"), ("DELETE", "answers?confirm=true")):
            there = await client.request(method, f"/api/projects/{pid}/workers/{user_id}/{path}",
                                         headers=bearer(requester))
            gone = await client.request(method, f"/api/projects/{pid}/workers/99999/{path}", headers=bearer(requester))
            assert there.status_code == gone.status_code == 404, (path, there.text)
            assert _same_but_ref(there.json(), gone.json(), user_id, 99999)
    audit = (await client.get(f"/api/audit?project_id={pid}", headers=bearer(requester))).json()["data"]
    assert not [e for e in audit if e["action"].startswith("worker.")], audit
    # A worker (the crowd) may be named, and so may the owner once they labeled their own project.
    assert (await client.post(f"/api/projects/{pid}/workers/{worker['id']}/block",
                              headers=bearer(requester))).status_code == 200
    assert worker_token
    me = (await client.get("/api/users/me", headers=bearer(requester))).json()
    lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(requester))).json()
    assert (await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                              headers=bearer(requester))).status_code == 201
    r = await client.delete(f"/api/projects/{pid}/workers/{me['id']}/answers?confirm=true", headers=bearer(requester))
    assert r.status_code == 200 and r.json()["answers_deleted"] == 1, r.text
