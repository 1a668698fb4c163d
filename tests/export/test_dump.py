"""Dumps: lossless, restored into the other database (SQLite and PostgreSQL) and back, dumping equal."""

from __future__ import annotations

import json

from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from labeling import auth, migrate, models
from labeling.db import Database
from labeling.export import dump, exporter, options, raw
from tests.conftest import PG_URL, bearer, one_line, raw_writes
from tests.export.helpers import project_with_answers


async def _other_database(tmp_path: Path) -> Database:
    """An empty, migrated database of the other kind where there is one (SQLite beside PostgreSQL)."""
    other = Database(f"sqlite:///{tmp_path / 'other.db'}", pool_size=2)
    await migrate.upgrade(other)
    return other


async def _dump(db: Database, project_id: int | None = None) -> bytes:
    if project_id is None:
        async with db.read(snapshot=True) as conn:
            return b"".join([chunk async for chunk in dump.instance_chunks(conn, lambda n: None)])
    async with db.read() as conn:
        row = (await conn.execute(select(models.projects).where(models.projects.c.id == project_id))).first()
    job = exporter.Export(db, row, options.parse({"format": "dump"}), media_dir=Path("/nonexistent"), secret="s")
    return b"".join([chunk async for chunk in job.chunks()])


async def _emptied(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    """An empty database for the CLI's restore: this test's PostgreSQL database emptied, or a new SQLite file."""
    if PG_URL:
        async with raw_writes(db) as conn:
            names = ", ".join(t.name for t in models.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    target = PG_URL or f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("LABELING_DATABASE_URL", target)
    return Database(target, pool_size=2)


async def _busy_project(client, requester, new_project, make_user) -> dict:  # noqa: ANN001
    """A project with answers, a skip, a live lease, a gold task and a blocked worker's standing."""
    project = await project_with_answers(client, make_user, new_project, "preference_ranking", n=4)
    pid = project["id"]
    r = await client.post(f"/api/projects/{pid}/tasks", headers=bearer(requester),
                          json=[{"data": {"prompt": "more", "responses": [{"id": "x", "text": "1"},
                                                                          {"id": "y", "text": "2"}]}},
                                {"data": {"prompt": "extra", "responses": [{"id": "x", "text": "1"},
                                                                           {"id": "y", "text": "2"}]},
                                 "external_id": "late"}])
    assert r.status_code == 201
    _, late = await make_user("worker", "late-worker")
    lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(late))).json()
    await client.post(f"/api/assignments/{lease['assignment_id']}/skip", headers=bearer(late))
    await client.post(f"/api/projects/{pid}/next", headers=bearer(late))  # a live lease stays
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    r = await client.post(f"/api/projects/{pid}/tasks/{results[0]['task_id']}/override",  # a requester's review
                          json={"answer": {"ranking": [["c"], ["a", "b"]]}}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    await client.post(f"/api/projects/{pid}/tasks/{results[1]['task_id']}/accept", headers=bearer(requester))
    return project


async def test_a_dump_restored_into_the_other_database_dumps_back_equal(client, requester, new_project, make_user,
                                                                        db, tmp_path):
    project = await _busy_project(client, requester, new_project, make_user)
    await project_with_answers(client, make_user, new_project, "text_classification", n=3)  # another project
    first = await _dump(db, project["id"])
    http = await client.get(f"/api/projects/{project['id']}/export", params={"format": "dump"},
                            headers=bearer(requester))
    assert http.content == first
    text_lines = first.decode().splitlines()
    assert all("password_hash" not in line and "token_hash" not in line for line in text_lines)
    tables = [line.split('"table":"')[1].split('"')[0] for line in text_lines[1:-1]]
    assert {"users", "projects", "project_counters", "tasks", "assignments", "annotations", "project_workers",
            "task_results", "reviews", "audit_log"} == set(tables)
    end = json.loads(text_lines[-1])["end"]  # the end line counts every table's rows
    assert end["rows"] == {table: tables.count(table) for table in set(tables)}
    path = tmp_path / "project.jsonl"
    path.write_bytes(first)
    other = await _other_database(tmp_path)
    try:
        counts = await dump.restore(other, path)
        assert counts["tasks"] == 6 and counts["annotations"] == 12 and counts["projects"] == 1
        second = await _dump(other, project["id"])
        assert second == first
        whole = await _dump(db)
        (tmp_path / "whole.jsonl").write_bytes(whole)
    finally:
        await other.dispose()
    # ... and back: the whole instance into this database, emptied.
    async with raw_writes(db) as conn:
        names = ", ".join(t.name for t in reversed(models.metadata.sorted_tables))
        if PG_URL:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(models.metadata.sorted_tables):
                await conn.execute(table.delete())
    await dump.restore(db, tmp_path / "whole.jsonl")
    assert await _dump(db) == whole
    assert await _dump(db, project["id"]) == first
    # The queue goes on where it was: counters agree with the rows, new ids follow the restored ones.
    _, newcomer = await make_user("worker", "newcomer")
    r = await client.post(f"/api/projects/{project['id']}/next", headers=bearer(newcomer))
    assert r.status_code == 200, r.text
    async with db.read() as conn:
        tasks = await conn.scalar(select(func.count()).select_from(models.tasks).where(
            models.tasks.c.project_id == project["id"]))
    progress = (await client.get(f"/api/projects/{project['id']}", headers=bearer(requester))).json()["progress"]
    assert progress["tasks"] == tasks == 6 and progress["complete"] == 4 and progress["annotations"] == 12


async def test_restore_is_all_or_nothing_and_refuses_what_is_not_a_dump(client, requester, new_project, make_user,
                                                                         db, run_cli, tmp_path, capsys):
    project = await project_with_answers(client, make_user, new_project, "text_classification", n=2)
    path = tmp_path / "dump.jsonl"
    assert await run_cli("export", str(project["id"]), "--format", "dump", "-o", str(path)) == 0
    async with db.read() as conn:
        before = await conn.scalar(select(func.count()).select_from(models.tasks))
    capsys.readouterr()
    assert await run_cli("restore", str(path)) == 2  # the project is already here
    err = capsys.readouterr().err
    assert one_line(err) and "already has project" in err
    async with db.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(models.tasks)) == before
    broken = tmp_path / "broken.jsonl"
    lines = path.read_text().splitlines()
    broken.write_text("\n".join(lines[:-1] + ['{"table": "tasks", "row": {"id": "x"}}']) + "\n")
    other = await _other_database(tmp_path)
    try:
        with pytest.raises(Exception) as exc:
            await dump.restore(other, broken)
        assert "line" in str(exc.value)
        async with other.read() as conn:
            assert await conn.scalar(select(func.count()).select_from(models.projects)) == 0
            assert await conn.scalar(select(func.count()).select_from(models.users)) == 0
    finally:
        await other.dispose()
    for name, content in (("notes.txt", "hello\n"), ("data.jsonl", '{"data": {"text": "a"}}\n'), ("empty", "")):
        (tmp_path / name).write_text(content)
        assert await run_cli("restore", str(tmp_path / name)) == 2
        err = capsys.readouterr().err
        assert one_line(err) and "is neither a backup" in err and "nor a dump" in err
        assert not dump.is_dump(tmp_path / name)
    assert dump.is_dump(path)


async def test_a_cut_or_edited_dump_restores_nothing_with_one_line(client, requester, new_project, make_user, db,
                                                                     run_cli, tmp_path, capsys, monkeypatch):
    await project_with_answers(client, make_user, new_project, "text_classification", n=2)
    await new_project()  # no tasks: its counters are zeros
    path = tmp_path / "all.jsonl"
    assert await run_cli("export", "--all", "--format", "dump", "-o", str(path)) == 0
    lines = path.read_text().splitlines(keepends=True)
    second = next(i for i, line in enumerate(lines) if line.startswith('{"table":"projects"') and '"id":2,' in line)

    def edited(table: str, old: str, new: str) -> str:
        i = next(i for i, line in enumerate(lines) if line.startswith(f'{{"table":"{table}"') and old in line)
        return "".join(lines[:i] + [lines[i].replace(old, new, 1)] + lines[i + 1:])

    def reshaped(table: str, column: str, value: object) -> str:
        i = next(i for i, line in enumerate(lines) if line.startswith(f'{{"table":"{table}"'))
        record = json.loads(lines[i])
        record["row"][column] = value
        return "".join(lines[:i] + [json.dumps(record) + "\n"] + lines[i + 1:])

    cases = {
        "header only": lines[0],
        # JSON values of the wrong shape restored, then broke every export and recompute of the project
        "a task's data that is no object": reshaped("tasks", "data", "just a string"),
        "an answer that is no object": reshaped("annotations", "answer", [1, 2]),
        "a consensus that is no object": reshaped("task_results", "answer", "pos"),
        "a project of no task type": reshaped("projects", "task_type", "nope"),
        "labels that are no strings": reshaped("projects", "labels", [1, 2]),
        "cut after the first project": "".join(lines[:second]),
        "cut before the second project's counters": "".join(lines[:second] + lines[second + 1:]),
        "a string in an integer column": edited("tasks", '"priority":0', '"priority":"high"'),
        "a boolean for a number": edited("tasks", '"priority":0', '"priority":false'),
        # SQLite stored a number past 32 bits where PostgreSQL refused it; past 64 bits, each said it its own way
        "a number past its column's range": edited("tasks", '"priority":0', f'"priority":{2 ** 40}'),
        # the column holds -2**31, which no import or API call may give (the queue takes +/-(2**31 - 1))
        "a priority the API refuses": edited("tasks", '"priority":0', f'"priority":{-2 ** 31}'),
        # a browser rounds an id past 2**53 - 1, and one at 2**63 - 1 left no id for the next row (a 500)
        "an id past what a browser reads": reshaped("tasks", "id", 2**63 - 1),
        "an answer's task id past it": reshaped("annotations", "task_id", 2**53),
        "an id of 0": reshaped("users", "id", 0),
        "a number past 64 bits": edited("tasks", '"priority":0', f'"priority":{2 ** 70}'),
        "a string past its column's length": edited("projects", '"edit_window":"', '"edit_window":"' + "x" * 30),
        "a column the table lacks": edited("tasks", '"priority":0', '"priority":0,"x":1'),
        # SQLModel's text columns (AutoString) went unchecked: SQLite stored the number -1 as text where PostgreSQL
        # refused it, and a list was each driver's binding error; a string past such a column's length the same
        "a number in a text column": reshaped("annotations", "idempotency_key", -1),
        "a list in a text column": reshaped("tasks", "external_id", ["t0"]),
        "a string past a text column's length": reshaped("tasks", "external_id", "x" * 501),
        # restored, then every page reading the account or project was a 500
        "a role that is none": reshaped("users", "role", "god"),
        "a project status that is none": reshaped("projects", "status", 7),
        "a label style that is no colour or hotkey": reshaped("projects", "label_styles", {"pos": 5}),
        "a time past year 9999": reshaped("annotations", "created_at", 2 ** 62),
        "a time before 1970": reshaped("users", "created_at", -1e18),
        # the project row's own check constraint: the driver's exception, exit status 1
        "a redundancy the table's check refuses": reshaped("projects", "redundancy_min", -1),
        "a NUL in a username": edited("users", '"username":"', '"username":"a\\u0000'),
        # after every project: only the end line's counts can tell
        "cut at a line break among the answers": "".join(
            lines[:next(i for i, line in enumerate(lines) if line.startswith('{"table":"annotations"')) + 1]),
        "without its end line": "".join(lines[:-1]),
        "one answer taken out": "".join(
            line for i, line in enumerate(lines)
            if i != next(j for j, x in enumerate(lines) if x.startswith('{"table":"annotations"'))),
        "a line after the end line": "".join(lines + [lines[-2]]),
        "an end line that says other counts": "".join(lines[:-1] + [lines[-1].replace('"tasks":2', '"tasks":3')]),
    }
    assert '"tasks":2' in lines[-1]
    fresh = await _emptied(db, tmp_path, monkeypatch)
    try:
        for name, content in cases.items():
            bad = tmp_path / "bad.jsonl"
            bad.write_text(content)
            capsys.readouterr()
            assert await run_cli("restore", str(bad)) == 2, name
            err = capsys.readouterr().err
            assert one_line(err) and "Traceback" not in err, (name, err)
            async with fresh.read() as conn:
                for table in (models.projects, models.users, models.tasks, models.project_counters):
                    assert await conn.scalar(select(func.count()).select_from(table)) == 0, (name, table.name)
        # A column left out is named (it was each database's own words: a binding parameter, or a bare KeyError).
        bad.write_text(edited("tasks", '"priority":0,', ""))
        assert await run_cli("restore", str(bad)) == 2
        assert "the tasks row has no 'priority'" in capsys.readouterr().err
        bad.write_text(cases["an id past what a browser reads"])
        assert await run_cli("restore", str(bad)) == 2
        assert "tasks.id must be a whole number from 1 to 9,007,199,254,740,991" in capsys.readouterr().err
        bad.write_text(cases["a number past 64 bits"])
        assert await run_cli("restore", str(bad)) == 2
        assert "tasks.priority must be a whole number from -2,147,483,647 to 2,147,483,647" in capsys.readouterr().err
        for case, words in (("a number in a text column", "annotations.idempotency_key must be a string, got -1"),
                            ("a string past a text column's length", "tasks.external_id must be at most 500 characters"),
                            ("a role that is none", "users.role must be one of 'admin', 'requester', 'worker'"),
                            ("a label style that is no colour or hotkey", "projects.label_styles['pos'] must be a"),
                            ("a redundancy the table's check refuses", "could not restore projects: "),
                            ("a time past year 9999", "annotations.created_at must be a time from 1970 to 3000")):
            bad.write_text(cases[case])
            assert await run_cli("restore", str(bad)) == 2
            assert words in capsys.readouterr().err, case
        assert await run_cli("restore", str(path)) == 0
        assert await _dump(fresh) == path.read_bytes()  # the project without tasks too
    finally:
        await fresh.dispose()


async def test_cli_instance_dump_restores_into_an_empty_database(client, requester, new_project, make_user, db,
                                                                  run_cli, tmp_path, capsys, monkeypatch):
    await project_with_answers(client, make_user, new_project, "text_classification", n=2)
    await project_with_answers(client, make_user, new_project, "demonstration", n=2)
    path = tmp_path / "all.jsonl"
    assert await run_cli("export", "--all", "--format", "dump", "-o", str(path)) == 0
    assert await run_cli("export", "--all", "--format", "jsonl", "-o", str(tmp_path / "x")) == 2
    other_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("LABELING_DATABASE_URL", other_url)
    capsys.readouterr()
    assert await run_cli("restore", str(path)) == 0
    assert "2 projects" in capsys.readouterr().out
    fresh = Database(other_url, pool_size=2)
    try:
        assert await _dump(fresh) == path.read_bytes()
        async with fresh.read() as conn:
            users = (await conn.execute(select(models.users.c.id, models.users.c.password_hash))).all()
        assert users and all(row.password_hash is None for row in users)
        # New accounts get ids after the restored ones.
        user, _ = await fresh.transact(lambda tx: auth.create_user(tx, "after-restore", "worker"))
        assert user["id"] > max(row.id for row in users)
    finally:
        await fresh.dispose()


async def test_a_dump_whose_values_break_their_task_type_restores_nothing(client, requester, new_project, make_user,
                                                                          db, run_cli, tmp_path, capsys, monkeypatch):
    """Values of the right JSON shape that break the task type (a label the project lacks, a ranking of responses
    the task lacks, a span past its text) used to restore, and every export and recompute of the project then
    ended in a TypeError. A restore now checks each against the task, as an import and a submit do."""
    await _busy_project(client, requester, new_project, make_user)  # rankings, their consensus and a review
    await project_with_answers(client, make_user, new_project, "text_classification", n=2)
    await project_with_answers(client, make_user, new_project, "named_entities", n=2)
    path = tmp_path / "all.jsonl"
    assert await run_cli("export", "--all", "--format", "dump", "-o", str(path)) == 0
    lines = path.read_text().splitlines(keepends=True)

    def changed(table: str, task_type_test: str, change) -> tuple[str, int]:  # noqa: ANN001
        i = next(i for i, line in enumerate(lines) if line.startswith(f'{{"table":"{table}"')
                 and task_type_test in line)
        record = json.loads(lines[i])
        change(record["row"])
        return "".join(lines[:i] + [json.dumps(record) + "\n"] + lines[i + 1:]), i + 1

    def put(column: str, *path: object, value: object):  # noqa: ANN202
        def change(row: dict) -> None:
            target = row[column]
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        return change

    cases = {
        "a task without its responses": ("tasks.data", *changed("tasks", '"responses"', put("data", "responses", value=[]))),
        "a label the project lacks": ("annotations.answer", *changed("annotations", '"label"',
                                                                     put("answer", "label", value="maybe"))),
        "a ranking of a response the task lacks": ("annotations.answer", *changed(
            "annotations", '"ranking"', put("answer", "ranking", value=[["a"], ["b"], ["zz"]]))),
        "a span past its text": ("annotations.answer", *changed("annotations", '"spans"',
                                                                put("answer", "spans", 0, "end", value=500))),
        "a consensus label the project lacks": ("task_results.answer", *changed(
            "task_results", '"label"', put("answer", "label", value="maybe"))),
        "a consensus's pair of responses the task lacks": ("task_results.answer", *changed(
            "task_results", '"pair_probabilities"', put("answer", "pair_probabilities", 0, "chosen", value="zz"))),
        "a consensus's score that is no number": ("task_results.answer", *changed(
            "task_results", '"scores"', put("answer", "scores", "a", value="high"))),
        "a consensus's rating summary that is no number": ("task_results.answer", *changed(
            "task_results", '"mean"', put("answer", "ratings", "a", "mean", value="high"))),
        "a review's override of a response the task lacks": ("reviews.answer", *changed(
            "reviews", '"override"', put("answer", "ranking", value=[["zz"]]))),
    }
    fresh = await _emptied(db, tmp_path, monkeypatch)
    try:
        for name, (column, content, number) in cases.items():
            bad = tmp_path / "bad.jsonl"
            bad.write_text(content)
            capsys.readouterr()
            assert await run_cli("restore", str(bad)) == 2, name
            err = capsys.readouterr().err
            assert one_line(err) and f"line {number}: {column} does not fit the task type" in err, (name, err)
            async with fresh.read() as conn:
                for table in (models.projects, models.users, models.tasks):
                    assert await conn.scalar(select(func.count()).select_from(table)) == 0, (name, table.name)
        assert await run_cli("restore", str(path)) == 0  # as dumped, every value fits
        assert await _dump(fresh) == path.read_bytes()
    finally:
        await fresh.dispose()


async def test_a_restore_keeps_floats_floats_and_one_key_order(client, requester, new_project, make_user, db,
                                                              tmp_path):
    """A restore writes JSON columns as every other write does (labeling/sqltx.py): a float JSON writes with an
    exponent (1e+16) stays a float; PostgreSQL's jsonb made the restore's 1e+16 the integer 10000000000000000 (and
    1.5e+300 a 301-digit integer), so the restored project exported and dumped otherwise than before. Keys come in
    jsonb's order on SQLite too (it kept the dump's alphabetical order)."""
    data = {"text": "big", "mass": 1e16, "abcde": [1.5e300, {"zz": 2.5e22, "b": 1}]}
    project = await new_project(tasks=[{"data": data, "gold": {"label": "pos"}, "external_id": "f"}],
                                labels=["pos", "neg"])
    before = (await client.get(f"/api/projects/{project['id']}/tasks", headers=bearer(requester))).json()["data"]
    exported = (await client.get(f"/api/projects/{project['id']}/export", headers=bearer(requester),
                                 params={"format": "jsonl", "include_gold": "true"})).content
    whole = await _dump(db)
    (tmp_path / "whole.jsonl").write_bytes(whole)
    async with raw_writes(db) as conn:
        for table in reversed(models.metadata.sorted_tables):
            await conn.execute(table.delete())
    await dump.restore(db, tmp_path / "whole.jsonl")
    after = (await client.get(f"/api/projects/{project['id']}/tasks", headers=bearer(requester))).json()["data"]
    assert after == before and after[0]["data"] == data
    assert isinstance(after[0]["data"]["mass"], float) and isinstance(after[0]["data"]["abcde"][1]["zz"], float)
    assert list(after[0]["data"]) == list(before[0]["data"]) == ["mass", "text", "abcde"]
    assert list(after[0]["data"]) == list(before[0]["data"]) == ["mass", "text", "abcde"]
    again = (await client.get(f"/api/projects/{project['id']}/export", headers=bearer(requester),
                              params={"format": "jsonl", "include_gold": "true"})).content
    assert again == exported and await _dump(db) == whole


async def test_a_dump_whose_requesters_share_a_project_name_restores(client, make_user, db, run_cli, tmp_path,
                                                                     monkeypatch, capsys):
    """Names are unique per owner (migration 0011): two requesters may each have a project 'plan'. Restoring such an
    instance's dump into an empty database refused the second as 'this database already has project 1 ('plan')',
    the first one it had just restored. A project of the same owner and name (or id) there is still refused."""
    ids = []
    for owner in ("alice", "bob"):
        _, token = await make_user("requester", owner)
        r = await client.post("/api/projects", json={"name": "plan", "task_type": "text_classification",
                                                     "labels": ["x"]}, headers=bearer(token))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    path = tmp_path / "whole.jsonl"
    assert await run_cli("export", "--all", "--format", "dump", "-o", str(path)) == 0
    whole = await _dump(db)
    fresh = await _emptied(db, tmp_path, monkeypatch)
    capsys.readouterr()
    assert await run_cli("restore", str(path)) == 0, capsys.readouterr().err
    assert await _dump(fresh) == whole
    capsys.readouterr()
    assert await run_cli("restore", str(path)) == 2  # everything is there now
    assert "already has project" in capsys.readouterr().err
    await fresh.dispose()


async def test_a_dump_reads_long_rows_in_short_pages_and_the_same_bytes(client, requester, new_project, db,
                                                                         monkeypatch):
    texts = ["x" * 500] * 40 + ["short"] * 100
    project = await new_project(tasks=[{"data": {"text": t}} for t in texts])
    whole = await _dump(db, project["id"])
    monkeypatch.setattr(raw, "PAGE_CHARS", 2000)  # three long tasks a page
    async with db.read() as conn:
        pages = [len(page) async for page in dump._keyset(conn, models.tasks, ("id",),
                                                           models.tasks.c.project_id == project["id"])]
    assert sum(pages) == len(texts) and pages[:3] == [16, 3, 3] and max(pages) > 24, pages
    assert await _dump(db, project["id"]) == whole


CTRL_C_RESTORE_DRIVER = """
import os, signal, sys, threading
from labeling import cli
from labeling.db import Database
from labeling.export import dump

# As tests/test_cli.py's CTRL_C_DRIVER: SIGINT taken as a terminal's command takes it, and SQLite's writer thread
# let on only once the command has taken the interrupt (closing its database).
signal.signal(signal.SIGINT, signal.default_int_handler)
interrupted, stopping = threading.Event(), threading.Event()
real_dispose, real_records = Database.dispose, dump._records


async def dispose(self):
    if interrupted.is_set():
        stopping.set()
    await real_dispose(self)


def records(path, header):
    for i, record in enumerate(real_records(path, header)):
        if i == 10:
            interrupted.set()
            os.kill(os.getpid(), signal.SIGINT)
            if threading.current_thread() is not threading.main_thread():
                stopping.wait(60)
        yield record


Database.dispose = dispose
dump._records = records
sys.exit(cli.main(sys.argv[1:]))
"""


async def test_ctrl_c_during_a_dump_s_restore_restores_nothing_and_says_so(client, requester, new_project, make_user,
                                                                          db, run_cli, tmp_path, monkeypatch):
    """Ctrl+C in `labeling restore DUMP` ended it with exit status 130 and not a word; it is one transaction, and
    says so: "interrupted: nothing was restored", with nothing stored, on both databases."""
    import os
    import subprocess
    import sys

    await project_with_answers(client, make_user, new_project, "text_classification", n=3)
    path = tmp_path / "all.jsonl"
    assert await run_cli("export", "--all", "--format", "dump", "-o", str(path)) == 0
    fresh = await _emptied(db, tmp_path, monkeypatch)
    driver = tmp_path / "driver.py"
    driver.write_text(CTRL_C_RESTORE_DRIVER)
    try:
        done = subprocess.run([sys.executable, str(driver), "restore", str(path)], env={**os.environ},
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.endswith("\nlabeling: interrupted: nothing was restored\n"), done.stderr
        await migrate.upgrade(fresh)
        async with fresh.read() as conn:
            for table in (models.users, models.projects, models.tasks, models.annotations):
                assert await conn.scalar(select(func.count()).select_from(table)) == 0, table.name
    finally:
        await fresh.dispose()
