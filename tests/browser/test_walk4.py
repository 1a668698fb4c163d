"""What the walk4 walk-through found: heading levels skipped (the instructions' headings right after the h1), the
new-user form's errors one at a time, Escape not closing the token shown once, a ranking card rated by keys
under the sticky panel, a worker told in general words that the project was archived or their account
deactivated, and a tiny image that zoom could not make big enough on a phone."""

from __future__ import annotations

import re
import uuid

import pytest

from playwright.sync_api import expect

from tests.browser.support import (PHONE, assert_heading_levels, assert_in_view, label_page, png, sign_in)

# Instructions that start deep and jump from `#` to `###`: each heading is one level below the one before at most.
DEEP_INSTRUCTIONS = "### Before you start\nRead this.\n\n# What to do\nPick one.\n\n### Edge cases\nSkip them."
TASKS = {
    "text_classification": ([{"data": {"text": "a text"}}], ["pos", "neg"]),
    "named_entities": ([{"data": {"text": "Ada Lovelace wrote in London."}}], ["PER", "LOC"]),
    "preference_ranking": ([{"data": {"prompt": "Say hi", "responses": [{"id": "a", "text": "Hi"},
                                                                       {"id": "b", "text": "Hello"}]}}], []),
    "demonstration": ([{"data": {"prompt": "Say hi"}}], []),
}


def test_no_page_skips_a_heading_level(new_page, server):  # noqa: ANN001
    # The labeling page's instructions made `#` an h3 right after the page's h1 (its "Instructions" was no
    # heading), and `###` an h5; the project form's preview did the same under its own headings.
    worker = server.user("worker")
    image = server.upload_image(server.admin_token, png(40, 30))
    kinds = {**TASKS, "bounding_box": ([{"data": {"image": image}}], ["cat"])}
    projects = {kind: server.project(kind, tasks, labels, instructions=DEEP_INSTRUCTIONS)
                for kind, (tasks, labels) in kinds.items()}
    for project in projects.values():
        page = label_page(new_page, worker, project)
        expect(page.locator("#instructions h2")).to_have_text("Instructions")
        expect(page.locator("#instructions .md h3")).to_have_text(["Before you start", "What to do"])
        expect(page.locator("#instructions .md h4")).to_have_text("Edge cases")
        assert_heading_levels(page)
        page.context.close()

    project = projects["text_classification"]
    requester = project["requester"]
    with server.client(server.admin_token) as c:
        r = c.post(f"/api/users/{requester['id']}/password", json={"password": worker["password"]})
        assert r.status_code == 200, r.text
    page = new_page()
    sign_in(page, {**requester, "password": worker["password"]}, "/console/projects")
    pid = project["id"]
    with server.client(server.admin_token) as c:
        task_id = c.get(f"/api/projects/{pid}/tasks").json()["data"][0]["id"]
    for path in ["/console/projects", "/console/projects/new", "/console/account", "/console/teams",
                 f"/console/projects/{pid}", f"/console/projects/{pid}/results", f"/console/projects/{pid}/quality",
                 f"/console/projects/{pid}/import", f"/console/projects/{pid}/export",
                 f"/console/projects/{pid}/settings", f"/console/projects/{pid}/tasks/{task_id}",
                 f"/console/projects/{projects['preference_ranking']['id']}/leaderboard"]:
        page.goto(path)
        assert_heading_levels(page)
    # the form's live preview nests the instructions under its "Workers see" heading, on both forms
    for path, level in [("/console/projects/new", 3), (f"/console/projects/{pid}/settings", 4)]:
        page.goto(path)
        page.wait_for_load_state("load")
        page.fill("#f-instructions", DEEP_INSTRUCTIONS + "\n\n## Live")
        expect(page.locator(f"#instructions-preview h{level + 1}")).to_have_text(["Edge cases", "Live"])
        expect(page.locator(f"#instructions-preview h{level}")).to_have_text(["Before you start", "What to do"])
        assert_heading_levels(page)
    admin = server.user("admin")
    page = new_page()
    sign_in(page, admin, "/console/people")
    assert_heading_levels(page)
    page.goto("/")
    assert_heading_levels(page)


def test_the_new_user_form_shows_every_wrong_field_at_once_and_focuses_the_first(new_page, server):  # noqa: ANN001
    # The API named the first wrong field only: a bad username and a short password took two tries to learn of.
    admin = server.user("admin")
    page = new_page()
    sign_in(page, admin, "/console/people")
    page.fill("#new-username", "no spaces allowed")
    page.fill("#new-password", "short")
    page.click('#new-user button[type="submit"]')
    username = page.locator('#new-user [data-field="username"] > .field-error')
    password = page.locator('#new-user [data-field="password"] > .field-error')
    expect(username).to_contain_text("no spaces")
    expect(password).to_have_text("must be at least 8 characters long")
    expect(page.locator("#new-username")).to_be_focused()
    for control, error in (("#new-username", username), ("#new-password", password)):
        expect(page.locator(control)).to_have_attribute("aria-invalid", "true")
        expect(page.locator(control)).to_have_attribute("aria-describedby", error.get_attribute("id"))
    # fixed one at a time, the other error stays until the next try
    page.fill("#new-username", f"walk4-{uuid.uuid4().hex[:8]}")
    page.click('#new-user button[type="submit"]')
    expect(page.locator("#new-user .field-error")).to_have_count(1)
    expect(password).to_be_visible()
    expect(page.locator("#new-password")).to_be_focused()


def test_escape_closes_every_box_that_pops_up_and_gives_the_focus_back(new_page, server, worker):  # noqa: ANN001
    # The API token "shown once" closed only with its Done button: Escape, which closes the page's dialogs, did
    # nothing there (nor in a user's Reset password), and the label finder's Escape left the focus on the body.
    admin = server.user("admin")
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, admin, "/console/people")
    name = f"walk4-{uuid.uuid4().hex[:8]}"
    page.fill("#new-username", name)
    page.click('#new-user button[type="submit"]')
    expect(page.locator("#secret")).to_be_visible()
    expect(page.locator("#secret")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#secret")).to_be_hidden()
    expect(page.locator("#secret-value")).to_have_text("")
    expect(page.locator("#people-status")).to_be_focused()
    expect(page.locator("#people-status")).to_contain_text(f"Created {name}")

    row = page.locator(f'#users tr[data-username="{name}"]')
    row.locator("details.reset summary").click()
    row.locator('input[name="password"]').focus()
    page.keyboard.press("Escape")
    expect(row.locator("details.reset")).not_to_have_attribute("open", "")
    expect(row.locator("details.reset summary")).to_be_focused()

    row.locator('button[data-action="token"]').click()  # a new token for them: shown once, after the reload
    expect(page.locator("#secret")).to_be_visible()
    page.locator("#secret .copy").focus()
    page.keyboard.press("Escape")
    expect(page.locator("#secret")).to_be_hidden()
    expect(page.locator("#people-status")).to_be_focused()

    page.goto("/console/account")
    page.wait_for_load_state("load")
    page.click("#new-token")
    expect(page.locator("#secret")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#secret")).to_be_hidden()
    expect(page.locator("#secret-value")).to_have_text("")
    expect(page.locator("#new-token")).to_be_focused()

    labels = [f"label {i}" for i in range(12)]
    project = server.project("text_classification", [{"data": {"text": "a text"}}], labels)
    page = label_page(new_page, worker, project)
    page.locator(".label-btn").nth(2).focus()
    page.keyboard.press("/")
    expect(page.locator(".label-filter")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator(".label-filter")).to_be_hidden()
    expect(page.locator(".label-btn").nth(2)).to_be_focused()


def test_a_ranking_card_chosen_or_rated_by_keys_stays_in_view_above_the_sticky_panel(new_page, server, worker):  # noqa: ANN001
    # The ranking panel sticks to the bottom of the screen; a card chosen by its letter, or rated by a digit, could
    # be under it: the worker rated what they could not see.
    long = "A long answer that goes on. " * 30
    project = server.project("preference_ranking", [{"data": {"prompt": "Explain.", "responses": [
        {"id": rid, "text": f"{rid}: {long}"} for rid in ("r1", "r2", "r3", "r4")]}}])
    for viewport in ({"width": 1280, "height": 600}, PHONE):
        page = label_page(new_page, worker, project, viewport)
        page.wait_for_load_state("load")
        cards = page.locator("#responses .response")
        expect(cards).to_have_count(4)
        for i in range(4):
            card = cards.nth(i)
            letter = card.locator(".response-letter").text_content()
            page.keyboard.press(letter.lower())
            expect(card.locator(".rank-status")).not_to_have_text("not ranked")
            assert_in_view(card.locator(".response-letter"))
            page.keyboard.press("5")
            expect(card.locator('.rate[data-value="5"]')).to_have_attribute("aria-pressed", "true")
            for value in ("1", "7"):
                assert_in_view(card.locator(f'.rate[data-value="{value}"]'))
        page.keyboard.press("ArrowRight")  # from the last card round to the first, far above
        expect(cards.nth(0)).to_have_class(re.compile(r"\bselected\b"))
        assert_in_view(cards.nth(0).locator(".response-letter"))
        page.keyboard.press("3")
        assert_in_view(cards.nth(0).locator('.rate[data-value="3"]'))
        page.context.close()


@pytest.mark.parametrize("change", ["archive", "deactivate"])
def test_a_project_archived_or_an_account_deactivated_mid_task_is_said_specifically(new_page, server, change):  # noqa: ANN001
    # The submit after an archive said "This task can no longer be saved here: project 14 is archived: ... (another
    # tab or window of yours may have answered, skipped or left it)"; after a deactivation "You are signed out ...
    # sign in again to save it", which no sign-in could.
    worker = server.user("worker")
    project = server.project("text_classification", [{"data": {"text": f"item {i}"}} for i in range(2)],
                             labels=["a", "b"])
    page = label_page(new_page, worker, project)
    page.wait_for_load_state("load")
    if change == "archive":
        with server.client(project["requester"]["token"]) as c:
            r = c.patch(f"/api/projects/{project['id']}", json={"status": "archived"})
    else:
        with server.client(server.admin_token) as c:
            r = c.post(f"/api/users/{worker['id']}/deactivate")
    assert r.status_code == 200, r.text
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#state-stopped")).to_be_visible()
    title, words = {"archive": ("This project was archived", "Its requester archived it"),
                    "deactivate": ("Your account was deactivated", "Ask an admin to reactivate it")}[change]
    expect(page.locator("#state-stopped-title")).to_have_text(title)
    expect(page.locator("#state-stopped-text")).to_contain_text(words)
    expect(page.locator("#banner")).to_be_hidden()
    expect(page.locator("#state-error")).to_be_hidden()
    expect(page.locator("#stopped-check")).to_be_hidden()
    expect(page.locator("#stopped-home")).to_be_focused()
    expect(page.locator("#lease")).to_be_hidden()
    assert server.answers(project["id"]) == {}


@pytest.mark.parametrize("task_type", ["image_classification", "bounding_box"])
def test_a_tiny_image_is_fitted_to_the_view_on_a_phone_and_zooms_on(new_page, server, worker, task_type):  # noqa: ANN001
    # A 3x2 px image stopped at 800% when fitted (24x16 px on a phone), and zoom went no further than 3200%.
    image = server.upload_image(server.admin_token, png(3, 2, [("rect", (0, 0, 0, 1), "#1f77b4")]))
    project = server.project(task_type, [{"data": {"image": image}}], ["dot", "none"])
    page = label_page(new_page, worker, project, PHONE, has_touch=True, is_mobile=True)
    page.wait_for_load_state("load")
    stage = page.locator(".zoom-stage")
    expect(stage.locator("img")).to_have_js_property("complete", True)
    expect(page.locator("#zoom-level")).not_to_have_text("100%")
    # fitted: as wide as the view, or as tall, less the fit's margin (waited for: the view may still be resized
    # as the page settles, and the fit follows it)
    page.wait_for_function("""() => {
      const view = document.querySelector(".zoom-viewport").getBoundingClientRect();
      const shown = document.querySelector(".zoom-stage").getBoundingClientRect();
      return shown.width >= view.width - 12 || shown.height >= view.height - 12;
    }""")
    shown = stage.bounding_box()
    assert abs(shown["width"] / shown["height"] - 1.5) < 0.05
    assert stage.evaluate("el => getComputedStyle(el.querySelector('img')).imageRendering") == "pixelated"
    fitted = int(page.locator("#zoom-level").text_content().rstrip("%"))
    assert fitted > 800
    for _ in range(3):
        page.locator("#zoom-in").click()
    assert int(page.locator("#zoom-level").text_content().rstrip("%")) > fitted


def test_the_project_form_shows_every_wrong_field_and_focuses_the_first_on_the_page(new_page, server):  # noqa: ANN001
    # The API lists the wrong fields in its model's order (redundancy before name): the focus goes to the first on
    # the page, the name, not to the Answers box further down.
    requester = server.user("requester")
    page = new_page()
    sign_in(page, requester, "/console/projects/new")
    page.fill("#f-name", "   ")
    page.click("#add-label")
    page.keyboard.type("pos")
    page.fill("#f-redundancy", "0")
    page.click("#save")
    expect(page.locator('[data-field="name"] > .field-error')).to_have_text("must not be blank")
    expect(page.locator('[data-field="redundancy"] > .field-error')).to_have_text("must be at least 1")
    expect(page.locator("#f-name")).to_be_focused()
    expect(page.locator("#f-redundancy")).to_have_attribute("aria-invalid", "true")


def test_a_lease_run_out_in_a_project_paused_meanwhile_says_the_pause_is_why(new_page, server, worker):  # noqa: ANN001
    # Try again after the lease ran out renews it, which a paused project refuses: the page said "project 14 is
    # paused: ... (another tab or window of yours may have answered, skipped or left it)".
    project = server.project("text_classification", [{"data": {"text": "slow"}}], labels=["a", "b"],
                             lease_seconds=2)
    page = label_page(new_page, worker, project)
    page.wait_for_load_state("load")
    page.keyboard.press("2")
    banner = page.locator("#banner")
    expect(banner).to_contain_text("has run out", timeout=15_000)  # the countdown reached zero
    with server.client(project["requester"]["token"]) as c:
        assert c.patch(f"/api/projects/{project['id']}", json={"status": "paused"}).status_code == 200
    page.locator("#banner-action").click()  # renew the lease
    expect(banner).to_contain_text("its requester paused the project")
    expect(banner).not_to_contain_text("another tab")
    expect(page.locator('#labels .label-btn[aria-pressed="true"] .name')).to_have_text("b")  # the work is kept


def test_a_tiny_image_is_magnified_on_the_console_task_page(new_page, server):  # noqa: ANN001
    # The requester's task page showed a 3x2 px image at its own size: a dot no one could review.
    requester = server.user("requester")
    image = server.upload_image(server.admin_token, png(3, 2, [("rect", (0, 0, 0, 1), "#1f77b4")]))
    with server.client(requester["token"]) as c:
        r = c.post("/api/projects", json={"name": f"tiny {uuid.uuid4().hex[:8]}", "task_type": "image_classification",
                                          "labels": ["dot", "none"]})
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
    with server.client(server.admin_token) as c:
        assert c.post(f"/api/projects/{pid}/tasks", json=[{"data": {"image": image}}]).status_code == 201
        task_id = c.get(f"/api/projects/{pid}/tasks").json()["data"][0]["id"]
    page = new_page()
    sign_in(page, requester, f"/console/projects/{pid}/tasks/{task_id}")
    shown = page.locator(".image-view .view-image").first
    expect(shown).to_have_js_property("complete", True)
    expect(page.locator(".image-view.pixels")).to_have_count(1)
    box = shown.bounding_box()
    assert box["width"] >= 150 and abs(box["width"] / box["height"] - 1.5) < 0.05, box
    assert shown.evaluate("el => getComputedStyle(el).imageRendering") == "pixelated"
