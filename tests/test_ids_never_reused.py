"""An id names one row for good, on SQLite as on PostgreSQL: a deleted row's id is never given to a new one.

SQLite gave a new row the highest id plus one, so deleting the newest row handed its id on: a worker's second
release of a lease reached the lease it had taken since (200, and that lease was gone; PostgreSQL answers 404 as the
README says), and a deleted task's or team's id read the task or team made after it. Migration 0009 makes the tables
AUTOINCREMENT on SQLite, keeping every row."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from labeling import migrate
from tests.conftest import bearer, text_tasks
from tests.test_migration_0004 import _move, rows_of, seed_at, to_head


async def test_a_second_release_never_reaches_the_lease_taken_since(client, make_user, new_project):
    project = await new_project(tasks=text_tasks(2))
    _, worker = await make_user("worker")
    first = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))).json()
    r = await client.post(f"/api/assignments/{first['assignment_id']}/release", headers=bearer(worker))
    assert r.status_code == 200, r.text
    second = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))).json()
    assert second["assignment_id"] != first["assignment_id"]
    again = await client.post(f"/api/assignments/{first['assignment_id']}/release", headers=bearer(worker))
    assert again.status_code == 404, again.text
    held = await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))
    assert held.json()["assignment_id"] == second["assignment_id"], "the lease taken since is still held"


async def test_a_deleted_task_or_team_id_names_nothing_after_new_ones_are_made(client, requester, make_user,
                                                                                new_project):
    project = await new_project(tasks=text_tasks(2))
    pid = project["id"]
    tasks = (await client.get(f"/api/projects/{pid}/tasks", headers=bearer(requester))).json()["data"]
    r = await client.request("DELETE", f"/api/projects/{pid}/tasks", headers=bearer(requester),
                             json={"task_ids": [tasks[-1]["id"]], "confirm": True})
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/projects/{pid}/tasks", json=[{"data": {"text": "new"}}], headers=bearer(requester))
    assert r.status_code == 201, r.text
    gone = await client.get(f"/api/projects/{pid}/tasks/{tasks[-1]['id']}", headers=bearer(requester))
    assert gone.status_code == 404, gone.text

    _, other = await make_user("requester", "other-requester")
    team = (await client.post("/api/teams", json={"name": "t"}, headers=bearer(requester))).json()
    assert (await client.delete(f"/api/teams/{team['id']}", headers=bearer(requester))).status_code == 200
    made = await client.post("/api/teams", json={"name": "theirs"}, headers=bearer(other))
    assert made.status_code == 201 and made.json()["id"] != team["id"], made.text
    assert (await client.get(f"/api/teams/{team['id']}", headers=bearer(other))).status_code == 404


async def test_upgrade_from_0008_keeps_every_row_and_ids_go_on_after_the_highest(db):
    async with db.engine.connect() as conn:
        await seed_at(conn, "0008")
        tables = ("users", "projects", "tasks", "assignments", "annotations")
        before = {t: await rows_of(conn, t, "id") for t in tables}
        await to_head(conn)
        after = {t: await rows_of(conn, t, "id") for t in tables}
        # The newest task deleted, a new one takes the next id, not the deleted one's.
        await conn.execute(text("DELETE FROM tasks WHERE id = 2"))
        new_id = (await conn.execute(text(
            "INSERT INTO tasks (project_id, data, is_gold, priority, state, needed, n_done, n_leased, created_at) "
            "VALUES (1, '{\"text\": \"new\"}', false, 0, 0, 1, 0, 0, 1) RETURNING id"))).scalar_one()
        await conn.commit()
        await conn.run_sync(_move, "0008", False)  # and down again: every row stays
        down = {t: [tuple(r) for r in await conn.execute(text(f"SELECT * FROM {t} ORDER BY id"))] for t in tables}
        await to_head(conn)
    assert after == before and all(before[t] for t in tables)
    assert new_id > 2 and [r[0] for r in down["tasks"]] == [1, new_id]
    kept = ("users", "projects", "annotations")  # the deleted task took its assignment along
    assert {t: down[t] for t in kept} == {t: before[t] for t in kept}


async def test_the_rebuild_refuses_to_run_with_foreign_keys_on(db, client, new_project):
    """Dropping the old table with foreign keys on would delete every row pointing at it (a project's tasks): Alembic
    run on a connection that has them on (not through labeling migrate) is refused, and nothing is lost."""
    if not db.is_sqlite:
        pytest.skip("the rebuild is SQLite's")
    from alembic import command

    await new_project(tasks=text_tasks(3))
    async with db.engine.connect() as conn:
        await conn.run_sync(_move, "0008", False)

        def upgrade_with_keys_on(sync_conn) -> None:  # noqa: ANN001
            config = migrate.alembic_config()
            config.attributes["connection"] = sync_conn
            command.upgrade(config, "head")

        with pytest.raises(RuntimeError, match="foreign keys off"):
            await conn.run_sync(upgrade_with_keys_on)
        await conn.rollback()
        assert (await conn.execute(text("SELECT count(*) FROM tasks"))).scalar_one() == 3
        await to_head(conn)
        assert (await conn.execute(text("SELECT count(*) FROM tasks"))).scalar_one() == 3
