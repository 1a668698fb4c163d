"""Model evaluation from the database: preference answers become battles (ties, 3+ responses, tied groups), the
answers left out (excluded, blocked workers), position bias with and without display order, the CLI and the API
for one project and several combined."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections import OrderedDict
from typing import Any, Callable

import pytest

from labeling import cli, models, schemas
from labeling.consensus import evaluation, leaderboard
from tests.conftest import bearer, one_line, raw_writes


def responses(*pairs: tuple[str, str | None]) -> list[dict]:
    return [{"id": rid, "text": f"response {rid}", **({"model": m} if m else {})} for rid, m in pairs]


# Four prompts: a pair, three models with a tied group, four responses (two of one model) in tied groups, and a
# pair without models. Best first; `shown` is the display order the worker recorded (None: not recorded).
TASKS = [
    {"data": {"prompt": "p1", "category": "code", "responses": responses(("a", "A"), ("b", "B"))}},
    {"data": {"prompt": "p2", "category": "chat", "responses": responses(("a", "A"), ("b", "B"), ("c", "C"))}},
    {"data": {"prompt": "p3", "category": "code",
              "responses": responses(("a", "A"), ("b", "A"), ("c", "B"), ("d", "C"))}},
    {"data": {"prompt": "p4", "responses": responses(("a", None), ("b", None))}},
]
ANSWERS = {
    "p1": ({"ranking": [["a"], ["b"]], "ratings": {"a": 6, "b": 3}}, {"shown_order": ["b", "a"]}),
    "p2": ({"ranking": [["c"], ["a", "b"]]}, None),
    "p3": ({"ranking": [["a", "c"], ["b"], ["d"]]}, {"letters": {"d": "A", "c": "B", "b": "C", "a": "D"}}),
    "p4": ({"ranking": [["a"], ["b"]]}, {"shown_order": ["a", "b"]}),
}


def reversed_answer(data: dict) -> tuple[dict, dict | None]:
    """Every response in the opposite order (what a worker whose answers must not count says)."""
    return {"ranking": [[r["id"]] for r in reversed(data["responses"])]}, None


async def answer_all(client, project_id: int, token: str, choose: Callable[[dict], tuple[dict, Any]]) -> int:
    """Claim and answer every task this worker may have; returns how many."""
    n = 0
    while True:
        lease = await client.post(f"/api/projects/{project_id}/next", headers=bearer(token))
        if lease.status_code == 204:
            return n
        answer, meta = choose(lease.json()["task"]["data"])
        body = {"answer": answer, **({"meta": meta} if meta else {})}
        done = await client.post(f"/api/assignments/{lease.json()['assignment_id']}/submit", json=body,
                                 headers=bearer(token))
        assert done.status_code == 201, done.text
        n += 1


async def arena(client, db, new_project, make_user, requester: str, name: str = "arena") -> dict:
    """The hand-made project: one worker whose answers count, one blocked (excluded), one blocked in the
    project_workers table only (as a gold answer of a blocked worker stays unexcluded)."""
    project = await new_project(name=name, task_type="preference_ranking", labels=[], redundancy=3, tasks=TASKS)
    pid = project["id"]
    _, good = await make_user("worker", f"{name}-good")
    bad, bad_token = await make_user("worker", f"{name}-bad")
    late, late_token = await make_user("worker", f"{name}-late")
    assert await answer_all(client, pid, good, lambda d: ANSWERS[d["prompt"]]) == 4
    assert await answer_all(client, pid, bad_token, reversed_answer) == 4
    assert await answer_all(client, pid, late_token, reversed_answer) == 4
    blocked = await client.post(f"/api/projects/{pid}/workers/{bad['id']}/block", headers=bearer(requester))
    assert blocked.status_code == 200, blocked.text
    async with raw_writes(db) as conn:
        pw = models.project_workers
        await conn.execute(pw.update().where(pw.c.project_id == pid, pw.c.worker_id == late["id"])
                           .values(blocked=True))
    return project


def pairs_of(result: dict) -> dict[tuple[str, str], tuple[int, int, int]]:
    return {(p["a"], p["b"]): (p["a_wins"], p["b_wins"], p["ties"]) for p in result["pairs"]}


async def test_battles_from_hand_made_answers(client, db, new_project, make_user, requester):
    project = await arena(client, db, new_project, make_user, requester)
    async with db.read() as conn:
        row = (await conn.execute(models.projects.select().where(models.projects.c.id == project["id"]))).one()
    result = await evaluation.board(db, [row], by=["category"], n_bootstrap=50)
    schemas.Leaderboard.model_validate(result)
    # p1: A beats B. p2: C beats A and B, A ties B. p3: A ties B, A beats C twice (two responses of A), B beats A,
    # B beats C; A against A is no battle. p4: no models, no battle.
    assert pairs_of(result) == {("A", "B"): (1, 1, 2), ("A", "C"): (2, 1, 0), ("B", "C"): (1, 1, 0)}
    assert result["settings"]["battles"] == 9 and result["settings"]["answers"] == 4
    assert result["settings"]["prompts"] == 4
    one = result["projects"][0]
    assert one["left_out"] == {"gold_tasks": 0, "excluded": 4, "blocked_workers": 4}
    assert one["answers"] == 4 and one["battles"] == 9 and one["answers_without_two_models"] == 1
    by_model = {m["model"]: m for m in result["models"]}
    assert (by_model["A"]["battles"], by_model["A"]["wins"], by_model["A"]["ties"]) == (7, 3, 2)
    assert result["ratings"]["A"]["mean"] == 6.0 and result["ratings"]["B"]["mean"] == 3.0
    code = result["breakdown"]["category"]["code"]
    assert code["battles"] == 6 and code["prompts"] == 2
    assert result["breakdown"]["category"]["chat"]["battles"] == 3
    assert result["breakdown_notes"] == {}


async def test_a_board_is_remembered_until_its_answers_change(client, db, new_project, make_user, requester,
                                                             monkeypatch):
    monkeypatch.setattr(evaluation, "_boards", OrderedDict())
    computed = []
    real = leaderboard.from_log
    monkeypatch.setattr(leaderboard, "from_log", lambda *a, **k: computed.append(1) or real(*a, **k))
    project = await arena(client, db, new_project, make_user, requester)

    async def board(seed: int = 0) -> dict:
        async with db.read() as conn:
            row = (await conn.execute(models.projects.select().where(models.projects.c.id == project["id"]))).one()
        return await evaluation.board(db, [row], n_bootstrap=30, seed=seed)

    first = await board()
    assert await board() == first and len(computed) == 1  # the same answers: remembered
    await board(seed=1)
    assert len(computed) == 2  # another seed is another board
    extra, more = await make_user("worker", "arena-more")
    assert await answer_all(client, project["id"], more, lambda d: ANSWERS[d["prompt"]]) == 4
    again = await board()
    assert len(computed) == 3 and again["settings"]["battles"] == first["settings"]["battles"] + 9
    by_model = {m["model"]: m["battles"] for m in again["models"]}
    assert by_model["A"] == 14
    excluded = await client.post(f"/api/projects/{project['id']}/workers/{extra['id']}/block",
                                 headers=bearer(requester))
    assert excluded.status_code == 200, excluded.text
    back = await board()
    assert len(computed) == 3  # back to the first answers: that board again, with this block counted
    assert {**back, "projects": None} == {**first, "projects": None}
    assert back["projects"][0]["left_out"]["excluded"] == first["projects"][0]["left_out"]["excluded"] + 4


async def test_position_bias_from_the_recorded_display_order(client, db, new_project, make_user, requester):
    project = await arena(client, db, new_project, make_user, requester)
    response = await client.get(f"/api/projects/{project['id']}/leaderboard", params={"bootstrap": 20},
                                headers=bearer(requester))
    assert response.status_code == 200, response.text
    bias = response.json()["position_bias"]
    # Recorded: p1 (shown order), p3 (letters: d, c, b, a), p4 (no models). p2 recorded nothing.
    # p1: B shown first, A won (first lost). p3: a-c tie; d (C) first loses to a and b; c (B) first beats b (A);
    # d (C) first loses to c.
    assert (bias["answers"], bias["answers_with_order"], bias["answers_without_order"]) == (4, 3, 1)
    assert (bias["battles"], bias["first_wins"], bias["first_losses"], bias["ties"]) == (6, 1, 4, 1)
    assert bias["first_win_rate"] == 0.2 and bias["ci"][0] < 0.5 < bias["ci"][1]
    assert bias["message"] == "1 answer has no display order (left out, not guessed)"
    assert response.json()["projects"][0]["position_bias"] == bias


async def test_no_display_order_is_said_not_guessed(client, db, new_project, make_user, requester):
    project = await new_project(task_type="preference_ranking", labels=[], tasks=TASKS[:2])
    _, worker = await make_user("worker")
    await answer_all(client, project["id"], worker, lambda d: (ANSWERS[d["prompt"]][0], None))
    response = await client.get(f"/api/projects/{project['id']}/leaderboard", params={"bootstrap": 0},
                                headers=bearer(requester))
    bias = response.json()["position_bias"]
    assert bias["available"] is False and bias["answers_without_order"] == 2
    assert "cannot be measured" in bias["message"] and "2 answers have no display order" in bias["message"]
    assert response.json()["position_advantage"] is None


async def test_combined_projects_and_their_access(client, db, new_project, make_user, requester):
    first = await arena(client, db, new_project, make_user, requester)
    second = await new_project(name="second", task_type="preference_ranking", labels=[], tasks=[
        {"data": {"prompt": "p1", "responses": responses(("x", "A"), ("y", "D"))}},
        {"data": {"prompt": "q2", "responses": responses(("x", "D"), ("y", "B"))}}])
    _, worker = await make_user("worker")
    await answer_all(client, second["id"], worker, lambda d: ({"ranking": [["y"], ["x"]]}, None))
    ids = f"{first['id']},{second['id']}"
    response = await client.get("/api/leaderboard", params={"projects": ids, "bootstrap": 30, "seed": 7},
                                headers=bearer(requester))
    assert response.status_code == 200, response.text
    result = response.json()
    schemas.Leaderboard.model_validate(result)
    assert [p["name"] for p in result["projects"]] == ["arena", "second"]
    assert [p["battles"] for p in result["projects"]] == [9, 2]
    assert result["settings"]["battles"] == 11 and result["settings"]["prompts"] == 5  # p1 is one prompt
    assert pairs_of(result)[("A", "D")] == (0, 1, 0) and pairs_of(result)[("B", "D")] == (1, 0, 0)
    again = await client.get("/api/leaderboard", params={"projects": ids, "bootstrap": 30, "seed": 7},
                             headers=bearer(requester))
    assert again.json() == result
    # Another requester's project among them: 404, as a missing one; a bad list or setting: 400 naming it.
    _, other = await make_user("requester", "someone-else")
    theirs = await client.get("/api/leaderboard", params={"projects": ids}, headers=bearer(other))
    missing = await client.get("/api/leaderboard", params={"projects": "999999"}, headers=bearer(other))
    assert theirs.status_code == missing.status_code == 404
    for params, field in (({"projects": "1,x"}, "projects"), ({"projects": ids, "bootstrap": "10001"}, "bootstrap"),
                          ({"projects": ids, "seed": "-1"}, "seed"), ({"projects": ids, "by": "a,b,c,d,e,f"}, "by"),
                          ({}, "projects"), ({"projects": ids, "colour": "red"}, "colour")):
        bad = await client.get("/api/leaderboard", params=params, headers=bearer(requester))
        assert bad.status_code == 400 and bad.json()["error"]["field"] == field, (params, bad.text)


async def test_api_refuses_what_has_no_leaderboard(client, new_project, requester):
    text = await new_project()
    response = await client.get(f"/api/projects/{text['id']}/leaderboard", headers=bearer(requester))
    assert response.status_code == 400 and "preference-ranking" in response.json()["error"]["message"]
    empty = await new_project(task_type="preference_ranking", labels=[], tasks=TASKS[:1])
    response = await client.get(f"/api/projects/{empty['id']}/leaderboard", headers=bearer(requester))
    assert response.status_code == 409 and "no battles yet" in response.json()["error"]["message"]


@pytest.fixture
def env(monkeypatch, settings):
    monkeypatch.setenv("LABELING_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LABELING_DATABASE_URL", settings.resolved_database_url)


async def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(cli.main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_cli_table_files_and_one_line_errors(client, db, new_project, make_user, requester, env, capsys,
                                                   tmp_path):
    project = await arena(client, db, new_project, make_user, requester)
    capsys.readouterr()
    code, out, err = await run_cli(capsys, "leaderboard", "arena", "--bootstrap", "40", "--by", "category",
                                   "-o", str(tmp_path / "out"))
    assert code == 0, err
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| rank | model | rating") and len(table) == 1 + 3
    assert "1 answer has no display order" in out
    written = json.loads((tmp_path / "out" / "leaderboard.json").read_text())
    api = await client.get(f"/api/projects/{project['id']}/leaderboard",
                           params={"bootstrap": 40, "by": "category"}, headers=bearer(requester))
    assert written == api.json()  # the same JSON from the CLI and the API
    for name in ("ratings.png", "win_rates.png"):
        assert (tmp_path / "out" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "out" / "leaderboard.md").read_text() == out
    # The project named twice (by name and by id) counts once, as in the API's ?projects=1,1.
    code, twice, err = await run_cli(capsys, "leaderboard", "arena", str(project["id"]), "--bootstrap", "40",
                                     "--by", "category")
    assert code == 0 and twice == out, err
    text = await new_project(name="texts")
    empty = await new_project(name="empty", task_type="preference_ranking", labels=[], tasks=TASKS[:1])
    piped = tmp_path / "piped"
    piped.mkdir()
    os.mkfifo(piped / "ratings.png")  # a report file that is a pipe: one line, exit 2 (it was [Errno 22], exit 1)
    code, out, err = await run_cli(capsys, "leaderboard", "arena", "--bootstrap", "40", "-o", str(piped))
    assert code == 2 and one_line(err) and "cannot write" in err and "ratings.png" in err, err
    assert stat.S_ISFIFO(os.stat(piped / "ratings.png").st_mode)
    for argv, words in ((["nope"], "no project with id or name 'nope'"), (["texts"], "preference-ranking"),
                        (["empty"], "no battles yet"), (["arena", "--bootstrap", "-1"], "--bootstrap must be 0 to"),
                        (["arena", "--seed", "-1"], "--seed must be 0 to"),  # the flags (was the API's bootstrap, by)
                        (["arena", "--by", ""], "--by: a task data field name"),
                        (["arena", "-o", str(tmp_path / "out" / "leaderboard.md")], "is a file; -o names a folder")):
        code, out, err = await run_cli(capsys, "leaderboard", *argv)
        assert code != 0 and out == "" and one_line(err) and words in err, (argv, err)
        assert [line for line in err.splitlines() if "data directory" not in line][0].startswith("labeling: ")
    assert text and empty


async def test_console_page_draws_the_board_without_inline_script_or_style(client, db, new_project, make_user,
                                                                           requester):
    import re

    project = await arena(client, db, new_project, make_user, requester)
    page = await client.get(f"/console/projects/{project['id']}/leaderboard", params={"bootstrap": 30},
                            headers=bearer(requester))
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    assert len(re.findall(r'<g class="rating-row" data-model="', html)) == 3
    assert len(re.findall(r'<g class="rating-row narrow" data-model="', html)) == 3  # the phone's chart
    assert len(re.findall(r'<tr data-model="', html)) == 3
    assert len(re.findall(r'<g class="cell" ', html)) == 9
    assert "1 answer has no display order (left out, not guessed)" in html
    assert "4 excluded" in html and "4 answers of workers blocked" in html
    assert not re.search(r"\sstyle=", html) and not re.search(r"<script(?![^>]*\ssrc=)", html)
    assert 'data-tab="leaderboard"' in html
    text = await new_project(name="texts")
    overview = await client.get(f"/console/projects/{text['id']}", headers=bearer(requester))
    assert 'data-tab="leaderboard"' not in overview.text
    words = await client.get(f"/console/projects/{text['id']}/leaderboard", headers=bearer(requester))
    assert words.status_code == 200 and "preference-ranking projects" in words.text and "<svg" not in words.text
    assert "This is a text classification project" in words.text
    # no "Break down by task data field" form where there is no board to break down (it did nothing there)
    assert 'id="breakdown-form"' not in words.text and 'id="breakdown-form"' in html
    pictures = await new_project(name="pictures", task_type="image_classification")
    words = await client.get(f"/console/projects/{pictures['id']}/leaderboard", headers=bearer(requester))
    assert "This is an image classification project" in words.text  # was "a image classification"
    empty = await new_project(name="empty", task_type="preference_ranking", labels=[], tasks=TASKS[:1])
    none_yet = await client.get(f"/console/projects/{empty['id']}/leaderboard", headers=bearer(requester))
    assert none_yet.status_code == 200 and "no battles yet" in none_yet.text
    _, other = await make_user("requester", "not-the-owner")
    theirs = await client.get(f"/console/projects/{project['id']}/leaderboard", headers=bearer(other))
    assert theirs.status_code == 404 and project["name"] not in theirs.text


def test_console_heat_map_draws_the_highest_rated_models_and_says_so() -> None:
    # One cell per pair grew without bound: 300 models made a 90,000-cell, 13,000-pixel map on every page view.
    import numpy as np

    from labeling.consensus import leaderboard
    from labeling.console import leaderboard as page

    rng = np.random.default_rng(0)
    names = [f"m{i}" for i in range(page.HEAT_MODELS + 10)]
    rankings = [{"prompt": i, "ranking": [["x"], ["y"]], "models": {"x": names[a], "y": names[b]}}
                for i, (a, b) in enumerate(rng.choice(len(names), (4000, 2))) if a != b]
    result = leaderboard.compute(rankings, n_bootstrap=0)
    heat = page.heat_map(result)
    assert (heat["shown"], heat["total"]) == (page.HEAT_MODELS, len(names))
    assert len(heat["cells"]) == page.HEAT_MODELS ** 2
    top = {m["model"] for m in result["models"][:page.HEAT_MODELS]}
    assert {c["row"] for c in heat["cells"]} == top
    assert len(page.ratings_chart(result["models"])["rows"]) == len(names)  # the ratings chart keeps them all


async def test_a_single_battle_has_no_interval_on_every_surface(client, db, new_project, make_user, requester, env,
                                                               capsys, tmp_path):
    # One prompt: every resample is that prompt, so the "interval" was the rating itself and B ranked 2nd from one
    # battle; now no interval, rank 1 for both, in the API, the console page, the Markdown and the charts.
    project = await new_project(name="duel", task_type="preference_ranking", labels=[], tasks=TASKS[:1])
    _, worker = await make_user("worker", "duelist")
    assert await answer_all(client, project["id"], worker, lambda d: ANSWERS[d["prompt"]]) == 1
    response = await client.get(f"/api/projects/{project['id']}/leaderboard", params={"bootstrap": 100},
                                headers=bearer(requester))
    assert response.status_code == 200, response.text
    board = schemas.Leaderboard.model_validate(response.json())
    assert [(m.model, m.ci, m.rank) for m in board.models] == [("A", None, 1), ("B", None, 1)]
    assert board.ratings["A"].ci is None and board.ratings["A"].mean == 6.0
    page = await client.get(f"/console/projects/{project['id']}/leaderboard", headers=bearer(requester))
    assert page.status_code == 200 and "the models share rank 1" in page.text and "no interval)" in page.text
    capsys.readouterr()
    code, out, err = await run_cli(capsys, "leaderboard", "duel", "-o", str(tmp_path / "out"))
    assert code == 0, err
    assert "| 1 | A | " in out and "| 1 | B | " in out and "the models share rank 1" in out
    assert (tmp_path / "out" / "ratings.png").read_bytes()[:4] == b"\x89PNG"


async def test_console_isolates_right_to_left_names_from_the_numbers_after_them(client, new_project, make_user,
                                                                               requester):
    # A model name with an unclosed right-to-left override (U+202E) reversed what followed it in the same line of
    # the page: "RTL: 1032 (95% interval ...)" in a chart's tooltip, its rating beside it, a heat-map cell's title.
    rtl = "م\u202eabc"
    tasks = [{"data": {"prompt": f"p{i}", "responses": responses(("a", rtl), ("b", "B"))}} for i in range(3)]
    project = await new_project(name="bidi", task_type="preference_ranking", labels=[], tasks=tasks)
    _, worker = await make_user("worker", "bidi-worker")
    assert await answer_all(client, project["id"], worker, lambda d: ({"ranking": [["a"], ["b"]]}, None)) == 3
    page = await client.get(f"/console/projects/{project['id']}/leaderboard", params={"bootstrap": 20},
                            headers=bearer(requester))
    assert page.status_code == 200, page.text
    isolated = "\u2068" + rtl + "\u2069"
    assert f"<title>{isolated}: " in page.text  # the chart row's tooltip
    assert f"1. {isolated} <tspan" in page.text  # the phone chart's name, then its rating
    assert f"{isolated} beat B in 100% of 3 battles" in page.text and f"B beat {isolated} in 0%" in page.text
    assert "<title>B: " in page.text  # a left-to-right name is left as it is


async def test_a_display_order_that_fixes_no_order_is_not_guessed(client, new_project, make_user, requester):
    # A script's meta listed an id twice, left a ranked response out, named other ids or put two responses under
    # one letter: each counted as "recorded the display order", and the positions were guessed from it (the last
    # of a repeated id, dict order between equal letters) or missing from every battle.
    metas = [{"shown_order": ["a", "a", "b", "c"]}, {"shown_order": ["a", "b"]}, {"shown_order": ["x", "y", "z"]},
             {"letters": {"a": "A", "b": "A", "c": "B"}}, {"shown_order": ["c", "b", "a", "extra"]}]
    tasks = [{"data": {"prompt": f"p{i}", "responses": responses(("a", "A"), ("b", "B"), ("c", "C"))}}
             for i in range(len(metas))]
    project = await new_project(name="orders", task_type="preference_ranking", labels=[], tasks=tasks)
    _, worker = await make_user("worker", "orders-worker")
    assert await answer_all(client, project["id"], worker, lambda d: (
        {"ranking": [["a"], ["b"], ["c"]]}, metas[int(d["prompt"][1:])])) == len(metas)
    response = await client.get(f"/api/projects/{project['id']}/leaderboard", params={"bootstrap": 0},
                                headers=bearer(requester))
    assert response.status_code == 200, response.text
    bias = response.json()["position_bias"]
    # Only the last answer fixes an order (c, b, a shown; a ranked best): the first-shown lost its 3 battles.
    assert (bias["answers_with_order"], bias["answers_without_order"]) == (1, 4)
    assert (bias["battles"], bias["first_wins"], bias["first_losses"]) == (3, 0, 3)
    assert bias["message"] == ("4 answers have no display order (left out, not guessed); one prompt: how far a "
                               "prompt's battles vary is unknown, so there is no interval")
    assert bias["ci"] is None and bias["prompts"] == 1 and bias["design_effect"] is None


@pytest.mark.parametrize("model,problem", [
    ("gpt\u200b-4", "an invisible character (U+200B)"), ("gpt-4\u00ad", "an invisible character (U+00AD)"),
    ("gpt\u200d-4", "an invisible character (U+200D)"), ("\ufeffgpt-4", "an invisible character (U+FEFF)"),
    ("gpt-4\u200f", "an invisible character (U+200F)"), ("gpt 4\n", "a control character (U+000A)"),
    ("gpt-4\ufe0f", "an invisible character (U+FE0F)"), ("gpt\u034f-4", "an invisible character (U+034F)"),
    ("\u3164", "an invisible character (U+3164)"), ("gpt-4\U000e0100", "an invisible character (U+E0100)"),
    ("cafe\u0301", "letters written decomposed"), ("gpt-4 ", "spaces around it"), ("gpt  4", "a run of spaces"),
])
async def test_a_model_name_that_looks_like_another_is_refused_naming_the_response(client, requester, new_project,
                                                                                    model, problem):
    """'gpt\u200b-4' was stored as it came and ranked as a model of its own beside 'gpt-4': two rows of one name on
    the leaderboard (the `model` field), each with part of the battles. Now the import refuses it, as two labels
    that look alike are refused, naming the response; nothing is stored."""
    project = await new_project(name="lookalikes", task_type="preference_ranking", labels=[])
    tasks = [{"data": {"prompt": "p1", "responses": responses(("a", "gpt-4"), ("b", "B"))}},
             {"data": {"prompt": "p2", "responses": responses(("a", "B"), ("b", model))}}]
    r = await client.post(f"/api/projects/{project['id']}/tasks", json=tasks, headers=bearer(requester))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["field"] == "data.responses[1].model" and error["index"] == 1, error
    assert problem in error["message"] and one_line(error["message"]), error
    listed = await client.get(f"/api/projects/{project['id']}/tasks", headers=bearer(requester))
    assert listed.json()["data"] == []
    # Written plainly, and with a direction override (shown isolated on the leaderboard), it is taken.
    tasks[1]["data"]["responses"][1]["model"] = "gpt 4 \u202eabc"
    r = await client.post(f"/api/projects/{project['id']}/tasks", json=tasks, headers=bearer(requester))
    assert r.status_code == 201, r.text
