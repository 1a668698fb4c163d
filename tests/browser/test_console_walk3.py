"""What the walk3 walk-through found in the console: an error on a fieldset marked and focused its first radio
button instead of the number that was wrong, the focus lost after a CSV import, and workers' labels written white
on colours too light for it."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.browser.support import PASSWORD, contrast, drop_file, png, sign_in


def _requester_project(server, **settings) -> tuple[dict, dict]:  # noqa: ANN001, ANN003
    """A requester with a password and a text classification project of theirs."""
    requester = server.user("requester")
    with server.client(requester["token"]) as c:
        r = c.post("/api/projects", json={"name": f"walk3 {uuid.uuid4().hex[:8]}", "task_type": "text_classification",
                                          "labels": ["pos", "neg"], **settings})
        assert r.status_code == 201, r.text
    return requester, r.json()


def test_a_redundancy_error_marks_and_focuses_the_number_not_the_fixed_or_adaptive_radio(new_page, server):  # noqa: ANN001
    # The API names the whole field ("redundancy"); its fieldset starts with the Fixed/Adaptive radios, and the
    # first of them took aria-invalid, the error's description and the focus: a screen reader said "Fixed, radio
    # button, not checked, invalid" for "max must be at least min", and Space there switched to fixed redundancy.
    requester, project = _requester_project(server)
    page = new_page()
    sign_in(page, requester, f"/console/projects/{project['id']}/settings")
    page.check('input[name="redundancy_kind"][value="adaptive"]')
    page.fill("#f-rmin", "4")
    page.fill("#f-rmax", "2")
    page.click("#save")
    error = page.locator('[data-field="redundancy"] > .field-error')
    expect(error).to_have_text("max must be at least min")
    expect(page.locator("#f-rmin")).to_be_focused()
    expect(page.locator("#f-rmin")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-rmin")).to_have_attribute("aria-describedby", error.get_attribute("id"))
    expect(page.locator('input[name="redundancy_kind"][aria-invalid]')).to_have_count(0)
    expect(page.locator('input[name="redundancy_kind"][value="adaptive"]')).to_be_checked()

    # a fixed redundancy of 0 on a new project: the Answers box is the one marked and focused
    page.goto("/console/projects/new")
    page.fill("#f-name", f"walk3 {uuid.uuid4().hex[:8]}")
    page.click("#add-label")
    page.keyboard.type("pos")
    page.fill("#f-redundancy", "0")
    page.click("#save")
    expect(page.locator('[data-field="redundancy"] > .field-error')).to_have_text("must be at least 1")
    expect(page.locator("#f-redundancy")).to_be_focused()
    expect(page.locator("#f-redundancy")).to_have_attribute("aria-invalid", "true")
    expect(page.locator('input[name="redundancy_kind"][aria-invalid]')).to_have_count(0)


def test_after_a_csv_import_or_its_cancel_the_keyboard_is_back_on_the_drop_zone(new_page, server):  # noqa: ANN001
    # The column table went away with the focus on its Import (or Cancel) button: the focus fell to the page's
    # body, so the next Tab started again at the top bar.
    requester, project = _requester_project(server)
    page = new_page()
    sign_in(page, requester, f"/console/projects/{project['id']}/import")
    drop_file(page, "a.csv", "text,id\nfirst,r1\nsecond,r2\n", "text/csv")
    expect(page.locator("#csv-mapping")).to_be_visible()
    page.locator("#csv-cancel").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#csv-mapping")).to_be_hidden()
    expect(page.locator("#dropzone")).to_be_focused()

    drop_file(page, "a.csv", "text,id\nfirst,r1\nsecond,r2\n", "text/csv")
    page.locator("#csv-import").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#import-result")).to_have_text("Imported 2 tasks from a.csv.")
    expect(page.locator("#csv-mapping")).to_be_hidden()
    expect(page.locator("#dropzone")).to_be_focused()
    assert [r["external_id"] for r in server.query(
        "SELECT external_id FROM tasks WHERE project_id = :p ORDER BY id", p=project["id"])] == ["r1", "r2"]


def _answered_by_three(server, task_type: str, data: dict, answers: list[dict]) -> tuple[dict, int]:  # noqa: ANN001
    """A project of one task answered by three workers (in this order); its requester has a password."""
    project = server.project(task_type, [{"data": data, "external_id": "one"}], labels=["circle", "PERSON"],
                             redundancy=3)
    for answer in answers:
        worker = server.user("worker")
        with server.client(worker["token"]) as c:
            lease = c.post(f"/api/projects/{project['id']}/next").json()
            r = c.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": answer})
            assert r.status_code == 201, r.text
    requester = project["requester"]
    with server.client(server.admin_token) as c:
        r = c.post(f"/api/users/{requester['id']}/password", json={"password": PASSWORD})
        assert r.status_code == 200, r.text
    task_id = server.query("SELECT id FROM tasks WHERE project_id = :p", p=project["id"])[0]["id"]
    return {**requester, "password": PASSWORD}, f"/console/projects/{project['id']}/tasks/{task_id}"


def test_the_labels_on_each_workers_boxes_and_entities_stand_out_from_their_colour(new_page, server):  # noqa: ANN001
    # Each worker's answer is drawn in the worker's colour with its labels written in white on it: 3.9:1 on the
    # second worker's orange and 3.4:1 on the third's green, under the 4.5:1 small text needs.
    requester = server.user("requester", password=None)
    image = server.upload_image(requester["token"], png(200, 150, [("ellipse", (40, 30, 120, 110), "#d62728")]))
    box = {"boxes": [{"label": "circle", "x": 38, "y": 28, "w": 84, "h": 84}]}
    span = {"spans": [{"start": 0, "end": 5, "label": "PERSON"}]}
    for task_type, data, answer, drawn in (("bounding_box", {"image": image}, box, ".view-box-label"),
                                           ("named_entities", {"text": "Maria went home."}, span, ".view-span-tag")):
        user, path = _answered_by_three(server, task_type, data, [answer, answer, answer])
        page = new_page()
        sign_in(page, user, path)
        labels = page.locator(f".answer-card {drawn}")
        expect(labels).to_have_count(3)
        for i in range(3):
            assert contrast(labels.nth(i)) >= 4.5, (task_type, i)
