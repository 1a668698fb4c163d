"""Incremental pulls: a client that pulls `--since` the cursor its last pull gave (Labeling-Next-Since), drops the ids the
`deletions` pull lists and keeps the last row of each id ends up with the full export, whatever happened between
its pulls: answers, overrides and acceptances, reviews removed by more-answers, blocks, a worker's answers removed,
consensus recomputed, tasks deleted. And a pull right after a pull gets nothing again."""

from __future__ import annotations

import json
import random

import pytest

from tests.conftest import backend_name, bearer

# The filters a pipeline may pull with: each client pulls its own increments with the same options every time.
FILTERS = ({}, {"include_open": "true", "include_gold": "true"}, {"min_confidence": "0.7"})


def _rows(text: str) -> dict[int, dict]:
    return {row["id"]: row for row in map(json.loads, text.splitlines())}


class Client:
    """A pipeline's copy of the dataset, kept by incremental pulls."""

    def __init__(self, http, token: str, pid: int, options: dict) -> None:  # noqa: ANN001
        self.http, self.token, self.pid, self.options = http, token, pid, options
        self.rows: dict[int, dict] = {}
        self.cursor: str | None = None

    async def get(self, **params: str):  # noqa: ANN201
        r = await self.http.get(f"/api/projects/{self.pid}/export", params=params, headers=bearer(self.token))
        assert r.status_code == 200, r.text
        return r

    async def pull(self) -> int:
        since = {} if self.cursor is None else {"since": self.cursor}
        r = await self.get(format="jsonl", **self.options, **since)
        pulled = _rows(r.text)
        self.rows.update(pulled)
        if self.cursor is not None:
            gone = _rows((await self.get(format="deletions", **self.options, **since)).text)
            assert not set(gone) & set(pulled), "a task is both in the pull and left out of it"
            for task_id in gone:
                self.rows.pop(task_id, None)
        self.cursor = r.headers["labeling-next-since"]
        return len(pulled)

    async def full(self) -> dict[int, dict]:
        return _rows((await self.get(format="jsonl", **self.options)).text)


async def _run(client, requester, new_project, make_user, seed: int) -> None:  # noqa: ANN001
    rng = random.Random(seed)
    tasks = [{"data": {"text": f"t{i}"}, "external_id": f"t{i}"} for i in range(8)]
    tasks += [{"data": {"text": f"g{i}"}, "gold": {"label": "pos"}} for i in range(2)]
    project = await new_project(task_type="text_classification", labels=["pos", "neg"], redundancy=2, tasks=tasks,
                                gold_fraction=0.2)
    pid = project["id"]
    workers = [await make_user("worker", f"s{seed}w{i}") for i in range(4)]
    owner = bearer(requester)
    clients = [Client(client, requester, pid, dict(f)) for f in FILTERS]
    for c in clients:
        await c.pull()

    async def task_ids(state: str | None = None) -> list[int]:
        params = {"limit": "1000", **({"state": state} if state else {})}
        r = await client.get(f"/api/projects/{pid}/tasks", params=params, headers=owner)
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["data"]]

    for _ in range(45):
        op = rng.choice(["answer"] * 6 + ["override", "accept", "more", "block", "unblock", "remove", "delete",
                                          "consensus", "pull", "pull"])
        if op == "answer":
            worker, token = rng.choice(workers)
            r = await client.post(f"/api/projects/{pid}/next", headers=bearer(token))
            if r.status_code == 200:
                lease = r.json()
                await client.post(f"/api/assignments/{lease['assignment_id']}/submit",
                                  json={"answer": {"label": rng.choice(["pos", "neg"])}}, headers=bearer(token))
        elif op in ("override", "accept", "more"):
            ids = await task_ids("complete") or await task_ids()
            if ids:
                task = rng.choice(ids)
                body = {"answer": {"label": rng.choice(["pos", "neg"])}} if op == "override" else None
                path = "more-answers" if op == "more" else op
                await client.post(f"/api/projects/{pid}/tasks/{task}/{path}", json=body, headers=owner)
        elif op in ("block", "unblock"):
            worker, _ = rng.choice(workers)
            await client.post(f"/api/projects/{pid}/workers/{worker['id']}/{op}", headers=owner)
        elif op == "remove":
            worker, _ = rng.choice(workers)
            await client.delete(f"/api/projects/{pid}/workers/{worker['id']}/answers", params={"confirm": "true"},
                                headers=owner)
        elif op == "delete":
            ids = await task_ids()
            if len(ids) > 4:
                r = await client.request("DELETE", f"/api/projects/{pid}/tasks",
                                         json={"task_ids": [rng.choice(ids)], "confirm": True}, headers=owner)
                assert r.status_code == 200, r.text
        elif op == "consensus":
            r = await client.post(f"/api/projects/{pid}/consensus", headers=owner)
            assert r.status_code == 200, r.text
        else:
            for c in clients:
                await c.pull()
        for c in clients:  # every so often a client pulls: its copy is then the export as it is
            if rng.random() < 0.3:
                await c.pull()
                assert c.rows == await c.full(), (seed, c.options)
    for c in clients:
        await c.pull()
        assert c.rows == await c.full(), (seed, c.options)
        assert await c.pull() == 0, "a pull right after a pull got rows again"


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_merged_pulls_equal_a_full_export_whatever_happened_between_them(client, requester, new_project,
                                                                               make_user, seed):
    await _run(client, requester, new_project, make_user, seed)


async def test_a_reopened_task_is_left_out_by_the_next_pull_and_back_when_it_completes(
        client, requester, new_project, make_user):
    # A result withdrawn left no newer time for --since: the task stayed in the pipeline's copy with its old label.
    project = await new_project(task_type="text_classification", labels=["pos", "neg"], redundancy=1,
                                tasks=[{"data": {"text": "a"}}, {"data": {"text": "b"}}])
    pid = project["id"]
    worker, token = await make_user("worker", "reopen-w")
    for _ in range(2):
        lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(token))).json()
        await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                          headers=bearer(token))
    c = Client(client, requester, pid, {})
    assert await c.pull() == 2
    first = min(c.rows)
    r = await client.post(f"/api/projects/{pid}/tasks/{first}/more-answers", headers=bearer(requester))
    assert r.status_code == 200, r.text
    gone = (await c.get(format="deletions", since=c.cursor)).text.splitlines()
    assert [json.loads(x) for x in gone] == [{"id": first, "external_id": None, "deleted_at": None}]
    assert await c.pull() == 0 and set(c.rows) == set(await c.full()) and first not in c.rows
    r = await client.delete(f"/api/projects/{pid}/workers/{worker['id']}/answers", params={"confirm": "true"},
                            headers=bearer(requester))
    assert r.status_code == 200, r.text
    await c.pull()
    assert c.rows == await c.full() == {}


@pytest.mark.skipif(backend_name() == "sqlite", reason="SQLite's single writer commits changes in the order of their "
                    "numbers (and an open write would hold the export's audit entry)")
async def test_a_change_committed_after_a_pull_that_began_later_is_in_the_next_pull(
        client, requester, new_project, make_user, db):
    # A write stamps its time before it commits: one that commits after a pull which began later was older than that
    # pull's time, so a pull --since that time never saw it (PostgreSQL commits in any order). The cursor is the
    # pull's snapshot: the change it had not seen is in the next pull, and nothing it had seen is.
    from sqlalchemy import text

    project = await new_project(task_type="text_classification", labels=["pos", "neg"], redundancy=1,
                                tasks=[{"data": {"text": "a"}}, {"data": {"text": "b"}}])
    pid = project["id"]
    _, token = await make_user("worker", "late-w")
    for _ in range(2):
        lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(token))).json()
        await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                          headers=bearer(token))
    c = Client(client, requester, pid, {})
    assert await c.pull() == 2
    late = min(c.rows)
    async with db.engine.connect() as conn:
        await conn.execute(text("UPDATE task_results SET answer = CAST(:a AS jsonb), confidence = 0.5 WHERE task_id = :t"),
                           {"a": '{"label": "neg"}', "t": late})
        assert await c.pull() == 0  # the change is not committed yet: this pull's snapshot has not seen it
        await conn.commit()
    assert await c.pull() == 1 and c.rows[late]["label"] == "neg" and c.rows[late]["confidence"] == 0.5
    assert c.rows == await c.full()


async def test_tasks_imported_after_a_pull_are_in_the_next_pull_with_include_open(client, requester, new_project):
    # An import stamps its tasks once for the batch (SQLite: queue.tick_changes), after every change a pull has seen.
    project = await new_project(task_type="text_classification", labels=["pos", "neg"],
                                tasks=[{"data": {"text": "a"}}])
    c = Client(client, requester, project["id"], {"include_open": "true"})
    assert await c.pull() == 1
    r = await client.post(f"/api/projects/{project['id']}/tasks", json=[{"data": {"text": "b"}}, {"data": {"text": "c"}}],
                          headers=bearer(requester))
    assert r.status_code == 201, r.text
    assert await c.pull() == 2 and await c.pull() == 0 and c.rows == await c.full()


@pytest.mark.parametrize("fmt", ["jsonl", "deletions"])
async def test_a_cursor_this_database_never_gave_is_refused_naming_since(client, requester, new_project, fmt):
    # Another instance's cursor (a pipeline moved to a new server, or one restored from an older backup) is ahead of
    # this database's numbers: it was a 200 with no rows, and every change until the numbers caught up was missed.
    project = await new_project(task_type="text_classification", labels=["pos", "neg"],
                                tasks=[{"data": {"text": "a"}}])
    c = Client(client, requester, project["id"], {"include_open": "true"})
    assert await c.pull() == 1
    xmax = int(c.cursor.split(":")[2])
    ahead = f"c:{xmax + 1000}:{xmax + 1000}:"
    r = await client.get(f"/api/projects/{project['id']}/export", headers=bearer(requester),
                         params={"format": fmt, "include_open": "true", "since": ahead})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"] == "since" and "pull without since" in r.json()["error"]["message"]
    assert "labeling-next-since" not in r.headers
    head = await client.head(f"/api/projects/{project['id']}/export", headers=bearer(requester),
                             params={"format": fmt, "include_open": "true", "since": ahead})
    assert head.status_code == 400  # as the GET
    audit = (await client.get("/api/audit", params={"limit": 1000}, headers=bearer(requester))).json()["data"]
    assert [e["details"].get("format") for e in audit if e["action"] == "project.export"] == ["jsonl"]  # c.pull()'s
    # its own cursor is still taken
    r = await client.get(f"/api/projects/{project['id']}/export", headers=bearer(requester),
                         params={"format": fmt, "include_open": "true", "since": c.cursor})
    assert r.status_code == 200 and r.text == "", r.text


async def _spend_changes(db, n: int) -> None:  # noqa: ANN001
    """The database's change numbers move on by `n` at least (SQLite's clock; PostgreSQL's transactions spent)."""
    from sqlalchemy import text

    async with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            await conn.execute(text("UPDATE change_clock SET n = n + :n WHERE id = 1"), {"n": n})
            await conn.commit()
            return
        for _ in range(n):
            await conn.scalar(text("SELECT pg_current_xact_id()"))
            await conn.commit()


@pytest.mark.parametrize("fmt", ["jsonl", "deletions"])
async def test_a_cursor_with_thousands_of_running_changes_is_read(client, requester, new_project, db, fmt):
    # A snapshot may list many running transactions; each was an OR of its own, which SQLite parses as a tree of
    # depth 1000 at most: a cursor of 2,000 was 'Expression tree is too large' after the 200's head had gone.
    project = await new_project(task_type="text_classification", labels=["pos", "neg"],
                                tasks=[{"data": {"text": "a"}}])
    c = Client(client, requester, project["id"], {"include_open": "true"})
    assert await c.pull() == 1
    _, first, _ = c.cursor.removeprefix("c:").split(":")
    await _spend_changes(db, 2000)
    assert await c.pull() == 0
    _, xmax, _ = c.cursor.removeprefix("c:").split(":")
    running = range(int(first), int(first) + 2000)
    assert running[-1] < int(xmax)
    r = await c.get(format=fmt, include_open="true", since=f"c:{first}:{xmax}:" + ",".join(map(str, running)))
    assert r.status_code == 200 and r.text == ""  # the task's change is below the cursor's xmin: seen


async def test_the_cli_refuses_a_cursor_ahead_of_the_database_in_one_line(client, requester, new_project, run_cli,
                                                                          capsys, tmp_path):
    project = await new_project(task_type="text_classification", labels=["pos", "neg"],
                                tasks=[{"data": {"text": "a"}}])
    since = "c:1:9000000000000000000:" + ",".join(map(str, range(2, 10002)))  # 10,000 running: shown cut short
    out = tmp_path / "pull.jsonl"
    code = await run_cli("export", str(project["id"]), "--format", "jsonl", "--since", since, "-o", str(out))
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert code == 2 and not out.exists()
    assert len(errors) == 1 and errors[0].startswith("labeling: error: --since")
    assert "pull without since" in errors[0] and len(errors[0]) < 400


async def test_a_pull_with_a_cursor_given_before_a_restore_is_refused(client, requester, new_project, make_user,
                                                                      settings, db, tmp_path):
    # A backup keeps its rows' change numbers of when it was taken; a pull after it that had a later answer gave a
    # cursor past them, so once restored (the answer undone) a pull with that cursor was a 200 without the task: the
    # copy kept an answer the database no longer has (PostgreSQL at once; SQLite once its clock, back to the
    # backup's, passed the cursor again). It is refused: the client pulls everything again.
    from labeling import backup

    project = await new_project(task_type="text_classification", labels=["pos", "neg"], redundancy=1,
                                tasks=[{"data": {"text": "a"}}, {"data": {"text": "b"}}])
    pid = project["id"]
    _, token = await make_user("worker", "restore-w")

    async def answer() -> None:
        lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(token))).json()
        r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                              headers=bearer(token))
        assert r.status_code == 201, r.text

    await answer()
    target = tmp_path / "labeling.backup"
    await backup.backup(settings, target)
    await answer()
    c = Client(client, requester, pid, {})
    assert await c.pull() == 2
    await backup.restore(settings, target, force=True)
    await _spend_changes(db, 100)  # SQLite's clock went back with the backup: past the cursor again
    for fmt in ("jsonl", "deletions"):
        r = await client.get(f"/api/projects/{pid}/export", params={"format": fmt, "since": c.cursor},
                             headers=bearer(requester))
        assert r.status_code == 400, r.text
        assert r.json()["error"]["field"] == "since" and "before the database was restored" in r.text
    fresh = Client(client, requester, pid, {})
    assert await fresh.pull() == 1 and await fresh.pull() == 0  # a cursor given after the restore is taken
    await answer()
    assert await fresh.pull() == 1 and fresh.rows == await fresh.full()


async def test_a_pull_with_a_cursor_given_before_a_dump_was_restored_is_refused(client, requester, new_project,
                                                                                make_user, db, run_cli, capsys,
                                                                                tmp_path):
    # A dump keeps no change numbers: a database emptied and given a dump back stamps its tasks anew, from numbers
    # that need not be past a cursor given before (SQLite's clock starts again).
    from sqlalchemy import text

    from labeling import models
    from tests.conftest import PG_URL, raw_writes

    project = await new_project(task_type="text_classification", labels=["pos", "neg"],
                                tasks=[{"data": {"text": "a"}}, {"data": {"text": "b"}}])
    c = Client(client, requester, project["id"], {"include_open": "true"})
    assert await c.pull() == 2
    await _spend_changes(db, 100)
    assert await c.pull() == 0
    path = tmp_path / "whole.jsonl"
    assert await run_cli("export", "--all", "--format", "dump", "-o", str(path)) == 0
    async with raw_writes(db) as conn:
        names = ", ".join(t.name for t in reversed(models.metadata.sorted_tables))
        if PG_URL:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(models.metadata.sorted_tables):
                await conn.execute(table.delete())
    assert await run_cli("restore", str(path)) == 0
    capsys.readouterr()
    out = tmp_path / "pull.jsonl"
    assert await run_cli("export", str(project["id"]), "--format", "jsonl", "--include-open", "--since", c.cursor,
                         "-o", str(out)) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and "--since" in errors[0] and "pull without since" in errors[0], errors
    assert not out.exists()
