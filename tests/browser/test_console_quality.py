"""The console's quality page in Chromium: agreement, the confusion matrix with its axes, the worker table, and
blocking a worker from it (their answers leave the consensus), then unblocking."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import PASSWORD, PHONE, assert_fits_the_width, contrast, sign_in

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
    expect(matrix.locator(".axis-rows")).to_have_text("Final label ↓")
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


def test_every_shade_of_the_confusion_matrix_keeps_its_count_readable(new_page, server):
    """The fourth of five shades had white counts on a mid blue: a contrast of 2.5, under WCAG AA's 4.5."""
    project, requester, _ = _labelled_project(server)
    page = new_page()
    sign_in(page, requester, f"/console/projects/{project['id']}/quality")
    cell = page.locator("#confusion tbody td").first
    for level in range(6):
        cell.evaluate("(td, level) => { td.className = 'heat-' + level; }", level)
        assert contrast(cell) >= 4.5, f"heat-{level}: {contrast(cell):.2f}"
        cell.evaluate("td => td.classList.add('diagonal')")  # bold, in an outline
        assert contrast(cell) >= 4.5, f"heat-{level} diagonal: {contrast(cell):.2f}"


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
    project, requester = _answered(server, labels)
    phone = new_page(PHONE)
    sign_in(phone, requester, f"/console/projects/{project['id']}/quality")
    expect(phone.locator("#confusion th.col-label")).to_have_text(labels)
    note = phone.get_by_text("How often workers answered each label")
    expect(note).to_be_visible()
    card = phone.locator('section[aria-labelledby="confusion-heading"]').bounding_box()
    box = note.bounding_box()
    assert box["x"] + box["width"] <= card["x"] + card["width"], f"the note reaches past its card: {box} {card}"


WHOLE_WORDS = """m => [...m.querySelectorAll('th.col-label')].filter(th => {
  const range = document.createRange();
  range.selectNodeContents(th);
  return range.getClientRects().length > 1;
}).map(th => th.textContent)"""


def _answered(server, labels: list[str]) -> tuple[dict, dict]:
    """(project, requester with a password): one answer per label, so every label is in the matrix."""
    tasks = [{"data": {"text": f"review {i}"}} for i in range(len(labels))]
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
    return project, {**requester, "password": PASSWORD}


def test_on_a_phone_the_matrix_keeps_its_labels_whole_and_says_when_it_scrolls(new_page, server):
    # Three labels of 8 letters were cut mid-word on a phone ("positiv-e") and the third pushed out of the card,
    # which scrolled sideways without a sign, and without a way to scroll it from the keyboard.
    project, requester = _answered(server, ["positive", "negative", "neutral"])
    phone = new_page(PHONE)
    sign_in(phone, requester, f"/console/projects/{project['id']}/quality")
    matrix = phone.locator("#confusion")
    expect(matrix.locator("th.col-label")).to_have_count(3)
    assert matrix.evaluate(WHOLE_WORDS) == []
    wrap = phone.locator(".table-wrap:has(#confusion)")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), "three short labels fit a phone"
    expect(phone.locator(".scroll-hint")).to_have_count(0)
    assert wrap.get_attribute("tabindex") is None

    labels = ["positive", "negative", "neutral", "mixed", "sarcastic", "unrelated", "question", "complaint"]
    project, requester = _answered(server, labels)
    phone = new_page(PHONE)
    sign_in(phone, requester, f"/console/projects/{project['id']}/quality")
    matrix = phone.locator("#confusion")
    assert matrix.evaluate(WHOLE_WORDS) == []
    wrap = phone.locator(".table-wrap:has(#confusion)")
    hint = phone.locator(".scroll-hint")
    expect(hint).to_be_visible()
    expect(hint).to_have_text(re.compile("scroll the table sideways"))
    assert wrap.get_attribute("tabindex") == "0" and wrap.get_attribute("role") == "region"
    assert wrap.get_attribute("aria-label") == "Confusion matrix, scrolls sideways"
    wrap.focus()
    phone.keyboard.press("ArrowRight")
    for _ in range(50):  # (the page's CSP forbids wait_for_function's string evaluation)
        if wrap.evaluate("w => w.scrollLeft") > 0:
            break
        phone.wait_for_timeout(50)
    assert wrap.evaluate("w => w.scrollLeft") > 0, "the arrow key scrolls the focused table"
    assert_fits_the_width(phone)  # the page itself never scrolls sideways
