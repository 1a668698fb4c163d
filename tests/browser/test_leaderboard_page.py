"""The console's Leaderboard tab in Chromium: the ratings chart (inline SVG), the table, the win-rate heat map and
position bias, on a preference project answered through the API; no tab on other projects."""

from __future__ import annotations

import os
import random
import uuid
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.support import PHONE, assert_fits_the_width, sign_in

STRENGTH = {"alpha-large": 2.0, "beta-medium": 1.0, "gamma-small": 0.0, "delta-tiny": -1.0}


def arena_tasks(n: int, rng: random.Random) -> list[dict]:
    names = list(STRENGTH)
    tasks = []
    for i in range(n):
        k = 3 if i % 4 == 0 else 2
        models = rng.sample(names, k)
        tasks.append({"data": {"prompt": f"prompt {i}", "category": ["code", "chat"][i % 2],
                               "responses": [{"id": f"r{j}", "text": f"answer {j}", "model": m}
                                             for j, m in enumerate(models)]}})
    return tasks


def answer_for(data: dict, rng: random.Random) -> dict:
    """Best first by noisy strength; the order shown is recorded for most answers (not all)."""
    scored = sorted(data["responses"], key=lambda r: -(STRENGTH[r["model"]] + rng.gauss(0, 1.0)))
    shown = [r["id"] for r in data["responses"]]
    rng.shuffle(shown)
    body: dict = {"answer": {"ranking": [[r["id"]] for r in scored],
                             "ratings": {r["id"]: 6 - i for i, r in enumerate(scored)}}}
    if rng.random() < 0.8:
        body["meta"] = {"shown_order": shown}
    return body


def ranked_arena(server, rng: random.Random, n_tasks: int, workers: int) -> tuple[dict, dict]:
    """(requester, project): a preference project of n_tasks prompts, each ranked by `workers` new workers."""
    requester = server.user("requester")
    with server.client(requester["token"]) as c:
        r = c.post("/api/projects", json={"name": f"arena {uuid.uuid4().hex[:12]}", "task_type": "preference_ranking",
                                          "labels": [], "redundancy": workers})
        assert r.status_code == 201, r.text
        project = r.json()
        assert c.post(f"/api/projects/{project['id']}/tasks", json=arena_tasks(n_tasks, rng)).status_code == 201
    for _ in range(workers):
        worker = server.user("worker")
        with server.client(worker["token"]) as c:
            while (lease := c.post(f"/api/projects/{project['id']}/next")).status_code == 200:
                done = c.post(f"/api/assignments/{lease.json()['assignment_id']}/submit",
                              json=answer_for(lease.json()["task"]["data"], rng))
                assert done.status_code == 201, done.text
    return requester, project


def test_the_leaderboard_tab_draws_chart_table_heat_map_and_bias(new_page, server):
    rng = random.Random(7)
    requester, project = ranked_arena(server, rng, 80, 2)
    with server.client(requester["token"]) as c:
        text = c.post("/api/projects", json={"name": f"texts {uuid.uuid4().hex[:12]}", "task_type": "text_classification",
                                             "labels": ["a", "b"]}).json()

    page = new_page()
    sign_in(page, requester, f"/console/projects/{project['id']}/leaderboard")
    page.goto(f"/console/projects/{project['id']}/leaderboard?by=category")
    expect(page.locator('[data-tab="leaderboard"]')).to_have_attribute("aria-current", "page")
    rows = page.locator("#ratings-chart .rating-row")
    expect(rows).to_have_count(4)
    assert rows.first.get_attribute("data-model") == "alpha-large"  # the strongest model comes first
    table = page.locator("#leaderboard-table tbody tr")
    expect(table).to_have_count(4)
    expect(table.first.locator("th")).to_have_text("alpha-large")
    expect(page.locator("#win-rate-map .cell")).to_have_count(16)
    expect(page.locator("#bias-text")).to_contain_text("The response shown first (or on the left) won")
    expect(page.locator("#bias-chart")).to_be_visible()
    expect(page.locator("#bias-note")).to_contain_text("have no display order (left out, not guessed)")
    expect(page.locator('.breakdown[data-field="category"] h4')).to_have_count(2)
    box = page.locator("#ratings-chart").bounding_box()
    assert box and box["width"] > 400 and box["height"] > 100  # drawn, not an empty frame
    out = Path(os.environ.get("LABELING_SCREENSHOTS", "/tmp"))
    page.screenshot(path=str(out / "console-leaderboard.png"), full_page=True)

    page.goto(f"/console/projects/{text['id']}")
    expect(page.locator('[data-tab="overview"]')).to_be_visible()
    expect(page.locator('[data-tab="leaderboard"]')).to_have_count(0)


def test_the_ratings_chart_fits_a_phone_and_stays_readable(new_page, server):
    # Shrunk to a phone's width the 1000-unit chart drew its model names 4 pixels high; kept at a readable size it
    # scrolled sideways in its card with no sign of it, the dots of the best models out of sight. On a phone a
    # narrow chart (names above their lines) takes its place: every name and dot in the card, nothing to scroll.
    rng = random.Random(3)
    requester, project = ranked_arena(server, rng, 12, 1)
    page = new_page(PHONE)
    sign_in(page, requester, f"/console/projects/{project['id']}/leaderboard")
    expect(page.locator("#ratings-chart")).to_be_hidden()
    rows = page.locator("#ratings-chart-narrow .rating-row")
    expect(rows).to_have_count(4)
    card = page.locator("#ratings-card").bounding_box()
    for i in range(4):
        name, dot = rows.nth(i).locator("text"), rows.nth(i).locator("circle")
        expect(name).to_be_visible()
        height = name.evaluate("e => e.getBoundingClientRect().height")
        assert height >= 11, f"a model's name is drawn {height:.1f} px high"
        for part in (name.bounding_box(), dot.bounding_box()):
            assert card["x"] <= part["x"] and part["x"] + part["width"] <= card["x"] + card["width"], (part, card)
    scrolls = page.evaluate("""() => [...document.querySelectorAll('#ratings-card *')]
        .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible').length""")
    assert scrolls == 0
    assert_fits_the_width(page)

    page.set_viewport_size({"width": 1280, "height": 800})  # the wide chart again on a desktop
    expect(page.locator("#ratings-chart")).to_be_visible()
    expect(page.locator("#ratings-chart-narrow")).to_be_hidden()


def test_a_bad_breakdown_is_said_beside_its_field_over_the_board(new_page, server):
    # Six fields, or the field cleared to go back to the plain board, gave the error page ("Something went wrong:
    # by: must not be empty") with no way back but to the projects list.
    rng = random.Random(5)
    requester, project = ranked_arena(server, rng, 12, 1)
    page = new_page()
    sign_in(page, requester, f"/console/projects/{project['id']}/leaderboard")
    page.fill("#by", "category")
    page.press("#by", "Enter")
    expect(page.locator('.breakdown[data-field="category"]')).to_be_visible()
    # below the board, past the window's end: the page comes back scrolled to it (Show seemed to do nothing)
    expect(page.locator('.breakdown[data-field="category"] h3')).to_be_in_viewport()

    page.fill("#by", "a,b,c,d,e,f")
    with page.expect_navigation() as shown:
        page.press("#by", "Enter")
    assert shown.value.status == 400
    expect(page.locator("#by-error")).to_have_text("at most 5 fields")
    expect(page.locator("#by")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#by")).to_have_value("a,b,c,d,e,f")  # as typed, to be mended
    expect(page.locator("#by-error")).to_be_in_viewport()
    expect(page.locator("#ratings-chart .rating-row")).to_have_count(4)  # the board, without a breakdown
    expect(page.locator('[data-tab="leaderboard"]')).to_have_attribute("aria-current", "page")

    page.fill("#by", "")  # no breakdown: the plain board, not an error
    with page.expect_navigation() as shown:
        page.press("#by", "Enter")
    assert shown.value.status == 200
    expect(page.locator("#by-error")).to_have_count(0)
    expect(page.locator(".breakdown")).to_have_count(0)
    expect(page.locator("#ratings-chart .rating-row")).to_have_count(4)
