"""Preference ranking: a per-worker shuffled order, ranking by keys and by drag, ties, ratings, rationale."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.browser.support import label_page


def _fnv1a(text: str) -> int:
    h = 2166136261
    for unit in text.encode("utf-16-le")[::2]:  # ASCII seeds: one UTF-16 unit per character
        h = ((h ^ unit) * 16777619) & 0xFFFFFFFF
    return h


def _imul(a: int, b: int) -> int:
    return (a * b) & 0xFFFFFFFF


def expected_order(ids: list[str], seed: str) -> list[str]:
    """The page's shuffle (FNV-1a seed, mulberry32, Fisher-Yates), to check it is seeded by worker and task."""
    state = _fnv1a(seed) or 1

    def random() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = _imul(state ^ (state >> 15), 1 | state)
        t = ((t + _imul(t ^ (t >> 7), 61 | t)) & 0xFFFFFFFF) ^ t
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    out = list(ids)
    for i in range(len(out) - 1, 0, -1):
        j = int(random() * (i + 1))
        out[i], out[j] = out[j], out[i]
    return out


def shown(page) -> dict[str, str]:
    """Response id -> the letter it is shown under."""
    return dict(page.eval_on_selector_all(
        "[data-card]", "els => els.map(e => [e.dataset.card, e.querySelector('.response-letter').textContent])"))


def drag(page, source, target_selector: str) -> None:
    """Drag with the mouse: press on source, move a little (the drag starts), then onto the target, release."""
    box = source.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 12, y + 12, steps=3)
    target = page.locator(target_selector).bounding_box()
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + target["height"] / 2, steps=6)
    page.mouse.up()


def responses(*ids: str) -> list[dict]:
    return [{"id": rid, "text": f"Response {rid}: " + "words " * (3 + i), "model": f"m{i}"} for i, rid in enumerate(ids)]


def test_rank_by_keys_with_a_tie_ratings_and_a_rationale(new_page, server, worker):
    project = server.project("preference_ranking", [
        {"data": {"prompt": "What is 2 + 2?", "responses": responses("r1", "r2", "r3")}, "external_id": "keys"},
    ])
    page = label_page(new_page, worker, project)
    letters = shown(page)
    assert sorted(letters.values()) == ["A", "B", "C"]
    task_id = server.query("SELECT id FROM tasks WHERE project_id = :p", p=project["id"])[0]["id"]
    order = [rid for rid, _ in sorted(letters.items(), key=lambda kv: kv[1])]
    assert order == expected_order(["r1", "r2", "r3"], f"{worker['id']}:{task_id}")
    page.reload()  # the same worker and task: the same order
    expect(page.locator("body")).to_have_attribute("data-state", "working")
    assert shown(page) == letters

    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_contain_text("Rank every response first")
    for rid in ("r2", "r3", "r1"):
        page.keyboard.press(letters[rid].lower())
    page.keyboard.press("=")  # r1 (just placed, so selected) ties with r3 above it
    expect(page.locator("#tiers .tier")).to_have_count(2)
    expect(page.locator('#tiers [data-tier="1"] .chip-letter')).to_have_text([letters["r3"], letters["r1"]])
    page.keyboard.press("4")  # rating of the selected response (r1)
    page.locator('[data-card="r2"] .rate[data-value="6"]').click()
    page.locator("#rationale").fill("r2 is right; r1 and r3 are equally wrong")
    page.locator("#rationale").press("Enter")  # a newline in the text box, not a submit
    page.locator("#rationale").press("Control+Enter")
    expect(page.locator("#state-empty")).to_be_visible()

    answer = server.answers(project["id"])["keys"]
    assert answer["ranking"] == [["r2"], ["r3", "r1"]]
    assert answer["ratings"] == {"r1": 4, "r2": 6}
    assert answer["rationale"] == "r2 is right; r1 and r3 are equally wrong"


def test_rank_by_drag_and_prefilled_ranking(new_page, server, worker):
    project = server.project("preference_ranking", [
        {"data": {"prompt": "Name a colour.", "responses": responses("a", "b", "c", "d")}, "external_id": "drag",
         "priority": 1},
        {"data": {"prompt": "Say hi.", "responses": responses("x", "y")}, "external_id": "pre",
         "predictions": {"ranking": [["y"], ["x"]], "ratings": {"y": 5}}},
    ])
    page = label_page(new_page, worker, project)
    expect(page.locator("#responses")).to_have_class("responses stacked")  # four responses: one under another

    def chip(rid: str):
        return page.locator(f'#pool-items [data-chip="{rid}"]')

    drag(page, chip("d"), "#tiers .gap-end")                 # d: 1st
    drag(page, chip("b"), "#tiers .gap-end")                 # b: 2nd
    drag(page, chip("a"), '#tiers [data-tier="1"]')          # a: tied with b
    drag(page, chip("c"), "#tiers .gap-end")                 # c: 3rd...
    expect(page.locator("#pool-items .chip")).to_have_count(0)
    drag(page, page.locator('#tiers [data-chip="c"]'), '#tiers [data-drop="gap:0"]')  # ...then moved to the top
    expect(page.locator("#tiers .tier")).to_have_count(3)
    page.keyboard.press("ArrowDown")  # c, still selected, one step down: tied with d
    page.keyboard.press("ArrowUp")    # and back up to a place of its own
    expect(page.locator('[data-card="c"] .rank-status')).to_have_text("1st")
    expect(page.locator('[data-card="a"] .rank-status')).to_have_text("3rd, tied")
    page.get_by_role("button", name="Submit").click()

    expect(page.locator("#prefill-note")).to_be_visible()
    expect(page.locator('[data-card="y"] .rank-status')).to_have_text("1st")
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()

    answers = server.answers(project["id"])
    assert answers["drag"] == {"ranking": [["c"], ["d"], ["b", "a"]]}
    assert answers["pre"] == {"ranking": [["y"], ["x"]], "ratings": {"y": 5}}


def test_after_a_submit_from_the_rationale_the_letters_rank_the_next_task(new_page, server, worker):
    """The focus trap: Ctrl+Enter in the rationale, then `c b a` must rank the next task, not type into a box."""
    project = server.project("preference_ranking", [
        {"data": {"prompt": "First?", "responses": responses("p", "q")}, "external_id": "first", "priority": 1},
        {"data": {"prompt": "Second?", "responses": responses("x", "y", "z")}, "external_id": "second"},
    ])
    page = label_page(new_page, worker, project)
    page.keyboard.press("a")
    page.keyboard.press("b")
    page.locator("#rationale").click()
    page.keyboard.type("A is better")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#prompt-text")).to_have_text("Second?")
    expect(page.locator("#rationale")).not_to_be_focused()
    letters = shown(page)
    for key in "cba":
        page.keyboard.press(key)
    expect(page.locator("#rationale")).to_have_value("")
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()

    by_letter = {letter: rid for rid, letter in letters.items()}
    stored = server.query("SELECT t.external_id, a.answer, a.meta FROM annotations a JOIN tasks t ON t.id = a.task_id "
                          "WHERE a.project_id = :p ORDER BY a.id", p=project["id"])
    answers = {row["external_id"]: row for row in stored}
    assert server.answers(project["id"])["second"] == {"ranking": [[by_letter["C"]], [by_letter["B"]], [by_letter["A"]]]}
    meta = answers["second"]["meta"]
    meta = json.loads(meta) if isinstance(meta, str) else meta
    # What the worker saw: the order on screen and the letter of each response, for rationales and position bias.
    assert meta["letters"] == letters
    assert meta["shown_order"] == [by_letter[letter] for letter in "ABC"]
    assert meta["viewport"]["width"] == 1280 and meta["viewport"]["height"] == 800
    assert 0 <= meta["time_on_task_ms"] < 60_000 and meta["hidden_ms"] == 0


def test_at_200_percent_zoom_the_ranking_panel_leaves_the_prompt_in_view(new_page, server, worker):
    # A 1280x800 laptop at 200% zoom is a 640x400 window: a panel that sticks to the bottom would cover the prompt.
    project = server.project("preference_ranking", [{"data": {"prompt": "Which is kinder?", "responses": [
        {"id": "a", "text": "Thank you " * 40}, {"id": "b", "text": "Go away " * 40}]}}], instructions="")
    page = label_page(new_page, worker, project, viewport={"width": 640, "height": 400})
    prompt = page.locator("#prompt-text")
    expect(prompt).to_have_text("Which is kinder?")
    covered = prompt.evaluate("""el => { const r = el.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return el.contains(hit) ? null : (hit && (hit.id || hit.className)); }""")
    assert covered is None, f"the prompt is covered by {covered}"
    first, second = (page.locator("[data-card]").nth(i).get_attribute("data-card") for i in range(2))  # A and B
    page.keyboard.press("b")
    page.keyboard.press("a")
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"]) == {None: {"ranking": [[second], [first]]}}


def sixteen_responses(new_page, server, worker) -> tuple:
    """A labeling page of one task with 16 responses: (page, project, response ids, each id's letter)."""
    ids = [f"r{i}" for i in range(16)]
    project = server.project("preference_ranking", [
        {"data": {"prompt": "Pick the best.", "responses": responses(*ids)}, "external_id": "many"}])
    page = label_page(new_page, worker, project)
    return page, project, ids, shown(page)


def test_sixteen_responses_are_each_ranked_by_their_letter(new_page, server, worker):
    # Letters run past H: I (instructions), S (skip), X and Z (earlier answers) are shortcuts, never a response's.
    page, project, ids, letters = sixteen_responses(new_page, server, worker)
    assert sorted(letters.values()) == sorted("ABCDEFGHJKLMNOPQ")
    by_letter = sorted(ids, key=lambda rid: letters[rid])
    for rid in by_letter:
        page.keyboard.press(letters[rid].lower())
    expect(page.locator("#tiers .tier")).to_have_count(16)
    expect(page.locator("#skip-dialog")).not_to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"])["many"]["ranking"] == [[rid] for rid in by_letter]


def test_many_responses_show_their_keys_and_the_page_keys_stay_the_pages(new_page, server, worker):
    page, project, _, letters = sixteen_responses(new_page, server, worker)
    by_letter = {letter: rid for rid, letter in letters.items()}
    # Which keys rank: the letters in use, gaps and all, in the panel and in the help.
    expect(page.locator("#rank-keys-hint")).to_have_text("A–H, J–Q")
    expect(page.locator(f'[data-card="{by_letter["J"]}"] .response-head')).to_have_attribute(
        "title", "Press J to put this response next in the ranking")
    page.keyboard.press("?")
    expect(page.locator("#rank-keys-help")).to_have_text("A–H, J–Q")
    expect(page.locator("#help")).to_contain_text("The letters skip I, S, X and Z, which are keys of the page.")
    page.keyboard.press("Escape")

    instructions = page.locator("#instructions")
    expect(instructions).to_have_attribute("open", "")
    page.keyboard.press("i")  # the instructions, not a response
    expect(instructions).not_to_have_attribute("open", "")
    page.keyboard.press("s")  # skip asks why, not a response
    expect(page.locator("#skip-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#tiers .tier")).to_have_count(0)

    for letter in "QPONMLKJHGFEDCBA":
        page.keyboard.press(letter.lower())
    expect(page.locator("#tiers .tier")).to_have_count(16)
    # Sixteen places show their letters only, and the panel leaves the responses above it in view.
    expect(page.locator("#tiers .chip-text").first).to_be_hidden()
    assert page.locator(".rank-panel").bounding_box()["height"] <= 800 / 2 + 1
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"])["many"]["ranking"] == [[by_letter[c]] for c in "QPONMLKJHGFEDCBA"]


def test_a_ranking_not_finished_comes_back_after_a_reload_and_after_earlier_answers(new_page, server, worker):
    """A reload gave a ranking task back with nothing ranked: a ranking of some of the responses is no answer yet,
    and only answers were kept. Its places, ratings and rationale come back, as other task types' work does."""
    project = server.project("preference_ranking", [
        {"data": {"prompt": "Earlier?", "responses": responses("e", "f")}, "external_id": "earlier", "priority": 1},
        {"data": {"prompt": "Which?", "responses": responses("r1", "r2", "r3")}, "external_id": "partial"},
    ])
    page = label_page(new_page, worker, project)
    page.keyboard.press("a")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    expect(page.locator("#prompt-text")).to_have_text("Which?")
    letters = shown(page)
    page.keyboard.press(letters["r3"].lower())  # r3 1st, rated 6; r1 rated 2 and not ranked; r2 not touched
    page.keyboard.press("6")
    for _ in range((ord(letters["r1"]) - ord(letters["r3"])) % 3):  # from r3 to r1, selecting the next one
        page.keyboard.press("ArrowRight")
    expect(page.locator('[data-card="r1"]')).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("2")
    page.locator("#rationale").fill("r3 says why")

    def kept() -> None:
        expect(page.locator('[data-card="r3"] .rank-status')).to_have_text("1st")
        expect(page.locator("#pool-items .chip")).to_have_count(2)
        expect(page.locator('[data-card="r3"] .rate[aria-pressed="true"]')).to_have_text("6")
        expect(page.locator('[data-card="r1"] .rate[aria-pressed="true"]')).to_have_text("2")
        expect(page.locator('[data-card="r2"] .rate[aria-pressed="true"]')).to_have_count(0)
        expect(page.locator("#rationale")).to_have_value("r3 says why")

    page.locator("#rationale").press("Escape")
    page.keyboard.press("z")  # an earlier answer, and back to the task
    expect(page.locator("#prompt-text")).to_have_text("Earlier?")
    page.keyboard.press("x")
    expect(page.locator("#prompt-text")).to_have_text("Which?")
    kept()
    page.reload()
    expect(page.locator("#message")).to_have_text("Your work on this task is back, as you left it.")
    kept()
    expect(page.locator("#prefill-note")).to_be_hidden()
    assert shown(page) == letters
    page.keyboard.press(letters["r1"].lower())
    page.keyboard.press(letters["r2"].lower())
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"])["partial"] == {
        "ranking": [["r3"], ["r1"], ["r2"]], "ratings": {"r3": 6, "r1": 2}, "rationale": "r3 says why"}


def test_a_tie_that_cannot_be_made_says_why(new_page, server, worker):
    """`=` on the best response, or on one not ranked yet, warned, and the ranking's summary took the warning's
    place at once: the worker saw "Ranking: A" and no word of why nothing happened."""
    project = server.project("preference_ranking", [
        {"data": {"prompt": "Which?", "responses": responses("r1", "r2")}, "external_id": "tie"}])
    page = label_page(new_page, worker, project)
    page.keyboard.press("a")
    page.keyboard.press("=")
    expect(page.locator("#message")).to_have_text("The best response has nothing above it to tie with.")
    expect(page.locator("#message")).to_have_class("message warn")
    page.keyboard.press("ArrowRight")  # B, not ranked yet
    page.keyboard.press("=")
    expect(page.locator("#message")).to_have_text("Rank the response first, then tie it.")
    page.keyboard.press("b")
    page.keyboard.press("=")
    expect(page.locator("#message")).to_have_text("Ranking: A = B")


def test_ctrl_z_undoes_a_ranking_step_and_a_rating_but_not_the_typed_rationale(new_page, server, worker):
    project = server.project("preference_ranking", [
        {"data": {"prompt": "Which?", "responses": responses("p", "q", "r")}, "external_id": "u"},
    ])
    page = label_page(new_page, worker, project)
    letters = shown(page)
    by_letter = {letter: rid for rid, letter in letters.items()}
    for key in "abc":
        page.keyboard.press(key)
    page.keyboard.press("=")                                   # C tied with B
    page.keyboard.press("6")                                   # C rated 6
    page.keyboard.press("Control+z")                           # the rating goes
    page.keyboard.press("Control+z")                           # and the tie
    expect(page.locator(f'[data-card="{by_letter["C"]}"] .rank-status')).to_have_text("3rd")
    page.locator("#rationale").click()
    page.keyboard.type("A reads best")
    page.keyboard.press("Control+z")                           # in the text box: the browser's own undo of typing
    page.keyboard.press("Escape")
    expect(page.locator(f'[data-card="{by_letter["C"]}"] .rank-status')).to_have_text("3rd")
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    answer = server.answers(project["id"])["u"]
    assert answer["ranking"] == [[by_letter["A"]], [by_letter["B"]], [by_letter["C"]]] and "ratings" not in answer
