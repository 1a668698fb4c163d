"""Consensus end to end over the API for every task type: results on completion, quality, project recompute."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from labeling import models
from tests.conftest import bearer, raw_writes, text_tasks
from tests.export.helpers import answer_all

TEXT = "Ada Lovelace met Charles Babbage in London."
RANKING_DATA = {"prompt": "Say hi", "responses": [{"id": "a", "text": "hi"}, {"id": "b", "text": "hello"},
                                                   {"id": "c", "text": "go away"}]}
CASES = {
    "text_classification": (["pos", "neg"], {"text": "great"},
                            [{"label": "pos"}, {"label": "pos"}, {"label": "neg"}], {"label": "pos"}),
    "text_multilabel": (["a", "b", "c"], {"text": "x"},
                        [{"labels": ["a", "b"]}, {"labels": ["a"]}, {"labels": ["a", "b"]}], {"labels": ["a", "b"]}),
    "image_classification": (["cat", "dog"], {"image": "https://example.org/x.png"},
                             [{"label": "dog"}, {"label": "dog"}, {"label": "cat"}], {"label": "dog"}),
    "image_multilabel": (["cat", "dog", "sofa"], {"image": "https://example.org/x.png"},
                         [{"labels": ["cat", "sofa"]}, {"labels": ["sofa", "cat"]}, {"labels": ["dog"]}],
                         {"labels": ["cat", "sofa"]}),
    "bounding_box": (["car"], {"image": "https://example.org/x.png"},
                     [{"boxes": [{"label": "car", "x": 10, "y": 10, "w": 50, "h": 40}]},
                      {"boxes": [{"label": "car", "x": 12, "y": 11, "w": 48, "h": 40}]},
                      {"boxes": [{"label": "car", "x": 11, "y": 9, "w": 50, "h": 42},
                                 {"label": "car", "x": 200, "y": 200, "w": 10, "h": 10}]}], None),
    "named_entities": (["PER", "LOC"], {"text": TEXT},
                       [{"spans": [{"start": 0, "end": 12, "label": "PER"}, {"start": 36, "end": 42, "label": "LOC"}]},
                        {"spans": [{"start": 0, "end": 12, "label": "PER"}]},
                        {"spans": [{"start": 0, "end": 12, "label": "PER"}, {"start": 36, "end": 42, "label": "LOC"}]}],
                       {"spans": [{"start": 0, "end": 12, "label": "PER"}, {"start": 36, "end": 42, "label": "LOC"}]}),
    "preference_ranking": ([], RANKING_DATA,
                           [{"ranking": [["b"], ["a"], ["c"]]}, {"ranking": [["a", "b"], ["c"]]},
                            {"ranking": [["b"], ["a"], ["c"]], "ratings": {"a": 5, "b": 6, "c": 1}}], None),
    "demonstration": ([], {"prompt": "Write a haiku"}, [{"text": "one"}, {"text": "two"}, {"text": "three"}], None),
}


def test_every_task_type_has_an_end_to_end_case():
    from labeling import tasktypes

    assert set(CASES) == set(tasktypes.REGISTRY)


@pytest.mark.parametrize("task_type", list(CASES))
async def test_consensus_for_every_task_type(client, requester, new_project, make_user, task_type):
    labels, data, answers, expected = CASES[task_type]
    project = await new_project(task_type=task_type, labels=labels, redundancy=3, tasks=[{"data": data}])
    pid = project["id"]
    for i, answer in enumerate(answers):
        _, token = await make_user("worker", f"{task_type}-w{i}")
        lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(token))).json()
        r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": answer},
                              headers=bearer(token))
        assert r.status_code == 201, r.text
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert len(results) == 1 and results[0]["n_annotations"] == 3 and results[0]["complete"] is True
    result = results[0]
    if expected is not None:
        assert result["answer"] == expected
    if task_type == "bounding_box":
        boxes = result["answer"]["boxes"]
        assert len(boxes) == 1, "the box only one worker drew is dropped"
        assert abs(boxes[0]["x"] - 11) <= 1.5 and abs(boxes[0]["w"] - 49.3) <= 1.5
    if task_type == "preference_ranking":
        assert result["answer"]["ranking"] == [["b"], ["a"], ["c"]]
        pairs = {(p["chosen"], p["rejected"]): p["probability"] for p in result["answer"]["pair_probabilities"]}
        assert set(pairs) == {("b", "a"), ("b", "c"), ("a", "c")}
        assert 0.5 < pairs[("b", "a")] < pairs[("b", "c")] < 1.0
        assert result["answer"]["ratings"]["b"]["median"] == 6.0
    if task_type == "demonstration":
        assert result["answer"] is None and result["confidence"] is None
    else:
        assert 0.0 < result["confidence"] <= 1.0
    quality = await client.get(f"/api/projects/{pid}/quality", headers=bearer(requester))
    assert quality.status_code == 200, quality.text
    report = quality.json()
    assert len(report["workers"]) == 3 and report["progress"]["complete"] == 1
    recompute = await client.post(f"/api/projects/{pid}/consensus", headers=bearer(requester))
    assert recompute.status_code == 200, recompute.text
    assert recompute.json()["tasks"] == 1 and recompute.json()["annotations"] == 3
    again = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"][0]
    if expected is not None:
        assert again["answer"] == expected


async def test_project_recompute_uses_dawid_skene_and_scores_workers(client, requester, new_project, make_user):
    """Two reliable workers and one who always says 'neg': after recompute the spammer's skill is lowest."""
    truth = ["pos", "neg"] * 10
    project = await new_project(labels=["pos", "neg"], redundancy=3,
                                tasks=[{"data": {"text": f"t{i}"}} for i in range(len(truth))])
    pid = project["id"]
    tokens = [(await make_user("worker", f"ds{i}"))[1] for i in range(3)]
    by_text = {f"t{i}": label for i, label in enumerate(truth)}
    for w, token in enumerate(tokens):
        while True:
            r = await client.post(f"/api/projects/{pid}/next", headers=bearer(token))
            if r.status_code == 204:
                break
            lease = r.json()
            label = "neg" if w == 2 else by_text[lease["task"]["data"]["text"]]
            await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": label}},
                              headers=bearer(token))
    r = await client.post(f"/api/projects/{pid}/consensus", json={"method": "dawid-skene"}, headers=bearer(requester))
    assert r.status_code == 200 and r.json()["method"] in ("dawid-skene", "dawid_skene")
    quality = (await client.get(f"/api/projects/{pid}/quality", headers=bearer(requester))).json()
    skills = {w["username"]: w["skill"] for w in quality["workers"]}
    assert skills["ds2"] < min(skills["ds0"], skills["ds1"])
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert all(r["answer"]["label"] == by_text[f"t{r['task_id'] - 1}"] for r in results)
    agreement = quality["agreement"]
    assert agreement["krippendorff_alpha"] is not None and agreement["fleiss_kappa"] is not None


async def test_a_task_left_unsettled_is_settled_at_start_up_and_by_recompute(app, client, db, requester, new_project,
                                                                             make_user):
    """A task left open with all its answers (a server stopped between storing the last answer and settling it,
    or a settle that failed) is settled by the sweep every server process runs, and by a recompute."""
    from sqlalchemy import delete, update

    from labeling import annotations, models

    project = await new_project(tasks=[{"data": {"text": f"t{i}"}} for i in range(2)], redundancy=1)
    worker = (await make_user("worker", "w-left"))[1]
    for _ in range(2):
        lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))).json()
        r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                              headers=bearer(worker))
        assert r.json()["task_complete"] is True
    async with raw_writes(db) as conn:  # both tasks as a stop between the two statements leaves them
        await conn.execute(update(models.tasks).values(state=0))
        await conn.execute(delete(models.task_results))
        await conn.execute(update(models.project_counters).values(n_complete=0))

    async def progress() -> dict:
        return (await client.get(f"/api/projects/{project['id']}", headers=bearer(requester))).json()["progress"]

    assert (await progress())["complete"] == 0
    assert await annotations.settle_left_over(db) == 2
    assert (await progress())["complete"] == 2
    assert await annotations.settle_left_over(db) == 0, "settled once, counted once"
    async with raw_writes(db) as conn:
        await conn.execute(update(models.tasks).values(state=0))
        await conn.execute(update(models.project_counters).values(n_complete=0))
    r = await client.post(f"/api/projects/{project['id']}/consensus", headers=bearer(requester))
    assert r.status_code == 200
    assert (await progress())["complete"] == 2


async def _two_answers(client, new_project, make_user, **settings):
    project = await new_project(tasks=[{"data": {"text": "t"}}], redundancy=2, **settings)
    tokens = [(await make_user("worker", f"w-settle-{i}"))[1] for i in range(2)]
    leases = [(await client.post(f"/api/projects/{project['id']}/next", headers=bearer(t))).json() for t in tokens]
    return project, tokens, leases


async def test_a_stale_settle_changes_nothing(client, db, requester, new_project, make_user):
    """A settle that read its counters before a blocked worker's answer left the task must not complete it."""
    from types import SimpleNamespace

    from sqlalchemy import delete, update

    from labeling import annotations, models, queue

    project, tokens, leases = await _two_answers(client, new_project, make_user)
    for token, lease in zip(tokens, leases):
        r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                              headers=bearer(token))
        assert r.status_code == 201
    task_id = leases[0]["task"]["id"]
    async with raw_writes(db) as conn:  # as block_worker leaves it: the first answer out, the task open again
        await conn.execute(update(models.annotations).where(models.annotations.c.assignment_id
                                                            == leases[0]["assignment_id"]).values(excluded=True))
        await conn.execute(update(models.tasks).values(state=0, n_done=1))
        await conn.execute(delete(models.task_results))
        await conn.execute(update(models.project_counters).values(n_complete=0))
    stale = SimpleNamespace(n_done=2, needed=2, state=0)  # what the second submit's statement had returned

    def settle(tx):
        return annotations.settle_task(tx, queue.load_project(tx, queue.Memory(), project["id"]), task_id,
                                       counters=stale)

    assert await db.transact(settle, per_statement=True) is False
    async with db.read() as conn:
        assert (await conn.execute(select_state(models, task_id))).one() == (0, 1)
        assert (await conn.execute(models.task_results.select())).all() == []


def select_state(models, task_id):
    from sqlalchemy import select

    return select(models.tasks.c.state, models.tasks.c.n_done).where(models.tasks.c.id == task_id)


async def test_a_failed_settle_does_not_lose_a_stored_answer(client, db, requester, new_project, make_user,
                                                             monkeypatch, caplog):
    """The answer is stored first: if settling after it fails, only the settle is undone, the submit still answers
    201, and the sweep settles the task later. The same on both databases."""
    from sqlalchemy import func, select

    from labeling import annotations, models

    project, tokens, leases = await _two_answers(client, new_project, make_user)
    first = await client.post(f"/api/assignments/{leases[0]['assignment_id']}/submit",
                              json={"answer": {"label": "pos"}}, headers=bearer(tokens[0]))
    assert first.status_code == 201
    real_aggregate = annotations.consensus.aggregate_task

    def broken(*args, **kwargs):
        raise RuntimeError("consensus blew up")

    monkeypatch.setattr(annotations.consensus, "aggregate_task", broken)
    r = await client.post(f"/api/assignments/{leases[1]['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                          headers=bearer(tokens[1]))
    assert r.status_code == 201 and r.json()["task_complete"] is False
    assert "blocking or settling after it failed" in caplog.text
    async with db.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(models.annotations)) == 2
        assert await conn.scalar(select(func.count()).select_from(models.task_results)) == 0
        assert (await conn.execute(select(models.tasks.c.state, models.tasks.c.n_done))).one() == (0, 2)
    progress = (await client.get(f"/api/projects/{project['id']}", headers=bearer(requester))).json()["progress"]
    assert progress["complete"] == 0 and progress["annotations"] == 2
    monkeypatch.setattr(annotations.consensus, "aggregate_task", real_aggregate)
    assert await annotations.settle_left_over(db) == 1
    progress = (await client.get(f"/api/projects/{project['id']}", headers=bearer(requester))).json()["progress"]
    assert progress["complete"] == 1 and progress["annotations"] == 2


async def test_a_large_projects_quality_is_measured_on_a_sample_with_exact_counts(client, requester, new_project,
                                                                                  make_user, monkeypatch):
    from labeling.consensus import runner

    project = await new_project(tasks=[{"data": {"text": f"t{i}"}, "external_id": f"t{i}"} for i in range(12)],
                                redundancy=3, labels=["pos", "neg"])
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"label": "pos"}, {"label": "pos"},
                                              lambda d: {"label": "neg" if int(d["text"][1:]) % 2 else "pos"}],
                     "sampled")
    whole = (await client.get(f"/api/projects/{pid}/quality", headers=bearer(requester))).json()
    assert whole["sample"] is None and sum(map(sum, whole["confusion"]["matrix"])) == 36

    monkeypatch.setattr(runner, "QUALITY_SAMPLE_TASKS", 4)  # 12 tasks: every third task id
    r = await client.get(f"/api/projects/{pid}/quality", headers=bearer(requester))
    assert r.status_code == 200, r.text
    report = r.json()
    tasks = (await client.get(f"/api/projects/{pid}/tasks", params={"limit": 100}, headers=bearer(requester))).json()
    sampled = [t["id"] for t in tasks["data"] if t["id"] % 3 == 0]
    assert report["sample"] == {"tasks": len(sampled), "of_tasks": 12, "answers": 3 * len(sampled),
                                "of_answers": 36}
    assert sum(map(sum, report["confusion"]["matrix"])) == 3 * len(sampled)
    assert sum(item["answers"] for item in report["label_distribution"]) == 3 * len(sampled)
    assert sum(b["answers"] for b in report["throughput"]["buckets"]) == 36  # scaled to every answer
    for worker in report["workers"]:  # a worker's record is whole: 12 answers each, not the sample's
        assert worker["n_answers"] == 12 and worker["n_annotations"] == 12, worker
    assert report["progress"] == whole["progress"]
    page = await client.get(f"/console/projects/{pid}/quality", headers={**bearer(requester), "Accept": "text/html"})
    assert page.status_code == 200 and f"sample of {len(sampled)} of" in page.text and "12 tasks" in page.text


async def test_quality_shows_the_skills_the_consensus_estimated(client, db, requester, new_project, make_user,
                                                                monkeypatch):
    """/quality's `skill` (the console's "Estimated skill", "estimated by the consensus model") is the skill the
    project consensus estimated and settles weigh answers by, whether or not the report is computed on a sample:
    a project small enough to be measured whole showed another number (agreement with the consensus, shrunk),
    0.80 where the consensus had 0.73 on a real crowd."""
    from labeling.consensus import runner

    project = await new_project(tasks=[{"data": {"text": f"t{i}"}, "external_id": f"t{i}"} for i in range(12)]
                                + [{"data": {"text": f"g{i}"}, "gold": {"label": "pos"}} for i in range(2)],
                                redundancy=3, labels=["pos", "neg"], gold_first_n=2)
    pid = project["id"]
    await answer_all(client, make_user, pid, [lambda d: {"label": "pos" if int(d["text"][1:]) % 3 else "neg"},
                                              {"label": "pos"},
                                              lambda d: {"label": "neg" if int(d["text"][1:]) % 2 else "pos"}],
                     "skilled")
    r = await client.post(f"/api/projects/{pid}/consensus", headers=bearer(requester))
    assert r.status_code == 200, r.text
    async with db.read() as conn:
        pw = models.project_workers
        stored = dict((await conn.execute(sa.select(pw.c.worker_id, pw.c.skill).where(pw.c.project_id == pid))).all())
    assert len(stored) == 3 and all(skill is not None for skill in stored.values())
    whole = (await client.get(f"/api/projects/{pid}/quality", headers=bearer(requester))).json()
    assert whole["sample"] is None
    assert {w["worker_id"]: w["skill"] for w in whole["workers"]} == stored
    monkeypatch.setattr(runner, "QUALITY_SAMPLE_TASKS", 4)
    sampled = (await client.get(f"/api/projects/{pid}/quality", headers=bearer(requester))).json()
    assert sampled["sample"] is not None
    assert {w["worker_id"]: w["skill"] for w in sampled["workers"]} == stored


async def _answer(client, token, pid, label):
    lease = await client.post(f"/api/projects/{pid}/next", headers=bearer(token))
    assert lease.status_code == 200, lease.text
    r = await client.post(f"/api/assignments/{lease.json()['assignment_id']}/submit", json={"answer": {"label": label}},
                          headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


async def _weighted_completion(client, db, new_project, make_user, max_answers=5):
    """An adaptive task completed on one trusted worker's word against two others (skills set as a recompute
    would have), which a majority-vote recompute overturns."""
    project = await new_project(tasks=[{"data": {"text": "x"}, "external_id": "x"}],
                                redundancy={"min": 3, "max": max_answers, "target_confidence": 0.8})
    pid = project["id"]
    people = [await make_user("worker", f"re{pid}w{i}") for i in range(5)]
    assert (await _answer(client, people[0][1], pid, "pos"))["task_complete"] is False
    assert (await _answer(client, people[1][1], pid, "neg"))["task_complete"] is False
    await client.post(f"/api/projects/{pid}/next", headers=bearer(people[2][1]))  # its project row, then its skill
    async with raw_writes(db) as conn:
        for (user, _), skill in zip(people, (0.95, 0.55, 0.55)):
            await conn.execute(sa.update(models.project_workers).where(
                models.project_workers.c.project_id == pid, models.project_workers.c.worker_id == user["id"])
                .values(skill=skill))
    assert (await _answer(client, people[2][1], pid, "neg"))["task_complete"] is True
    return pid, people


async def test_a_recompute_asks_again_a_completed_adaptive_task_whose_answer_it_overturns(
        client, db, requester, new_project, make_user):
    pid, people = await _weighted_completion(client, db, new_project, make_user)
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert results[0]["answer"] == {"label": "pos"}, "the per-task consensus trusts the skilled worker"
    r = await client.post(f"/api/projects/{pid}/consensus", json={"method": "majority"}, headers=bearer(requester))
    assert r.status_code == 200 and r.json()["reopened"] == 1, r.text
    assert r.json()["answer_correlation"] == 0.0, "an adaptive project without gold settles untempered"
    task_id = results[0]["task_id"]
    audit = (await client.get("/api/audit", params={"action": "project.recheck"}, headers=bearer(requester))).json()
    assert [e["details"] for e in audit["data"]] == [{"reopened": 1, "task_ids": [task_id]}]
    progress = (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]
    assert progress["complete"] == 0 and progress["remaining"] == 1
    assert (await _answer(client, people[3][1], pid, "neg"))["task_complete"] is True, "one more answer settles it"
    again = await client.post(f"/api/projects/{pid}/consensus", json={"method": "majority"}, headers=bearer(requester))
    assert again.json()["reopened"] == 0, "the answer now stands"
    assert (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]["complete"] == 1


async def test_a_recompute_leaves_reviewed_tasks_full_tasks_and_fixed_projects_complete(
        client, db, requester, new_project, make_user):
    pid, _ = await _weighted_completion(client, db, new_project, make_user, max_answers=3)
    r = await client.post(f"/api/projects/{pid}/consensus", json={"method": "majority"}, headers=bearer(requester))
    assert r.json()["reopened"] == 0, "a task at its maximum is not asked again"
    pid, _ = await _weighted_completion(client, db, new_project, make_user)
    task_id = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"][0]["task_id"]
    assert (await client.post(f"/api/projects/{pid}/tasks/{task_id}/accept", headers=bearer(requester))).status_code == 200
    r = await client.post(f"/api/projects/{pid}/consensus", json={"method": "majority"}, headers=bearer(requester))
    assert r.json()["reopened"] == 0, "the requester's review stands"
    fixed = await new_project(tasks=text_tasks(1), redundancy=3)
    for i, label in enumerate(("pos", "neg", "neg")):
        await _answer(client, (await make_user("worker", f"fx{fixed['id']}w{i}"))[1], fixed["id"], label)
    r = await client.post(f"/api/projects/{fixed['id']}/consensus", headers=bearer(requester))
    assert r.status_code == 200 and r.json()["reopened"] == 0


async def test_agreement_leaves_gold_tasks_out_and_says_which_tasks_kappa_covers(client, requester, new_project,
                                                                                  make_user):
    """Every regular task has 3 answers; the gold task, served to each worker once, has 4: Fleiss' kappa is over the
    regular tasks (it was missing: the counts differed), and the quality page says which tasks it covers."""
    tasks = [{"data": {"text": f"r{i}"}} for i in range(4)] + [{"data": {"text": "g"}, "gold": {"label": "pos"}}]
    project = await new_project(labels=["pos", "neg"], redundancy=3, tasks=tasks, gold_first_n=1)
    pid = project["id"]
    answers = [{"label": "pos"}, {"label": "pos"},
               lambda d: {"label": "neg" if d["text"] in ("r1", "r2") else "pos"}, {"label": "pos"}]
    await answer_all(client, make_user, pid, answers, f"kappa{pid}")
    agreement = (await client.get(f"/api/projects/{pid}/quality", headers=bearer(requester))).json()["agreement"]
    assert agreement["fleiss_kappa"] is not None, agreement
    assert (agreement["n_tasks"], agreement["gold_tasks_left_out"]) == (4, 1)
    assert (agreement["fleiss_kappa_tasks"], agreement["fleiss_kappa_answers"]) == (4, 3)
    page = (await client.get(f"/console/projects/{pid}/quality", headers=bearer(requester))).text
    assert "Over the 4 regular tasks" in page and "the 1 gold task answered is left out" in page
    assert "every one of them has 3" in page


async def test_a_recompute_leaves_a_task_that_settled_again_after_its_read_as_it_settled(
        client, db, requester, new_project, make_user, monkeypatch):
    """Between the recompute's read and its write, an answer leaves the task (its worker blocked) and another
    comes: the task settles again. The recompute's stale consensus must neither overwrite that nor reopen it."""
    from labeling.consensus import runner

    pid, people = await _weighted_completion(client, db, new_project, make_user)  # pos (trusted), neg, neg: pos
    read = runner.doubted_tasks

    async def meanwhile(conn, project, outcomes):
        doubted = await read(conn, project, outcomes)
        assert doubted, "the majority recompute doubts the trusted worker's pos"
        r = await client.post(f"/api/projects/{pid}/workers/{people[1][0]['id']}/block", headers=bearer(requester))
        assert r.status_code == 200, r.text
        assert (await _answer(client, people[3][1], pid, "pos"))["task_complete"] is True
        return doubted

    monkeypatch.setattr(runner, "doubted_tasks", meanwhile)
    r = await client.post(f"/api/projects/{pid}/consensus", json={"method": "majority"}, headers=bearer(requester))
    assert r.status_code == 200 and r.json()["reopened"] == 0, r.text
    result = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"][0]
    assert result["answer"] == {"label": "pos"} and result["n_annotations"] == 3, "the newer settle stands"
    assert (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]["complete"] == 1


async def _answer_by(client, token, pid, pick):
    """Lease the next task and answer it with pick(task data)."""
    lease = await client.post(f"/api/projects/{pid}/next", headers=bearer(token))
    assert lease.status_code == 200, lease.text
    r = await client.post(f"/api/assignments/{lease.json()['assignment_id']}/submit",
                          json={"answer": {"label": pick(lease.json()["task"]["data"])}}, headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_recompute_stores_the_answers_correlation_and_later_settles_temper_by_it(
        client, db, requester, new_project, make_user):
    from labeling.consensus import tasks as consensus_tasks

    project = await new_project(tasks=[{"data": {"text": f"t{i}"}} for i in range(12)],
                                redundancy=3, labels=["pos", "neg"])
    pid = project["id"]
    people = [await make_user("worker", f"rho{pid}w{i}") for i in range(3)]
    for j, (_, token) in enumerate(people):  # every task splits 2-1: the answers agree less than skills predict
        for _ in range(12):
            await _answer_by(client, token, pid, lambda data, j=j: "neg" if (int(data["text"][1:]) + j) % 3 == 0 else "pos")
    r = await client.post(f"/api/projects/{pid}/consensus", json={"method": "majority"}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    rho = r.json()["answer_correlation"]
    assert rho is not None and rho > 0.2
    async with db.engine.connect() as conn:
        stored = (await conn.execute(sa.select(models.projects.c.answer_correlation)
                                     .where(models.projects.c.id == pid))).scalar_one()
        skills = dict((await conn.execute(sa.select(models.project_workers.c.worker_id, models.project_workers.c.skill)
                                          .where(models.project_workers.c.project_id == pid))).all())
    assert stored == pytest.approx(rho)
    # A task settled after the recompute (by this same process, whose cached project row must see the new value).
    r = await client.post(f"/api/projects/{pid}/tasks", json=[{"data": {"text": "t99"}, "external_id": "late"}],
                          headers=bearer(requester))
    assert r.status_code == 201, r.text
    for _, token in people:
        await _answer_by(client, token, pid, lambda data: "pos")
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    settled = next(x for x in results if x["external_id"] == "late")
    ids = [user["id"] for user, _ in people]
    answers = [{"label": "pos"}] * 3

    def expected(correlation: float) -> float:
        return consensus_tasks.aggregate_task("text_classification", answers, ids, ["pos", "neg"], skills,
                                              correlation).confidence

    assert settled["confidence"] == pytest.approx(expected(rho), abs=1e-6)
    assert settled["confidence"] < expected(0.0) - 0.01


@pytest.mark.parametrize("task_type,own", [("preference_ranking", "bradley-terry"), ("bounding_box", "weighted-boxes"),
                                           ("named_entities", "weighted-spans"), ("demonstration", "none")])
async def test_a_method_a_project_does_not_take_is_refused_before_anything_is_recorded(client, db, new_project,
                                                                                        requester, task_type, own):
    """Ranking, boxes, spans and demonstrations have one consensus method each: naming another ran theirs anyway."""
    pid = (await new_project(task_type=task_type, labels=["a"] if task_type in ("bounding_box", "named_entities")
                             else []))["id"]
    r = await client.post(f"/api/projects/{pid}/consensus", json={"method": "majority"}, headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["field"] == "method", r.text
    assert own in r.json()["error"]["message"] and "must be auto" in r.json()["error"]["message"]
    async with db.read() as conn:
        audited = await conn.scalar(sa.select(sa.func.count()).select_from(models.audit_log)
                                    .where(models.audit_log.c.action == "project.recompute"))
    assert audited == 0
    r = await client.post(f"/api/projects/{pid}/consensus", json={"method": "auto"}, headers=bearer(requester))
    assert r.status_code == 200, r.text  # auto: its own method (no answers yet: nothing to run)


async def test_a_recompute_reads_a_projects_answers_by_task_range_without_sorting_them(
        client, db, requester, new_project, make_user, monkeypatch):
    # Read with the project in the condition, SQLite walked the project's whole (project, worker) index and sorted it
    # for every page of answers: 67 s of a 72 s recompute at 600,000 answers. Pages of two tasks here, with another
    # project's tasks among the ids, so a page's range holds answers that are not the project's.
    from labeling.consensus import runner

    monkeypatch.setattr(runner, "READ_TASKS", 2)
    mine = await new_project(labels=["pos", "neg"], redundancy=2, tasks=text_tasks(2))
    other = await new_project(labels=["pos", "neg"], redundancy=2, tasks=text_tasks(2))
    later = [{"data": {"text": f"later {i}"}} for i in range(3)]
    r = await client.post(f"/api/projects/{mine['id']}/tasks", json=later, headers=bearer(requester))
    assert r.status_code == 201, r.text
    for project in (mine, other):
        await answer_all(client, make_user, project["id"], [{"label": "pos"}, {"label": "neg"}], f"p{project['id']}")
    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM annotations" in statement:
            sent.append((statement, parameters))

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        r = await client.post(f"/api/projects/{mine['id']}/consensus", json={}, headers=bearer(requester))
    finally:
        sa.event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    assert r.status_code == 200 and (r.json()["tasks"], r.json()["annotations"]) == (5, 10)
    results = (await client.get(f"/api/projects/{mine['id']}/results", headers=bearer(requester))).json()["data"]
    assert len(results) == 5 and all(res["n_annotations"] == 2 for res in results)
    assert sent
    if db.is_sqlite:
        async with db.read() as conn:
            for statement, parameters in sent:
                plan = " ".join(row[-1] for row in (await conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, parameters)).all())
                assert "TEMP B-TREE" not in plan and "ix_annotations_project_worker" not in plan, plan


async def test_a_recompute_writes_its_results_a_part_at_a_time(
        client, db, requester, new_project, make_user, monkeypatch):
    # On SQLite every claim and submit waits for the one writer: 200,000 results written in one transaction held the
    # queue of every project up for 7-13 s. Parts of two tasks here.
    from labeling import queue
    from labeling.consensus import runner

    monkeypatch.setattr(runner, "WRITE_TASKS", 2)
    project = await new_project(labels=["pos", "neg"], redundancy=2, tasks=text_tasks(5))
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"label": "pos"}, {"label": "neg"}], "parts")
    written: list[int] = []
    store = queue.store_results

    def counted(tx, project_id, results, skills, read_at):
        written.append(len(results))
        store(tx, project_id, results, skills, read_at)

    monkeypatch.setattr(queue, "store_results", counted)
    r = await client.post(f"/api/projects/{pid}/consensus", json={"method": "majority"}, headers=bearer(requester))
    assert r.status_code == 200 and r.json()["tasks"] == 5
    assert written == [2, 2, 1]
    methods = {res["method"] for res in
               (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]}
    assert methods == {"majority"}


@pytest.mark.parametrize("method", ["majority", "dawid-skene"])
async def test_the_cli_given_a_projects_labels_agrees_with_its_recompute(client, db, requester, new_project,
                                                                         make_user, tmp_path, method):
    """`labeling aggregate classification --labels` in the project's label order (a label no one chose among them)
    gives the project's labels and confidences, ties included."""
    import csv

    from tests.consensus.test_cli import run

    labels = ["pos", "neg", "meh"]
    project = await new_project(tasks=[{"data": {"text": f"t{i}"}} for i in range(10)], redundancy=2, labels=labels)
    pid = project["id"]
    people = [await make_user("worker", f"cli{pid}w{i}") for i in range(2)]
    for j, (_, token) in enumerate(people):  # tasks 0-4 tie 1-1 (pos against neg), 5-9 agree
        for _ in range(10):
            await _answer_by(client, token, pid,
                             lambda data, j=j: ("pos", "neg")[j] if int(data["text"][1:]) < 5 else "neg")
    r = await client.post(f"/api/projects/{pid}/consensus", json={"method": method}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    a = models.annotations.c
    async with db.engine.connect() as conn:
        stored = (await conn.execute(sa.select(a.task_id, a.worker_id, a.answer)
                                     .where(a.project_id == pid))).all()
    rows = sorted((task, worker, answer["label"]) for task, worker, answer in stored)
    with (tmp_path / "a.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("task", "worker", "label"), *rows])
    assert run("aggregate", "classification", str(tmp_path / "a.csv"), "--method", method,
               "--labels", ",".join(labels), "-o", str(tmp_path / "out.csv")) == 0
    cli = {int(r["task"]): (r["label"], float(r["confidence"])) for r in csv.DictReader((tmp_path / "out.csv").open())}
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    project_view = {r["task_id"]: (r["answer"]["label"], r["confidence"]) for r in results}
    assert {t: label for t, (label, _) in cli.items()} == {t: label for t, (label, _) in project_view.items()}
    for task, (_, confidence) in cli.items():
        assert confidence == pytest.approx(project_view[task][1], abs=2e-6)


@pytest.mark.parametrize("task_type, answers", [
    ("text_classification", ({"label": "pos"}, {"label": "neg"})),
    ("text_multilabel", ({"labels": ["pos"]}, {"labels": ["neg"]})),
])
async def test_a_tied_task_keeps_its_settled_answer_through_recomputes_whatever_tasks_come_beside_it(
        client, requester, new_project, make_user, task_type, answers):
    """A 1-1 tie went to the first label (a multi-label task: out) when the task settled, then at random by its row
    among all the tasks on a recompute: the answer flipped with no new answer, and could flip again when other
    tasks were added. The task's id now breaks it, in the settle and in every recompute alike."""
    project = await new_project(task_type=task_type, tasks=[{"data": {"text": f"t{i}"}} for i in range(20)],
                                redundancy=2, labels=["pos", "neg", "meh"])
    pid = project["id"]

    async def tie_everything(round_: int) -> None:
        for i, answer in enumerate(answers):
            await answer_all(client, make_user, pid, [answer], f"tie{pid}-{round_}-{i}")

    async def settled() -> dict[int, str]:
        rows = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
        return {r["task_id"]: json.dumps(r["answer"], sort_keys=True) for r in rows}

    async def recompute() -> None:
        r = await client.post(f"/api/projects/{pid}/consensus", json={"method": "majority"}, headers=bearer(requester))
        assert r.status_code == 200, r.text

    await tie_everything(1)
    seen = await settled()
    assert len(seen) == 20 and len(set(seen.values())) == 2  # by id: not every tie the same way
    await recompute()
    assert await settled() == seen
    r = await client.post(f"/api/projects/{pid}/tasks", json=[{"data": {"text": f"u{i}"}} for i in range(7)],
                          headers=bearer(requester))
    assert r.status_code == 201, r.text
    await tie_everything(2)
    before = await settled()
    await recompute()
    after = await settled()
    assert after == before and {t: after[t] for t in seen} == seen


@pytest.mark.parametrize("task_type", ["text_classification", "text_multilabel"])
async def test_a_consensus_of_many_labels_keeps_only_the_likely_ones_in_its_details(client, db, requester, new_project,
                                                                                   make_user, task_type):
    """With 40 labels, a task's details name the labels of probability 0.001 or more (a 1,000-label project stored
    a thousand near-zero numbers in every task's consensus); with 20 or fewer, every label, as before."""
    from labeling.consensus import small

    labels = [f"tag{i:02d}" for i in range(40)]
    key, answer_of = (("posteriors", lambda lab: {"label": lab}) if task_type == "text_classification"
                      else ("probabilities", lambda lab: {"labels": [lab]}))
    project = await new_project(task_type=task_type, labels=labels, redundancy=3, tasks=text_tasks(1))
    pid = project["id"]
    for i, label in enumerate(["tag03", "tag03", "tag07"]):
        _, token = await make_user("worker", f"many{pid}{task_type}{i}")
        lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(token))).json()
        r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": answer_of(label)},
                              headers=bearer(token))
        assert r.status_code == 201, r.text
    for when in ("settled", "recomputed"):
        if when == "recomputed":
            r = await client.post(f"/api/projects/{pid}/consensus", json={"method": "auto"}, headers=bearer(requester))
            assert r.status_code == 200, r.text
        async with db.engine.connect() as conn:
            details = (await conn.execute(sa.select(models.task_results.c.details)
                                          .where(models.task_results.c.project_id == pid))).scalar_one()
        kept = details[key]
        if task_type == "text_multilabel":  # the labels some answer chose; the others are each at most the max
            assert set(kept) == {"tag03", "tag07"} and details["other_labels_max"] < min(kept.values()), details
            continue
        assert {"tag03", "tag07"} <= set(kept), (when, kept)
        assert min(kept.values()) >= small.PROBABILITY_FLOOR, (when, kept)
        if when == "settled":  # (a recompute of one task tempers its evidence: every label keeps about 0.008)
            assert len(kept) < len(labels) and details["other_labels_max"] < small.PROBABILITY_FLOOR, details
    few = await new_project(task_type=task_type, labels=labels[:5], redundancy=1, tasks=text_tasks(1))
    _, token = await make_user("worker", f"few{pid}{task_type}")
    lease = (await client.post(f"/api/projects/{few['id']}/next", headers=bearer(token))).json()
    await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": answer_of("tag01")},
                      headers=bearer(token))
    async with db.engine.connect() as conn:
        details = (await conn.execute(sa.select(models.task_results.c.details)
                                      .where(models.task_results.c.project_id == few["id"]))).scalar_one()
    assert set(details[key]) == set(labels[:5]) and "other_labels_max" not in details


@pytest.mark.parametrize("task_type, answer", [("text_classification", {"label": "pos"}),
                                               ("text_multilabel", {"labels": ["pos", "meh"]})])
async def test_a_recompute_holds_one_object_for_equal_label_answers(client, db, requester, new_project, make_user,
                                                                    task_type, answer):
    """A recompute holds every answer of the project: 400 bytes each when every `{"label": "pos"}` read was its own
    dict (about 1.2 GB at 3,000,000 answers). Equal label answers are one object now, and so are the results'
    answers and equal vote counts."""
    from labeling.consensus import runner
    from labeling.consensus import tasks as consensus_tasks

    project = await new_project(task_type=task_type, tasks=[{"data": {"text": f"t{i}"}} for i in range(6)],
                                redundancy=2, labels=["pos", "neg", "meh"])
    await answer_all(client, make_user, project["id"], [answer, answer], f"share{project['id']}")
    async with db.read() as conn:
        rows, _ = await runner.load_rows(conn, project["id"])
    assert len(rows) == 12 and all(a == answer for _, _, a in rows)
    assert len({id(a) for _, _, a in rows}) == 1
    if task_type == "text_classification":
        results = consensus_tasks.aggregate_project(task_type, rows, ["pos", "neg", "meh"], method="majority").results
        assert len({id(r.answer) for r in results.values()}) == 1
        assert len({id(r.details["votes"]) for r in results.values()}) == 1
        assert next(iter(results.values())).details["votes"] == {"pos": 2}


@pytest.mark.parametrize(("overlap", "expected"), [
    ("allow", [(0, 8, "LOC"), (0, 13, "LOC"), (4, 13, "PER")]),
    ("nested", [(0, 8, "LOC"), (0, 13, "LOC")]),
])
async def test_entities_inside_each_other_stay_in_the_consensus_the_project_allows_them_in(
        client, requester, new_project, make_user, overlap, expected):
    # Both workers marked "New York City" and "New York" inside it: the settle and the recompute kept one of them,
    # whatever the project's span_overlap, and every export with them.
    answer = [{"start": 0, "end": 13, "label": "LOC"}, {"start": 0, "end": 8, "label": "LOC"}]
    if overlap == "allow":
        answer.append({"start": 4, "end": 13, "label": "PER"})  # crossing "New York": only where overlaps are allowed
    project = await new_project(task_type="named_entities", labels=["LOC", "PER"], redundancy=2,
                                options={"span_overlap": overlap, "span_unit": "character"},
                                tasks=[{"data": {"text": "New York City Hall"}}])
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"spans": answer}] * 2, f"nest-{overlap}")

    async def stored() -> list[tuple]:
        r = await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))
        assert r.status_code == 200, r.text
        return [(s["start"], s["end"], s["label"]) for s in r.json()["data"][0]["answer"]["spans"]]

    assert await stored() == expected  # the settle
    r = await client.post(f"/api/projects/{pid}/consensus", headers=bearer(requester))
    assert r.status_code == 200, r.text
    assert await stored() == expected  # the recompute


async def test_a_recompute_by_auto_says_which_method_it_picked_and_why(client, requester, new_project, make_user):
    """POST /consensus (and `labeling consensus`, which prints the same) with method auto names the rule and the
    candidates' scores beside the method it ran, as `labeling aggregate --method auto` does on standard error; it
    said only the method, so a project's requester could not tell it was chosen, nor over what."""
    project = await new_project(labels=["pos", "neg"], redundancy=3,
                                tasks=[{"data": {"text": f"t{i}"}} for i in range(12)])
    pid = project["id"]
    await answer_all(client, make_user, pid, [lambda d: {"label": "pos" if int(d["text"][1:]) % 3 else "neg"},
                                              lambda d: {"label": "pos" if int(d["text"][1:]) % 2 else "neg"},
                                              {"label": "pos"}], "auto")
    r = await client.post(f"/api/projects/{pid}/consensus", json={"method": "auto"}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    body = r.json()
    selection = body["selection"]
    assert selection["rule"] == "held-out answers" and selection["picked"] == body["method"]
    scores = selection["heldout_loglik_per_answer"]
    assert set(scores) == {"majority", "dawid-skene", "one-coin"} and body["method"] == max(scores, key=scores.get)
    named = await client.post(f"/api/projects/{pid}/consensus", json={"method": "majority"}, headers=bearer(requester))
    assert named.status_code == 200 and named.json()["method"] == "majority" and named.json()["selection"] is None
    multi = await new_project(task_type="text_multilabel", labels=["a", "b"], redundancy=2,
                              tasks=[{"data": {"text": "x"}}, {"data": {"text": "y"}}])
    await answer_all(client, make_user, multi["id"], [{"labels": ["a"]}, {"labels": ["a", "b"]}], "auto-ml")
    r = await client.post(f"/api/projects/{multi['id']}/consensus", headers=bearer(requester))
    assert r.status_code == 200, r.text
    assert r.json()["selection"]["rule"] == "per label" and set(r.json()["selection"]["picked"]) <= {"a", "b"}
    boxes = await new_project(task_type="bounding_box", labels=["car"], tasks=[{"data": {"image": "https://example.org/x.png"}}])
    r = await client.post(f"/api/projects/{boxes['id']}/consensus", headers=bearer(requester))
    assert r.status_code == 200 and r.json()["selection"] is None


async def test_a_recompute_by_auto_with_gold_says_how_each_method_did_on_it(client, requester, new_project, make_user):
    """With 10 or more answered gold tasks, auto picks by the held-out gold: the reply counts each method's right."""
    tasks = [{"data": {"text": f"t{i}"}, **({"gold": {"label": "pos" if i % 3 else "neg"}} if i < 12 else {})}
             for i in range(20)]
    pid = (await new_project(labels=["pos", "neg"], redundancy=3, tasks=tasks, gold_first_n=12))["id"]
    await answer_all(client, make_user, pid, [lambda d: {"label": "pos" if int(d["text"][1:]) % 3 else "neg"},
                                              lambda d: {"label": "pos" if int(d["text"][1:]) % 2 else "neg"},
                                              {"label": "pos"}], "auto-gold")
    r = await client.post(f"/api/projects/{pid}/consensus", json={"method": "auto"}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    selection = r.json()["selection"]
    assert selection["rule"] == "held-out gold" and selection["heldout_gold_n"] == 12
    right = selection["heldout_gold_right"]
    assert set(right) == {"majority", "dawid-skene", "one-coin"} and right[selection["picked"]] == max(right.values())
    assert r.json()["method"] == selection["picked"] + "+gold"


async def test_a_box_whose_workers_split_on_its_label_exports_with_a_split_score(client, requester, new_project,
                                                                               make_user):
    """The same box as a car and as a truck: /results and the coco export's score said 1 (the first label kept as
    if both had given it); half the workers back the car."""
    project = await new_project(task_type="bounding_box", labels=["car", "truck"], redundancy=2,
                                tasks=[{"data": {"image": "https://example.org/x.png", "width": 100, "height": 100}}])
    pid = project["id"]
    drawn = {"x": 10, "y": 10, "w": 30, "h": 20}
    await answer_all(client, make_user, pid, [{"boxes": [{"label": "car", **drawn}]},
                                              {"boxes": [{"label": "truck", **drawn}]}], "split-box")
    result = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"][0]
    assert len(result["answer"]["boxes"]) == 1 and result["confidence"] == pytest.approx(0.5)
    await client.post(f"/api/projects/{pid}/consensus", headers=bearer(requester))
    coco = (await client.get(f"/api/projects/{pid}/export?format=coco", headers=bearer(requester))).json()
    assert [a["score"] for a in coco["annotations"]] == [pytest.approx(0.5)]
