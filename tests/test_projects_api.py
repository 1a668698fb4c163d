"""Users and projects over the API: create, read with progress, list with cursors, update, access rules."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import bearer, text_tasks
from tests.export.helpers import answer_all


async def test_admin_creates_users_and_token_works(client, admin):
    r = await client.post("/api/users", json={"username": "ann", "role": "worker", "password": "s3cret-pass"},
                          headers=bearer(admin))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["username"] == "ann" and body["role"] == "worker" and body["token"].startswith("lbl_")
    me = await client.get("/api/users/me", headers=bearer(body["token"]))
    assert me.json() == {"id": body["id"], "username": "ann", "role": "worker"}


@pytest.mark.parametrize("body,field", [
    ({"username": "", "role": "worker"}, "username"),
    ({"username": "bob", "role": "boss"}, "role"),
    ({"username": "bob", "role": "worker", "password": "short"}, "password"),
    ({"username": "bob"}, "role"),
    ({"username": "bob", "role": "worker", "extra": 1}, "extra"),
])
async def test_bad_user_bodies_name_the_field(client, admin, body, field):
    r = await client.post("/api/users", json=body, headers=bearer(admin))
    assert r.status_code == 400
    assert r.json()["error"]["field"] == field


async def test_duplicate_username_is_a_conflict(client, admin):
    await client.post("/api/users", json={"username": "dup", "role": "worker"}, headers=bearer(admin))
    r = await client.post("/api/users", json={"username": "dup", "role": "worker"}, headers=bearer(admin))
    assert r.status_code == 409 and r.json()["error"]["field"] == "username"


async def test_only_admins_create_users_and_bad_tokens_are_refused(client, requester):
    r = await client.post("/api/users", json={"username": "x", "role": "worker"}, headers=bearer(requester))
    assert r.status_code == 403
    assert (await client.get("/api/projects", headers=bearer("lbl_nope"))).status_code == 401
    assert (await client.get("/api/projects")).status_code == 401
    r = await client.get("/api/projects", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and r.json()["error"]["field"] == "Authorization"


async def test_rotated_token_replaces_the_old_one(client, make_user):
    _, token = await make_user("worker")
    r = await client.post("/api/users/me/token", headers=bearer(token))
    assert r.status_code == 201
    assert (await client.get("/api/users/me", headers=bearer(token))).status_code == 401
    assert (await client.get("/api/users/me", headers=bearer(r.json()["token"]))).status_code == 200


async def test_create_and_get_project_with_progress(client, requester, new_project):
    project = await new_project(tasks=text_tasks(5), instructions="Be careful", redundancy=2)
    r = await client.get(f"/api/projects/{project['id']}", headers=bearer(requester))
    assert r.status_code == 200
    got = r.json()
    assert got["name"] == project["name"] and got["instructions"] == "Be careful" and got["redundancy"] == 2
    assert got["progress"]["tasks"] == 5 and got["progress"]["complete"] == 0 and got["progress"]["remaining"] == 5


async def test_adaptive_redundancy_round_trips(client, new_project):
    spec = {"min": 2, "max": 5, "target_confidence": 0.95}
    project = await new_project(redundancy=spec)
    assert project["redundancy"] == spec


@pytest.mark.parametrize("body,field", [
    ({"task_type": "text_classification", "labels": ["a"]}, "name"),
    ({"name": "p", "task_type": "video", "labels": ["a"]}, "task_type"),
    ({"name": "p", "task_type": "text_classification"}, "labels"),
    ({"name": "p", "task_type": "text_classification", "labels": ["a", "a"]}, "labels[1]"),
    ({"name": "p", "task_type": "text_classification", "labels": ["a"], "redundancy": 0}, "redundancy"),
    ({"name": "p", "task_type": "text_classification", "labels": ["a"],
      "redundancy": {"min": 3, "max": 2, "target_confidence": 0.9}}, "redundancy"),
    ({"name": "p", "task_type": "text_classification", "labels": ["a"], "lease_seconds": 0}, "lease_seconds"),
    ({"name": "p", "task_type": "text_classification", "labels": ["a"], "gold_fraction": 2}, "gold_fraction"),
])
async def test_bad_project_bodies_name_the_field(client, requester, body, field):
    r = await client.post("/api/projects", json=body, headers=bearer(requester))
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"] == field
    listed = await client.get("/api/projects", headers=bearer(requester))
    assert listed.json()["data"] == []


async def test_not_json_is_a_clear_error(client, requester):
    r = await client.post("/api/projects", content=b"{nope", headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["field"] == "body"


async def test_list_pages_with_cursor(client, requester, new_project):
    for _ in range(5):
        await new_project()
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/projects", params=params, headers=bearer(requester))).json()
        seen += [p["id"] for p in page["data"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(set(seen))
    bad = await client.get("/api/projects", params={"cursor": "garbage!"}, headers=bearer(requester))
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "cursor"
    bad = await client.get("/api/projects", params={"limit": 5000}, headers=bearer(requester))
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "limit"


async def test_update_settings(client, requester, new_project):
    project = await new_project(tasks=text_tasks(2, gold={"label": "neg"}))
    url = f"/api/projects/{project['id']}"
    r = await client.patch(url, json={"instructions": "new", "labels": ["pos", "neg", "neu", "mixed"],
                                      "lease_seconds": 30}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    assert r.json()["labels"][-1] == "mixed" and r.json()["lease_seconds"] == 30
    r = await client.patch(url, json={"labels": ["pos"]}, headers=bearer(requester))  # the gold answers use neg
    assert r.status_code == 400 and r.json()["error"]["field"] == "labels"
    r = await client.patch(url, json={"task_type": "demonstration"}, headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["field"] == "task_type"
    assert (await client.get(url, headers=bearer(requester))).json()["labels"] == ["pos", "neg", "neu", "mixed"]


async def test_settings_and_pool_changes_with_if_match_never_overwrite_a_change_unseen(client, requester, admin,
                                                                                      new_project, make_user):
    """Two requesters (here the owner and an admin) read the labels [pos, neg, neu]; one adds `x`, the other `y`:
    the second PATCH replaced the labels whole and `x` was gone, unseen. The project's ETag (its version) now comes
    with every read of it and its pool, and a change sent with If-Match is made only while the project is still that
    version: 412 precondition_failed otherwise, nothing changed. Without If-Match a change is made as before."""
    pid = (await new_project(name="versioned"))["id"]
    url = f"/api/projects/{pid}"
    first = await client.get(url, headers=bearer(requester))
    seen = first.headers["etag"]
    assert seen.startswith('"') and seen.endswith('"') and (await client.get(url, headers=bearer(admin))).headers[
        "etag"] == seen
    labels = first.json()["labels"]
    ours = await client.patch(url, json={"labels": [*labels, "x"]}, headers={**bearer(requester), "If-Match": seen})
    assert ours.status_code == 200, ours.text
    assert ours.headers["etag"] != seen and ours.json()["labels"] == [*labels, "x"]
    theirs = await client.patch(url, json={"labels": [*labels, "y"]}, headers={**bearer(admin), "If-Match": seen})
    assert theirs.status_code == 412, theirs.text
    error = theirs.json()["error"]
    assert error["code"] == "precondition_failed" and error["field"] == "If-Match"
    assert ours.headers["etag"] in error["message"]
    now = await client.get(url, headers=bearer(requester))
    assert now.json()["labels"] == [*labels, "x"] and now.headers["etag"] == ours.headers["etag"]
    # Read again, sent again: made. Several tags (one of them current) and `*` match; an empty header is a 400.
    tags = f'"1.5", {now.headers["etag"]}'
    again = await client.patch(url, json={"labels": [*labels, "x", "y"]}, headers={**bearer(admin), "If-Match": tags})
    assert again.status_code == 200 and again.json()["labels"] == [*labels, "x", "y"], again.text
    assert (await client.patch(url, json={"instructions": "a"}, headers={**bearer(requester), "If-Match": "*"})
            ).status_code == 200
    empty = await client.patch(url, json={"instructions": "b"}, headers={**bearer(requester), "If-Match": " "})
    assert empty.status_code == 400 and empty.json()["error"]["field"] == "If-Match"
    # What is no entity tag is said so, not that the project changed (a 412 sent the client to read it again)
    for garbage in ("abc", now.headers["etag"].strip('"'), '"a", b', '"unclosed', "W/"):
        bad = await client.patch(url, json={"instructions": "b"}, headers={**bearer(requester), "If-Match": garbage})
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "If-Match", (garbage, bad.text)
        assert "is not an entity tag" in bad.json()["error"]["message"]
    current = (await client.get(url, headers=bearer(requester))).headers["etag"]
    weak = await client.patch(url, json={"instructions": "b"}, headers={**bearer(requester), "If-Match": "W/" + current})
    assert weak.status_code == 412, weak.text  # a weak tag never matches for a change (RFC 9110's strong compare)
    assert (await client.get(url, headers=bearer(requester))).json()["instructions"] == "a"
    # The pool is under the same version: a settings change since it was read refuses a pool written as read.
    pool = await client.get(f"{url}/pool", headers=bearer(requester))
    assert pool.headers["etag"] == (await client.get(url, headers=bearer(requester))).headers["etag"]
    assert (await client.patch(url, json={"instructions": "c"}, headers=bearer(requester))).status_code == 200
    stale = await client.put(f"{url}/pool", json={"all_workers": False, "workers": []},
                             headers={**bearer(requester), "If-Match": pool.headers["etag"]})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "precondition_failed", stale.text
    assert (await client.get(f"{url}/pool", headers=bearer(requester))).json()["all_workers"] is True
    fresh = (await client.get(f"{url}/pool", headers=bearer(requester))).headers["etag"]
    done = await client.put(f"{url}/pool", json={"all_workers": False, "workers": []},
                            headers={**bearer(requester), "If-Match": fresh})
    assert done.status_code == 200 and done.json()["all_workers"] is False and done.headers["etag"] != fresh
    # A status change moves the version too; a worker's view carries none (it is the requester's to send back).
    assert (await client.patch(url, json={"status": "paused"}, headers={**bearer(requester), "If-Match": fresh})
            ).status_code == 412
    # Sent at the same instant from one reading: one is made, the other refused (checked on the row the write holds).
    read = (await client.get(url, headers=bearer(requester))).headers["etag"]
    both = await asyncio.gather(*(client.patch(url, json={"labels": [*labels, name]},
                                               headers={**bearer(who), "If-Match": read})
                                  for who, name in ((requester, "p"), (admin, "q"))))
    assert sorted(r.status_code for r in both) == [200, 412], [r.text for r in both]
    kept = (await client.get(url, headers=bearer(requester))).json()["labels"]
    assert kept == next(r.json()["labels"] for r in both if r.status_code == 200)
    _, worker = await make_user("worker", "reader")
    assert (await client.put(f"{url}/pool", json={"all_workers": True}, headers=bearer(requester))).status_code == 200
    shown = await client.get(url, headers=bearer(worker))
    assert shown.status_code == 200 and "etag" not in shown.headers


async def test_requesters_see_only_their_projects(client, make_user, new_project):
    project = await new_project()
    _, other = await make_user("requester", "other")
    assert (await client.get(f"/api/projects/{project['id']}", headers=bearer(other))).status_code == 404
    assert (await client.get("/api/projects", headers=bearer(other))).json()["data"] == []
    r = await client.patch(f"/api/projects/{project['id']}", json={"instructions": "x"}, headers=bearer(other))
    assert r.status_code == 404
    _, worker = await make_user("worker")
    r = await client.post("/api/projects", json={"name": "w", "task_type": "demonstration"}, headers=bearer(worker))
    assert r.status_code == 403


async def test_unknown_routes_and_methods_answer_json(client, requester):
    r = await client.get("/api/nothing-here", headers=bearer(requester))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await client.delete("/api/projects", headers=bearer(requester))
    assert r.status_code == 405
    r = await client.get("/api/projects/abc", headers=bearer(requester))
    assert r.status_code == 404 and r.json()["error"]["field"] == "project_id"


async def test_openapi_lists_every_operation(client):
    from labeling import api

    doc = (await client.get("/api/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    for op in api.OPS:
        assert op.method.lower() in doc["paths"][op.path], op.path
    assert "ProjectCreate" in doc["components"]["schemas"]


@pytest.mark.parametrize("task_type, task", [
    ("text_classification", {"data": {"text": "x"}, "gold": {"label": "b"}}),
    ("text_classification", {"data": {"text": "x"}, "predictions": {"label": "b"}}),
    ("text_multilabel", {"data": {"text": "x"}, "gold": {"labels": ["a", "b"]}}),
    ("named_entities", {"data": {"text": "hello world"}, "gold": {"spans": [{"start": 0, "end": 5, "label": "b"}]}}),
])
async def test_a_label_leaves_a_project_only_while_nothing_uses_it(client, requester, new_project, task_type, task):
    project = await new_project(task_type=task_type, labels=["a", "b", "c"])
    url = f"/api/projects/{project['id']}"
    # No task, no answer: any label may go.
    r = await client.patch(url, json={"labels": ["a", "b"]}, headers=bearer(requester))
    assert r.status_code == 200 and r.json()["labels"] == ["a", "b"], r.text
    r = await client.patch(url, json={"labels": ["a", "b", "c"]}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    r = await client.post(f"{url}/tasks", json=[task], headers=bearer(requester))
    assert r.status_code == 201, r.text
    r = await client.patch(url, json={"labels": ["a", "c"]}, headers=bearer(requester))
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"] == "labels" and "'b' is used" in r.json()["error"]["message"]
    assert (await client.get(url, headers=bearer(requester))).json()["labels"] == ["a", "b", "c"]
    r = await client.patch(url, json={"labels": ["a", "b"]}, headers=bearer(requester))  # c is unused
    assert r.status_code == 200 and r.json()["labels"] == ["a", "b"], r.text


async def test_a_label_used_by_an_answer_or_an_override_stays(client, requester, new_project, make_user):
    project = await new_project(tasks=text_tasks(1), redundancy=1, labels=["a", "b", "c", "d"])
    url = f"/api/projects/{project['id']}"
    await answer_all(client, make_user, project["id"], [{"label": "a"}], "labels")
    task_id = (await client.get(f"{url}/tasks", headers=bearer(requester))).json()["data"][0]["id"]
    r = await client.post(f"{url}/tasks/{task_id}/override", json={"answer": {"label": "b"}},
                          headers=bearer(requester))
    assert r.status_code == 200, r.text
    for kept in (["b", "c", "d"], ["a", "c", "d"], ["c", "d"]):
        r = await client.patch(url, json={"labels": kept}, headers=bearer(requester))
        assert r.status_code == 400 and r.json()["error"]["field"] == "labels", r.text
    r = await client.patch(url, json={"labels": ["a", "b", {"name": "d", "hotkey": "q"}]}, headers=bearer(requester))
    assert r.status_code == 200 and r.json()["labels"] == ["a", "b", {"name": "d", "hotkey": "q"}], r.text


async def test_every_paired_operation_sent_twice_answers_200_with_the_state_reached(client, admin, requester,
                                                                                 new_project, make_user):
    """Retries of the paired writes: each reaches its state once and answers 200 again (an unblock of a worker not
    blocked was a 409 and a removal of a team member already out a 404, where their pairs answered 200)."""
    pid = (await new_project(tasks=text_tasks(1)))["id"]
    worker, token = await make_user("worker", "twice")
    team = (await client.post("/api/teams", json={"name": "t", "members": ["twice"]}, headers=bearer(requester))).json()
    calls = [
        ("PATCH", f"/api/projects/{pid}", {"status": "paused"}, requester),
        ("PATCH", f"/api/projects/{pid}", {"status": "archived"}, requester),
        ("PATCH", f"/api/projects/{pid}", {"status": "active"}, requester),
        ("POST", f"/api/projects/{pid}/workers/{worker['id']}/block", None, requester),
        ("POST", f"/api/projects/{pid}/workers/{worker['id']}/unblock", None, requester),
        ("POST", f"/api/teams/{team['id']}/members", {"workers": ["twice"]}, requester),
        ("DELETE", f"/api/teams/{team['id']}/members/{worker['id']}", None, requester),
        ("POST", f"/api/users/{worker['id']}/deactivate", None, admin),
        ("POST", f"/api/users/{worker['id']}/reactivate", None, admin),
    ]
    for method, url, body, who in calls:
        answers = [await client.request(method, url, json=body, headers=bearer(who)) for _ in range(2)]
        assert [r.status_code for r in answers] == [200, 200], (method, url, [r.text for r in answers])
        first, second = (r.json() for r in answers)
        for key in ("status", "blocked", "is_active", "removed"):
            assert first.get(key) == second.get(key), (url, key, first, second)
