"""The console's results and task pages (labeling/console/results.py, task.py): filters, orders, keyset pages,
bad filters named beside their field, and the task page's answers and actions, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

from tests.conftest import bearer
from tests.export.helpers import answer_all, project_with_answers


def _rows(page: str) -> list[dict]:
    data = re.search(r'<script type="application/json" id="results-data">(.*?)</script>', page, re.S).group(1)
    return json.loads(data)["rows"]


async def _page(client, token, pid, **params) -> tuple[int, str]:  # noqa: ANN001
    r = await client.get(f"/console/projects/{pid}/results", params=params, headers=bearer(token))
    assert "text/html" in r.headers["content-type"]
    return r.status_code, r.text


async def _confident_project(client, requester, new_project, make_user) -> dict:  # noqa: ANN001
    """Six text tasks answered by three workers: tasks with even stars split 2-1, odd ones agree 3-0."""
    return await project_with_answers(client, make_user, new_project, "text_classification", n=6)


async def test_results_page_orders_least_certain_first_and_pages_by_keyset(client, requester, new_project,
                                                                          make_user):
    project = await _confident_project(client, requester, new_project, make_user)
    pid = project["id"]
    status, page = await _page(client, requester, pid)
    assert status == 200 and 'aria-current="page"' in page and 'data-tab="results"' in page
    rows = _rows(page)
    confidences = [r["confidence"] for r in rows]
    assert len(rows) == 6 and confidences == sorted(confidences)
    assert rows[0]["agreement"] < rows[-1]["agreement"]
    _, page = await _page(client, requester, pid, sort="disagreement")
    agreements = [r["agreement"] for r in _rows(page)]
    assert agreements == sorted(agreements) and agreements[0] < 1.0
    # Keyset pages: a cursor continues after the last row, in the same order.
    from labeling.console import results_rows
    cursor = results_rows.encode_cursor(rows[2]["confidence"], rows[2]["id"], f"{pid}/confidence")
    _, page = await _page(client, requester, pid, after=cursor)
    assert [r["id"] for r in _rows(page)] == [r["id"] for r in rows[3:]]
    # A cursor of another order, or of another project's results, is refused: read here it skipped rows.
    for other in (f"{pid}/disagreement", f"{pid + 1}/confidence"):
        status, page = await _page(client, requester, pid,
                                    after=results_rows.encode_cursor(rows[2]["confidence"], rows[2]["id"], other))
        assert status == 400 and "another project&#39;s results or another order" in page, (other, page[-500:])
    _, page = await _page(client, requester, pid, sort="id")
    assert [r["id"] for r in _rows(page)] == sorted(r["id"] for r in rows)


async def test_results_filters(client, requester, new_project, make_user):
    project = await _confident_project(client, requester, new_project, make_user)
    pid = project["id"]
    rows = _rows((await _page(client, requester, pid))[1])
    low = [r["id"] for r in rows if r["confidence"] < rows[-1]["confidence"]]
    _, page = await _page(client, requester, pid, confidence_max=str(rows[0]["confidence"]))
    assert sorted(r["id"] for r in _rows(page)) == sorted(low)
    _, page = await _page(client, requester, pid, agreement_min="1", sort="id")
    assert all(r["agreement"] == 1.0 for r in _rows(page)) and len(_rows(page)) == 6 - len(low)
    _, page = await _page(client, requester, pid, label="neg")
    assert {r["answer"]["label"] for r in _rows(page)} == {"neg"}
    _, page = await _page(client, requester, pid, state="open", sort="id")
    assert _rows(page) == []
    # A problem report and a review are filters too; a worker's answers too.
    detail = (await client.get(f"/api/projects/{pid}/tasks/{rows[0]['id']}", headers=bearer(requester))).json()
    worker = detail["annotations"][0]["username"]
    _, page = await _page(client, requester, pid, worker=worker, sort="id")
    assert len(_rows(page)) == 6
    await client.post(f"/api/projects/{pid}/tasks/{rows[0]['id']}/override", json={"answer": {"label": "pos"}},
                      headers=bearer(requester))
    _, page = await _page(client, requester, pid, reviewed="true")
    assert [(r["id"], r["review"], r["answer"]) for r in _rows(page)] == [(rows[0]["id"], "override", {"label": "pos"})]
    _, page = await _page(client, requester, pid, reported="true", sort="id")
    assert _rows(page) == []
    r = await client.post(f"/api/projects/{pid}/tasks", json=[{"data": {"text": "cut o"}, "external_id": "cut"}],
                          headers=bearer(requester))
    _, worker = await make_user("worker", "reporter")
    lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(worker))).json()
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/report", json={"text": "the text is cut"},
                          headers=bearer(worker))
    assert r.status_code == 201, r.text
    _, page = await _page(client, requester, pid, reported="true", sort="id")
    assert [r["external_id"] for r in _rows(page)] == ["cut"]
    _, page = await _page(client, requester, pid, reported="false", sort="id")
    assert len(_rows(page)) == 6


async def test_bad_filters_are_shown_beside_their_field(client, requester, new_project, make_user):
    project = await _confident_project(client, requester, new_project, make_user)
    pid = project["id"]
    for params, field in (({"confidence_min": "2"}, "confidence_min"), ({"confidence_min": "x"}, "confidence_min"),
                          ({"confidence_min": "0.9", "confidence_max": "0.1"}, "confidence_min"),
                          ({"sort": "random"}, "sort"), ({"worker": "nobody"}, "worker"),
                          ({"after": "garbage"}, "after"), ({"bogus": "1"}, "bogus")):
        status, page = await _page(client, requester, pid, **params)
        assert status == 400, params
        error = json.loads(re.search(r'id="results-data">(.*?)</script>', page, re.S).group(1))["error"]
        assert error["field"] == field, (params, error)
    # Items (entity spans) are filtered by any item's label.
    spans = await project_with_answers(client, make_user, new_project, "named_entities", n=2)
    status, page = await _page(client, requester, spans["id"], label="LOC", sort="id")
    assert status == 200 and len(_rows(page)) == 2
    assert all("LOC" in {s["label"] for s in r["answer"]["spans"]} for r in _rows(page))
    status, page = await _page(client, requester, spans["id"], label="ORG", sort="id")
    assert status == 200 and _rows(page) == []
    # Ranking projects have no labels to filter by; demonstrations no confidence to sort by.
    ranking = await project_with_answers(client, make_user, new_project, "preference_ranking", n=2)
    status, page = await _page(client, requester, ranking["id"], label="a")
    assert status == 400
    demo = await project_with_answers(client, make_user, new_project, "demonstration", n=2)
    status, page = await _page(client, requester, demo["id"])
    assert status == 200 and len(_rows(page)) == 2
    status, page = await _page(client, requester, demo["id"], sort="confidence")
    assert status == 400


async def test_task_page_shows_every_answer_and_the_review(client, requester, new_project, make_user):
    project = await new_project(tasks=[{"data": {"text": "x"}, "external_id": "x"}], redundancy=3,
                                labels=["pos", "neg"])
    pid = project["id"]
    tokens = await answer_all(client, make_user, pid, [{"label": "pos"}, {"label": "neg"}, {"label": "neg"}], "tp")
    del tokens
    task_id = _rows((await _page(client, requester, pid))[1])[0]["id"]
    await client.post(f"/api/projects/{pid}/tasks/{task_id}/override", json={"answer": {"label": "pos"}},
                      headers=bearer(requester))
    r = await client.get(f"/console/projects/{pid}/tasks/{task_id}", headers=bearer(requester))
    assert r.status_code == 200, r.text
    assert r.text.count('class="answer-card') == 3 and "overridden" in r.text and 'id="override-btn"' in r.text
    assert 'id="subject-text"' in r.text  # the worker page's own editor for the task type
    _, other = await make_user("requester")
    r = await client.get(f"/console/projects/{pid}/tasks/{task_id}", headers=bearer(other))
    assert r.status_code == 404
    r = await client.get(f"/console/projects/{pid}/tasks/999999", headers=bearer(requester))
    assert r.status_code == 404


async def test_an_override_has_confidence_1_in_the_results_order_filter_and_task_page(client, requester, new_project,
                                                                                        make_user, monkeypatch):
    """As in /results and the exports: an override is the requester's answer with confidence 1, so it leaves the top
    of the least-confident order (keyset pages walk both the crowd's confidences and the overrides) and the
    confidence filter; the crowd's consensus and its confidence stay visible as the crowd's."""
    project = await _confident_project(client, requester, new_project, make_user)
    pid = project["id"]
    before = _rows((await _page(client, requester, pid))[1])
    low = before[0]
    assert low["confidence"] < 1.0
    r = await client.post(f"/api/projects/{pid}/tasks/{low['id']}/override", json={"answer": {"label": "pos"}},
                          headers=bearer(requester))
    assert r.status_code == 200, r.text
    api = {x["task_id"]: x for x in (await client.get(f"/api/projects/{pid}/results",
                                                      headers=bearer(requester))).json()["data"]}
    rows = _rows((await _page(client, requester, pid))[1])
    assert [x["confidence"] for x in rows] == [api[x["id"]]["confidence"] for x in rows]
    assert rows[-1]["id"] == low["id"] and rows[-1]["confidence"] == 1.0
    assert rows[-1]["crowd_confidence"] == low["confidence"] and rows[-1]["review"] == "override"
    expected = sorted((x["confidence"], x["id"]) for x in rows)
    assert [(x["confidence"], x["id"]) for x in rows] == expected
    # Keyset pages of two rows walk the same order, across the crowd's rows and the override.
    from labeling.console import results_rows
    monkeypatch.setattr(results_rows, "PAGE", 2)
    walked, params = [], {}
    for _ in range(10):
        status, page = await _page(client, requester, pid, **params)
        assert status == 200
        walked += [(x["confidence"], x["id"]) for x in _rows(page)]
        cursor = re.search(r'id="next-page"[^>]*href="\?([^"]*)"', page)
        if cursor is None:
            break
        params = dict(p.split("=", 1) for p in cursor.group(1).replace("&amp;", "&").split("&"))
    assert walked == expected
    monkeypatch.setattr(results_rows, "PAGE", 50)
    # The confidence filter reads the same figure, in every order.
    for sort in ("confidence", "id"):
        _, page = await _page(client, requester, pid, confidence_max=str(low["confidence"]), sort=sort)
        assert low["id"] not in {x["id"] for x in _rows(page)}
        _, page = await _page(client, requester, pid, confidence_min="1", sort=sort)
        assert low["id"] in {x["id"] for x in _rows(page)}
    status, page = await _page(client, requester, pid)
    assert 'id="override-rule"' in page and "crowd %.2f" % low["confidence"] in page
    # The task page: confidence 1, the requester's answer; the crowd's confidence and method kept as the crowd's.
    r = await client.get(f"/console/projects/{pid}/tasks/{low['id']}", headers=bearer(requester))
    assert re.search(r'id="consensus-confidence">1.00<', r.text)
    assert re.search(r'id="consensus-method">override<', r.text) and "with confidence 1 in results" in r.text
    assert re.search(r'id="crowd-confidence">%.2f<' % low["confidence"], r.text)


async def _walk(client, token, pid, key: str, **params) -> list[tuple[float, int]]:  # noqa: ANN001
    """Every page of an order, following the page's own next link: (figure, task id) of each row in turn."""
    walked = []
    for _ in range(50):
        status, page = await _page(client, token, pid, **params)
        assert status == 200
        walked += [(x[key], x["id"]) for x in _rows(page)]
        cursor = re.search(r'id="next-page"[^>]*href="\?([^"]*)"', page)
        if cursor is None:
            return walked
        params = dict(p.split("=", 1) for p in cursor.group(1).replace("&amp;", "&").split("&"))
    raise AssertionError("the pages never ended")


async def test_an_override_is_settled_in_the_most_disputed_order_and_the_agreement_filter(
        client, requester, new_project, make_user, monkeypatch):
    """An override is settled: agreement 1 in the most-disputed order (so it leaves the top for good) and in the
    agreement filter, in every order; keyset pages over the merged walks visit every task exactly once, ties at 1
    (the crowd's unanimous tasks and the overrides) in task order; the crowd's agreement stays beside it."""
    project = await _confident_project(client, requester, new_project, make_user)
    pid = project["id"]
    before = _rows((await _page(client, requester, pid, sort="disagreement"))[1])
    top = before[0]
    assert top["agreement"] < 1.0 and len(before) == 6
    r = await client.post(f"/api/projects/{pid}/tasks/{top['id']}/override", json={"answer": {"label": "pos"}},
                          headers=bearer(requester))
    assert r.status_code == 200, r.text
    rows = _rows((await _page(client, requester, pid, sort="disagreement"))[1])
    assert rows[0]["id"] != top["id"] and rows[0]["agreement"] < 1.0
    moved = next(x for x in rows if x["id"] == top["id"])
    assert moved["agreement"] == 1.0 and moved["crowd_agreement"] == top["agreement"]
    expected = sorted((x["agreement"], x["id"]) for x in rows)
    assert [(x["agreement"], x["id"]) for x in rows] == expected
    assert sum(1 for a, _ in expected if a == 1.0) >= 2  # the override ties with the crowd's unanimous tasks
    from labeling.console import results_rows
    for size in (1, 2, 4):
        monkeypatch.setattr(results_rows, "PAGE", size)
        walked = await _walk(client, requester, pid, "agreement", sort="disagreement")
        assert walked == expected, size
        assert sorted(i for _, i in walked) == sorted(x["id"] for x in before)  # every task exactly once
    monkeypatch.setattr(results_rows, "PAGE", 50)
    # The agreement filter reads the same figure, in every order.
    for sort in ("disagreement", "confidence", "id"):
        _, page = await _page(client, requester, pid, agreement_max=str(top["agreement"]), sort=sort)
        assert top["id"] not in {x["id"] for x in _rows(page)}, sort
        _, page = await _page(client, requester, pid, agreement_min="1", sort=sort)
        assert top["id"] in {x["id"] for x in _rows(page)}, sort
    _, page = await _page(client, requester, pid, sort="disagreement")
    assert re.search(r'class="[^"]*crowd-agreement"[^>]*>crowd %.2f<' % top["agreement"], page)


async def test_an_override_counts_as_the_tasks_label_in_the_quality_label_distribution(client, requester, new_project,
                                                                                        make_user):
    """The quality report's label distribution counts each task's answer as /results gives it: an override's label,
    not the crowd's (the answers column stays the workers')."""
    project = await _confident_project(client, requester, new_project, make_user)
    pid = project["id"]

    async def distribution() -> dict[str, tuple[int, int]]:
        r = await client.get(f"/api/projects/{pid}/quality", headers=bearer(requester))
        assert r.status_code == 200, r.text
        return {d["label"]: (d["answers"], d["consensus"]) for d in r.json()["label_distribution"]}

    before = await distribution()
    api = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    task = next(x for x in api if x["answer"]["label"] == "neg")
    r = await client.post(f"/api/projects/{pid}/tasks/{task['task_id']}/override", json={"answer": {"label": "pos"}},
                          headers=bearer(requester))
    assert r.status_code == 200, r.text
    after = await distribution()
    assert after["pos"] == (before["pos"][0], before["pos"][1] + 1)
    assert after["neg"] == (before["neg"][0], before["neg"][1] - 1)
    shown = [x["answer"]["label"] for x in (await client.get(f"/api/projects/{pid}/results",
                                                             headers=bearer(requester))).json()["data"]]
    assert {label: counts[1] for label, counts in after.items()} == {n: shown.count(n) for n in after}


async def test_an_override_is_the_row_of_its_tasks_answers_in_the_confusion_matrix(client, requester, new_project,
                                                                                    make_user):
    """The confusion matrix compares the workers' answers with each task's final label: a reviewer's override moves
    the task's answers to the override's row (in the API's report and on the quality page, which says so)."""
    project = await _confident_project(client, requester, new_project, make_user)
    pid = project["id"]

    async def matrix() -> dict[str, dict[str, int]]:
        r = await client.get(f"/api/projects/{pid}/quality", headers=bearer(requester))
        assert r.status_code == 200, r.text
        confusion = r.json()["confusion"]
        return {row: dict(zip(confusion["labels"], counts))
                for row, counts in zip(confusion["labels"], confusion["matrix"])}

    before = await matrix()
    api = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    task = next(x for x in api if x["answer"]["label"] == "neg")
    answers = (await client.get(f"/api/projects/{pid}/tasks/{task['task_id']}", headers=bearer(requester))).json()
    given = [a["answer"]["label"] for a in answers["annotations"]]
    r = await client.post(f"/api/projects/{pid}/tasks/{task['task_id']}/override", json={"answer": {"label": "pos"}},
                          headers=bearer(requester))
    assert r.status_code == 200, r.text
    after = await matrix()
    for label in set(given):
        n = given.count(label)
        assert after["neg"][label] == before["neg"][label] - n and after["pos"][label] == before["pos"][label] + n
    page = (await client.get(f"/console/projects/{pid}/quality", headers=bearer(requester))).text
    assert "Final label ↓" in page and "a reviewer's override where there is one" in page.replace("&#39;", "'")
    cell = re.search(r'title="final label pos, answer neg: (\d+)"', page)
    assert cell and int(cell.group(1)) == after["pos"]["neg"]


async def test_the_caption_says_which_tasks_an_order_leaves_out_and_explains_overrides_only_when_shown(
        client, requester, new_project, make_user):  # noqa: ANN001
    """A consensus order lists only tasks with a consensus: with rows on the page, the caption says so and links
    to import order (not only on an empty page); the override rule is said only when a row is overridden."""
    project = await _confident_project(client, requester, new_project, make_user)
    pid = project["id"]
    _, page = await _page(client, requester, pid)
    assert 'id="order-note"' in page and "sort=id" in re.search(r'id="order-note">(.*?)</span>', page, re.S).group(1)
    assert 'id="override-rule"' not in page
    _, page = await _page(client, requester, pid, sort="id")
    assert 'id="order-note"' not in page
    _, page = await _page(client, requester, pid, state="complete")
    assert 'id="order-note"' not in page
    low = _rows(page)[0]
    r = await client.post(f"/api/projects/{pid}/tasks/{low['id']}/override", headers=bearer(requester),
                          json={"answer": {"label": "pos"}})
    assert r.status_code == 200, r.text
    _, page = await _page(client, requester, pid)
    assert "counts your answer, with confidence 1.00 and agreement 1.00" in page


async def test_the_task_page_says_what_its_consensus_figures_mean(client, requester, new_project, make_user):
    """"online" and a bare 0.80 say nothing to a requester: the task page says what the method and the scale are."""
    project = await _confident_project(client, requester, new_project, make_user)
    pid = project["id"]
    row = _rows((await _page(client, requester, pid))[1])[0]
    r = await client.get(f"/console/projects/{pid}/tasks/{row['id']}", headers=bearer(requester))
    note = re.search(r'id="method-note">(.*?)</p>', r.text, re.S)
    assert note and "from 0 to 1" in note.group(1) and "last answer came in" in note.group(1), r.text[:300]
    r = await client.post(f"/api/projects/{pid}/consensus", headers=bearer(requester))
    assert r.status_code == 200, r.text
    r = await client.get(f"/console/projects/{pid}/tasks/{row['id']}", headers=bearer(requester))
    assert "project-wide" in re.search(r'id="method-note">(.*?)</p>', r.text, re.S).group(1)


async def test_the_results_columns_say_what_their_figures_are(client, requester, new_project, make_user):
    project = await _confident_project(client, requester, new_project, make_user)
    _, page = await _page(client, requester, project["id"])
    head = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    for column, words in (("Confidence", "from 0 to 1"), ("Agreement", "from 0 to 1"), ("Answers", "answers the task wants")):
        assert re.search(rf'<abbr title="[^"]*{words}[^"]*">{column}</abbr>', head), column


async def test_a_demonstration_task_page_speaks_of_responses_not_a_consensus_label(client, requester, new_project,
                                                                                    make_user):
    """A demonstration's answers are not combined: its review said "the consensus is the task's label" (accepted)
    and "the label above is theirs, with confidence 1" (overridden), where there is neither."""
    demo = await project_with_answers(client, make_user, new_project, "demonstration", n=1)
    label = await project_with_answers(client, make_user, new_project, "text_classification", n=1)
    pages = {}
    for project, answer in ((demo, {"text": "The requester's own response."}), (label, {"label": "pos"})):
        task_id = _rows((await _page(client, requester, project["id"], sort="id"))[1])[0]["id"]
        page = f"/console/projects/{project['id']}/tasks/{task_id}"
        before = (await client.get(page, headers=bearer(requester))).text
        r = await client.post(f"/api/projects/{project['id']}/tasks/{task_id}/override", json={"answer": answer},
                              headers=bearer(requester))
        assert r.status_code in (200, 201), r.text
        pages[project["task_type"]] = before, (await client.get(page, headers=bearer(requester))).text
    before, after = pages["demonstration"]
    assert 'data-accepted="Accepted: the task&#39;s counted answers are its examples."' in before
    assert 'data-overridden="Overridden: your response is exported instead of the workers&#39; answers."' in before
    assert "the response above is theirs, exported instead of the workers' answers (below)" in after
    assert "label" not in re.search(r'id="review-state">(.*?)</p>', after, re.S).group(1)
    before, after = pages["text_classification"]
    assert 'data-accepted="Accepted: the consensus is the task&#39;s label."' in before
    assert "the label above is theirs, with confidence 1" in after


async def test_accept_on_an_overridden_task_says_it_puts_the_crowds_consensus_back(client, requester, new_project,
                                                                                   make_user):
    # Under the override's label ("pos, by you") the button said only "Accept", and accepting put the crowd's "neg"
    # in its place: it now says whose answer it accepts, and what the page then says.
    project = await new_project(tasks=[{"data": {"text": "x"}}], redundancy=3, labels=["pos", "neg"])
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"label": "neg"}, {"label": "neg"}, {"label": "pos"}], "ao")
    task_id = _rows((await _page(client, requester, pid))[1])[0]["id"]
    page = (await client.get(f"/console/projects/{pid}/tasks/{task_id}", headers=bearer(requester))).text
    assert re.search(r'id="accept-btn"[^>]*>Accept</button>', page)
    await client.post(f"/api/projects/{pid}/tasks/{task_id}/override", json={"answer": {"label": "pos"}},
                      headers=bearer(requester))
    page = (await client.get(f"/console/projects/{pid}/tasks/{task_id}", headers=bearer(requester))).text
    assert re.search(r'id="accept-btn"[^>]*>Accept the crowd&#39;s consensus instead</button>', page)
    assert "Accepted: the crowd&#39;s consensus is the task&#39;s label again, in place of the override." in page
