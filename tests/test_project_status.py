"""A project's status and what it allows its requester: an archived project is read-only (every change of its
content is a 409 `project_archived` until its status is set back), a paused one may still be edited. Through the
API, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from labeling import models, reviews, tasks
from labeling.auth import Principal
from labeling.errors import ProjectArchived
from tests.conftest import bearer, text_tasks
from tests.export.helpers import answer_all

UNARCHIVE = "set its status back to active or paused first"


async def _counts(db) -> dict:  # noqa: ANN001
    """Rows of every table that a project's content lives in (the audit log aside)."""
    async with db.read() as conn:
        return {t.name: await conn.scalar(select(func.count()).select_from(t)) for t in models.metadata.sorted_tables
                if t.name not in ("audit_log", "sessions", "auth_epoch")}


async def _answered(client, requester, new_project, make_user) -> dict:  # noqa: ANN001
    """A project of 2 tasks answered by 3 workers (one of them blocked): its ids."""
    project = await new_project(tasks=text_tasks(2), redundancy=3, labels=["pos", "neg"])
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"label": "pos"}, {"label": "neg"}, {"label": "neg"}], f"st{pid}")
    listed = (await client.get(f"/api/projects/{pid}/tasks", headers=bearer(requester))).json()["data"]
    task_id = listed[0]["id"]
    detail = (await client.get(f"/api/projects/{pid}/tasks/{task_id}", headers=bearer(requester))).json()
    answers = detail["annotations"]
    blocked = answers[2]["worker_id"]
    r = await client.post(f"/api/projects/{pid}/workers/{blocked}/block", headers=bearer(requester))
    assert r.status_code == 200, r.text
    return {"pid": pid, "name": project["name"], "task_id": task_id, "annotation_id": answers[0]["id"],
            "worker_id": answers[0]["worker_id"], "blocked": blocked}


def _writes(ids: dict) -> list[tuple[str, str, dict]]:
    """(method, url, request keywords) of every change of a project's content, its path filled in."""
    pid, task_id = ids["pid"], ids["task_id"]
    p = f"/api/projects/{pid}"
    t = f"{p}/tasks/{task_id}"
    lines = "\n".join(json.dumps(x) for x in text_tasks(2, priority=1)).encode()
    return [
        ("POST", f"{p}/tasks", {"json": [{"data": {"text": "late"}}]}),
        ("POST", f"{p}/tasks", {"content": lines, "headers": {"Content-Type": "application/x-ndjson"}}),
        ("POST", f"{p}/tasks", {"files": {"file": ("more.jsonl", lines, "application/octet-stream")}}),
        ("DELETE", f"{p}/tasks", {"json": {"task_ids": [task_id], "confirm": True}}),
        ("POST", f"{t}/accept", {}),
        ("POST", f"{t}/override", {"json": {"answer": {"label": "pos"}}}),
        ("POST", f"{t}/more-answers", {}),
        ("POST", f"{t}/answers/{ids['annotation_id']}/exclude", {"json": {"excluded": True}}),
        ("POST", f"{p}/consensus", {}),
        ("PUT", f"{p}/pool", {"json": {"all_workers": False, "workers": []}}),
        ("POST", f"{p}/workers/{ids['worker_id']}/block", {}),
        ("POST", f"{p}/workers/{ids['blocked']}/unblock", {}),
        ("DELETE", f"{p}/workers/{ids['worker_id']}/answers?confirm=true", {}),
        ("PATCH", p, {"json": {"name": "renamed"}}),
        ("PATCH", p, {"json": {"labels": ["pos", "neg", "new"]}}),
        ("PATCH", p, {"json": {"instructions": "new words", "status": "archived"}}),
        ("PATCH", p, {"json": {"redundancy": {"min": 1, "max": 3, "target_confidence": 0.9}}}),
    ]


async def test_an_archived_project_refuses_every_change_of_its_content_and_allows_reads(
        client, db, requester, new_project, make_user):
    ids = await _answered(client, requester, new_project, make_user)
    pid, p = ids["pid"], f"/api/projects/{ids['pid']}"
    r = await client.patch(p, json={"status": "archived"}, headers=bearer(requester))
    assert r.status_code == 200 and r.json()["status"] == "archived"
    before_view = (await client.get(p, headers=bearer(requester))).json()
    before_pool = (await client.get(f"{p}/pool", headers=bearer(requester))).json()
    before = await _counts(db)
    for method, url, kwargs in _writes(ids):
        headers = {**bearer(requester), **kwargs.pop("headers", {})}
        r = await client.request(method, url, headers=headers, **kwargs)
        assert r.status_code == 409, (method, url, r.text)
        error = r.json()["error"]
        assert error["code"] == "project_archived" and UNARCHIVE in error["message"], (method, url, error)
        assert error["field"] == ("status" if method == "PATCH" else "project_id"), (method, url, error)
    assert await _counts(db) == before
    assert (await client.get(p, headers=bearer(requester))).json() == before_view
    assert (await client.get(f"{p}/pool", headers=bearer(requester))).json() == before_pool

    # Every read stays allowed, and so does setting what is already set.
    for url in (p, f"{p}/tasks", f"{p}/tasks/{ids['task_id']}", f"{p}/results", f"{p}/quality", f"{p}/pool",
                f"{p}/export?format=jsonl", f"/api/audit?project_id={pid}"):
        r = await client.get(url, headers=bearer(requester))
        assert r.status_code == 200, (url, r.text)
    for body in ({"status": "archived"}, {"name": ids["name"], "labels": ["pos", "neg"], "status": "archived"}):
        r = await client.patch(p, json=body, headers=bearer(requester))
        assert r.status_code == 200 and r.json()["status"] == "archived", r.text
    assert await _counts(db) == before

    # Un-archiving in the same request as a change is allowed; a paused project may be edited and imported into.
    r = await client.patch(p, json={"status": "paused", "name": "renamed"}, headers=bearer(requester))
    assert r.status_code == 200 and (r.json()["status"], r.json()["name"]) == ("paused", "renamed"), r.text
    for method, url, kwargs in _writes(ids)[:1] + _writes(ids)[4:5] + _writes(ids)[9:10]:
        r = await client.request(method, url, headers=bearer(requester), **kwargs)
        assert r.status_code in (200, 201), (method, url, r.text)

    # Deleting an archived project stays allowed.
    assert (await client.patch(p, json={"status": "archived"}, headers=bearer(requester))).status_code == 200
    r = await client.delete(f"{p}?confirm=renamed", headers=bearer(requester))
    assert r.status_code == 200, r.text


async def test_each_write_checks_the_status_again_in_its_own_transaction(client, db, requester, new_project,
                                                                         make_user):
    """A project archived after a route checked it (another request, another process) still takes no change: the
    write asks again with the row it locks."""
    ids = await _answered(client, requester, new_project, make_user)
    p = f"/api/projects/{ids['pid']}"
    async with db.read() as conn:  # the row as a route read it, active, before the archive
        row = (await conn.execute(select(models.projects).where(models.projects.c.id == ids["pid"]))).first()
        owner = (await conn.execute(select(models.users).where(models.users.c.id == row.owner_id))).first()
    assert (await client.patch(p, json={"status": "archived"}, headers=bearer(requester))).status_code == 200
    actor = Principal(owner.id, owner.username, models.Role(owner.role))
    parsed = tasks.validate([("tasks[0]", {"data": {"text": "raced"}})], row.task_type, row.labels, None)
    before = await _counts(db)
    with pytest.raises(ProjectArchived):
        await db.transact(lambda tx: tasks.import_(tx, actor, row, parsed))
    with pytest.raises(ProjectArchived):
        await db.transact(lambda tx: reviews.accept(tx, actor, ids["pid"], ids["task_id"]))
    assert await _counts(db) == before


async def test_a_team_an_archived_pool_lists_may_still_change(client, requester, new_project, make_user):
    """A team is its owner's, and other pools may list it: an archived project's pool keeps listing it, and its
    members may change (an archived project hands out no work, through the team or otherwise, until un-archived; a
    409 here would leave the team frozen by every old project that lists it)."""
    a, worker = await make_user("worker")
    b, _ = await make_user("worker")
    team = (await client.post("/api/teams", json={"name": "crew", "members": [a["id"]]},
                              headers=bearer(requester))).json()
    project = await new_project(tasks=text_tasks(1))
    p = f"/api/projects/{project['id']}"
    r = await client.put(f"{p}/pool", json={"all_workers": False, "teams": [team["id"]]}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    assert (await client.patch(p, json={"status": "archived"}, headers=bearer(requester))).status_code == 200
    pool = (await client.get(f"{p}/pool", headers=bearer(requester))).json()
    t = f"/api/teams/{team['id']}"
    r = await client.post(f"{t}/members", json={"workers": [b["id"]]}, headers=bearer(requester))
    assert r.status_code == 200 and r.json()["added"] == 1, r.text
    assert (await client.delete(f"{t}/members/{a['id']}", headers=bearer(requester))).status_code == 200
    assert (await client.get(f"{p}/pool", headers=bearer(requester))).json() == pool  # it lists the team, as before
    assert (await client.get(p, headers=bearer(requester))).json()["status"] == "archived"
    assert (await client.post(f"{p}/next", headers=bearer(worker))).status_code == 404  # left the team
    assert (await client.delete(t, headers=bearer(requester))).status_code == 200


async def test_an_archived_project_takes_no_problem_report(client, requester, new_project, make_user):
    project = await new_project(tasks=text_tasks(1), redundancy=1)
    p = f"/api/projects/{project['id']}"
    _, worker = await make_user("worker", "reporter")
    lease = (await client.post(f"{p}/next", headers=bearer(worker))).json()
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                          headers=bearer(worker))
    assert r.status_code == 201, r.text
    url = f"/api/assignments/{lease['assignment_id']}/report"
    assert (await client.patch(p, json={"status": "archived"}, headers=bearer(requester))).status_code == 200
    r = await client.post(url, json={"text": "cut off"}, headers=bearer(worker))
    assert r.status_code == 409 and r.json()["error"]["code"] == "project_archived", r.text
    assert (await client.patch(p, json={"status": "paused"}, headers=bearer(requester))).status_code == 200
    assert (await client.post(url, json={"text": "cut off"}, headers=bearer(worker))).status_code == 201


def test_every_project_write_of_the_api_has_a_status_rule():
    """A new write under /api/projects/{id} must say what an archived project answers: a rule in
    policy.STATUSES, or one of the writes every status allows (its status itself, its deletion)."""
    from labeling import api, policy, web

    allowed = {"project.update", "project.delete"}  # PATCH: the status always, the rest by `project.edit`
    for op in api.OPS:
        if op.method in web.UNSAFE and op.path.startswith("/api/projects/{project_id}"):
            assert op.action in policy.STATUSES or op.action in allowed, (op.method, op.path, op.action)
    assert set(policy.CONTENT_CHANGES) - {"project.edit"} <= set(policy.RULES)
