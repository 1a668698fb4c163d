"""Long names without spaces (a 100-character label, a 200-character external id, a 100-character username)
wrap inside the console's pages instead of widening them past the window, on a desktop and on a phone."""

from __future__ import annotations

import json
import uuid

from tests.browser.support import DESKTOP, PHONE, assert_fits_the_width, label_page, png, sign_in

LONG_LABEL = "L" * 100  # LABELING_MAX_LABEL_CHARS
LONG_EXTERNAL_ID = "E" * 200


def test_long_labels_ids_and_usernames_wrap_in_the_console(new_page, server):  # noqa: ANN001
    project = server.project("text_classification",
                             [{"data": {"text": "a review"}, "external_id": LONG_EXTERNAL_ID}],
                             ["<b>ok</b>", LONG_LABEL], redundancy=1)
    long_worker = {"username": ("w" + uuid.uuid4().hex * 4)[:100], "role": "worker", "password": "a-long-password"}
    with server.client(server.admin_token) as c:
        r = c.post("/api/users", json=long_worker)
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        r = c.post(f"/api/users/{project['requester']['id']}/password", json={"password": "a-long-password"})
        assert r.status_code == 200, r.text
    with server.client(token) as c:
        lease = c.post(f"/api/projects/{project['id']}/next").json()
        r = c.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": LONG_LABEL}})
        assert r.status_code == 201, r.text
    task_id = lease["task"]["id"]
    requester = {**project["requester"], "password": "a-long-password"}
    admin = server.user("admin")
    base = f"/console/projects/{project['id']}"
    for viewport in (DESKTOP, PHONE):
        page = new_page(viewport)
        sign_in(page, requester, base)
        for path in (base, f"{base}/results", f"{base}/tasks/{task_id}", f"{base}/quality"):
            page.goto(path)
            page.wait_for_load_state("networkidle")
            if "/quality" not in path:  # results and the task draw their answers with the page's script
                page.locator(".label-chip, .chip-static").first.wait_for()
            assert_fits_the_width(page)
        # An import refused for a duplicate external id quotes the id in its message.
        page.goto(f"{base}/import")
        page.locator("#dropzone").wait_for()
        page.wait_for_load_state("load")
        duplicate = json.dumps([{"data": {"text": "again"}, "external_id": LONG_EXTERNAL_ID}]).encode()
        page.set_input_files("#file-input", {"name": "again.json", "mimeType": "application/json", "buffer": duplicate})
        page.locator("#import-result .import-error").wait_for()
        assert_fits_the_width(page)
        page = new_page(viewport)
        sign_in(page, admin, "/console/people")
        # The users table may scroll sideways on a phone; on a desktop a long name must not push the actions away.
        if viewport is DESKTOP:
            row = page.locator(f'tr[data-username="{long_worker["username"]}"]')
            right = row.locator("[data-action=deactivate]").evaluate("el => el.getBoundingClientRect().right")
            assert right <= DESKTOP["width"], f"the Deactivate button is off the window, at x={right}"
        assert_fits_the_width(page)


def test_a_long_model_name_wraps_on_the_results_and_the_leaderboard(new_page, server):  # noqa: ANN001
    model = "model-" + "m" * 194
    task = {"data": {"prompt": "Which is better?", "responses": [{"id": "a", "text": "one", "model": model},
                                                                  {"id": "b", "text": "two", "model": "small"}]}}
    project = server.project("preference_ranking", [task], redundancy=1)
    worker = server.user("worker")
    with server.client(worker["token"]) as c:
        lease = c.post(f"/api/projects/{project['id']}/next").json()
        r = c.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"ranking": [["a"], ["b"]]}})
        assert r.status_code == 201, r.text
    with server.client(server.admin_token) as c:
        r = c.post(f"/api/users/{project['requester']['id']}/password", json={"password": "a-long-password"})
        assert r.status_code == 200, r.text
    requester = {**project["requester"], "password": "a-long-password"}
    base = f"/console/projects/{project['id']}"
    for viewport in (DESKTOP, PHONE):
        page = new_page(viewport)
        sign_in(page, requester, f"{base}/results")
        page.locator(".rank-item").first.wait_for()
        assert_fits_the_width(page)
        page.goto(f"{base}/leaderboard")
        page.locator("#leaderboard-table").wait_for()
        assert_fits_the_width(page)
        if viewport == PHONE:  # the phone's chart cuts the name short inside its own width, rating included
            chart = page.locator("#ratings-chart-narrow").bounding_box()
            for name in page.locator("#ratings-chart-narrow .rating-row text").all():
                box = name.bounding_box()
                assert box["x"] + box["width"] <= chart["x"] + chart["width"] + 1, (box, chart)


def test_a_long_entity_label_stays_inside_the_text_on_a_phone(new_page, server, worker):  # noqa: ANN001
    project = server.project("named_entities", [{"data": {"text": "Chloé Martin leads the desk in Paris."}}],
                             ["N" * 100, "ORG"])
    page = label_page(new_page, worker, project, PHONE)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("1")
    tag = page.locator("#entity-text .ent-tag")
    tag.wait_for()
    box, text = tag.bounding_box(), page.locator("#entity-text").bounding_box()
    assert box["x"] + box["width"] <= text["x"] + text["width"] + 1, (box, text)
    assert page.locator("#entity-text .ent-label").get_attribute("title") == "N" * 100
    assert_fits_the_width(page)


def test_a_long_box_label_is_cut_short_on_the_task_page(new_page, server):  # noqa: ANN001
    requester = server.user("requester")
    image = server.upload_image(requester["token"], png(400, 300))
    project = server.project("bounding_box", [{"data": {"image": image}}], ["B" * 100], redundancy=1)
    worker = server.user("worker")
    with server.client(worker["token"]) as c:
        lease = c.post(f"/api/projects/{project['id']}/next").json()
        box = {"label": "B" * 100, "x": 200, "y": 10, "w": 40, "h": 30}
        r = c.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"boxes": [box]}})
        assert r.status_code == 201, r.text
    with server.client(server.admin_token) as c:
        r = c.post(f"/api/users/{project['requester']['id']}/password", json={"password": "a-long-password"})
        assert r.status_code == 200, r.text
    page = new_page(PHONE)
    sign_in(page, {**project["requester"], "password": "a-long-password"},
            f"/console/projects/{project['id']}/tasks/{lease['task']['id']}")
    page.locator(".view-box-label").first.wait_for()
    assert_fits_the_width(page)


def test_a_short_label_beside_a_long_one_keeps_its_own_height_on_a_phone(new_page, server, worker):  # noqa: ANN001
    """Labels sit two to a row on a phone: beside a 100-character label, a short one stretched as tall and showed
    its name in the middle of the tall button, out of the label box's sight."""
    project = server.project("text_classification", [{"data": {"text": "a text"}}], ["short", "W" * 100])
    page = label_page(new_page, worker, project, PHONE)
    heights = page.locator("#labels .label-btn").evaluate_all("bs => bs.map(b => b.getBoundingClientRect().height)")
    assert heights[0] < 60 < heights[1], heights
