"""Projects with answers for the export tests, made through the API as workers make them."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer

TEXT = "Ada Lovelace met Charles Babbage in London ."


def ranking_task(i: int) -> dict:
    """A preference task; prompts come in twos (splits must keep equal prompts together)."""
    return {"data": {"prompt": f"Prompt {i // 2}", "responses": [
        {"id": "a", "text": f"answer a{i}", "model": "m1"}, {"id": "b", "text": f"answer b{i}", "model": "m2"},
        {"id": "c", "text": f"answer c{i}", "model": "m3"}]}, "external_id": f"r{i}"}


RANKINGS = [{"ranking": [["b"], ["a"], ["c"]], "ratings": {"a": 4, "b": 6, "c": 1}, "rationale": "b is kind"},
            {"ranking": [["b"], ["a"], ["c"]]},
            {"ranking": [["a", "b"], ["c"]], "ratings": {"a": 5, "b": 5, "c": 2}}]


async def answer_all(client: Any, make_user: Any, pid: int, answers: list, prefix: str) -> list[str]:
    """Each worker answers every task it is given with its answer (a function of the task's data, or a dict)."""
    tokens = []
    for i, answer in enumerate(answers):
        _, token = await make_user("worker", f"{prefix}-w{i}")
        tokens.append(token)
        while True:
            r = await client.post(f"/api/projects/{pid}/next", headers=bearer(token))
            if r.status_code == 204:
                break
            lease = r.json()
            body = answer(lease["task"]["data"]) if callable(answer) else answer
            s = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": body},
                                  headers=bearer(token))
            assert s.status_code == 201, s.text
    return tokens


async def project_with_answers(client: Any, make_user: Any, new_project: Any, task_type: str, n: int = 6,
                               **overrides: Any) -> dict:
    """A project of n tasks of the type, each answered by 3 workers."""
    if task_type == "text_classification":
        tasks = [{"data": {"text": f"review {i}", "stars": i}, "external_id": f"t{i}"} for i in range(n)]
        answers = [lambda d: {"label": "pos" if d["stars"] % 2 else "neg"}] * 2 + [{"label": "pos"}]
        labels = ["pos", "neg"]
    elif task_type == "preference_ranking":
        tasks = [ranking_task(i) for i in range(n)]
        answers, labels = RANKINGS, []
    elif task_type == "named_entities":
        tasks = [{"data": {"text": TEXT}, "external_id": f"n{i}"} for i in range(n)]
        spans = {"spans": [{"start": 0, "end": 12, "label": "PER"}, {"start": 36, "end": 42, "label": "LOC"}]}
        odd = {"spans": [{"start": 0, "end": 12, "label": "PER"}, {"start": 2, "end": 7, "label": "LOC"}]}
        answers, labels = [spans, spans, odd], ["PER", "LOC"]
    elif task_type == "demonstration":
        tasks = [{"data": {"prompt": f"Write about {i}", "system": "Be brief."}} for i in range(n)]
        answers = [lambda d: {"text": d["prompt"] + " -- one"}, lambda d: {"text": d["prompt"] + " -- two"},
                   lambda d: {"text": d["prompt"] + " -- three"}]
        labels = []
    else:
        raise AssertionError(task_type)
    project = await new_project(task_type=task_type, labels=labels, redundancy=3, tasks=tasks,
                                instructions="Read carefully.\nThen answer.", **overrides)
    await answer_all(client, make_user, project["id"], answers, f"{task_type[:4]}{project['id']}")
    return project
