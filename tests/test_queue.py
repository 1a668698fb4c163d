"""Queue rules over the API: redundancy from distinct workers, skips, leases, order, caps, idempotency, gold."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from labeling import models
from tests.conftest import bearer, text_tasks


async def _next(client, token, project_id):
    return await client.post(f"/api/projects/{project_id}/next", headers=bearer(token))


async def _submit(client, token, assignment_id, answer, key=None):
    headers = {**bearer(token), **({"Idempotency-Key": key} if key else {})}
    return await client.post(f"/api/assignments/{assignment_id}/submit", json={"answer": answer}, headers=headers)


async def _annotations(db) -> int:
    async with db.read() as conn:
        return await conn.scalar(select(func.count()).select_from(models.annotations))


@pytest.fixture
async def workers(make_user):
    return [(await make_user("worker", f"w{i}"))[1] for i in range(6)]


async def test_each_task_gets_redundancy_answers_from_distinct_workers(client, requester, new_project, workers):
    project = await new_project(tasks=text_tasks(1), redundancy=2)
    pid = project["id"]
    first = await _next(client, workers[0], pid)
    assert first.status_code == 200
    lease = first.json()
    assert set(lease) >= {"assignment_id", "task", "expires_at"} and lease["task"]["data"] == {"text": "item 0"}
    again = await _next(client, workers[0], pid)
    assert again.json()["assignment_id"] == lease["assignment_id"], "a live lease is handed back, not a new one"
    assert (await _submit(client, workers[0], lease["assignment_id"], {"label": "pos"})).status_code == 201
    assert (await _next(client, workers[0], pid)).status_code == 204, "never the same task twice"
    second = (await _next(client, workers[1], pid)).json()
    assert second["task"]["id"] == lease["task"]["id"]
    r = await _submit(client, workers[1], second["assignment_id"], {"label": "pos"})
    assert r.status_code == 201 and r.json()["task_complete"] is True
    assert (await _next(client, workers[2], pid)).status_code == 204
    progress = (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]
    assert progress["complete"] == 1 and progress["annotations"] == 2 and progress["remaining"] == 0
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert results[0]["answer"] == {"label": "pos"} and results[0]["n_annotations"] == 2
    assert 0.5 < results[0]["confidence"] < 1.0


async def test_a_fully_leased_task_is_not_handed_out(client, new_project, workers):
    project = await new_project(tasks=text_tasks(1), redundancy=2)
    assert (await _next(client, workers[0], project["id"])).status_code == 200
    assert (await _next(client, workers[1], project["id"])).status_code == 200
    assert (await _next(client, workers[2], project["id"])).status_code == 204


async def test_skipped_tasks_never_come_back_to_that_worker(client, new_project, workers):
    project = await new_project(tasks=text_tasks(1), redundancy=1)
    lease = (await _next(client, workers[0], project["id"])).json()
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/skip", headers=bearer(workers[0]))
    assert r.status_code == 200
    assert (await _next(client, workers[0], project["id"])).status_code == 204
    assert (await _next(client, workers[1], project["id"])).json()["task"]["id"] == lease["task"]["id"]
    late = await _submit(client, workers[0], lease["assignment_id"], {"label": "pos"})
    assert late.status_code == 409


async def test_released_lease_goes_back_to_the_queue(client, new_project, workers):
    project = await new_project(tasks=text_tasks(1), redundancy=1)
    lease = (await _next(client, workers[0], project["id"])).json()
    assert (await _next(client, workers[1], project["id"])).status_code == 204
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/release", headers=bearer(workers[0]))
    assert r.status_code == 200
    assert (await _next(client, workers[1], project["id"])).status_code == 200


async def test_a_second_release_is_a_404_saying_the_lease_is_gone_and_a_used_lease_a_409_naming_its_state(
        client, db, new_project, workers):
    """Release deletes the lease (as if never taken): a second one, a retry after a lost answer say, finds nothing.
    It answered "no assignment N of yours", which read like a wrong id; now it says the lease is gone, in words that
    are the same for another worker's live lease (nothing revealed). A submitted or skipped lease is kept: 409."""
    project = await new_project(tasks=text_tasks(3), redundancy=1)
    lease = (await _next(client, workers[0], project["id"])).json()
    url = f"/api/assignments/{lease['assignment_id']}/release"
    assert (await client.post(url, headers=bearer(workers[0]))).status_code == 200
    again = await client.post(url, headers=bearer(workers[0]))
    assert again.status_code == 404, again.text
    error = again.json()["error"]
    assert error["field"] == "assignment_id" and "a released lease is gone" in error["message"], error
    theirs = (await _next(client, workers[1], project["id"])).json()["assignment_id"]
    for other in (theirs, 999999999):  # another worker's live lease, an id that never was: the same words
        r = await client.post(f"/api/assignments/{other}/release", headers=bearer(workers[0]))
        assert r.status_code == 404 and r.json()["error"]["message"] == error["message"].replace(
            str(lease["assignment_id"]), str(other)), r.text
    done = (await _next(client, workers[0], project["id"])).json()
    assert (await _submit(client, workers[0], done["assignment_id"], {"label": "pos"})).status_code == 201
    for action in ("release", "renew"):  # a used lease stays, with its state: 409 naming it, both ways
        r = await client.post(f"/api/assignments/{done['assignment_id']}/{action}", headers=bearer(workers[0]))
        assert r.status_code == 409 and "submitted" in r.json()["error"]["message"], (action, r.text)


async def test_expired_lease_is_refused_and_reclaimed_by_the_next_claim(client, db, new_project, workers):
    project = await new_project(tasks=text_tasks(1), redundancy=1, lease_seconds=1)
    lease = (await _next(client, workers[0], project["id"])).json()
    await asyncio.sleep(1.2)
    r = await _submit(client, workers[0], lease["assignment_id"], {"label": "pos"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "lease_expired"
    assert await _annotations(db) == 0
    other = await _next(client, workers[1], project["id"])
    assert other.status_code == 200 and other.json()["task"]["id"] == lease["task"]["id"]
    renew = await client.post(f"/api/assignments/{lease['assignment_id']}/renew", headers=bearer(workers[0]))
    assert renew.status_code == 409, "the slot went to another worker"


async def test_renew_takes_back_an_expired_lease_when_the_slot_is_free(client, new_project, workers):
    project = await new_project(tasks=text_tasks(1), redundancy=2, lease_seconds=1)
    lease = (await _next(client, workers[0], project["id"])).json()
    await asyncio.sleep(1.2)
    other = await _next(client, workers[1], project["id"])  # reclaims the expired lease; one slot stays free
    assert other.json()["task"]["id"] == lease["task"]["id"]
    renewed = await client.post(f"/api/assignments/{lease['assignment_id']}/renew", headers=bearer(workers[0]))
    assert renewed.status_code == 200 and renewed.json()["task"]["id"] == lease["task"]["id"]
    assert renewed.json()["expires_in"] > 0.5
    assert (await _next(client, workers[2], project["id"])).status_code == 204, "both slots are leased again"
    assert (await _submit(client, workers[0], lease["assignment_id"], {"label": "neg"})).status_code == 201


async def test_renew_extends_an_expired_lease_nobody_reclaimed(client, new_project, workers):
    project = await new_project(tasks=text_tasks(1), redundancy=1, lease_seconds=1)
    lease = (await _next(client, workers[0], project["id"])).json()
    await asyncio.sleep(1.2)
    renewed = await client.post(f"/api/assignments/{lease['assignment_id']}/renew", headers=bearer(workers[0]))
    assert renewed.status_code == 200
    assert (await _next(client, workers[1], project["id"])).status_code == 204
    assert (await _submit(client, workers[0], lease["assignment_id"], {"label": "neg"})).status_code == 201


async def test_serving_order_partly_done_then_priority_then_import_order(client, new_project, workers):
    tasks = [{"data": {"text": "low"}, "priority": 0}, {"data": {"text": "high"}, "priority": 5},
             {"data": {"text": "low2"}, "priority": 0}]
    project = await new_project(tasks=tasks, redundancy=2)
    pid = project["id"]
    lease = (await _next(client, workers[0], pid)).json()
    assert lease["task"]["data"]["text"] == "high"
    await _submit(client, workers[0], lease["assignment_id"], {"label": "pos"})
    lease = (await _next(client, workers[0], pid)).json()
    assert lease["task"]["data"]["text"] == "low"
    await _submit(client, workers[0], lease["assignment_id"], {"label": "pos"})
    # worker 1: "high" and "low" are partly done, so they come before the fresh "low2"
    texts = []
    for _ in range(3):
        lease = (await _next(client, workers[1], pid)).json()
        texts.append(lease["task"]["data"]["text"])
        await _submit(client, workers[1], lease["assignment_id"], {"label": "pos"})
    assert texts == ["high", "low", "low2"]


async def test_live_lease_cap_per_worker(app, client, new_project, workers):
    from dataclasses import replace

    app.state.labeling.settings = replace(app.state.labeling.settings, max_leases_per_worker=2)
    projects = [await new_project(tasks=text_tasks(1)) for _ in range(3)]
    assert (await _next(client, workers[0], projects[0]["id"])).status_code == 200
    assert (await _next(client, workers[0], projects[1]["id"])).status_code == 200
    r = await _next(client, workers[0], projects[2]["id"])
    assert r.status_code == 409 and r.json()["error"]["field"] == "assignment_id"


async def test_live_lease_cap_holds_for_a_worker_the_server_remembers(app, client, new_project, workers):
    """A worker's second claim in a project may skip the read (the server remembers the first): the cap holds."""
    from dataclasses import replace

    app.state.labeling.settings = replace(app.state.labeling.settings, max_leases_per_worker=2)
    first, other, third = [await new_project(tasks=text_tasks(2), redundancy=1) for _ in range(3)]
    lease = (await _next(client, workers[0], first["id"])).json()
    assert (await _submit(client, workers[0], lease["assignment_id"], {"label": "pos"})).status_code == 201
    assert (await _next(client, workers[0], other["id"])).status_code == 200
    assert (await _next(client, workers[0], third["id"])).status_code == 200
    r = await _next(client, workers[0], first["id"])
    assert r.status_code == 409 and r.json()["error"]["field"] == "assignment_id"


async def test_a_remembered_worker_claim_still_reclaims_expired_leases(client, new_project, workers):
    project = await new_project(tasks=text_tasks(2), redundancy=1, lease_seconds=1)
    mine = (await _next(client, workers[1], project["id"])).json()
    assert (await _submit(client, workers[1], mine["assignment_id"], {"label": "pos"})).status_code == 201
    lost = (await _next(client, workers[0], project["id"])).json()
    await asyncio.sleep(1.2)
    again = await _next(client, workers[1], project["id"])
    assert again.status_code == 200 and again.json()["task"]["id"] == lost["task"]["id"]


async def test_invalid_answer_names_the_field_and_keeps_the_lease(client, db, new_project, workers):
    project = await new_project(tasks=text_tasks(1))
    lease = (await _next(client, workers[0], project["id"])).json()
    r = await _submit(client, workers[0], lease["assignment_id"], {"label": "maybe"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "answer.label"
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answr": {}},
                          headers=bearer(workers[0]))
    assert r.status_code == 400 and r.json()["error"]["field"] in ("answr", "answer")
    assert await _annotations(db) == 0
    assert (await _submit(client, workers[0], lease["assignment_id"], {"label": "neu"})).status_code == 201


async def test_submit_is_idempotent_with_a_key(client, db, new_project, workers):
    project = await new_project(tasks=text_tasks(1), redundancy=2)
    lease = (await _next(client, workers[0], project["id"])).json()
    first = await _submit(client, workers[0], lease["assignment_id"], {"label": "pos"}, key="k-1")
    again = await _submit(client, workers[0], lease["assignment_id"], {"label": "pos"}, key="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["annotation_id"] == again.json()["annotation_id"]
    assert again.headers.get("idempotent-replayed") == "true"
    assert await _annotations(db) == 1
    other_key = await _submit(client, workers[0], lease["assignment_id"], {"label": "pos"}, key="k-2")
    assert other_key.status_code == 409
    assert await _annotations(db) == 1


async def test_only_the_lease_holder_may_submit(client, new_project, workers):
    project = await new_project(tasks=text_tasks(1))
    lease = (await _next(client, workers[0], project["id"])).json()
    r = await _submit(client, workers[1], lease["assignment_id"], {"label": "pos"})
    assert r.status_code == 404
    assert (await _submit(client, workers[0], 999999, {"label": "pos"})).status_code == 404


async def test_gold_tasks_come_first_and_score_workers(client, db, requester, new_project, workers):
    gold = [{"data": {"text": f"gold {i}"}, "gold": {"label": "pos"}} for i in range(2)]
    project = await new_project(tasks=gold + text_tasks(3), redundancy=1, gold_first_n=2)
    pid = project["id"]
    seen = []
    for _ in range(2):
        lease = (await _next(client, workers[0], pid)).json()
        seen.append(lease["task"]["data"]["text"])
        assert "gold" not in lease["task"], "gold tasks look like any other"
        await _submit(client, workers[0], lease["assignment_id"], {"label": "pos"})
    assert sorted(seen) == ["gold 0", "gold 1"]
    lease = (await _next(client, workers[0], pid)).json()
    assert lease["task"]["data"]["text"].startswith("item")
    quality = (await client.get(f"/api/projects/{pid}/quality", headers=bearer(requester))).json()
    me = [w for w in quality["workers"] if w["n_annotations"] >= 2][0]
    assert me["gold_accuracy"] == 1.0


async def test_a_released_gold_task_does_not_use_up_the_qualification(client, new_project, workers):
    # Release is "as if never taken": the labeling page releases on leaving and takes the task back on a reload, and
    # neither may cost the worker a gold task of the first gold_first_n.
    gold = [{"data": {"text": f"gold {i}"}, "gold": {"label": "pos"}} for i in range(2)]
    project = await new_project(tasks=gold + text_tasks(3), redundancy=1, gold_first_n=2)
    pid = project["id"]
    for _ in range(2):  # taken and handed back twice: as many claims as the qualification has gold tasks
        lease = (await _next(client, workers[0], pid)).json()
        assert lease["task"]["data"]["text"].startswith("gold")
        r = await client.post(f"/api/assignments/{lease['assignment_id']}/release", headers=bearer(workers[0]))
        assert r.status_code == 200
    seen = []
    for _ in range(2):
        lease = (await _next(client, workers[0], pid)).json()
        seen.append(lease["task"]["data"]["text"])
        assert (await _submit(client, workers[0], lease["assignment_id"], {"label": "pos"})).status_code == 201
    assert sorted(seen) == ["gold 0", "gold 1"]
    assert (await _next(client, workers[0], pid)).json()["task"]["data"]["text"].startswith("item")


async def test_workers_below_the_gold_threshold_are_stopped_and_left_out(client, db, requester, new_project, workers):
    gold = [{"data": {"text": f"gold {i}"}, "gold": {"label": "pos"}} for i in range(3)]
    project = await new_project(tasks=gold + text_tasks(2), redundancy=1, gold_first_n=1, gold_fraction=0.0,
                                gold_min=2, gold_threshold=0.6)
    pid = project["id"]
    bad = workers[0]
    # gold first, then a regular task (which completes with the bad answer), then... blocked after 2nd gold
    lease = (await _next(client, bad, pid)).json()
    assert lease["task"]["data"]["text"].startswith("gold")
    await _submit(client, bad, lease["assignment_id"], {"label": "neg"})
    lease = (await _next(client, bad, pid)).json()
    assert lease["task"]["data"]["text"].startswith("item")
    await _submit(client, bad, lease["assignment_id"], {"label": "neg"})
    progress = (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]
    assert progress["complete"] == 1
    await client.patch(f"/api/projects/{pid}", json={"gold_fraction": 1.0}, headers=bearer(requester))
    lease = (await _next(client, bad, pid)).json()
    assert lease["task"]["data"]["text"].startswith("gold")
    await _submit(client, bad, lease["assignment_id"], {"label": "neg"})
    r = await _next(client, bad, pid)
    assert r.status_code == 403 and r.json()["error"]["code"] == "worker_blocked"
    assert r.json()["error"]["message"].startswith("your gold-task accuracy in this project is below its threshold")
    progress = (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]
    assert progress["complete"] == 0, "the blocked worker's answer no longer completes the task"
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert results == []


async def test_mixed_in_gold_comes_only_while_the_worker_has_regular_work(client, requester, new_project, workers):
    # Gold mixed into the stream had been served after a worker's regular work was done, whenever the draw asked
    # for gold: the labeling page said "no more tasks", and "check again" then showed a task. The first
    # gold_first_n gold tasks (a qualification) are served whatever is left.
    gold = [{"data": {"text": f"gold {i}"}, "gold": {"label": "pos"}} for i in range(6)]
    project = await new_project(tasks=gold + text_tasks(2), redundancy=1, gold_first_n=1, gold_fraction=0.0,
                                gold_min=100)
    pid = project["id"]
    seen = []
    while (r := await _next(client, workers[0], pid)).status_code == 200:
        seen.append(r.json()["task"]["data"]["text"].split()[0])
        await _submit(client, workers[0], r.json()["assignment_id"], {"label": "pos"})
    assert seen == ["gold", "item", "item"]
    # Every claim now asks for gold, and five gold tasks are left, but this worker's regular work is done.
    r = await client.patch(f"/api/projects/{pid}", json={"gold_fraction": 1.0}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    assert [(await _next(client, workers[0], pid)).status_code for _ in range(5)] == [204] * 5
    # Another worker, with the regular tasks still open to them (redundancy 1 is met, so none is): also none.
    r = await _next(client, workers[1], pid)
    assert r.status_code == 200 and r.json()["task"]["data"]["text"].startswith("gold")  # their qualification
    await _submit(client, workers[1], r.json()["assignment_id"], {"label": "pos"})
    assert (await _next(client, workers[1], pid)).status_code == 204
    # More regular work brings the mixed-in gold back.
    r = await client.post(f"/api/projects/{pid}/tasks", json=[{"data": {"text": "item new"}}], headers=bearer(requester))
    assert r.status_code == 201, r.text
    r = await _next(client, workers[0], pid)
    assert r.status_code == 200 and r.json()["task"]["data"]["text"].startswith("gold")
    # A qualification is served with no regular work at all.
    only_gold = await new_project(name="qualification", tasks=gold[:2], gold_first_n=2)
    r = await _next(client, workers[2], only_gold["id"])
    assert r.status_code == 200 and r.json()["task"]["data"]["text"].startswith("gold")


async def test_adaptive_redundancy_collects_more_answers_until_confident(client, requester, new_project, workers):
    project = await new_project(tasks=text_tasks(1), redundancy={"min": 2, "max": 4, "target_confidence": 0.9})
    pid = project["id"]
    answers = ["pos", "neg", "pos", "pos"]
    complete_after = None
    for i, label in enumerate(answers):
        r = await _next(client, workers[i], pid)
        if r.status_code == 204:
            break
        done = (await _submit(client, workers[i], r.json()["assignment_id"], {"label": label})).json()["task_complete"]
        if done:
            complete_after = i + 1
            break
    assert complete_after is not None and complete_after > 2, "a split vote asks for more answers"
    assert (await _next(client, workers[5], pid)).status_code == 204
    result = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"][0]
    assert result["answer"] == {"label": "pos"} and result["n_annotations"] == complete_after


async def test_unanimous_answers_stop_at_min_when_confident(client, requester, new_project, workers):
    project = await new_project(tasks=text_tasks(1), redundancy={"min": 2, "max": 5, "target_confidence": 0.6})
    pid = project["id"]
    for i in range(2):
        lease = (await _next(client, workers[i], pid)).json()
        r = await _submit(client, workers[i], lease["assignment_id"], {"label": "neg"})
    assert r.json()["task_complete"] is True


async def test_concurrent_nexts_of_one_worker_share_one_lease(client, db, new_project, workers):
    project = await new_project(tasks=text_tasks(20), redundancy=1)
    replies = await asyncio.gather(*(_next(client, workers[0], project["id"]) for _ in range(8)))
    assert [r.status_code for r in replies] == [200] * 8
    assert len({r.json()["assignment_id"] for r in replies}) == 1, "one live lease per worker and project"
    async with db.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(models.assignments)) == 1
        assert await conn.scalar(select(func.sum(models.tasks.c.n_leased))) == 1
        assert await conn.scalar(select(models.project_workers.c.n_claims)) == 1


async def test_concurrent_nexts_of_one_worker_for_the_last_task_share_its_lease(client, db, new_project, workers):
    project = await new_project(tasks=text_tasks(1), redundancy=1)
    replies = await asyncio.gather(*(_next(client, workers[0], project["id"]) for _ in range(8)))
    assert [r.status_code for r in replies] == [200] * 8, "none is told there is nothing left"
    assert len({r.json()["assignment_id"] for r in replies}) == 1


async def test_concurrent_submits_of_one_lease_store_one_answer(client, db, new_project, workers):
    project = await new_project(tasks=text_tasks(2), redundancy=1)
    lease = (await _next(client, workers[0], project["id"])).json()
    same_key = await asyncio.gather(*(_submit(client, workers[0], lease["assignment_id"], {"label": "pos"}, key="k")
                                      for _ in range(6)))
    assert [r.status_code for r in same_key] == [201] * 6
    assert len({r.json()["annotation_id"] for r in same_key}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in same_key) == 5
    lease = (await _next(client, workers[0], project["id"])).json()
    keys = await asyncio.gather(*(_submit(client, workers[0], lease["assignment_id"], {"label": "neg"}, key=f"k{i}")
                                  for i in range(6)))
    assert sorted(r.status_code for r in keys) == [201] + [409] * 5
    assert await _annotations(db) == 2
    async with db.read() as conn:
        done = (await conn.execute(select(models.tasks.c.n_done, models.tasks.c.n_leased, models.tasks.c.state))).all()
        assert sorted(tuple(row) for row in done) == [(1, 0, 1), (1, 0, 1)]


async def test_an_answer_is_judged_by_the_project_as_it_is_when_submitted(client, requester, new_project, workers):
    """The server may remember a lease it handed out; the project's settings as they are at the submit decide."""
    project = await new_project(tasks=text_tasks(2), redundancy=1)
    patch = f"/api/projects/{project['id']}"
    lease = (await _next(client, workers[0], project["id"])).json()
    r = await client.patch(patch, json={"labels": ["pos", "neg", "neu", "meh"]}, headers=bearer(requester))
    assert r.status_code == 200
    assert (await _submit(client, workers[0], lease["assignment_id"], {"label": "meh"})).status_code == 201

    gold = [{"data": {"text": "gold"}, "gold": {"label": "pos"}}]
    strict = await new_project(tasks=gold + text_tasks(3), redundancy=1, gold_first_n=1, gold_min=1,
                               gold_threshold=0)
    lease = (await _next(client, workers[1], strict["id"])).json()
    assert lease["task"]["data"] == {"text": "gold"}
    r = await client.patch(f"/api/projects/{strict['id']}", json={"gold_threshold": 0.9}, headers=bearer(requester))
    assert r.status_code == 200
    assert (await _submit(client, workers[1], lease["assignment_id"], {"label": "neg"})).status_code == 201
    r = await _next(client, workers[1], strict["id"])
    assert r.status_code == 403, "the threshold raised after the lease was handed out applies to its answer"


async def test_a_block_that_failed_after_its_gold_answer_is_made_up_by_the_settle_sweep(client, db, requester,
                                                                                       new_project, workers,
                                                                                       monkeypatch):
    from labeling import annotations

    gold = [{"data": {"text": f"gold {i}"}, "gold": {"label": "pos"}} for i in range(2)]
    project = await new_project(tasks=gold + text_tasks(2), redundancy=1, gold_first_n=2, gold_min=2,
                                gold_threshold=0.6)
    pid, bad = project["id"], workers[0]
    real = annotations.block_worker
    monkeypatch.setattr(annotations, "block_worker", lambda *a: (_ for _ in ()).throw(RuntimeError("deadlock")))
    for _ in range(2):  # two wrong gold answers: the block they call for fails (logged, the answers kept)
        lease = (await _next(client, bad, pid)).json()
        assert (await _submit(client, bad, lease["assignment_id"], {"label": "neg"})).status_code == 201
    monkeypatch.setattr(annotations, "block_worker", real)
    assert (await _next(client, bad, pid)).status_code == 200  # not blocked yet: the regular task is leased
    await annotations.settle_left_over(db)
    r = await _next(client, bad, pid)
    assert r.status_code == 403 and r.json()["error"]["code"] == "worker_blocked", r.text
    async with db.read() as conn:
        reasons = (await conn.execute(select(models.audit_log.c.details).where(
            models.audit_log.c.action == "worker.block", models.audit_log.c.project_id == pid))).scalars().all()
    assert [d["reason"] for d in reasons] == ["gold accuracy below the project's threshold (made up by the settle sweep)"]
    await annotations.settle_left_over(db)  # once blocked, the sweep leaves the worker be
    async with db.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(models.audit_log).where(
            models.audit_log.c.action == "worker.block")) == 1


async def test_a_worker_the_requester_blocked_is_told_so_not_that_their_gold_accuracy_fell(client, requester,
                                                                                              new_project, make_user):
    """The message a blocked worker got always blamed their gold accuracy, even with a perfect gold record or none."""
    project = await new_project(tasks=[{"data": {"text": "gold"}, "gold": {"label": "pos"}}] + text_tasks(3),
                                redundancy=1, gold_first_n=1, gold_min=1, gold_threshold=0.5)
    pid = project["id"]
    perfect, perfect_token = await make_user("worker", "perfect")
    fresh, fresh_token = await make_user("worker", "fresh")
    lease = (await _next(client, perfect_token, pid)).json()
    assert lease["task"]["data"]["text"] == "gold"
    await _submit(client, perfect_token, lease["assignment_id"], {"label": "pos"})
    for user, token in ((perfect, perfect_token), (fresh, fresh_token)):  # the second has no gold record at all
        r = await client.post(f"/api/projects/{pid}/workers/{user['id']}/block", headers=bearer(requester))
        assert r.status_code == 200, r.text
        r = await _next(client, token, pid)
        assert r.status_code == 403 and r.json()["error"]["code"] == "worker_blocked"
        assert r.json()["error"]["message"] == ("the project's requester has stopped your work in it, so it gives you "
                                                "no more tasks")


async def test_a_worker_blocked_mid_task_is_told_of_the_block_when_they_submit_not_that_the_lease_ran_out(
        client, db, requester, new_project, make_user):
    """A block ends the worker's leases; their submit was answered "the lease on this task expired", and only the
    renewal that followed said why. The answer is not stored either way."""
    project = await new_project(tasks=text_tasks(2), redundancy=1)
    pid = project["id"]
    user, token = await make_user("worker", "midtask")
    lease = (await _next(client, token, pid)).json()
    r = await client.post(f"/api/projects/{pid}/workers/{user['id']}/block", headers=bearer(requester))
    assert r.status_code == 200, r.text
    r = await _submit(client, token, lease["assignment_id"], {"label": "pos"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "worker_blocked", r.text
    assert r.json()["error"]["message"] == ("the project's requester has stopped your work in it, so this answer was "
                                            "not saved")
    assert await _annotations(db) == 0
