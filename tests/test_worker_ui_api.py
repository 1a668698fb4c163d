"""The API under the worker UI's second pass: label styles, what the worker was shown, skip reasons, problem
reports, a requester's view of one task, changing an answer, a reload's preferred task, progress."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from labeling import label_styles, models, schemas
from tests.conftest import bearer, raw_writes, text_tasks

META = {"shown_order": ["b", "a"], "letters": {"b": "A", "a": "B"}, "time_on_task_ms": 5400, "hidden_ms": 1200,
        "viewport": {"width": 390, "height": 844, "device_pixel_ratio": 3}, "image": {"natural_width": 640,
                                                                                       "natural_height": 360}}


async def _lease(client, token, project_id, **params):
    r = await client.post(f"/api/projects/{project_id}/next", headers=bearer(token), params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def _submit(client, token, lease, answer, **extra):
    return await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": answer, **extra},
                             headers=bearer(token))


async def _rows(db, table, **where):
    async with db.read() as conn:
        query = select(table)
        for column, value in where.items():
            query = query.where(getattr(table.c, column) == value)
        return (await conn.execute(query)).all()


@pytest.fixture
async def workers(make_user):
    return [(await make_user("worker", f"w{i}"))[1] for i in range(3)]


async def test_labels_with_colours_and_hotkeys_round_trip(client, requester, new_project, db):
    sent = ["plain", {"name": "red", "color": "#D33", "hotkey": "R"}, {"name": "blue"}, {"name": "mint", "color": "#9fe"}]
    project = await new_project(labels=sent)
    assert project["labels"] == ["plain", {"name": "red", "color": "#D33", "hotkey": "r"}, {"name": "blue"},
                                 {"name": "mint", "color": "#9fe"}]
    styles = {s["name"]: s for s in project["label_styles"]}
    assert styles["red"]["color"] == "#dd3333" and styles["red"]["hotkey"] == "r"
    assert styles["blue"]["color"] == label_styles.NAMED["blue"], "a colour word gets its own colour"
    assert styles["mint"]["text_color"] == "#000000" and styles["blue"]["text_color"] == "#ffffff"
    assert styles["plain"]["color"] in label_styles.PALETTE and styles["plain"]["hotkey"] is None
    (row,) = await _rows(db, models.projects, id=project["id"])
    assert row.labels == ["plain", "red", "blue", "mint"], "projects.labels stays a list of names"
    # A default colour goes by the name (and the labels before it), so labels added later change no colour.
    other = await new_project(labels=["plain", "later", "more"])
    assert other["label_styles"][0]["color"] == styles["plain"]["color"]
    assert len({s["color"] for s in other["label_styles"]}) == 3

    r = await client.patch(f"/api/projects/{project['id']}", headers=bearer(requester),
                           json={"labels": ["plain", "red", {"name": "blue", "color": "#00f"}, "mint", "new"]})
    assert r.status_code == 200, r.text
    assert r.json()["labels"] == ["plain", "red", {"name": "blue", "color": "#00f"}, "mint", "new"]


@pytest.mark.parametrize("labels, field_words", [
    ([{"name": "a", "hotkey": "s"}], "is a key of the labeling page"),
    ([{"name": "a", "hotkey": "7"}], "must be one letter"),
    ([{"name": "a", "color": "red"}], "must be #rgb or #rrggbb"),
    ([{"name": "a", "hotkey": "x"}, {"name": "b", "hotkey": "X"}], "same hotkey"),
    ([{"name": "a", "size": 3}], "is not a known field"),
    ([{"name": "a"}, "a"], "'a' repeats labels[0]"),
])
async def test_bad_label_styles_are_refused_naming_labels(client, requester, labels, field_words):
    r = await client.post("/api/projects", headers=bearer(requester),
                          json={"name": "p", "task_type": "text_classification", "labels": labels})
    assert r.status_code == 400 and r.json()["error"]["field"].startswith("labels"), r.text
    assert field_words in r.json()["error"]["message"]


async def test_the_newer_answer_key_is_not_a_hotkey(client, requester):
    """X goes to a newer answer while an earlier one is open: a label with that hotkey could not be picked there."""
    r = await client.post("/api/projects", headers=bearer(requester), json={
        "name": "texts", "task_type": "text_classification", "labels": [{"name": "fox", "hotkey": "x"}]})
    assert r.status_code == 400 and r.json()["error"]["field"] == "labels[0].hotkey", r.text
    assert "'x'" in r.json()["error"]["message"]


async def test_box_page_keys_are_not_hotkeys(client, requester):
    r = await client.post("/api/projects", headers=bearer(requester), json={
        "name": "boxes", "task_type": "bounding_box", "labels": [{"name": "car", "hotkey": "n"}]})
    assert r.status_code == 400 and "'n'" in r.json()["error"]["message"]


@pytest.mark.parametrize("task_type", ["image_classification", "image_multilabel"])
async def test_an_image_pages_fit_key_is_not_a_hotkey(client, requester, task_type):
    """F fits a zoomed image again (the box page's key too), so no label may take it."""
    r = await client.post("/api/projects", headers=bearer(requester), json={
        "name": "images", "task_type": task_type, "labels": [{"name": "fox", "hotkey": "f"}]})
    assert r.status_code == 400 and r.json()["error"]["field"] == "labels[0].hotkey", r.text
    assert "'f'" in r.json()["error"]["message"]
    r = await client.post("/api/projects", headers=bearer(requester), json={
        "name": "texts", "task_type": "text_classification", "labels": [{"name": "fox", "hotkey": "f"}]})
    assert r.status_code == 201, r.text


async def test_edit_window_settings(client, requester, new_project):
    assert (await new_project())["edit_window"] == "until_final"
    project = await new_project(edit_window=30)
    assert project["edit_window"] == 30
    for bad in (0, 10081, "always", True, 1.5):
        r = await client.patch(f"/api/projects/{project['id']}", headers=bearer(requester), json={"edit_window": bad})
        assert r.status_code == 400 and r.json()["error"]["field"] == "edit_window", (bad, r.text)
    r = await client.patch(f"/api/projects/{project['id']}", headers=bearer(requester), json={"edit_window": "off"})
    assert r.json()["edit_window"] == "off"


async def test_what_the_worker_was_shown_is_stored_with_the_answer(client, new_project, workers, db):
    project = await new_project(tasks=text_tasks(2))
    lease = await _lease(client, workers[0], project["id"])
    assert (await _submit(client, workers[0], lease, {"label": "pos"}, meta=META, duration_ms=6600)).status_code == 201
    (row,) = await _rows(db, models.annotations, assignment_id=lease["assignment_id"])
    assert row.meta == META and row.duration_ms == 6600
    # A script that sends only the answer keeps working: no metadata.
    lease = await _lease(client, workers[0], project["id"])
    assert (await _submit(client, workers[0], lease, {"label": "neg"})).status_code == 201
    (row,) = await _rows(db, models.annotations, assignment_id=lease["assignment_id"])
    assert row.meta is None


@pytest.mark.parametrize("meta, field", [
    ({"secret": 1}, "meta.secret"),
    ({"time_on_task_ms": -1}, "meta.time_on_task_ms"),
    ({"time_on_task_ms": 10**12}, "meta.time_on_task_ms"),
    ({"viewport": {"width": 0, "height": 10}}, "meta.viewport.width"),
    ({"viewport": {"width": 10}}, "meta.viewport.height"),
    ({"image": {"natural_width": 10**9, "natural_height": 1}}, "meta.image.natural_width"),
    ({"shown_order": ["x"] * 65}, "meta.shown_order"),
    ({"letters": {"a": "ABCDE"}}, "meta.letters"),
    ("nope", "meta"),
])
async def test_bad_metadata_is_refused_and_nothing_is_stored(client, new_project, workers, db, meta, field):
    project = await new_project(tasks=text_tasks(1))
    lease = await _lease(client, workers[0], project["id"])
    r = await _submit(client, workers[0], lease, {"label": "pos"}, meta=meta)
    assert r.status_code == 400 and r.json()["error"]["field"] == field, r.text
    assert await _rows(db, models.annotations) == []


async def test_skip_reasons_and_problem_reports_reach_the_requester(client, requester, new_project, workers):
    project = await new_project(tasks=text_tasks(1), redundancy=3)
    pid = project["id"]
    leases = [await _lease(client, w, pid) for w in workers]
    skip = f"/api/assignments/{leases[0]['assignment_id']}/skip"
    r = await client.post(skip, headers=bearer(workers[0]), json={"reason": "other"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "note"
    r = await client.post(skip, headers=bearer(workers[0]), json={"reason": "lazy"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "reason"
    r = await client.post(skip, headers=bearer(workers[0]), json={"reason": "other", "note": "  in Finnish  "})
    assert r.status_code == 200 and r.json()["reason"] == "other"
    r = await client.post(f"/api/assignments/{leases[1]['assignment_id']}/skip", headers=bearer(workers[1]))
    assert r.status_code == 200, "a skip without a body (older scripts) still works"

    report = f"/api/assignments/{leases[2]['assignment_id']}/report"
    for blank in ("  ", "\r", "\x1c\u3000"):  # blank is what str.strip() takes away, as the document's pattern says
        r = await client.post(report, headers=bearer(workers[2]), json={"text": blank})
        assert r.status_code == 400 and r.json()["error"]["field"] == "text", r.text
    assert re.search(schemas.NOT_BLANK, "\x1c\u3000 \r") is None and re.search(schemas.NOT_BLANK, " x ")
    assert (await client.post(report, headers=bearer(workers[2]), json={"text": "x" * 2001})).status_code == 400
    assert (await client.post(report, headers=bearer(workers[0]), json={"text": "mine?"})).status_code == 404
    r = await client.post(report, headers=bearer(workers[2]), json={"text": "The text is cut off."})
    assert r.status_code == 201 and r.json()["task_id"] == leases[2]["task"]["id"]
    assert "Idempotent-Replayed" not in r.headers
    # Sent again (a retry after a timeout): the report stored, not a second one (each retry added one, up to 5).
    for text in ("The text is cut off.", " The text is cut off. "):
        again = await client.post(report, headers=bearer(workers[2]), json={"text": text})
        assert again.status_code == 201 and again.json() == r.json(), again.text
        assert again.headers["Idempotent-Replayed"] == "true"
    assert (await _submit(client, workers[2], leases[2], {"label": "neu"}, meta=META)).status_code == 201

    task = (await client.get(f"/api/projects/{pid}/tasks/{leases[2]['task']['id']}", headers=bearer(requester))).json()
    assert [(s["reason"], s["note"]) for s in task["skips"]] == [("other", "in Finnish"), (None, None)]
    assert [r["text"] for r in task["reports"]] == ["The text is cut off."]
    assert task["reports"][0]["username"] == "w2"
    (answer,) = task["annotations"]
    assert answer["answer"] == {"label": "neu"} and answer["meta"] == META and answer["counted"] is True
    assert task["n_annotations"] == 1, "a report is not an answer"
    assert task["data"] == {"text": "item 0"} and task["state"] == "open" and task["consensus"] is None
    progress = (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]
    assert progress["annotations"] == 1 and progress["skips"] == 2


async def test_a_task_is_read_only_by_its_own_requester(client, requester, new_project, make_user, workers):
    project = await new_project(tasks=text_tasks(1))
    other_project = await new_project(tasks=text_tasks(1, priority=1))
    task_id = (await _lease(client, workers[0], project["id"]))["task"]["id"]
    _, stranger = await make_user("requester", "stranger")
    url = f"/api/projects/{project['id']}/tasks/{task_id}"
    assert (await client.get(url, headers=bearer(stranger))).status_code == 404
    assert (await client.get(url, headers=bearer(workers[0]))).status_code == 403
    r = await client.get(f"/api/projects/{other_project['id']}/tasks/{task_id}", headers=bearer(requester))
    assert r.status_code == 404 and r.json()["error"]["field"] == "task_id"


async def _change(client, token, annotation_id, answer, **extra):
    return await client.put(f"/api/annotations/{annotation_id}", json={"answer": answer, **extra},
                            headers=bearer(token))


async def test_a_stopped_worker_s_answers_are_not_said_editable(client, requester, new_project, make_user):
    """A worker the requester blocked was shown every open task's answer as `editable` in my-answers, and the
    labeling page's change of it met 403 worker_blocked. Now none is editable while blocked; unblocked, they are
    again, and a change goes through."""
    worker, token = await make_user("worker", "stopped")
    pid = (await new_project(tasks=text_tasks(1), redundancy=2))["id"]
    lease = await _lease(client, token, pid)
    annotation = (await _submit(client, token, lease, {"label": "pos"})).json()["annotation_id"]
    url = f"/api/projects/{pid}/my-answers"

    async def editable() -> list[tuple[bool, str | None]]:
        return [(m["editable"], m["editable_until"])
                for m in (await client.get(url, headers=bearer(token))).json()["data"]]

    assert await editable() == [(True, None)]
    workers_url = f"/api/projects/{pid}/workers/{worker['id']}"
    assert (await client.post(f"{workers_url}/block", headers=bearer(requester))).status_code == 200
    assert await editable() == [(False, None)]
    change = await client.put(f"/api/annotations/{annotation}", json={"answer": {"label": "neg"}},
                              headers=bearer(token))
    assert change.status_code == 403 and change.json()["error"]["code"] == "worker_blocked", change.text
    assert (await client.post(f"{workers_url}/unblock", headers=bearer(requester))).status_code == 200
    assert await editable() == [(True, None)]
    assert (await client.put(f"/api/annotations/{annotation}", json={"answer": {"label": "neg"}},
                             headers=bearer(token))).status_code == 200


async def test_an_answer_changes_until_its_task_is_final(client, requester, new_project, workers, db):
    project = await new_project(tasks=text_tasks(1), redundancy=2)
    pid = project["id"]
    first = await _lease(client, workers[0], pid)
    annotation = (await _submit(client, workers[0], first, {"label": "pos"})).json()["annotation_id"]
    mine = (await client.get(f"/api/projects/{pid}/my-answers", headers=bearer(workers[0]))).json()["data"]
    assert [(m["annotation_id"], m["answer"], m["editable"]) for m in mine] == [(annotation, {"label": "pos"}, True)]
    assert mine[0]["task"]["data"] == {"text": "item 0"} and mine[0]["editable_until"] is None

    assert (await _change(client, workers[1], annotation, {"label": "neg"})).status_code == 404
    r = await _change(client, workers[0], annotation, {"label": "nope"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "answer.label"
    r = await _change(client, workers[0], annotation, {"label": "neg"}, meta={"time_on_task_ms": 900})
    assert r.status_code == 200 and r.json()["task_complete"] is False
    (row,) = await _rows(db, models.annotations, id=annotation)
    assert row.answer == {"label": "neg"} and row.meta == {"time_on_task_ms": 900} and row.edited_at is not None

    second = await _lease(client, workers[1], pid)
    assert (await _submit(client, workers[1], second, {"label": "neg"})).json()["task_complete"] is True
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert results[0]["answer"] == {"label": "neg"}, "the changed answer is the one in consensus"
    r = await _change(client, workers[0], annotation, {"label": "pos"})
    assert r.status_code == 409 and "final" in r.json()["error"]["message"]
    mine = (await client.get(f"/api/projects/{pid}/my-answers", headers=bearer(workers[0]))).json()["data"]
    assert mine[0]["editable"] is False


async def test_within_minutes_a_final_task_is_recomputed_and_off_means_off(client, requester, new_project, workers):
    project = await new_project(tasks=text_tasks(1), redundancy=3, edit_window=10)
    pid = project["id"]
    ids = []
    for worker, label in zip(workers, ("pos", "pos", "neg")):
        lease = await _lease(client, worker, pid)
        ids.append((await _submit(client, worker, lease, {"label": label})).json()["annotation_id"])
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert results[0]["answer"] == {"label": "pos"}
    mine = (await client.get(f"/api/projects/{pid}/my-answers", headers=bearer(workers[0]))).json()["data"]
    assert mine[0]["editable"] is True and mine[0]["editable_until"] is not None
    r = await _change(client, workers[0], ids[0], {"label": "neg"})
    assert r.status_code == 200 and r.json()["task_complete"] is True
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert results[0]["answer"] == {"label": "neg"} and results[0]["n_annotations"] == 3
    progress = (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]
    assert progress["complete"] == 1 and progress["annotations"] == 3, "a change is not one more answer"

    await client.patch(f"/api/projects/{pid}", headers=bearer(requester), json={"edit_window": "off"})
    r = await _change(client, workers[1], ids[1], {"label": "neg"})
    assert r.status_code == 409 and "does not let answers change" in r.json()["error"]["message"]


@pytest.mark.parametrize("gold_fraction", [0.5, 0.0])
async def test_left_for_the_worker_goes_down_by_one_at_each_answer_gold_or_not(client, new_project, workers,
                                                                                gold_fraction):
    """"Left for you" counted regular tasks only: it stood still after a gold answer and went down after any other,
    so each submit said whether its task was gold. It now counts the gold tasks the queue would still mix in."""
    tasks = [{"data": {"text": f"g{i}"}, "gold": {"label": "pos"}} for i in range(3)] + text_tasks(4)
    project = await new_project(tasks=tasks, redundancy=1, gold_first_n=1, gold_fraction=gold_fraction)
    pid = project["id"]

    async def left():
        return (await client.get(f"/api/projects/{pid}/progress", headers=bearer(workers[0]))).json()["worker"][
            "left_for_worker"]

    before, steps, kinds = await left(), [], []
    while (r := await client.post(f"/api/projects/{pid}/next", headers=bearer(workers[0]))).status_code == 200:
        lease = r.json()
        kinds.append(lease["task"]["data"]["text"][0])
        await _submit(client, workers[0], lease, {"label": "pos"})
        now = await left()
        steps.append(before - now)
        before = now
    assert "g" in kinds and "i" in kinds, kinds  # gold and regular tasks were both served
    assert steps[:-1] == [1] * (len(steps) - 1), (kinds, steps)  # the last regular answer ends the gold mixed in
    assert before == 0


async def _as_of_yesterday(db, annotation_id: int) -> None:
    """Move an answer to yesterday: a worker's gold figures count the gold answers given before today."""
    async with raw_writes(db) as conn:
        await conn.execute(update(models.annotations).where(models.annotations.c.id == annotation_id)
                           .values(created_at=models.annotations.c.created_at - 86400))


async def test_todays_gold_answers_show_in_a_workers_figures_from_tomorrow(client, new_project, workers, db):
    """The progress after each submit said whether the task was gold (n_gold moved) and whether the answer was right
    (gold_accuracy moved): a worker could learn the gold tasks and their answers, and pass them on."""
    tasks = [{"data": {"text": f"g{i}"}, "gold": {"label": "pos"}} for i in range(3)] + text_tasks(2)
    project = await new_project(tasks=tasks, gold_first_n=3)
    pid = project["id"]

    async def figures():
        mine = (await client.get(f"/api/projects/{pid}/progress", headers=bearer(workers[0]))).json()["worker"]
        return mine["n_gold"], mine["gold_accuracy"], mine["done_today"]

    answered = []
    for label in ("pos", "neg"):
        lease = await _lease(client, workers[0], pid)
        answered.append((await _submit(client, workers[0], lease, {"label": label})).json()["annotation_id"])
        assert await figures() == (0, None, len(answered)), "today's gold answers are not shown yet"
    await _as_of_yesterday(db, answered[0])
    assert await figures() == (1, 1.0, 1)
    await _as_of_yesterday(db, answered[1])
    assert await figures() == (2, 0.5, 0)


@pytest.mark.parametrize("gold", [True, False])
async def test_a_gold_answer_becomes_final_and_completes_as_a_regular_one_would(client, new_project, make_user, gold):
    """A gold task never completes, so its answers stayed editable for ever ("until_final") and its submit never said
    task_complete: a worker's answers list marked the gold tasks out. Now each turn of `redundancy` answers is
    final together, as a regular task's answers are; the same test runs on a regular task."""
    task = {"data": {"text": "t"}, **({"gold": {"label": "pos"}} if gold else {})}
    project = await new_project(tasks=[task], redundancy=2, gold_first_n=1 if gold else 0)
    pid = project["id"]
    tokens = [(await make_user("worker", f"turn{i}"))[1] for i in range(3 if gold else 2)]

    async def editable(token):
        (row,) = (await client.get(f"/api/projects/{pid}/my-answers", headers=bearer(token))).json()["data"]
        return row["editable"], row["annotation_id"]

    said = []
    for token in tokens:
        lease = await _lease(client, token, pid)
        said.append((await _submit(client, token, lease, {"label": "pos"})).json()["task_complete"])
        if len(said) == 1:
            assert (await editable(tokens[0]))[0] is True, "the task waits for a second answer"
    assert said[:2] == [False, True]
    for token in tokens[:2]:
        still, annotation = await editable(token)
        assert still is False
        r = await _change(client, token, annotation, {"label": "neg"})
        assert r.status_code == 409 and "only until the task is final" in r.json()["error"]["message"]
    if gold:  # the third answer starts a turn of its own
        assert said[2] is False and (await editable(tokens[2]))[0] is True
        assert (await _change(client, tokens[2], (await editable(tokens[2]))[1], {"label": "neg"})).status_code == 200


async def test_a_changed_gold_answer_keeps_its_first_score(client, new_project, workers, db):
    """A changed gold answer was scored again: the progress a worker sees showed their gold accuracy fall after a
    wrong gold answer, and changing that answer mended it."""
    project = await new_project(tasks=[{"data": {"text": "g"}, "gold": {"label": "pos"}}], gold_first_n=1,
                                redundancy=2)  # the answer stays open to change until a second one
    lease = await _lease(client, workers[0], project["id"])
    annotation = (await _submit(client, workers[0], lease, {"label": "neg"})).json()["annotation_id"]
    await _as_of_yesterday(db, annotation)
    progress = (await client.get(f"/api/projects/{project['id']}/progress", headers=bearer(workers[0]))).json()
    assert progress["worker"]["n_gold"] == 1 and progress["worker"]["gold_accuracy"] == 0
    assert (await _change(client, workers[0], annotation, {"label": "pos"})).status_code == 200
    (standing,) = await _rows(db, models.project_workers, project_id=project["id"])
    assert standing.n_gold == 1 and standing.gold_score_sum == 0
    (stored,) = await _rows(db, models.annotations, id=annotation)
    assert stored.answer == {"label": "pos"} and stored.gold_score == 0
    progress = (await client.get(f"/api/projects/{project['id']}/progress", headers=bearer(workers[0]))).json()
    assert progress["worker"]["gold_accuracy"] == 0


async def _leased_then_urgent(client, requester, new_project, worker):
    """(project id, the worker's lease on its first task); meanwhile an urgent task arrived, which the queue would
    hand out first."""
    project = await new_project(tasks=text_tasks(2))
    pid = project["id"]
    first = await _lease(client, worker, pid)
    r = await client.post(f"/api/projects/{pid}/tasks", headers=bearer(requester),
                          json=[{"data": {"text": "urgent"}, "priority": 10}])
    assert r.status_code == 201
    return pid, first


async def test_a_reload_gets_the_released_task_back(client, requester, new_project, workers, db):
    pid, first = await _leased_then_urgent(client, requester, new_project, workers[0])
    r = await client.post(f"/api/assignments/{first['assignment_id']}/release", headers=bearer(workers[0]))
    assert r.status_code == 200
    assert (await _rows(db, models.tasks, id=first["task"]["id"]))[0].n_leased == 0, "released at once"
    again = await _lease(client, workers[0], pid, prefer_task=str(first["task"]["id"]), resume=first["resume"])
    assert again["task"]["id"] == first["task"]["id"] and again["resume"] == first["resume"]
    (task,) = await _rows(db, models.tasks, id=first["task"]["id"])
    assert task.n_leased == 1
    r = await client.post(f"/api/projects/{pid}/next", headers=bearer(workers[0]), params={"prefer_task": "x"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "prefer_task"
    assert (await _submit(client, workers[0], again, {"label": "pos"})).status_code == 201
    lease = await _lease(client, workers[0], pid, prefer_task=str(first["task"]["id"]), resume=first["resume"])
    assert lease["task"]["data"] == {"text": "urgent"}, "never the same task twice; then the queue's order"


async def test_a_worker_asks_first_only_for_a_task_the_queue_leased_them(client, requester, new_project, workers):
    """prefer_task took any open task's id: a worker could pick the gold tasks of a project that mixes in none,
    or the task a friend is given. It now needs the resume value of the worker's own lease on that task."""
    project = await new_project(tasks=[{"data": {"text": "gold"}, "gold": {"label": "pos"}}] + text_tasks(2),
                                redundancy=2, gold_first_n=0, gold_fraction=0.0)
    pid = project["id"]
    gold_id = (await client.get(f"/api/projects/{pid}/tasks", headers=bearer(requester))).json()["data"][0]["id"]
    mine = await _lease(client, workers[0], pid)
    theirs = await _lease(client, workers[1], pid)
    assert (await client.post(f"/api/assignments/{mine['assignment_id']}/release",
                              headers=bearer(workers[0]))).status_code == 200
    for params in ({"prefer_task": gold_id}, {"prefer_task": gold_id, "resume": mine["resume"]},
                   {"prefer_task": theirs["task"]["id"], "resume": theirs["resume"]},  # another worker's value
                   {"prefer_task": mine["task"]["id"], "resume": "0" * 32}, {"resume": mine["resume"]}):
        r = await client.post(f"/api/projects/{pid}/next", headers=bearer(workers[0]), params=params)
        assert r.status_code == 400 and r.json()["error"]["field"] == "resume", (params, r.text)
    lease = await _lease(client, workers[0], pid, prefer_task=mine["task"]["id"], resume=mine["resume"])
    assert lease["task"]["id"] == mine["task"]["id"]


async def test_a_reload_before_the_release_arrives_gets_the_same_lease_from_one_read(client, requester, new_project,
                                                                                     workers, monkeypatch):
    """The labeling page asks for its task again while the release it sent on leaving may still be on the way: the
    lease it still holds comes back from the preferred claim's own read. It fell through to the ordinary claim, which
    reads again: had the release landed in between, it handed out the queue's next task (the urgent one) instead."""
    from labeling import queue

    pid, first = await _leased_then_urgent(client, requester, new_project, workers[0])

    def no_second_read(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("the preferred task's own lease should come back from the first read")

    monkeypatch.setattr(queue, "_claim_once", no_second_read)
    monkeypatch.setattr(queue, "_lease_for", no_second_read)
    again = await _lease(client, workers[0], pid, prefer_task=str(first["task"]["id"]), resume=first["resume"])
    assert again["assignment_id"] == first["assignment_id"] and again["task"]["id"] == first["task"]["id"]


async def test_progress_of_the_project_and_of_this_worker(client, new_project, workers):
    project = await new_project(tasks=text_tasks(3))
    lease = await _lease(client, workers[0], project["id"])
    await _submit(client, workers[0], lease, {"label": "pos"})
    r = await client.get(f"/api/projects/{project['id']}/progress", headers=bearer(workers[0]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["project"]["complete"] == 1 and body["project"]["tasks"] == 3
    assert body["worker"]["total"] == 1 and body["worker"]["done_today"] == 1 and body["worker"]["left_for_worker"] == 2


async def test_entity_overlaps_follow_the_project_option(client, requester, new_project, workers):
    r = await client.post("/api/projects", headers=bearer(requester), json={
        "name": "ner", "task_type": "named_entities", "labels": ["A"], "options": {"span_unit": "syllable"}})
    assert r.status_code == 400 and r.json()["error"]["field"] == "options.span_unit"
    text = "New York City Hall"
    tasks = [{"data": {"text": text}}] * 3
    spans = {"nested": [{"start": 0, "end": 13, "label": "A"}, {"start": 0, "end": 8, "label": "A"}],
             "crossing": [{"start": 0, "end": 8, "label": "A"}, {"start": 4, "end": 13, "label": "A"}]}
    expected = {"allow": (201, 201), "nested": (201, 400), "none": (400, 400)}
    for overlap, (nested, crossing) in expected.items():
        project = await new_project(tasks=tasks, task_type="named_entities", labels=["A"],
                                    options={"span_overlap": overlap}, redundancy=2)
        assert project["options"] == {"span_unit": "word", "span_overlap": overlap}
        for worker, kind, status in ((workers[0], "nested", nested), (workers[1], "crossing", crossing)):
            lease = await _lease(client, worker, project["id"])
            r = await _submit(client, worker, lease, {"spans": spans[kind]})
            assert r.status_code == status, (overlap, kind, r.text)


async def test_an_entity_answer_is_bounded_in_spans_and_in_depth(client, new_project, workers):
    # One worker's answer of thousands of spans nested inside each other was stored, and every settle of the task
    # then matched each of them against the others' groups in the write transaction (1,000 against 1,000: 3 s).
    from labeling.tasktypes import named_entities

    text = "x" * 6000
    project = await new_project(tasks=[{"data": {"text": text}}], task_type="named_entities", labels=["A", "B"],
                                options={"span_unit": "character"}, redundancy=2)
    lease = await _lease(client, workers[0], project["id"])
    deep = [{"start": i, "end": 100 - i, "label": "A"} for i in range(17)]
    r = await _submit(client, workers[0], lease, {"spans": deep})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {"code": "invalid", "field": "answer.spans",
                                 "message": "answer.spans: character 16 lies inside more than 16 spans"}
    many = [{"start": i, "end": i + 1, "label": "A"} for i in range(named_entities.MAX_SPANS + 1)]
    r = await _submit(client, workers[0], lease, {"spans": many})
    assert r.status_code == 400 and r.json()["error"]["message"] == "answer.spans has more than 5,000 spans", r.text
    # 16 deep (two labels on one span count twice), and 5,000 spans side by side, are answers
    fine = deep[:15] + [{"start": 0, "end": 100, "label": "B"}] + [
        {"start": 200 + i, "end": 201 + i, "label": "A"} for i in range(5000 - 16)]
    assert len(fine) == 5000
    r = await _submit(client, workers[0], lease, {"spans": fine})
    assert r.status_code == 201, r.text


async def test_unknown_pages_are_html_for_browsers_and_json_for_the_api(client):
    page = await client.get("/no/such/page", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in page.text and "Content-Security-Policy" in page.headers
    api = await client.get("/api/no/such", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    plain = await client.get("/no/such/page")
    assert plain.status_code == 404 and plain.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("day", ["2026-03-29", "2026-10-25", "2026-07-01"])
def test_today_begins_at_local_midnight_on_the_days_clocks_change(day):
    """"Done today" and the gold figures' day began at midnight of now's UTC offset: on the day clocks change for
    summer, that was 23:00 the day before (Europe/Berlin), an hour of yesterday's answers counted as today's."""
    import os
    import subprocess
    import sys

    script = ("import datetime; from labeling.worker_stats import day_start; "
              f"now = datetime.datetime.fromisoformat('{day}T12:00').astimezone(); "
              "print(datetime.datetime.fromtimestamp(day_start(now)).isoformat())")
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "TZ": "Europe/Berlin"},
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"{day}T00:00:00"
