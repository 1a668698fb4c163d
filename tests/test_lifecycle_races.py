"""A requester changing a project, its tasks or its workers while workers hold leases on it, answer and change
answers: the queue's rules still hold afterwards (no task collects more answers than it wants, a complete task's
consensus counts every counted answer, counters equal the rows), the same on SQLite and PostgreSQL.

The interleavings are made in one order by the requests' order (each request commits before the next starts): no
timing is involved.
"""

from __future__ import annotations

import pytest

from tests.conftest import PG_URL, bearer, raw_writes, text_tasks
from tests.live import violations


async def _leases(client, project_id: int, tokens: list[str]) -> list[dict]:  # noqa: ANN001
    out = []
    for token in tokens:
        r = await client.post(f"/api/projects/{project_id}/next", headers=bearer(token))
        assert r.status_code == 200, r.text
        out.append(r.json())
    return out


async def _submit(client, token: str, assignment_id: int, label: str = "pos"):  # noqa: ANN001, ANN202
    return await client.post(f"/api/assignments/{assignment_id}/submit", json={"answer": {"label": label}},
                             headers=bearer(token))


@pytest.mark.parametrize("answered_first", [1, 0])
async def test_a_lower_redundancy_hands_back_the_leases_its_tasks_no_longer_want(
        client, db, requester, new_project, make_user, answered_first):
    """Three workers hold leases on a task wanting 3 answers; the requester lowers the redundancy (to 1 after one
    answer, to 2 before any): the task collects no more answers than it now wants, and its consensus counts them
    all. Before, the surplus leases stayed live and their submits were stored past the redundancy, on a complete
    task whose consensus left them out."""
    project = await new_project(tasks=text_tasks(1), redundancy=3)
    pid = project["id"]
    tokens = [(await make_user("worker"))[1] for _ in range(3)]
    leases = await _leases(client, pid, tokens)
    for token, lease in zip(tokens[:answered_first], leases[:answered_first]):
        assert (await _submit(client, token, lease["assignment_id"])).status_code == 201
    lowered = 1 if answered_first else 2
    r = await client.patch(f"/api/projects/{pid}", json={"redundancy": lowered}, headers=bearer(requester))
    assert r.status_code == 200, r.text

    statuses = [(await _submit(client, token, lease["assignment_id"])).status_code
                for token, lease in zip(tokens[answered_first:], leases[answered_first:])]
    assert statuses.count(201) == lowered - answered_first, statuses
    refused = [s for s in statuses if s != 201]
    assert refused and set(refused) == {409}, statuses
    late = await _submit(client, tokens[-1], leases[-1]["assignment_id"])
    assert late.status_code == 409 and late.json()["error"]["code"] == "lease_expired", late.text

    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert [row["n_annotations"] for row in results] == [lowered]
    progress = (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]
    assert progress["annotations"] == lowered and progress["complete"] == 1 and progress["live_leases"] == 0
    audit = (await client.get("/api/audit", params={"project_id": pid, "action": "project.update"},
                              headers=bearer(requester))).json()["data"]
    assert [entry["details"] for entry in audit] == [{"changed": ["redundancy"], "leases_released": 3 - lowered}]
    assert await violations(db) == []


async def test_a_lower_redundancy_keeps_the_leases_its_tasks_still_want(client, db, requester, new_project,
                                                                         make_user):
    """Only the surplus goes back: a task wanting 2 answers of 3 leases keeps two of them (the oldest, none run
    out), each of which may still answer."""
    project = await new_project(tasks=text_tasks(1), redundancy=3)
    pid = project["id"]
    tokens = [(await make_user("worker"))[1] for _ in range(3)]
    leases = await _leases(client, pid, tokens)
    r = await client.patch(f"/api/projects/{pid}", json={"redundancy": 2}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    assert (await _submit(client, tokens[0], leases[0]["assignment_id"])).status_code == 201
    assert (await _submit(client, tokens[1], leases[1]["assignment_id"])).status_code == 201
    newest = await _submit(client, tokens[2], leases[2]["assignment_id"])
    assert newest.status_code == 409 and newest.json()["error"]["code"] == "lease_expired", newest.text
    assert await violations(db) == []


async def test_an_answer_counted_again_hands_back_the_lease_taken_to_replace_it(client, db, requester, new_project,
                                                                                make_user):
    """The requester leaves an answer out, a third worker takes the task to replace it, then the requester counts
    the answer again: the task has its two answers and is complete, and the replacement lease goes back. Before,
    the third answer was stored on the complete task (3 answers of 2 wanted) and its consensus left it out."""
    project = await new_project(tasks=text_tasks(1), redundancy=2)
    pid = project["id"]
    tokens = [(await make_user("worker"))[1] for _ in range(3)]
    leases = await _leases(client, pid, tokens[:2])
    task_id = leases[0]["task"]["id"]
    answers = [(await _submit(client, token, lease["assignment_id"])).json()["annotation_id"]
               for token, lease in zip(tokens, leases)]
    exclude = f"/api/projects/{pid}/tasks/{task_id}/answers/{answers[0]}/exclude"
    assert (await client.post(exclude, json={"excluded": True}, headers=bearer(requester))).status_code == 200
    [replacement] = await _leases(client, pid, tokens[2:])
    counted = await client.post(exclude, json={"excluded": False}, headers=bearer(requester))
    assert counted.status_code == 200 and counted.json()["state"] == "complete", counted.text

    late = await _submit(client, tokens[2], replacement["assignment_id"], "neg")
    assert late.status_code == 409 and late.json()["error"]["code"] == "lease_expired", late.text
    renewed = await client.post(f"/api/assignments/{replacement['assignment_id']}/renew", headers=bearer(tokens[2]))
    assert renewed.status_code == 409, renewed.text
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert [row["n_annotations"] for row in results] == [2]
    assert await violations(db) == []


async def _gold_first(client, new_project, make_user, n_gold: int) -> tuple[int, dict, str, dict]:
    """A project whose workers first get two gold tasks (of n_gold), and a worker holding the first of them:
    (project id, user, token, lease)."""
    tasks = [{"data": {"text": f"gold {i}"}, "gold": {"label": "pos"}} for i in range(n_gold)] + text_tasks(3)
    project = await new_project(tasks=tasks, redundancy=1, gold_first_n=2, gold_fraction=0.0, gold_threshold=0.0)
    user, worker = await make_user("worker")
    [lease] = await _leases(client, project["id"], [worker])
    assert lease["task"]["data"]["text"].startswith("gold")
    return project["id"], user, worker, lease


async def _two_gold_then_work(client, db, pid: int, worker: str) -> None:
    """The worker's next three tasks are the two gold tasks gold_first_n=2 promises, then regular work."""
    served = []
    for _ in range(3):
        [lease] = await _leases(client, pid, [worker])
        served.append(lease["task"]["data"]["text"].split()[0])
        assert (await _submit(client, worker, lease["assignment_id"])).status_code == 201
    assert served == ["gold", "gold", "item"]
    assert await violations(db) == []


async def test_deleted_tasks_take_their_claims_from_the_workers_standing(client, db, requester, new_project,
                                                                        make_user):
    """A worker's first gold_first_n claims are gold (a qualification); a gold task they took and the requester then
    deleted no longer counts among them, as a released lease does not: the worker still gets gold_first_n gold
    tasks that exist. Before, the deleted task's claim stayed counted (project_workers.n_claims above the
    assignments left) and the worker got one gold task fewer."""
    pid, _, worker, first = await _gold_first(client, new_project, make_user, n_gold=3)
    assert (await _submit(client, worker, first["assignment_id"])).status_code == 201
    deleted = await client.request("DELETE", f"/api/projects/{pid}/tasks", headers=bearer(requester),
                                   json={"task_ids": [first["task"]["id"]], "confirm": True})
    assert deleted.status_code == 200 and deleted.json()["deleted"] == 1, deleted.text
    assert await violations(db) == []
    await _two_gold_then_work(client, db, pid, worker)


@pytest.mark.parametrize("how", ["archive", "deactivate"])
async def test_leases_given_back_all_at_once_leave_no_claim_counted(client, db, admin, requester, new_project,
                                                                    make_user, how):
    """Archiving a project, or deactivating a worker, gives their live leases back as if each was released: the
    worker's claim count loses them too, so a worker who held a qualification gold task when it happened still
    gets gold_first_n gold tasks afterwards. Before, the claims stayed counted (project_workers.n_claims above
    the worker's assignments) and the worker got one gold task fewer."""
    pid, user, worker, held = await _gold_first(client, new_project, make_user, n_gold=2)
    if how == "archive":
        for status in ("archived", "active"):
            r = await client.patch(f"/api/projects/{pid}", json={"status": status}, headers=bearer(requester))
            assert r.status_code == 200, r.text
    else:
        for action in ("deactivate", "reactivate"):
            r = await client.post(f"/api/users/{user['id']}/{action}", headers=bearer(admin))
            assert r.status_code == 200, r.text
    gone = await _submit(client, worker, held["assignment_id"])
    assert gone.status_code == 404, gone.text  # given back as if released: no such lease of theirs any more
    assert await violations(db) == []
    await _two_gold_then_work(client, db, pid, worker)


async def test_the_same_redundancy_sent_again_keeps_the_answers_asked_of_a_task(client, db, requester, new_project,
                                                                               make_user):
    """The requester asks one task for one more answer, then saves the settings with the redundancy unchanged (a
    settings form sends it with the instructions): the task still wants its extra answer. Before, the unchanged
    redundancy was applied again: the task's need fell back to it and it was completed at once, short of the
    answer asked for, which no worker was then given."""
    project = await new_project(tasks=text_tasks(1), redundancy=1)
    pid = project["id"]
    first, second = [(await make_user("worker"))[1] for _ in range(2)]
    [lease] = await _leases(client, pid, [first])
    assert (await _submit(client, first, lease["assignment_id"])).status_code == 201
    task_id = lease["task"]["id"]
    more = await client.post(f"/api/projects/{pid}/tasks/{task_id}/more-answers", headers=bearer(requester))
    assert more.status_code == 200 and more.json()["state"] == "open", more.text
    r = await client.patch(f"/api/projects/{pid}", json={"redundancy": 1, "instructions": "Read it all."},
                           headers=bearer(requester))
    assert r.status_code == 200, r.text
    [extra] = await _leases(client, pid, [second])
    assert extra["task"]["id"] == task_id
    assert (await _submit(client, second, extra["assignment_id"])).status_code == 201
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert [row["n_annotations"] for row in results] == [2]
    assert await violations(db) == []


async def test_removing_a_blocked_workers_answers_keeps_them_blocked(client, db, requester, new_project, make_user):
    """The requester blocks a worker, then removes their answers: the answers go, the block stays (the worker's
    next request is still refused, and an unblock still finds them blocked). Before, their standing went whole with
    their answers, block included, and they could work in the project again at once."""
    project = await new_project(tasks=text_tasks(4), redundancy=1)
    pid = project["id"]
    worker, token = await make_user("worker")
    [lease] = await _leases(client, pid, [token])
    assert (await _submit(client, token, lease["assignment_id"])).status_code == 201
    url = f"/api/projects/{pid}/workers/{worker['id']}"
    assert (await client.post(f"{url}/block", headers=bearer(requester))).status_code == 200
    removed = await client.delete(f"{url}/answers", params={"confirm": "true"}, headers=bearer(requester))
    assert removed.status_code == 200 and removed.json()["answers_deleted"] == 1, removed.text

    refused = await client.post(f"/api/projects/{pid}/next", headers=bearer(token))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "worker_blocked", refused.text
    quality = (await client.get(f"/api/projects/{pid}/quality", headers=bearer(requester))).json()
    assert [(w["n_answers"], w["blocked"]) for w in quality["workers"]] == [(0, True)]
    assert await violations(db) == []
    assert (await client.post(f"{url}/unblock", headers=bearer(requester))).status_code == 200
    assert (await client.post(f"/api/projects/{pid}/next", headers=bearer(token))).status_code == 200


async def test_a_new_minimum_keeps_the_lease_an_adaptive_task_still_wants(client, db, requester, new_project,
                                                                          make_user):
    """An adaptive task not confident after three answers wants a fourth, and a worker holds the lease for it; the
    requester raises the minimum to three: the task, settled again, still wants its fourth answer, so that lease
    stays and its answer is taken (the surplus is counted after the settle, not before it)."""
    spec = {"min": 2, "max": 4, "target_confidence": 0.99}
    project = await new_project(tasks=text_tasks(1), redundancy=spec)
    pid = project["id"]
    tokens = [(await make_user("worker"))[1] for _ in range(4)]
    for token, label in zip(tokens[:3], ("pos", "neg", "neu")):
        [lease] = await _leases(client, pid, [token])
        assert (await _submit(client, token, lease["assignment_id"], label)).status_code == 201
    [fourth] = await _leases(client, pid, tokens[3:])
    r = await client.patch(f"/api/projects/{pid}", json={"redundancy": {**spec, "min": 3}},
                           headers=bearer(requester))
    assert r.status_code == 200, r.text
    done = await _submit(client, tokens[3], fourth["assignment_id"])
    assert done.status_code == 201, done.text
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert [row["n_annotations"] for row in results] == [4]
    assert await violations(db) == []


async def test_a_submit_racing_a_lower_redundancy_waits_and_finds_its_lease_handed_back(
        client, db, requester, new_project, make_user, monkeypatch):
    """The lower redundancy holds the project (PostgreSQL: its transaction open, the leases already handed back) while
    a worker submits on a lease it hands back: the submit waits for it and is refused as expired, storing nothing;
    a claim at that moment waits too and finds nothing left. SQLite's single writer runs them in that order."""
    from labeling import queue
    from tests.test_write_races import race

    project = await new_project(tasks=text_tasks(1), redundancy=2)
    pid = project["id"]
    tokens = [(await make_user("worker"))[1] for _ in range(3)]
    leases = await _leases(client, pid, tokens[:2])
    assert (await _submit(client, tokens[0], leases[0]["assignment_id"])).status_code == 201

    def lowering():  # noqa: ANN202
        return client.patch(f"/api/projects/{pid}", json={"redundancy": 1}, headers=bearer(requester))

    def submitting():  # noqa: ANN202
        return _submit(client, tokens[1], leases[1]["assignment_id"])

    lowered, submitted = await race(db, monkeypatch, (queue, "hand_back_surplus"), lowering, submitting)
    assert lowered.status_code == 200, lowered.text
    assert submitted.status_code == 409 and submitted.json()["error"]["code"] == "lease_expired", submitted.text
    assert (await client.post(f"/api/projects/{pid}/next", headers=bearer(tokens[2]))).status_code == 204
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert [row["n_annotations"] for row in results] == [1]
    assert await violations(db) == []


async def test_an_adaptive_project_made_fixed_at_its_minimum_gives_its_tasks_that_minimum(client, db, requester,
                                                                                         new_project, make_user):
    """Adaptive redundancy raised a split task's need to 3; the requester makes the project fixed at 2, its minimum:
    the task is complete with its two answers and no third worker is given it. Sending the same redundancy again
    changes nothing, but a new maximum or target is a change (a guard on the minimum alone kept the task wanting 3)."""
    project = await new_project(tasks=text_tasks(1), redundancy={"min": 2, "max": 4, "target_confidence": 0.99})
    pid = project["id"]
    tokens = [(await make_user("worker"))[1] for _ in range(3)]
    for token, label in zip(tokens, ("pos", "neg")):
        [lease] = await _leases(client, pid, [token])
        assert (await _submit(client, token, lease["assignment_id"], label)).status_code == 201
    r = await client.patch(f"/api/projects/{pid}", json={"redundancy": 2}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    nothing = await client.post(f"/api/projects/{pid}/next", headers=bearer(tokens[2]))
    assert nothing.status_code == 204, nothing.text
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert [row["n_annotations"] for row in results] == [2]
    assert await violations(db) == []


@pytest.mark.parametrize("change", [{"min": 2, "max": 4, "target_confidence": 0.6},
                                    {"min": 2, "max": 5, "target_confidence": 0.5}])
async def test_a_new_target_or_a_higher_maximum_keeps_the_answer_asked_of_a_task(client, db, requester, new_project,
                                                                               make_user, change):
    """The requester asks one more answer of a task; then changes the adaptive target, or raises the maximum: the
    task still wants its extra answer (they set no task's need; a new minimum does, a lower maximum caps it)."""
    project = await new_project(tasks=text_tasks(1), redundancy={"min": 2, "max": 4, "target_confidence": 0.5})
    pid = project["id"]
    tokens = [(await make_user("worker"))[1] for _ in range(3)]
    for token in tokens[:2]:
        [lease] = await _leases(client, pid, [token])
        assert (await _submit(client, token, lease["assignment_id"])).status_code == 201
    task_id = lease["task"]["id"]
    more = await client.post(f"/api/projects/{pid}/tasks/{task_id}/more-answers", headers=bearer(requester))
    assert more.status_code == 200 and more.json()["state"] == "open", more.text
    r = await client.patch(f"/api/projects/{pid}", json={"redundancy": change}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    [extra] = await _leases(client, pid, tokens[2:])
    assert extra["task"]["id"] == task_id
    assert (await _submit(client, tokens[2], extra["assignment_id"])).status_code == 201
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert [row["n_annotations"] for row in results] == [3]
    assert await violations(db) == []


async def _sweep_locked_while_held(app, client, db, monkeypatch, stale_id: int, where: tuple, change, claim) -> list:
    """Run `change()` held just after `where` returns, while `claim()` (a claim whose worker has an expired lease
    to sweep in the project, read afresh as after a restart) runs: whether the sweep held the expired lease
    `stale_id` meanwhile (the deadlock's first half: it then waits for the task the change holds). PostgreSQL."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from tests.test_write_races import race

    async with raw_writes(db) as conn:  # the lease runs out
        await conn.execute(text("UPDATE assignments SET expires_at = 0 WHERE id = :a"), {"a": stale_id})
    app.state.labeling.memory.hints.clear()
    locked = []

    async def while_held(racing):  # noqa: ANN001, ANN202
        try:
            async with raw_writes(db) as conn:
                await conn.execute(text("SELECT id FROM assignments WHERE id = :a FOR NO KEY UPDATE NOWAIT"),
                                   {"a": stale_id})
        except DBAPIError:
            locked.append(stale_id)

    changed, claimed = await race(db, monkeypatch, where, change, claim, held=while_held)
    assert changed.status_code == 200 and claimed.status_code in (200, 204), (changed.text, claimed.text)
    assert await violations(db) == []
    return locked


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL's row locks; SQLite's single writer runs one change at a time")
async def test_a_lower_redundancy_holds_the_lease_sweep_off_so_a_claim_does_not_deadlock_with_it(
        app, client, db, requester, new_project, make_user, monkeypatch):
    """A lower redundancy locks the open tasks, then hands surplus leases back; a claim's sweep of expired leases
    locked an expired lease, then waited for its task: the two deadlocked once the change went on to the leases (a
    second's stall, one retried). Held before the hand-back, the change now keeps the sweep off: the expired lease
    is locked by no one, and the claim waits for the project instead."""
    from labeling import annotations

    project = await new_project(tasks=text_tasks(2), redundancy=2)
    pid = project["id"]
    tokens = [(await make_user("worker"))[1] for _ in range(2)]
    [first] = await _leases(client, pid, tokens[1:])  # the claiming worker has answered (its row in the project)
    assert (await _submit(client, tokens[1], first["assignment_id"])).status_code == 201
    [stale] = await _leases(client, pid, tokens[:1])
    assert stale["task"]["id"] == first["task"]["id"]
    locked = await _sweep_locked_while_held(
        app, client, db, monkeypatch, stale["assignment_id"], (annotations, "settle_ready"),
        lambda: client.patch(f"/api/projects/{pid}", json={"redundancy": 1}, headers=bearer(requester)),
        lambda: client.post(f"/api/projects/{pid}/next", headers=bearer(tokens[1])))
    assert locked == [], "the claim's sweep held the expired lease while the change held its task"


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL's row locks; SQLite's single writer runs one change at a time")
@pytest.mark.parametrize("review", ["include", "override"])
async def test_a_review_holds_the_lease_sweep_off_so_a_claim_does_not_deadlock_with_it(
        app, client, db, requester, new_project, make_user, monkeypatch, review):
    """An answer counted again, or an override, locks its task and then the task's leases (one handed back, or all
    expired); a claim's sweep locked an expired lease of the task and then waited for the task: a deadlock, as with
    a lower redundancy. The review now holds the sweep off before it locks the task."""
    from labeling import queue

    tasks = [{"data": {"text": "first"}, "priority": 1}, {"data": {"text": "second"}}]
    project = await new_project(tasks=tasks, redundancy=2)
    pid = project["id"]
    a, b, c, d = [(await make_user("worker"))[1] for _ in range(4)]
    for token in (a, b, d):  # the first task complete with a's and b's answers, d answers the second
        [lease] = await _leases(client, pid, [token])
        submitted = await _submit(client, token, lease["assignment_id"])
        assert submitted.status_code == 201, submitted.text
        if token == b:
            task_id, excluded = lease["task"]["id"], submitted.json()["annotation_id"]
    url = f"/api/projects/{pid}/tasks/{task_id}"
    r = await client.post(f"{url}/answers/{excluded}/exclude", headers=bearer(requester))
    assert r.status_code == 200 and r.json()["changed"], r.text
    [stale] = await _leases(client, pid, [c])  # the replacement, which d's next claim sweeps once it runs out
    assert stale["task"]["id"] == task_id
    if review == "include":
        def change():  # noqa: ANN202
            return client.post(f"{url}/answers/{excluded}/exclude", json={"excluded": False}, headers=bearer(requester))
    else:
        def change():  # noqa: ANN202
            return client.post(f"{url}/override", json={"answer": {"label": "neg"}}, headers=bearer(requester))
    locked = await _sweep_locked_while_held(app, client, db, monkeypatch, stale["assignment_id"],
                                            (queue, "lock_task"), change,
                                            lambda: client.post(f"/api/projects/{pid}/next", headers=bearer(d)))
    assert locked == [], "the claim's sweep held the expired lease while the review held its task"


