"""The console's results and task pages in Chromium, against a real server: workers label through the API, the
requester reads the consensus (boxes drawn at the right pixel positions), overrides a label and downloads the
export to read it, excludes an answer and blocks a worker and sees the consensus change.

Screenshots of each page at 1280x800 and phone width are saved when LABELING_SCREENSHOTS names a folder."""

from __future__ import annotations

import json
import re
import os
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.support import DESKTOP, PHONE, assert_fits_the_width, assert_in_view, png, sign_in

W, H = 400, 300
BOXES = [{"label": "car", "x": 40, "y": 30, "w": 200, "h": 150}, {"label": "person", "x": 300, "y": 190, "w": 80, "h": 90}]


def shoot(page: Any, name: str) -> None:
    folder = os.environ.get("LABELING_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def requester_project(server: Any, task_type: str, tasks: list[dict], labels: list[str], **settings: Any) -> dict:
    """A project of a requester who can sign in (with a password)."""
    requester = server.user("requester")
    body = {"name": f"{task_type} {uuid.uuid4().hex[:8]}", "task_type": task_type, "labels": labels, **settings}
    with server.client(requester["token"]) as c:
        if task_type == "bounding_box":
            r = c.post("/api/media", files={"file": ("shapes.png", png(W, H, [
                ("rect", (40, 30, 240, 180), "#d62728"), ("ellipse", (300, 190, 380, 280), "#1f77b4")]), "image/png")})
            image = r.json()["data"][0]["path"]
            tasks = [{**t, "data": {"image": image}} for t in tasks]
        r = c.post("/api/projects", json=body)
        assert r.status_code == 201, r.text
        project = r.json()
        r = c.post(f"/api/projects/{project['id']}/tasks", json=tasks)
        assert r.status_code == 201, r.text
    return {**project, "requester": requester}


def answer(server: Any, project: dict, answers: list[Any]) -> list[dict]:
    """Each new worker answers every task it is given with its answer (a dict, or a function of the data)."""
    workers = []
    for given in answers:
        worker = server.user("worker", password=None)
        workers.append(worker)
        with server.client(worker["token"]) as c:
            while True:
                r = c.post(f"/api/projects/{project['id']}/next")
                if r.status_code == 204:
                    break
                lease = r.json()
                body = given(lease["task"]["data"]) if callable(given) else given
                s = c.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": body})
                assert s.status_code == 201, s.text
    return workers


def console(new_page: Any, project: dict, path: str, viewport: dict = DESKTOP) -> Any:
    page = new_page(viewport)
    sign_in(page, project["requester"], f"/console/projects/{project['id']}{path}")
    return page



def open_task(page, link) -> None:  # noqa: ANN001
    """Follow a task link and wait for the task page's script: a button clicked before it has run does nothing
    (on a loaded machine the Override click came first, and its editor never opened)."""
    link.click()
    page.wait_for_url("**/tasks/*")
    page.wait_for_load_state("load")

def test_results_draw_the_consensus_boxes_at_their_pixels(new_page, server):
    project = requester_project(server, "bounding_box", [{"external_id": "b1"}], ["car", "person"], redundancy=3)
    jitter = [{"boxes": [{**b, "x": b["x"] + d} for b in BOXES]} for d in (0, 1, -1)]
    answer(server, project, jitter)
    page = console(new_page, project, "/results")
    # Boxes keep no agreement figure: no column of dashes for it.
    expect(page.locator("#results-table thead th")).to_have_text(["Task", "Consensus", "Confidence", "Answers", "State"])
    thumb = page.locator("#results-table .image-view").first
    expect(thumb).to_have_attribute("data-drawn", "true")
    boxes = thumb.locator(".view-box")
    expect(boxes).to_have_count(2)
    img = thumb.locator("img").bounding_box()
    scale = img["width"] / W
    assert abs(img["height"] / H - scale) < 0.02 and scale < 1, "a thumbnail keeps the image's proportions"
    for i, expected in enumerate(BOXES):
        rect = boxes.nth(i).bounding_box()
        for got, want in ((rect["x"] - img["x"], expected["x"]), (rect["y"] - img["y"], expected["y"]),
                          (rect["width"], expected["w"]), (rect["height"], expected["h"])):
            assert abs(got - want * scale) <= 1.5, (i, got, want * scale)
    shoot(page, "results-boxes-desktop")
    # The task page: the consensus, each worker's boxes in its own colour, shown on demand.
    open_task(page, page.locator("a.task-link").first)
    expect(page.locator(".answer-card")).to_have_count(3)
    big = page.locator("#data-view .image-view")
    expect(big).to_have_attribute("data-drawn", "true")
    expect(big.locator('.view-box[data-layer="0"]:visible')).to_have_count(2)
    expect(big.locator('.view-box[data-layer="2"]:visible')).to_have_count(0)
    page.locator('#layer-toggles input[data-layer="2"]').check()
    expect(big.locator('.view-box[data-layer="2"]:visible')).to_have_count(2)
    colours = {page.locator(f".answer-card >> nth={i}").evaluate("e => getComputedStyle(e).borderTopColor")
               for i in range(3)}
    assert len(colours) == 3, colours
    shoot(page, "task-boxes-desktop")
    phone = console(new_page, project, "/results", PHONE)
    expect(phone.locator("#results-table .image-view").first).to_have_attribute("data-drawn", "true")
    shoot(phone, "results-boxes-phone")
    # A bad filter is named beside its field, and nothing else is shown.
    page.goto(f"/console/projects/{project['id']}/results?confidence_min=2")
    error = page.locator('[data-field="confidence_min"] .field-error')
    expect(error).to_be_visible()
    expect(error).to_contain_text("must be at most 1")
    expect(page.locator("#results-table tbody tr.empty")).to_have_count(1)
    shoot(page, "results-bad-filter-desktop")


def test_override_exclude_and_block_change_the_consensus_and_the_export(new_page, server):
    tasks = [{"data": {"text": f"review number {i}"}, "external_id": f"r{i}"} for i in range(2)]
    project = requester_project(server, "text_classification", tasks, ["pos", "neg"], redundancy=3)
    workers = answer(server, project, [{"label": "pos"}, {"label": "neg"}, {"label": "neg"}])
    page = console(new_page, project, "/results")
    expect(page.locator("#results-table tbody tr")).to_have_count(2)
    expect(page.locator("#results-table .label-chip").first).to_have_text("neg")
    shoot(page, "results-text-desktop")

    # Override the first task with the requester's own label, in the worker page's own label picker.
    open_task(page, page.locator("a.task-link").first)
    task_id = int(page.url.rsplit("/", 1)[1])
    page.locator("#override-btn").click()
    expect(page.locator("#editor")).to_be_visible()
    shoot(page, "task-override-desktop")
    page.locator("#editor .label-btn", has_text="pos").click()
    page.locator("#override-save").click()
    expect(page.locator("#review-state .badge-override")).to_be_visible()
    expect(page.locator("#consensus-view .label-chip")).to_have_text("pos")
    download = page.request.get(f"/api/projects/{project['id']}/export?format=jsonl")
    assert download.ok, download.text()
    rows = {row["id"]: row for row in map(json.loads, download.text().splitlines())}
    assert rows[task_id]["label"] == "pos" and rows[task_id]["reviewed"] is True

    # Exclude one "neg" answer of the other task: its consensus is now a tie, and open again.
    page.goto(f"/console/projects/{project['id']}/results?sort=id")
    other = page.locator(f'#results-table tr:not([data-task-id="{task_id}"]) a.task-link')
    open_task(page, other)
    neg_card = page.locator(".answer-card", has_text=workers[1]["username"])
    neg_card.locator(".exclude-btn").click()
    expect(page.locator(".answer-card.excluded")).to_have_count(1)
    expect(page.locator("#task-state")).to_have_text("open")
    shoot(page, "task-excluded-desktop")
    phone = new_page(PHONE)
    sign_in(phone, project["requester"], page.url.replace(server.base_url, ""))
    shoot(phone, "task-phone")

    # Blocking the other "neg" worker leaves only the "pos" answer: the consensus follows.
    with server.client(project["requester"]["token"]) as c:
        r = c.post(f"/api/projects/{project['id']}/workers/{workers[2]['id']}/block")
        assert r.status_code == 200, r.text
    page.reload()
    expect(page.locator("#consensus-view .label-chip")).to_have_text("pos")
    expect(page.locator(".answer-card.excluded")).to_have_count(2)


TEXT = "Ada Lovelace met Charles Babbage in London ."


def test_spans_and_rankings_look_like_their_task_type(new_page, server):
    spans = requester_project(server, "named_entities", [{"data": {"text": TEXT}, "external_id": "n1"}],
                              ["PER", "LOC"], redundancy=2)
    marked = {"spans": [{"start": 0, "end": 12, "label": "PER"}, {"start": 36, "end": 42, "label": "LOC"}]}
    answer(server, spans, [marked, marked])
    page = console(new_page, spans, "/results")
    marks = page.locator("#results-table mark.view-span")
    expect(marks).to_have_count(2)
    expect(marks.nth(0)).to_have_text("Ada Lovelace")
    expect(marks.nth(1)).to_have_text("London")
    shoot(page, "results-spans-desktop")
    open_task(page, page.locator("a.task-link").first)
    expect(page.locator(".answer-card mark.view-span")).to_have_count(4)
    shoot(page, "task-spans-desktop")

    responses = [{"id": "a", "text": "Paris is the capital.", "model": "m1"},
                 {"id": "b", "text": "I think it is Lyon.", "model": "m2"}]
    ranking = requester_project(server, "preference_ranking", [{"data": {"prompt": "Capital of France?",
                                                                           "responses": responses}}], [],
                                redundancy=2)
    answer(server, ranking, [{"ranking": [["a"], ["b"]], "rationale": "a is right"}, {"ranking": [["a"], ["b"]]}])
    page = console(new_page, ranking, "/results")
    items = page.locator("#results-table .rank-view .rank-model")
    expect(items).to_have_text(["m1", "m2"])
    shoot(page, "results-ranking-desktop")
    open_task(page, page.locator("a.task-link").first)
    expect(page.locator(".answer-card .rationale")).to_have_text(["“a is right”"])
    shoot(page, "task-ranking-desktop")
    phone = console(new_page, ranking, "/results", PHONE)
    expect(phone.locator("#results-table .rank-view")).to_have_count(1)
    shoot(phone, "results-ranking-phone")


def test_the_override_editor_of_a_box_task_shows_the_image_to_draw_on(new_page, server):
    # On a wide screen the worker page's boxes take the height their page leaves them; in the task page's editor
    # (a card in a page that scrolls) that height was nothing, and the image to draw on was a 0-pixel strip.
    project = requester_project(server, "bounding_box", [{"external_id": "b1"}], ["car", "person"], redundancy=2)
    answer(server, project, [{"boxes": BOXES}, {"boxes": BOXES}])
    page = console(new_page, project, "/results")
    open_task(page, page.locator("a.task-link").first)
    page.locator("#override-btn").click()
    expect(page.locator("#editor")).to_be_visible()
    expect(page.locator("#editor .bbox")).to_have_count(2)     # prefilled with the consensus
    viewport = page.locator("#box-viewport").bounding_box()
    assert viewport and viewport["height"] >= 300, f"the drawing area is {viewport}"
    image = page.locator("#box-image").bounding_box()
    assert image and image["y"] >= viewport["y"] and image["y"] + image["height"] <= viewport["y"] + viewport["height"] + 1
    save = page.locator("#override-save").bounding_box()
    assert save["y"] >= viewport["y"] + viewport["height"], "the save button sits below the image, not on it"
    shoot(page, "task-override-boxes-desktop")
    page.keyboard.press("n")                                    # the worker page's keys, and its undo
    page.keyboard.press("Delete")
    expect(page.locator("#editor .bbox")).to_have_count(1)
    page.keyboard.press("Control+z")
    expect(page.locator("#editor .bbox")).to_have_count(2)


def test_a_rated_ranking_consensus_is_overridden_as_it_stands(new_page, server):
    # A ranking consensus rates each response with a summary ({median, mean, ...}); the editor took it for the
    # answer's 1-7 ratings, showed none of them and sent the summaries back: saving the consensus unchanged was
    # refused with "answer.ratings.a must be a whole number". It starts from the rounded medians.
    responses = [{"id": "a", "text": "first", "model": "m1"}, {"id": "b", "text": "second", "model": "m2"}]
    project = requester_project(server, "preference_ranking", [{"data": {"prompt": "Pick one.", "responses": responses},
                                                                "external_id": "p1"}], [], redundancy=2)
    answer(server, project, [{"ranking": [["b"], ["a"]], "ratings": {"a": 2, "b": 6}},
                             {"ranking": [["b"], ["a"]], "ratings": {"a": 3, "b": 6}}])
    page = console(new_page, project, "/results")
    open_task(page, page.locator("a.task-link").first)
    page.locator("#override-btn").click()
    expect(page.locator("#editor")).to_be_visible()
    expect(page.locator('#editor [data-card="b"] .rate[aria-pressed="true"]')).to_have_text("6")
    expect(page.locator('#editor [data-card="a"] .rate[aria-pressed="true"]')).to_have_count(1)  # 2.5 -> 2 or 3
    page.keyboard.press("Control+Enter")
    expect(page.locator("#review-state .badge-override")).to_be_visible()
    review = server.query("SELECT answer FROM reviews WHERE project_id = :p", p=project["id"])
    stored = review[0]["answer"]
    stored = json.loads(stored) if isinstance(stored, str) else stored
    assert stored["ranking"] == [["b"], ["a"]] and stored["ratings"]["b"] == 6 and stored["ratings"]["a"] in (2, 3)


def test_the_override_editor_names_the_responses_by_the_letters_of_the_task_page(new_page, server):
    """The task page names responses by their place in the data (A, B, C...), in the data and in every answer; the
    override editor showed them in a worker's shuffled order, so the requester who read 'B is best' and pressed B
    ranked another response first. Past H the console's letters ran on through I, where the editor skips the page's
    keys (I, S, X, Z): the ninth response was I on the page and J in the editor."""
    responses = [{"id": f"r{i}", "text": f"response number {i}", "model": f"m{i}"} for i in range(10)]
    project = requester_project(server, "preference_ranking", [{"data": {"prompt": "Rank them.", "responses": responses},
                                                                "external_id": "p1"}], [], redundancy=1)
    answer(server, project, [{"ranking": [[r["id"]] for r in responses]}])
    page = console(new_page, project, "/results")
    open_task(page, page.locator("a.task-link").first)
    letters = "ABCDEFGHJK"
    items = page.locator("#data-view ol.responses-view > li")
    expect(items).to_have_count(10)
    assert items.evaluate_all("els => els.map(e => String.fromCharCode(64 + e.value)).join('')") == letters
    expect(page.locator("#answers .rank-item .response-letter")).to_have_text(list(letters))
    page.locator("#override-btn").click()
    expect(page.locator("#editor")).to_be_visible()
    expect(page.locator("#editor .response .response-letter")).to_have_text(list(letters))  # the data's order
    for i, letter in enumerate(letters):
        expect(page.locator(f'#editor [data-card="r{i}"] .response-letter')).to_have_text(letter)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#review-state .badge-override")).to_be_visible()


def test_a_rationale_says_the_letters_its_worker_saw(new_page, server):
    """A worker's rationale names responses by the letters the labeling page gave them, in that worker's shuffled
    order; the task page names them in the data's order, so "A refuses" was read against another A."""
    responses = [{"id": "a", "text": "I cannot help.", "model": "m-refuse"}, {"id": "b", "text": "Here is how.", "model": "m-help"}]
    project = requester_project(server, "preference_ranking", [{"data": {"prompt": "How?", "responses": responses},
                                                                "external_id": "p1"}], [], redundancy=2)
    shuffled, in_order = server.user("worker", password=None), server.user("worker", password=None)
    for worker, letters, rationale in ((shuffled, {"a": "B", "b": "A"}, "A helps; B refuses"),
                                       (in_order, {"a": "A", "b": "B"}, "B helps")):
        with server.client(worker["token"]) as c:
            lease = c.post(f"/api/projects/{project['id']}/next").json()
            r = c.post(f"/api/assignments/{lease['assignment_id']}/submit", json={
                "answer": {"ranking": [["b"], ["a"]], "rationale": rationale},
                "meta": {"shown_order": sorted(letters, key=letters.get), "letters": letters}})
            assert r.status_code == 201, r.text
    page = console(new_page, project, "/results")
    open_task(page, page.locator("a.task-link").first)
    cards = page.locator("#answers .answer-card")
    expect(cards.filter(has_text="A helps").locator(".worker-letters")).to_have_text(
        "Letters as this worker saw them: A = m-help (B here), B = m-refuse (A here).")
    expect(cards.filter(has_text="B helps").locator(".worker-letters")).to_have_count(0)  # the page's own letters


def test_agreement_stays_on_the_results_after_a_project_wide_recompute(new_page, server):
    # The per-task consensus kept each task's agreement; the project-wide one (POST .../consensus, `labeling
    # consensus`, the demo) dropped it: an Agreement column of dashes, and "Most disputed" listed no task.
    tasks = [{"data": {"text": f"review {i}"}, "external_id": f"r{i}"} for i in range(2)]
    project = requester_project(server, "text_classification", tasks, ["pos", "neg"], redundancy=3)
    answer(server, project, [{"label": "pos"}, lambda d: {"label": "neg" if d["text"] == "review 0" else "pos"},
                             {"label": "pos"}])
    with server.client(project["requester"]["token"]) as c:
        r = c.post(f"/api/projects/{project['id']}/consensus")
        assert r.status_code == 200, r.text
    page = console(new_page, project, "/results?sort=disagreement")
    rows = page.locator("#results-table tbody tr[data-task-id]")
    expect(rows).to_have_count(2)
    expect(rows.locator('td[data-label="Agreement"]')).to_have_text(["0.33", "1.00"])  # review 0 is disputed
    expect(rows.first.locator(".ext-id")).to_have_text("r0")
    multi = requester_project(server, "text_multilabel", tasks, ["a", "b"], redundancy=2)
    answer(server, multi, [{"labels": ["a"]}, {"labels": ["a", "b"]}])
    with server.client(multi["requester"]["token"]) as c:
        assert c.post(f"/api/projects/{multi['id']}/consensus").status_code == 200
    page = console(new_page, multi, "/results?sort=disagreement")
    expect(page.locator('#results-table tbody td[data-label="Agreement"]')).to_have_text(["0.50", "0.50"])


def test_a_gold_task_and_a_demonstration_say_what_they_are(new_page, server):
    project = requester_project(server, "text_classification", [
        {"data": {"text": "a check"}, "gold": {"label": "pos"}, "external_id": "g"},
        {"data": {"text": "regular"}, "external_id": "r"}], ["pos", "neg"], redundancy=1, gold_first_n=1)
    answer(server, project, [{"label": "neg"}])  # the gold task first, answered wrong, then the regular one
    with server.client(project["requester"]["token"]) as c:
        tasks = {t["external_id"]: t["id"] for t in c.get(f"/api/projects/{project['id']}/tasks").json()["data"]}
    page = console(new_page, project, f"/tasks/{tasks['g']}")
    expect(page.locator("#consensus-title")).to_have_text("Gold answer")
    expect(page.locator("#consensus-view")).to_contain_text("pos")
    expect(page.locator("#task-counts")).to_have_text(re.compile(r"^1 answer: each worker answers a gold task once"))
    expect(page.locator(".answer-card header")).to_contain_text("scored 0.00 against the gold answer")
    expect(page.locator("#accept-btn")).to_have_count(0)
    page.goto(f"/console/projects/{project['id']}/tasks/{tasks['r']}")
    expect(page.locator("#consensus-title")).to_have_text("Consensus")
    expect(page.locator(".answer-card header")).to_contain_text("counted")

    demo = requester_project(server, "demonstration", [{"data": {"prompt": "Say hello."}, "external_id": "d"}], [],
                             redundancy=1)
    answer(server, demo, [{"text": "Hello."}])
    with server.client(demo["requester"]["token"]) as c:
        task_id = c.get(f"/api/projects/{demo['id']}/tasks").json()["data"][0]["id"]
    page = console(new_page, demo, f"/tasks/{task_id}")
    expect(page.locator("#task-state")).to_have_text("complete")
    expect(page.locator("#no-consensus")).to_have_text(re.compile("^Demonstrations are not combined"))


def test_an_empty_ordered_page_points_to_the_tasks_without_a_consensus(new_page, server):
    project = requester_project(server, "text_classification", [{"data": {"text": "waiting"}, "external_id": "w"}],
                                ["pos", "neg"], redundancy=2)
    page = console(new_page, project, "/results?state=open")
    expect(page.locator("#results-table tbody tr.empty")).to_contain_text("tasks without one yet")
    page.locator("#import-order-link").click()
    expect(page).to_have_url(re.compile(r"sort=id"))
    expect(page.locator("#results-table tbody tr:not(.empty)")).to_have_count(1)


def test_the_requester_recomputes_the_consensus_from_the_results_page(new_page, server):
    tasks = [{"external_id": f"r{i}", "data": {"text": f"item {i}"}} for i in range(2)]
    project = requester_project(server, "text_classification", tasks, ["pos", "neg"],
                                redundancy={"min": 2, "max": 4, "target_confidence": 0.6})
    answer(server, project, [{"label": "pos"}, {"label": "pos"}])
    page = console(new_page, project, "/results")
    expect(page.locator(".recompute-card")).to_contain_text("wants one more answer")  # adaptive: it says so
    with page.expect_event("load"):  # then the page shows the new results; what the recompute did is still said
        page.locator("#recompute-btn").click()
        expect(page.locator("#recompute-status")).to_contain_text(
            re.compile(r"Recomputed 2 tasks \(\w[\w-]*, [\d.]+ s\)"))
    expect(page.locator("#recompute-status")).to_contain_text("Recomputed 2 tasks")
    expect(page.locator("#recompute-status")).not_to_contain_text("Showing the new results")
    expect(page.locator("#results-table tbody tr")).to_have_count(2)
    shoot(page, "results-recompute")
    fixed = requester_project(server, "text_classification", tasks[:1], ["pos", "neg"], redundancy=1)
    page = console(new_page, fixed, "/results", PHONE)
    expect(page.locator(".recompute-card")).not_to_contain_text("wants one more answer")
    page.locator("#recompute-btn").click()
    expect(page.locator("#recompute-status")).to_contain_text("Recomputed 0 tasks")
    shoot(page, "results-recompute-phone")


def test_every_project_tab_is_in_sight_on_a_phone(new_page, server):
    """At 390 px the tab bar wraps: Export, Leaderboard and Settings are on screen, not scrolled away to the side."""
    task = {"prompt": "Say hi", "responses": [{"id": "a", "text": "hi", "model": "m1"},
                                              {"id": "b", "text": "hello", "model": "m2"}]}
    project = requester_project(server, "preference_ranking", [{"data": task}], [])
    page = console(new_page, project, "", PHONE)
    tabs = page.locator("nav.tabs a")
    titles = tabs.all_text_contents()
    assert {"Export", "Leaderboard", "Settings"} <= {t.strip() for t in titles}, titles
    for i in range(tabs.count()):
        assert_in_view(tabs.nth(i))
    assert_fits_the_width(page)
    shoot(page, "tabs-phone")


def test_a_text_with_thousands_of_spans_is_drawn_in_one_sweep(new_page, server):
    """ConsoleViews.spans asked every mark at every cut (and again for the tags ending there): quadratic, 29 s for
    the task page of a text with 3 answers of 20,000 spans. It now sweeps the cuts once; the drawing is the same."""
    project = requester_project(server, "named_entities", [{"data": {"text": TEXT}}], ["PER", "LOC"])
    page = console(new_page, project, "/results")
    looked_at = page.evaluate("""() => {
        var text = "word ".repeat(4000), layers = [[], []];
        for (var i = 0; i < 2000; i++) {
          layers[0].push({start: 10 * i, end: 10 * i + 4, label: "PER"});
          layers[1].push({start: 10 * i + 2, end: 10 * i + 8, label: "LOC"});
        }
        var filter = Array.prototype.filter, seen = {n: 0};
        Array.prototype.filter = function (f) { seen.n += this.length; return filter.call(this, f); };
        try {
          var view = window.ConsoleViews.spans(text, layers.map(function (s) { return {spans: s}; }), false);
        } finally { Array.prototype.filter = filter; }
        if (view.querySelectorAll("mark.view-span").length !== 6000) throw new Error("drawn wrong");
        return seen.n;
    }""")
    assert looked_at < 200_000, looked_at  # 8,000 cuts x 4,000 marks before


def test_a_task_page_folds_each_large_answer_and_draws_it_when_opened(new_page, server):
    """The task page drew every span of every answer on its own copy of the text (3 answers of 20,000 spans: 180,000
    elements, 19-38 s before the first frame), and listed every consensus span as a chip. Now an answer of more than
    300 spans shows its counts by label and how many match the consensus, and is drawn when opened; the consensus,
    drawn on the text, lists its first 50 spans and counts the rest. A small answer is drawn as before."""
    words = [f"w{i:04d}" for i in range(400)]
    text = " ".join(words)

    def spans(every: int) -> dict:  # every word a span: each `every`th one LOC, the others PER
        return {"spans": [{"start": 6 * i, "end": 6 * i + 5, "label": "PER" if i % every else "LOC"}
                          for i in range(400)]}
    project = requester_project(server, "named_entities", [{"data": {"text": text}}], ["PER", "LOC"], redundancy=3)
    answer(server, project, [spans(10), spans(10), spans(5)])
    page = console(new_page, project, "/results")
    open_task(page, page.locator("a.task-link").first)
    cards = page.locator(".answer-card")
    expect(cards).to_have_count(3)
    expect(page.locator("#data-view mark.view-span")).to_have_count(400)  # the consensus, on the text
    expect(page.locator("#consensus-view .label-chip")).to_have_count(50)
    expect(page.locator("#consensus-view .more-spans")).to_have_text("and 350 more, on the text (400 spans: PER 360 · "
                                                                     "LOC 40)")
    expect(page.locator(".answer-card mark.view-span")).to_have_count(0)  # folded: nothing drawn yet
    expect(cards.nth(0).locator(".fold-counts")).to_have_text("400 spans: PER 360 · LOC 40")
    expect(cards.nth(0).locator(".fold-match")).to_have_text("400 of them as in the consensus")
    expect(cards.nth(2).locator(".fold-counts")).to_have_text("400 spans: PER 320 · LOC 80")
    expect(cards.nth(2).locator(".fold-match")).to_have_text("360 of them as in the consensus")
    cards.nth(2).locator("summary").click()
    expect(cards.nth(2).locator("mark.view-span")).to_have_count(400)
    expect(cards.nth(2).locator('mark.view-span[data-label="LOC"]')).to_have_count(80)
    expect(cards.nth(0).locator("mark.view-span")).to_have_count(0)
    cards.nth(2).locator("summary").click()  # closed and opened again: drawn once
    cards.nth(2).locator("summary").click()
    expect(cards.nth(2).locator("mark.view-span")).to_have_count(400)

    small = requester_project(server, "named_entities", [{"data": {"text": TEXT}}], ["PER", "LOC"])
    answer(server, small, [{"spans": [{"start": 0, "end": 12, "label": "PER"}]}])
    page = console(new_page, small, "/results")
    open_task(page, page.locator("a.task-link").first)
    expect(page.locator(".answer-card mark.view-span")).to_have_count(1)
    expect(page.locator(".answer-card details")).to_have_count(0)
    # A text is drawn to past its first `most` spans (the page: 2,000), never cutting one; a button draws the rest.
    page.evaluate("""([text, spans]) => {
        const view = window.ConsoleViews.spans(text, [{spans: spans}], false, 100);
        view.id = "partial"; document.getElementById("data-view").append(view);
    }""", [text, spans(10)["spans"][::-1]])
    partial = page.locator("#partial")
    expect(partial.locator("mark.view-span")).to_have_count(100)
    assert partial.locator("mark.view-span").last.text_content() == "w0099"
    expect(partial.locator("button.show-rest")).to_have_text("Show the whole text (300 more spans)")
    partial.locator("button.show-rest").click()
    expect(page.locator("#data-view .span-view:focus mark.view-span")).to_have_count(400)
