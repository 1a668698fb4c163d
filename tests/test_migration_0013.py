"""Migration 0013 (change stamps for incremental pulls) upgrades a database in use: every row stays, each task's
changed_at is the latest time --since read before (its creation, its result's, its review's), and the triggers stamp
every later change, so a pull with the cursor of a pull made after the upgrade gets exactly the tasks changed since;
the downgrade keeps every other row."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.conftest import bearer
from tests.test_migration_0004 import _move, seed_at, to_head

EXTRA = [
    "INSERT INTO task_results (task_id, project_id, answer, confidence, n_annotations, method, details, updated_at) "
    "VALUES (1, 1, '{\"label\": \"pos\"}', 0.9, 1, 'majority', '{}', 7)",
    "INSERT INTO reviews (project_id, task_id, reviewer_id, kind, answer, created_at) "
    "VALUES (1, 1, 1, 'accept', NULL, 9)",
    "UPDATE tasks SET state = 1, needed = 1 WHERE id = 1",
]


async def _rows(conn) -> list:  # noqa: ANN001
    found = []
    for table in ("projects", "tasks", "assignments", "annotations", "task_results", "reviews"):
        result = await conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))
        found.append([tuple(v for k, v in r._mapping.items() if k not in ("changed_at", "change_id"))
                      for r in result])
    return found


async def test_upgrade_from_0012_backfills_change_times_and_stamps_every_later_change(db, client, make_user):
    async with db.engine.connect() as conn:
        await seed_at(conn, "0012", *EXTRA)
        before = await _rows(conn)
        await to_head(conn)
        after = await _rows(conn)
        stamps = [tuple(r) for r in await conn.execute(text("SELECT id, changed_at, change_id FROM tasks ORDER BY id"))]
    assert after == before
    assert stamps == [(1, 9.0, 0), (2, 1.0, 0)]  # the review's time, the creation's

    _, admin = await make_user("admin", "boss")
    owner = bearer((await client.post("/api/users/1/token", headers=bearer(admin))).json()["token"])

    async def pull(**params: str):  # noqa: ANN202
        r = await client.get("/api/projects/1/export", params={"format": "jsonl", "include_open": "true", **params},
                             headers=owner)
        assert r.status_code == 200, r.text
        return [row["id"] for row in map(json.loads, r.text.splitlines())], r.headers["labeling-next-since"]

    assert (await pull())[0] == [1, 2]
    assert (await pull(since="8"))[0] == [1]  # the backfilled times answer a pull --since a time as before
    _, cursor = await pull()
    r = await client.post("/api/projects/1/tasks/2/override", json={"answer": {"label": "neg"}}, headers=owner)
    assert r.status_code == 200, r.text
    changed, cursor = await pull(since=cursor)
    assert changed == [2]
    r = await client.post("/api/projects/1/tasks/1/more-answers", headers=owner)  # its acceptance goes
    assert r.status_code == 200, r.text
    changed, cursor = await pull(since=cursor)
    assert changed == [1] and (await pull(since=cursor))[0] == []

    async with db.engine.connect() as conn:
        kept = await _rows(conn)
        await conn.run_sync(_move, "0012", False)
        await conn.commit()
        down = await _rows(conn)
        columns = [r[1] for r in await conn.execute(text("SELECT * FROM pragma_table_info('tasks')"))] \
            if conn.dialect.name == "sqlite" else [r[0] for r in await conn.execute(text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'tasks'"))]
        await to_head(conn)
    assert down == kept and "change_id" not in columns


async def test_a_cursor_given_before_a_downgrade_is_refused_after_the_upgrade(db, client, make_user):
    # Down to 0012 the stamps and SQLite's clock are dropped, and a change made there moves no stamp; up again, every
    # task's change_id is 0 and the clock starts over: a pull with a cursor of before was a 200 without that change
    # (PostgreSQL), or refused as ahead only until SQLite's clock passed it.
    async with db.engine.connect() as conn:
        await seed_at(conn, "0012", *EXTRA)
        await to_head(conn)
    _, admin = await make_user("admin", "boss")
    owner = bearer((await client.post("/api/users/1/token", headers=bearer(admin))).json()["token"])

    async def pull(**params: str):  # noqa: ANN202
        return await client.get("/api/projects/1/export", params={"format": "jsonl", "include_open": "true", **params},
                                headers=owner)

    cursor = (await pull()).headers["labeling-next-since"]
    async with db.engine.connect() as conn:
        await conn.run_sync(_move, "0012", False)
        await conn.commit()
        await conn.execute(text("UPDATE task_results SET confidence = 0.25 WHERE task_id = 1"))
        await conn.commit()
        await to_head(conn)
        if conn.dialect.name == "sqlite":  # SQLite's clock past the cursor, as a few writes would take it
            await conn.execute(text("UPDATE change_clock SET n = n + 100 WHERE id = 1"))
            await conn.commit()
    r = await pull(since=cursor)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"] == "since" and "migrated below 0013 and back" in r.text
    r = await pull()
    assert r.status_code == 200 and json.loads(r.text.splitlines()[0])["confidence"] == 0.25
    assert (await pull(since=r.headers["labeling-next-since"])).text == ""
