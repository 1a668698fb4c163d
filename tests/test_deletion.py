"""Deleting a project, deleting tasks, removing one worker's answers, blocking and unblocking: confirmed, complete,
and the counters and consensus right afterwards."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from labeling import models
from tests.conftest import bearer, text_tasks


def _png(color: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), color).save(buffer, "PNG")
    return buffer.getvalue()


async def _count(db, table, **where) -> int:
    async with db.read() as conn:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(getattr(table.c, column) == value)
        return int(await conn.scalar(query))


async def _answer(client, token, project_id, label="pos"):
    lease = (await client.post(f"/api/projects/{project_id}/next", headers=bearer(token))).json()
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": label}},
                          headers=bearer(token))
    assert r.status_code == 201, r.text
    return lease["task"]["id"]


async def _progress(client, token, project_id) -> dict:
    return (await client.get(f"/api/projects/{project_id}", headers=bearer(token))).json()["progress"]


async def test_deleting_a_project_takes_everything_and_its_unused_uploads(client, db, settings, requester,
                                                                          make_user, new_project):
    shared = (await client.post("/api/media", files={"file": ("s.png", _png("red"), "image/png")},
                                headers=bearer(requester))).json()["data"][0]["path"]
    own = (await client.post("/api/media", files={"file": ("o.png", _png("blue"), "image/png")},
                             headers=bearer(requester))).json()["data"][0]["path"]
    (settings.media_dir / "shared" / "operator").mkdir(parents=True)
    (settings.media_dir / "shared" / "operator" / "x.png").write_bytes(_png("green"))
    images = [{"data": {"image": p}} for p in (shared, own, "shared/operator/x.png")]
    doomed = await new_project(tasks=images, task_type="image_classification", labels=["a", "b"])
    await new_project(tasks=[{"data": {"image": shared}}], task_type="image_classification", labels=["a"])
    _, worker = await make_user("worker")
    lease = (await client.post(f"/api/projects/{doomed['id']}/next", headers=bearer(worker))).json()
    await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "a"}},
                      headers=bearer(worker))
    url = f"/api/projects/{doomed['id']}"

    for confirm in (None, "wrong name", doomed["name"].upper()):
        r = await client.delete(url, params={"confirm": confirm} if confirm else {}, headers=bearer(requester))
        assert r.status_code == 400 and r.json()["error"]["field"] == "confirm"
    assert await _count(db, models.tasks, project_id=doomed["id"]) == 3  # nothing happened

    r = await client.delete(url, params={"confirm": doomed["name"]}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    assert r.json()["deleted"] == {"project_id": doomed["id"], "name": doomed["name"], "tasks": 3, "annotations": 1,
                                   "media_files": 1}
    assert (await client.get(url, headers=bearer(requester))).status_code == 404
    for table in (models.tasks, models.assignments, models.annotations, models.task_results,
                  models.project_counters, models.project_workers, models.project_media):
        assert await _count(db, table, project_id=doomed["id"]) == 0, table.name
    assert not (settings.media_dir / own).exists()  # only this project showed it
    assert (settings.media_dir / shared).exists()  # another project still does
    assert (settings.media_dir / "shared" / "operator" / "x.png").exists()  # not an upload: the operator's to remove


async def test_deleting_tasks_takes_their_answers_and_the_counters_follow(client, db, requester, make_user,
                                                                          new_project):
    project = await new_project(tasks=text_tasks(4), redundancy=1)
    pid = project["id"]
    _, worker = await make_user("worker")
    answered = [await _answer(client, worker, pid) for _ in range(2)]
    lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(worker))).json()
    skip = await client.post(f"/api/assignments/{lease['assignment_id']}/skip", headers=bearer(worker))
    assert skip.status_code == 200
    assert await _progress(client, requester, pid) == {**await _progress(client, requester, pid), "tasks": 4,
                                                       "complete": 2, "annotations": 2, "skips": 1}
    r = await client.request("DELETE", f"/api/projects/{pid}/tasks", json={"task_ids": [answered[0]]},
                          headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["field"] == "confirm"
    r = await client.request("DELETE", f"/api/projects/{pid}/tasks", json={
        "task_ids": [answered[0], 999999], "external_ids": ["t3"], "confirm": True}, headers=bearer(requester))
    assert r.status_code == 200 and r.json() == {"deleted": 2}
    progress = await _progress(client, requester, pid)
    assert (progress["tasks"], progress["complete"], progress["annotations"], progress["remaining"]) == (2, 1, 1, 1)
    assert await _count(db, models.annotations, project_id=pid) == 1
    quality = (await client.get(f"/api/projects/{pid}/quality", headers=bearer(requester))).json()
    assert [w["n_annotations"] for w in quality["workers"]] == [1]


async def test_removing_a_worker_reopens_their_tasks_and_consensus_follows_the_others(client, db, requester,
                                                                                      make_user, new_project):
    project = await new_project(tasks=text_tasks(2), redundancy=2)
    pid = project["id"]
    (leaver, leaver_token), (_, stayer), (_, newcomer) = [await make_user("worker") for _ in range(3)]
    for _ in range(2):
        await _answer(client, leaver_token, pid, "neg")
        await _answer(client, stayer, pid, "pos")
    assert (await _progress(client, requester, pid))["complete"] == 2
    url = f"/api/projects/{pid}/workers/{leaver['id']}/answers"
    assert (await client.delete(url, headers=bearer(requester))).status_code == 400  # confirm missing

    r = await client.delete(url, params={"confirm": "true"}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    assert (r.json()["answers_deleted"], r.json()["tasks_reopened"], r.json()["consensus"]["workers"]) == (2, 2, 1)
    progress = await _progress(client, requester, pid)
    assert (progress["complete"], progress["annotations"], progress["remaining"]) == (0, 2, 2)
    # Recomputed without them: the stayer's answers only, the tasks open for one more answer each.
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert [(r["answer"], r["n_annotations"], r["complete"]) for r in results] == [({"label": "pos"}, 1, False)] * 2
    for _ in range(2):
        await _answer(client, newcomer, pid, "pos")
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert [(r["answer"], r["n_annotations"], r["complete"]) for r in results] == [({"label": "pos"}, 2, True)] * 2
    assert await _count(db, models.project_workers, project_id=pid, worker_id=leaver["id"]) == 0
    assert await _count(db, models.annotations, project_id=pid, worker_id=leaver["id"]) == 0


async def test_a_requester_blocks_and_unblocks_a_worker(client, requester, make_user, new_project):
    project = await new_project(tasks=text_tasks(3), redundancy=1)
    pid = project["id"]
    worker, token = await make_user("worker")
    await _answer(client, token, pid)
    base = f"/api/projects/{pid}/workers/{worker['id']}"
    r = await client.post(f"{base}/block", headers=bearer(requester))
    assert r.status_code == 200 and r.json() == {"worker_id": worker["id"], "blocked": True, "tasks_reopened": 1}
    refused = await client.post(f"/api/projects/{pid}/next", headers=bearer(token))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "worker_blocked"
    assert (await _progress(client, requester, pid))["complete"] == 0
    assert (await client.post(f"{base}/unblock", headers=bearer(requester))).status_code == 200
    assert (await client.post(f"/api/projects/{pid}/next", headers=bearer(token))).status_code == 200
    # Unblocking a worker who is not blocked is where the call leads already: 200, as a second block is (it was a
    # 409, so a retried unblock failed), and nothing recorded twice.
    again = await client.post(f"{base}/unblock", headers=bearer(requester))
    assert again.status_code == 200 and again.json() == {"worker_id": worker["id"], "blocked": False}, again.text
    twice = await client.post(f"{base}/block", headers=bearer(requester))
    assert twice.status_code == 200 and twice.json()["blocked"] is True
    assert (await client.post(f"{base}/block", headers=bearer(requester))).status_code == 200
    for action in ("worker.unblock", "worker.block"):  # one entry each, not one a call
        audit = (await client.get(f"/api/audit?project_id={pid}&action={action}",
                                  headers=bearer(requester))).json()["data"]
        assert len(audit) == (1 if action == "worker.unblock" else 2), (action, audit)
    nobody = await client.post(f"/api/projects/{pid}/workers/999999/block", headers=bearer(requester))
    assert nobody.status_code == 404
    _, fresh = await make_user("worker", "never-worked")
    fresh_id = (await client.get("/api/users/me", headers=bearer(fresh))).json()["id"]
    r = await client.post(f"/api/projects/{pid}/workers/{fresh_id}/block", headers=bearer(requester))
    assert r.status_code == 200  # blocked before their first task
    assert (await client.post(f"/api/projects/{pid}/next", headers=bearer(fresh))).status_code == 403


async def test_a_project_is_deleted_by_its_name_as_the_page_shows_it(client, requester, new_project):
    """Settings shows the name to type; a page shows a run of white space as one space and a keyboard types composed
    letters, so a name such as 'launch  plan' or one written with a combining accent could not be typed back: its
    project could not be deleted from the console. Another name, or the same in another case, is still refused."""
    from urllib.parse import quote

    for name, typed in (("launch  plan ", "launch plan"), ("Cafe\u0301\u00a0menu\nQ3", "Caf\u00e9 menu Q3"),
                        ("  Tabs\tand\u3000gaps", "Tabs and gaps")):
        project = await new_project(name=name)
        url = f"/api/projects/{project['id']}?confirm="
        for wrong in (typed.upper(), typed + " x", typed.replace(" ", "")):
            r = await client.delete(url + quote(wrong), headers=bearer(requester))
            assert r.status_code == 400 and r.json()["error"]["field"] == "confirm", (wrong, r.text)
        assert (await client.get(f"/api/projects/{project['id']}", headers=bearer(requester))).status_code == 200
        r = await client.delete(url + quote(typed), headers=bearer(requester))
        assert r.status_code == 200, (name, r.text)
        assert (await client.get(f"/api/projects/{project['id']}", headers=bearer(requester))).status_code == 404


@pytest.mark.parametrize("query,field", [("confirm=doomed&confirm=doomed", "confirm"), ("confirm=doomed&foo=1", "foo"),
                                         ("confirm=other&confirm=doomed", "confirm")])
async def test_a_project_deletion_s_query_is_strict_like_every_query(client, requester, new_project, query, field):
    """A repeated confirm was read as its last value and an unknown parameter was passed over: the project was
    deleted where every other query string (README: 'unknown or repeated ones refused') is a 400."""
    project = await new_project(name="doomed")
    r = await client.delete(f"/api/projects/{project['id']}?{query}", headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["field"] == field, r.text
    assert (await client.get(f"/api/projects/{project['id']}", headers=bearer(requester))).status_code == 200


async def test_an_operation_without_query_parameters_refuses_one_by_name(client, requester, make_user):
    """Every API operation without a query model took any query string unseen: `DELETE /api/teams/1?confirm=x`
    deleted the team, a misspelt option passed unnoticed. Each now refuses it by name, before it does anything."""
    from labeling import api

    await make_user("worker", "crewmate")
    team = await client.post("/api/teams", json={"name": "crew", "members": ["crewmate"]}, headers=bearer(requester))
    assert team.status_code == 201, team.text
    r = await client.delete(f"/api/teams/{team.json()['id']}?confirm=crew", headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["field"] == "confirm", r.text
    assert "takes no query parameters" in r.json()["error"]["message"]
    assert (await client.get(f"/api/teams/{team.json()['id']}", headers=bearer(requester))).status_code == 200
    for op in api.OPS:
        if op.query is None and "{" not in op.path and op.path not in ("/api/openapi.json", "/api/health"):
            r = await client.request(op.method, op.path + "?dry_run=1", headers=bearer(requester))
            assert r.status_code in (400, 403), (op.method, op.path, r.status_code, r.text)
            if r.status_code == 400:
                assert r.json()["error"]["field"] == "dry_run", (op.path, r.text)
