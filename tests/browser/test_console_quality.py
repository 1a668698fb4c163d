"""The console's quality page in Chromium: agreement, the confusion matrix with its axes, the worker table, and
blocking a worker from it (their answers leave the consensus), then unblocking."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import PASSWORD, PHONE, assert_fits_the_width, sign_in

LABELS = ["cat", "dog", "bird"]
# What each worker answers, task by task: ann and ben agree but on t4, cy disagrees more.
ANSWERS = {
    "ann": ["cat", "dog", "bird", "cat"],
    "ben": ["cat", "dog", "bird", "dog"],
    "cy": ["dog", "dog", "cat", "cat"],
}


def _labelled_project(server) -> tuple[dict, dict, dict]:
    tasks = [{"data": {"text": f"animal {i}"}, "external_id": f"t{i}"} for i in range(1, 5)]
    project = server.project("text_classification", tasks, LABELS, redundancy=3)
    requester = project["requester"]
    with server.client(server.admin_token) as c:
        r = c.post(f"/api/users/{requester['id']}/password", json={"password": PASSWORD})
        assert r.status_code == 200, r.text
    requester = {**requester, "password": PASSWORD}
    workers = {}
    for name, answers in ANSWERS.items():
        worker = server.user("worker")
        workers[name] = worker
        with server.client(worker["token"]) as c:
            for _ in answers:
                lease = c.post(f"/api/projects/{project['id']}/next")
                assert lease.status_code == 200, lease.text
                task = int(lease.json()["task"]["data"]["text"].split()[-1])
                r = c.post(f"/api/assignments/{lease.json()['assignment_id']}/submit",
                           json={"answer": {"label": answers[task - 1]}, "duration_ms": 1000 * task})
                assert r.status_code == 201, r.text
    return project, requester, workers


def test_the_quality_page_shows_the_matrix_and_workers_and_blocks_a_worker(new_page, server, tmp_path):
    project, requester, workers = _labelled_project(server)
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    url = f"/console/projects/{project['id']}/quality"
    sign_in(page, requester, url)
    expect(page).to_have_url(re.compile(re.escape(url) + "$"))
    expect(page.locator("[data-tab=quality]")).to_have_attribute("aria-current", "page")
    expect(page.locator('#agreement [data-stat="alpha"]')).to_have_text(re.compile(r"^-?\d\.\d\d$"))
    expect(page.locator('#agreement [data-stat="answers"]')).to_have_text("12")

    matrix = page.locator("#confusion")
    expect(matrix.locator("th.axis")).to_have_text("Worker answer →")
    expect(matrix.locator(".axis-rows")).to_have_text("Consensus ↓")
    expect(matrix.locator("th.col-label")).to_have_text(LABELS)
    expect(matrix.locator("th.row-label")).to_have_text([re.compile(f"{label}$") for label in LABELS])
    cells = [[int(c) for c in row.locator("td").all_text_contents()] for row in matrix.locator("tbody tr").all()]
    with server.client(requester["token"]) as c:
        quality = c.get(f"/api/projects/{project['id']}/quality").json()
    assert cells == quality["confusion"]["matrix"] and sum(map(sum, cells)) == 12

    table = page.locator("#workers")
    for name, worker in workers.items():
        row = table.locator(f'tr[data-username="{worker["username"]}"]')
        expect(row.locator('[data-stat="answers"]')).to_have_text("4")
        expect(row.locator('[data-stat="median"]')).to_have_text("2.5 s")
        expect(row.locator('[data-stat="status"]')).to_have_text("working")
    cy = workers["cy"]
    cy_row = table.locator(f'tr[data-username="{cy["username"]}"]')
    expect(cy_row.locator('[data-stat="agreement"]')).not_to_have_text("100%")
    expect(page.locator("#throughput rect.bar")).not_to_have_count(0)
    expect(page.locator("#distribution tbody tr")).to_have_count(3)
    page.screenshot(path=str(tmp_path / "quality-desktop.png"), full_page=True)

    # Block cy from the table: their answers leave the consensus; then unblock.
    cy_row.locator('button[data-action="block"]').click()
    expect(cy_row.locator('[data-stat="status"]')).to_have_text("blocked")
    expect(page.locator("#workers-status")).to_have_text(f"{cy['username']} is blocked.")
    rows = server.query("SELECT blocked FROM project_workers WHERE project_id = :p AND worker_id = :w",
                        p=project["id"], w=cy["id"])
    assert rows and rows[0]["blocked"]
    excluded = server.query("SELECT count(*) AS n FROM annotations WHERE project_id = :p AND worker_id = :w "
                            "AND excluded = true", p=project["id"], w=cy["id"])
    assert excluded[0]["n"] == 4
    expect(page.locator('#agreement [data-stat="answers"]')).to_have_text("12")
    cy_row.locator('button[data-action="unblock"]').click()
    expect(cy_row.locator('[data-stat="status"]')).to_have_text("working")
    expect(cy_row.locator('button[data-action="block"]')).to_be_visible()

    phone = new_page(PHONE)
    sign_in(phone, requester, url)
    expect(phone.locator("#workers")).to_be_visible()
    assert_fits_the_width(phone)
    phone.screenshot(path=str(tmp_path / "quality-phone.png"), full_page=True)


def test_a_project_without_answers_says_so(new_page, server):
    project = server.project("text_classification", [{"data": {"text": "x"}}], LABELS)
    requester = project["requester"]
    with server.client(server.admin_token) as c:
        c.post(f"/api/users/{requester['id']}/password", json={"password": PASSWORD})
    page = new_page()
    sign_in(page, {**requester, "password": PASSWORD}, f"/console/projects/{project['id']}/quality")
    expect(page.locator("#no-workers")).to_be_visible()
    expect(page.locator("#no-throughput")).to_be_visible()


def test_the_confusion_matrix_note_wraps_inside_its_card_on_a_phone(new_page, server):
    # The note was the table's caption: as wide as the matrix, which scrolls sideways on a phone, so the note's
    # lines were cut at the card's edge ("...whose consensus is the ro").
    labels = ["positive", "negative", "neutral", "mixed"]
    tasks = [{"data": {"text": f"review {i}"}} for i in range(4)]
    project = server.project("text_classification", tasks, labels, redundancy=1)
    requester = project["requester"]
    with server.client(server.admin_token) as c:
        assert c.post(f"/api/users/{requester['id']}/password", json={"password": PASSWORD}).status_code == 200
    worker = server.user("worker")
    with server.client(worker["token"]) as c:
        for label in labels:
            lease = c.post(f"/api/projects/{project['id']}/next").json()
            r = c.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": label}})
            assert r.status_code == 201, r.text
    phone = new_page(PHONE)
    sign_in(phone, {**requester, "password": PASSWORD}, f"/console/projects/{project['id']}/quality")
    expect(phone.locator("#confusion th.col-label")).to_have_text(labels)
    note = phone.get_by_text("How often workers answered each label")
    expect(note).to_be_visible()
    card = phone.locator('section[aria-labelledby="confusion-heading"]').bounding_box()
    box = note.bounding_box()
    assert box["x"] + box["width"] <= card["x"] + card["width"], f"the note reaches past its card: {box} {card}"
