"""`labeling serve --demo`: logins with passwords and tokens, answers seeded through the queue, one transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import bearer, sign_in_form

from labeling import annotations, demo, resources


async def _count(db, sql: str) -> int:
    async with db.read() as conn:
        return int(await conn.scalar(text(sql)) or 0)


_sign_in = sign_in_form


async def test_demo_logins_work_and_results_quality_and_rankings_are_not_empty(settings, db, client):
    info = await demo.load(settings, db, resources.sample_tasks_dir())
    # The same demo on every start and on both databases (which claims take gold is seeded per project; it drew
    # from the process's random numbers, 143 to 152 answers from one start to the next). Change with sample_tasks/.
    assert len(info["projects"]) == 8 and info["seeded_answers"] == 148
    for name in ("requester", "worker"):
        r = await client.get("/api/users/me", headers=bearer(info[f"{name}_token"]))
        assert r.status_code == 200 and r.json()["username"] == info[name]
    r = await _sign_in(client, info["requester"], info["requester_password"])
    assert r.status_code == 303, r.text
    client.cookies.clear()
    r = await _sign_in(client, info["worker"], info["worker_password"])
    assert r.status_code == 303, r.text
    headers = bearer(info["requester_token"])
    listed = (await client.get("/api/projects?limit=100", headers=headers)).json()["data"]
    assert len(listed) == 8
    for project in listed:
        results = (await client.get(f"/api/projects/{project['id']}/results", headers=headers)).json()["data"]
        assert results, f"{project['name']}: no consensus yet"
        quality = (await client.get(f"/api/projects/{project['id']}/quality", headers=headers)).json()
        assert len(quality["workers"]) >= 2 and {w["username"] for w in quality["workers"]} <= set(demo.SEEDERS)
        assert quality["progress"]["remaining"] > 0, f"{project['name']}: nothing left for the demo worker"
    classification = next(p for p in listed if p["task_type"] == "text_classification")
    quality = (await client.get(f"/api/projects/{classification['id']}/quality", headers=headers)).json()
    matrix = quality["confusion"]["matrix"]
    assert sum(map(sum, matrix)) > sum(matrix[i][i] for i in range(len(matrix))) > 0, "some disagreement, mostly not"
    # The demo worker has every project still to do, and the worker UI's own shape of answers.
    assert await _count(db, "SELECT count(*) FROM annotations a JOIN users u ON u.id = a.worker_id "
                            "WHERE u.username = 'demo-worker'") == 0
    ranking = next(p for p in listed if p["task_type"] == "preference_ranking")
    tasks = (await client.get(f"/api/projects/{ranking['id']}/tasks?state=complete", headers=headers)).json()["data"]
    detail = (await client.get(f"/api/projects/{ranking['id']}/tasks/{tasks[0]['id']}", headers=headers)).json()
    responses = {r["id"]: r for r in detail["data"]["responses"]}
    assert all(r.get("model") for r in responses.values()), "the leaderboard needs the models behind the responses"
    orders = set()
    for answer in detail["annotations"]:
        meta = answer["meta"]
        assert sorted(meta["shown_order"]) == sorted(responses) and set(meta["letters"]) == set(responses)
        assert answer["duration_ms"] > 0
        orders.add(tuple(meta["shown_order"]))
    assert len(orders) > 1, "each worker saw the responses in its own order"
    # The projects' consensus has been computed once: every worker of a project with an agreement figure has one,
    # so the console's project list shows agreement from the first look.
    assert await _count(db, "SELECT count(*) FROM audit_log WHERE action = 'project.recompute'") == 8
    assert await _count(db, "SELECT count(*) FROM project_workers pw JOIN projects p ON p.id = pw.project_id "
                            "WHERE p.task_type <> 'demonstration' AND pw.agreement IS NULL") == 0
    assert await _count(db, "SELECT count(*) FROM project_workers WHERE agreement IS NOT NULL") >= 14


async def test_a_second_start_loads_nothing_again_and_gives_fresh_logins(settings, db, client):
    first = await demo.load(settings, db, resources.sample_tasks_dir())
    answers = await _count(db, "SELECT count(*) FROM annotations")
    second = await demo.load(settings, db, resources.sample_tasks_dir())
    assert second["projects"] == [] and second["seeded_answers"] == 0
    assert await _count(db, "SELECT count(*) FROM annotations") == answers
    assert (await client.get("/api/users/me", headers=bearer(first["requester_token"]))).status_code == 401
    assert (await client.get("/api/users/me", headers=bearer(second["requester_token"]))).status_code == 200


async def test_the_demo_loads_whole_or_not_at_all(settings, db, monkeypatch):
    calls = {"n": 0}
    real = annotations.submit

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 30:
            raise RuntimeError("the disk is full")
        return real(*args, **kwargs)

    monkeypatch.setattr(annotations, "submit", failing)
    with pytest.raises(RuntimeError):
        await demo.load(settings, db, resources.sample_tasks_dir())
    for table in ("projects", "tasks", "annotations", "assignments", "users"):
        assert await _count(db, f"SELECT count(*) FROM {table}") == 0, table


async def test_quality_has_times_throughput_label_distribution_and_keeps_a_blocked_worker(settings, db, client):
    info = await demo.load(settings, db, resources.sample_tasks_dir())
    headers = bearer(info["requester_token"])
    listed = (await client.get("/api/projects?limit=100", headers=headers)).json()["data"]
    project = next(p for p in listed if p["task_type"] == "text_classification")
    url = f"/api/projects/{project['id']}/quality"
    quality = (await client.get(url, headers=headers)).json()
    answers = quality["progress"]["annotations"]
    assert sum(b["answers"] for b in quality["throughput"]["buckets"]) == answers > 0
    assert all(isinstance(w["median_ms"], int) and w["median_ms"] > 0 for w in quality["workers"])
    distribution = {d["label"]: d for d in quality["label_distribution"]}
    assert list(distribution) == ["positive", "negative", "neutral"]
    assert sum(d["answers"] for d in distribution.values()) == answers
    assert sum(d["consensus"] for d in distribution.values()) == quality["progress"]["complete"] > 0
    ben = next(w for w in quality["workers"] if w["username"] == "demo-ben")
    r = await client.post(f"/api/projects/{project['id']}/workers/{ben['worker_id']}/block", headers=headers)
    assert r.status_code == 200, r.text
    quality = (await client.get(url, headers=headers)).json()
    blocked = [w for w in quality["workers"] if w["username"] == "demo-ben"]
    assert len(blocked) == 1 and blocked[0]["blocked"] is True and blocked[0]["n_answers"] == ben["n_answers"]
    assert blocked[0]["n_annotations"] < ben["n_annotations"] == ben["n_answers"]
    assert sum(b["answers"] for b in quality["throughput"]["buckets"]) == answers, "excluded answers still arrived"
    assert sum(d["answers"] for d in quality["label_distribution"]) < answers, "only counted answers"


async def test_an_override_moves_the_quality_pages_consensus_counts_as_it_moves_the_results(settings, db, client):
    # A requester's override is the task's label in /results and every export; the quality report's label counts
    # must say the same.
    info = await demo.load(settings, db, resources.sample_tasks_dir())
    headers = bearer(info["requester_token"])
    listed = (await client.get("/api/projects?limit=100", headers=headers)).json()["data"]
    project = next(p for p in listed if p["task_type"] == "text_classification")
    pid = project["id"]

    async def counts() -> dict:
        quality = (await client.get(f"/api/projects/{pid}/quality", headers=headers)).json()
        return {d["label"]: d["consensus"] for d in quality["label_distribution"]}

    results = (await client.get(f"/api/projects/{pid}/results?limit=100", headers=headers)).json()["data"]
    task = next(r for r in results if r["answer"] and r["answer"]["label"] != "negative")
    before = await counts()
    r = await client.post(f"/api/projects/{pid}/tasks/{task['task_id']}/override",
                          json={"answer": {"label": "negative"}}, headers=headers)
    assert r.status_code == 200, r.text
    after = await counts()
    assert after["negative"] == before["negative"] + 1
    assert after[task["answer"]["label"]] == before[task["answer"]["label"]] - 1
