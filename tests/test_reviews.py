"""A requester reviewing tasks: accept, override, more answers, exclude one answer (and undo), blocking, and what
/results and the exports then say. Through the API, on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import json

import pandas as pd

from tests.conftest import bearer, every_page
from tests.export.helpers import answer_all, project_with_answers


async def _task_ids(client, requester, pid: int) -> dict[str, int]:  # noqa: ANN001
    r = await client.get(f"/api/projects/{pid}/tasks", params={"limit": 100}, headers=bearer(requester))
    return {t["external_id"]: t["id"] for t in r.json()["data"]}


async def _results(client, requester, pid: int) -> dict[int, dict]:  # noqa: ANN001
    r = await client.get(f"/api/projects/{pid}/results", params={"limit": 100}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    return {row["task_id"]: row for row in r.json()["data"]}


async def _jsonl(client, requester, pid: int, **params: str) -> dict[int, dict]:  # noqa: ANN001
    r = await client.get(f"/api/projects/{pid}/export", params={"format": "jsonl", **params},
                         headers=bearer(requester))
    assert r.status_code == 200, r.text
    return {row["id"]: row for row in map(json.loads, r.text.splitlines())}


async def _split_task(client, requester, new_project, make_user, prefix: str) -> tuple[int, int, dict]:  # noqa: ANN001
    """One task answered pos, neg, neg by three workers: (project id, task id, the task's detail)."""
    project = await new_project(tasks=[{"data": {"text": "x"}, "external_id": "x"}], redundancy=3,
                                labels=["pos", "neg"])
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"label": "pos"}, {"label": "neg"}, {"label": "neg"}], prefix)
    task_id = (await _task_ids(client, requester, pid))["x"]
    detail = (await client.get(f"/api/projects/{pid}/tasks/{task_id}", headers=bearer(requester))).json()
    return pid, task_id, detail


def _url(pid: int, task_id: int, action: str) -> str:
    return f"/api/projects/{pid}/tasks/{task_id}/{action}"


async def test_override_is_the_label_of_results_and_every_export(client, requester, new_project, make_user):
    project = await project_with_answers(client, make_user, new_project, "text_classification", n=4)
    pid = project["id"]
    ids = await _task_ids(client, requester, pid)
    t0, t1 = ids["t0"], ids["t1"]  # t0: stars 0, the crowd says neg (2 of 3)
    before = await _results(client, requester, pid)
    assert before[t0]["answer"] == {"label": "neg"} and before[t0]["reviewed"] is False

    r = await client.post(_url(pid, t0, "override"), json={"answer": {"label": "pos"}}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    assert r.json()["review"] == "override" and r.json()["answer"] == {"label": "pos"}
    r = await client.post(_url(pid, t1, "accept"), headers=bearer(requester))
    assert r.status_code == 200 and r.json()["review"] == "accept"

    results = await _results(client, requester, pid)
    assert results[t0]["answer"] == {"label": "pos"} and results[t0]["crowd_answer"] == {"label": "neg"}
    assert results[t0]["reviewed"] is True and results[t1]["reviewed"] is True
    assert results[t1]["answer"] == before[t1]["answer"]

    rows = await _jsonl(client, requester, pid)
    assert rows[t0]["label"] == "pos" and rows[t0]["reviewed"] is True and rows[t0]["confidence"] == 1.0
    assert rows[t1]["reviewed"] is True and rows[ids["t2"]]["reviewed"] is False
    r = await client.get(f"/api/projects/{pid}/export", params={"format": "csv"}, headers=bearer(requester))
    frame = pd.read_csv(io.StringIO(r.text)).set_index("id")
    assert frame.loc[t0, "label"] == "pos" and bool(frame.loc[t0, "reviewed"]) is True
    r = await client.get(f"/api/projects/{pid}/export", params={"format": "manifest"}, headers=bearer(requester))
    line = next(json.loads(x) for x in r.text.splitlines() if json.loads(x)["source"] == "review 0")
    meta = next(v for k, v in line.items() if k.endswith("-metadata"))
    assert meta["class-name"] == "pos"

    # A later override replaces the review; the audit log keeps both.
    r = await client.post(_url(pid, t0, "override"), json={"answer": {"label": "neg"}}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    assert (await _jsonl(client, requester, pid))[t0]["label"] == "neg"
    audit = (await client.get("/api/audit", params={"project_id": pid}, headers=bearer(requester))).json()["data"]
    assert [e["action"] for e in audit].count("task.override") == 2


async def test_bad_review_input_names_the_field_and_stores_nothing(client, requester, new_project, make_user):
    project = await project_with_answers(client, make_user, new_project, "text_classification", n=2)
    pid = project["id"]
    t0 = (await _task_ids(client, requester, pid))["t0"]
    for body, field in (({"answer": {"label": "nope"}}, "answer.label"), ({"answer": {}}, "answer.label"),
                        ({"answer": {"label": "pos"}, "x": 1}, "x"), ({}, "answer"), ([1], "body")):
        r = await client.post(_url(pid, t0, "override"), json=body, headers=bearer(requester))
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["field"] == field, (body, r.json())
    r = await client.post(_url(pid, t0, "answers/1/exclude"), json={"excluded": "maybe"}, headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["field"] == "excluded"
    assert (await _results(client, requester, pid))[t0]["reviewed"] is False
    # Not a task of the project, not an answer of the task, not a number: 404.
    other = await project_with_answers(client, make_user, new_project, "text_classification", n=1)
    foreign = (await _task_ids(client, requester, other["id"]))["t0"]
    for url in (_url(pid, foreign, "accept"), _url(pid, 999999, "more-answers"), _url(pid, "x1", "accept"),
                _url(pid, t0, "answers/999999/exclude")):
        r = await client.post(url, headers=bearer(requester))
        assert r.status_code == 404, (url, r.text)


async def test_another_requesters_task_is_404(client, requester, new_project, make_user):
    project = await project_with_answers(client, make_user, new_project, "text_classification", n=1)
    pid = project["id"]
    t0 = (await _task_ids(client, requester, pid))["t0"]
    _, other = await make_user("requester", "someone-else")
    for action, body in (("accept", None), ("override", {"answer": {"label": "pos"}}), ("more-answers", None)):
        r = await client.post(_url(pid, t0, action), json=body, headers=bearer(other))
        assert r.status_code == 404, r.text
    assert (await _results(client, requester, pid))[t0]["reviewed"] is False


async def test_more_answers_reopens_one_task_until_its_next_answer(client, requester, new_project, make_user):
    project = await project_with_answers(client, make_user, new_project, "text_classification", n=3)
    pid = project["id"]
    ids = await _task_ids(client, requester, pid)
    t1 = ids["t1"]
    await client.post(_url(pid, t1, "accept"), headers=bearer(requester))
    r = await client.post(_url(pid, t1, "more-answers"), headers=bearer(requester))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "open" and r.json()["needed"] == 4 and r.json()["review"] is None
    progress = (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]
    assert progress["complete"] == 2
    # Only that task is served, to a new worker, and its answer completes it again.
    _, fresh = await make_user("worker", "fresh")
    lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(fresh))).json()
    assert lease["task"]["id"] == t1
    await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "neg"}},
                      headers=bearer(fresh))
    assert (await client.post(f"/api/projects/{pid}/next", headers=bearer(fresh))).status_code == 204
    result = (await _results(client, requester, pid))[t1]
    assert result["complete"] and result["n_annotations"] == 4
    assert (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]["complete"] == 3


async def test_more_answers_with_needed_is_safe_to_retry(client, requester, new_project, make_user):
    """A retried more-answers (a timeout, a double click, a second tab) asked twice: the task wanted 5 answers for
    the one more the requester meant. With `needed` (the count read, plus one) the retry finds it done: 200,
    `changed` false, nothing recorded; a count read before another change is a 409 naming `needed`. Without a body
    each call still asks for one more, as before."""
    project = await project_with_answers(client, make_user, new_project, "text_classification", n=3)
    pid = project["id"]
    t1 = (await _task_ids(client, requester, pid))["t1"]
    url = _url(pid, t1, "more-answers")
    for attempt in range(3):
        r = await client.post(url, json={"needed": 4}, headers=bearer(requester))
        assert r.status_code == 200, r.text
        assert r.json()["needed"] == 4 and r.json()["state"] == "open" and r.json()["changed"] is (attempt == 0)
    task = (await client.get(f"/api/projects/{pid}/tasks/{t1}", headers=bearer(requester))).json()
    assert task["needed"] == 4
    audit = (await client.get(f"/api/audit?project_id={pid}&action=task.more_answers",
                              headers=bearer(requester))).json()["data"]
    assert len(audit) == 1, audit
    stale = await client.post(url, json={"needed": 3}, headers=bearer(requester))
    assert stale.status_code == 409 and stale.json()["error"]["field"] == "needed", stale.text
    assert "wants 4 answers now" in stale.json()["error"]["message"] and "send needed 5" in stale.json()["error"]["message"]
    ahead = await client.post(url, json={"needed": 9}, headers=bearer(requester))
    assert ahead.status_code == 409 and ahead.json()["error"]["field"] == "needed", ahead.text
    for bad in ({"needed": 0}, {"needed": "5"}, {"needed": 5, "more": 1}):
        r = await client.post(url, json=bad, headers=bearer(requester))
        assert r.status_code == 400, (bad, r.text)
    r = await client.post(url, headers=bearer(requester))  # no body: one more, as before
    assert r.status_code == 200 and r.json()["needed"] == 5 and r.json()["changed"] is True
    assert (await client.post(url, json={}, headers=bearer(requester))).json()["needed"] == 6


async def test_excluding_an_answer_changes_the_consensus_and_undo_restores_it(client, requester, new_project,
                                                                             make_user):
    pid, task_id, detail = await _split_task(client, requester, new_project, make_user, "ex")
    assert detail["consensus"]["answer"] == {"label": "neg"}
    negs = [a["id"] for a in detail["annotations"] if a["answer"] == {"label": "neg"}]

    r = await client.post(_url(pid, task_id, f"answers/{negs[0]}/exclude"), headers=bearer(requester))
    assert r.status_code == 200 and r.json()["changed"] is True
    r = await client.post(_url(pid, task_id, f"answers/{negs[1]}/exclude"), json={"excluded": True},
                          headers=bearer(requester))
    assert r.json()["state"] == "open" and r.json()["consensus"] == {"label": "pos"}
    detail = (await client.get(f"/api/projects/{pid}/tasks/{task_id}", headers=bearer(requester))).json()
    assert [a["counted"] for a in detail["annotations"]] == [True, False, False]
    assert (await _results(client, requester, pid))[task_id]["answer"] == {"label": "pos"}
    rows = await _jsonl(client, requester, pid, include_open="true")
    assert rows[task_id]["label"] == "pos"
    r = await client.get(f"/api/projects/{pid}/export", params={"format": "annotations", "include_open": "true"},
                         headers=bearer(requester))
    assert [json.loads(x)["excluded"] for x in r.text.splitlines()] == [False, True, True]

    # Excluding again changes nothing; counting them again gives the first consensus back, complete.
    r = await client.post(_url(pid, task_id, f"answers/{negs[0]}/exclude"), headers=bearer(requester))
    assert r.json()["changed"] is False
    for annotation_id in negs:
        r = await client.post(_url(pid, task_id, f"answers/{annotation_id}/exclude"), json={"excluded": False},
                              headers=bearer(requester))
        assert r.status_code == 200 and r.json()["changed"] is True
    assert r.json()["state"] == "complete" and r.json()["consensus"] == {"label": "neg"}
    assert (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]["complete"] == 1


async def test_blocking_a_worker_takes_their_answers_out_of_consensus_at_once(client, requester, new_project,
                                                                            make_user):
    pid, task_id, detail = await _split_task(client, requester, new_project, make_user, "bl")
    negs = [a for a in detail["annotations"] if a["answer"] == {"label": "neg"}]
    for answer in negs:
        r = await client.post(f"/api/projects/{pid}/workers/{answer['worker_id']}/block", headers=bearer(requester))
        assert r.status_code == 200, r.text
    result = (await _results(client, requester, pid))[task_id]
    assert result["answer"] == {"label": "pos"} and result["n_annotations"] == 1 and not result["complete"]
    # A blocked worker's answer cannot be counted again by hand.
    r = await client.post(_url(pid, task_id, f"answers/{negs[0]['id']}/exclude"), json={"excluded": False},
                          headers=bearer(requester))
    assert r.status_code == 409 and r.json()["error"]["field"] == "annotation_id"


async def test_an_overridden_task_stays_complete_when_its_answers_change(client, requester, new_project, make_user):
    # Leaving an answer out (or blocking its worker) had reopened an overridden task: it then wanted answers the
    # requester had decided it did not need, and left the default export of completed tasks.
    pid, task_id, detail = await _split_task(client, requester, new_project, make_user, "ovx")
    r = await client.post(_url(pid, task_id, "override"), json={"answer": {"label": "pos"}}, headers=bearer(requester))
    assert r.status_code == 200 and r.json()["state"] == "complete"
    negs = [a for a in detail["annotations"] if a["answer"] == {"label": "neg"}]
    r = await client.post(_url(pid, task_id, f"answers/{negs[0]['id']}/exclude"), headers=bearer(requester))
    assert r.status_code == 200 and r.json()["changed"] is True
    assert r.json()["state"] == "complete" and r.json()["review"] == "override"
    r = await client.post(_url(pid, task_id, f"answers/{negs[0]['id']}/exclude"), json={"excluded": False},
                          headers=bearer(requester))
    assert r.json()["state"] == "complete" and r.json()["consensus"] == {"label": "neg"}
    r = await client.post(f"/api/projects/{pid}/workers/{negs[1]['worker_id']}/block", headers=bearer(requester))
    assert r.status_code == 200, r.text
    progress = (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]
    assert progress["complete"] == 1, progress
    rows = await _jsonl(client, requester, pid)
    assert list(rows) == [task_id] and rows[task_id]["label"] == "pos" and rows[task_id]["reviewed"] is True
    # No worker is served it; asking for more answers still reopens it.
    _, fresh = await make_user("worker", "ovx-fresh")
    r = await client.post(f"/api/projects/{pid}/next", headers=bearer(fresh))
    assert r.status_code == 204, r.text
    r = await client.post(_url(pid, task_id, "more-answers"), headers=bearer(requester))
    assert r.json()["state"] == "open" and r.json()["review"] is None


async def test_gold_tasks_and_tasks_without_consensus(client, requester, new_project):
    project = await new_project(tasks=[{"data": {"text": "g"}, "gold": {"label": "pos"}, "external_id": "g"},
                                       {"data": {"text": "o"}, "external_id": "o"}])
    pid = project["id"]
    ids = await _task_ids(client, requester, pid)
    r = await client.post(_url(pid, ids["g"], "override"), json={"answer": {"label": "neg"}},
                          headers=bearer(requester))
    assert r.status_code == 409 and r.json()["error"]["field"] == "task_id"
    r = await client.post(_url(pid, ids["o"], "accept"), headers=bearer(requester))
    assert r.status_code == 409 and "no consensus" in r.json()["error"]["message"]
    # A task without answers may be overridden: the requester labels it themselves, and it is complete.
    r = await client.post(_url(pid, ids["o"], "override"), json={"answer": {"label": "neu"}},
                          headers=bearer(requester))
    assert r.status_code == 200 and r.json()["state"] == "complete"
    rows = await _jsonl(client, requester, pid)
    assert list(rows) == [ids["o"]]
    assert rows[ids["o"]]["label"] == "neu" and rows[ids["o"]]["reviewed"] is True
    assert rows[ids["o"]]["n_annotations"] == 0
    result = (await _results(client, requester, pid))[ids["o"]]
    assert result["answer"] == {"label": "neu"} and result["complete"] and result["crowd_answer"] is None



async def test_an_excluded_demonstration_leaves_the_sft_export(client, requester, new_project, make_user):
    project = await project_with_answers(client, make_user, new_project, "demonstration", n=2)
    pid = project["id"]

    async def sft() -> list[str]:
        r = await client.get(f"/api/projects/{pid}/export", params={"format": "sft", "include_open": "true"},
                             headers=bearer(requester))
        assert r.status_code == 200, r.text
        return sorted(json.loads(line)["completion"] for line in r.text.splitlines())

    before = await sft()
    assert len(before) == 6
    task_id = (await _results(client, requester, pid)).popitem()[0]
    detail = (await client.get(f"/api/projects/{pid}/tasks/{task_id}", headers=bearer(requester))).json()
    rejected = detail["annotations"][1]
    r = await client.post(_url(pid, task_id, f"answers/{rejected['id']}/exclude"), headers=bearer(requester))
    assert r.status_code == 200 and r.json()["changed"] is True
    after = await sft()
    assert len(after) == 5 and rejected["answer"]["text"] not in after


async def test_an_override_completes_an_open_task_and_takes_back_its_leases(client, requester, new_project, make_user):
    project = await new_project(tasks=[{"data": {"text": "x"}, "external_id": "x"},
                                       {"data": {"text": "y"}, "external_id": "y"}], redundancy=3,
                                labels=["pos", "neg"])
    pid = project["id"]
    ids = await _task_ids(client, requester, pid)
    _, first = await make_user("worker", "first-ov")
    _, second = await make_user("worker", "second-ov")
    lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(first))).json()
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "neg"}},
                          headers=bearer(first))
    assert r.status_code == 201, r.text
    task_id = lease["task"]["id"]
    held = (await client.post(f"/api/projects/{pid}/next", headers=bearer(second))).json()
    assert held["task"]["id"] == task_id  # the queue serves the task with answers first
    progress = (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]
    assert progress["live_leases"] == 1 and progress["complete"] == 0

    r = await client.post(_url(pid, task_id, "override"), json={"answer": {"label": "pos"}}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "complete" and r.json()["n_done"] == 1 and r.json()["review"] == "override"
    progress = (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]
    assert progress["live_leases"] == 0 and progress["complete"] == 1
    # The lease it held is gone: the submit is refused and stores nothing; the task is not served again.
    r = await client.post(f"/api/assignments/{held['assignment_id']}/submit", json={"answer": {"label": "neg"}},
                          headers=bearer(second))
    assert r.status_code == 409 and r.json()["error"]["code"] == "lease_expired", r.text
    r = await client.post(f"/api/assignments/{held['assignment_id']}/renew", headers=bearer(second))
    assert r.status_code == 409, r.text
    _, third = await make_user("worker", "third-ov")
    for worker in (second, third):
        lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(worker))).json()
        assert lease["task"]["id"] == ids["y" if task_id == ids["x"] else "x"]
        await client.post(f"/api/assignments/{lease['assignment_id']}/release", headers=bearer(worker))
    # In the default export (completed tasks) with the requester's label; a second override changes nothing else.
    rows = await _jsonl(client, requester, pid)
    assert list(rows) == [task_id] and rows[task_id]["label"] == "pos" and rows[task_id]["reviewed"] is True
    assert rows[task_id]["n_annotations"] == 1
    r = await client.post(_url(pid, task_id, "override"), json={"answer": {"label": "neg"}}, headers=bearer(requester))
    assert r.json()["state"] == "complete"
    assert (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]["complete"] == 1
    # Asking for more answers reopens it (and drops the override): it wants one more than it had.
    r = await client.post(_url(pid, task_id, "more-answers"), headers=bearer(requester))
    assert r.json()["state"] == "open" and r.json()["review"] is None
    assert (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]["complete"] == 0


async def test_results_pages_hold_overrides_of_tasks_the_crowd_has_not_answered(client, requester, new_project,
                                                                                 make_user):
    project = await new_project(tasks=[{"data": {"text": f"t{i}"}, "external_id": f"t{i}"} for i in range(5)],
                                redundancy=1, labels=["pos", "neg"])
    pid = project["id"]
    ids = await _task_ids(client, requester, pid)
    for name in ("t1", "t3"):  # overridden before anyone answered them: complete, never served
        r = await client.post(_url(pid, ids[name], "override"), json={"answer": {"label": "pos"}},
                              headers=bearer(requester))
        assert r.json()["state"] == "complete"
    await answer_all(client, make_user, pid, [{"label": "neg"}], "pages")
    seen = await every_page(client, f"/api/projects/{pid}/results", requester, limit=2)
    assert [row["task_id"] for row in seen] == sorted(ids.values())
    by_name = {row["external_id"]: row for row in seen}
    for name in ("t1", "t3"):
        row = by_name[name]
        assert row["answer"] == {"label": "pos"} and row["confidence"] == 1.0 and row["n_annotations"] == 0
        assert row["crowd_answer"] is None and row["review"] == "override" and row["complete"]
    assert {by_name[name]["answer"]["label"] for name in ("t0", "t2", "t4")} == {"neg"}
