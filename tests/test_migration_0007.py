"""Migration 0007 (projects.answer_correlation) upgrades a database in use: every project keeps its settings and
starts with no correlation (answers taken as independent, as before); a consensus run then stores one, and the
downgrade keeps every row."""

from __future__ import annotations

from sqlalchemy import text

from tests.conftest import bearer
from tests.test_migration_0004 import _move, seed_at, to_head
from tests.test_migration_0005 import RESULT

COLUMNS = ("id, name, owner_id, task_type, labels, instructions, redundancy_min, redundancy_max, lease_seconds, "
           "options, created_at, status")


async def _projects(conn) -> list:  # noqa: ANN001
    return [tuple(row) for row in await conn.execute(text(f"SELECT {COLUMNS} FROM projects ORDER BY id"))]


async def test_upgrade_from_0006_keeps_every_project_and_a_consensus_run_stores_the_correlation(
        db, client, make_user):
    async with db.engine.connect() as conn:
        await seed_at(conn, "0006", RESULT)
        before = await _projects(conn)
        tasks_before = [tuple(r) for r in await conn.execute(text("SELECT id, data, n_done FROM tasks ORDER BY id"))]
        await to_head(conn)
        after = await _projects(conn)
        rho = (await conn.execute(text("SELECT answer_correlation FROM projects"))).scalar_one()
        tasks_after = [tuple(r) for r in await conn.execute(text("SELECT id, data, n_done FROM tasks ORDER BY id"))]
    assert after == before and rho is None and tasks_after == tasks_before

    _, admin = await make_user("admin", "boss")
    _, worker = await make_user("worker", "newcomer")
    for _ in range(2):  # the old task with one answer of two settles as before, then the other one gets an answer
        lease = await client.post("/api/projects/1/next", headers=bearer(worker))
        assert lease.status_code == 200, lease.text
        r = await client.post(f"/api/assignments/{lease.json()['assignment_id']}/submit",
                              json={"answer": {"label": "pos"}}, headers=bearer(worker))
        assert r.status_code == 201, r.text
    r = await client.post("/api/projects/1/consensus", json={"method": "majority"}, headers=bearer(admin))
    assert r.status_code == 200 and r.json()["answer_correlation"] is not None, r.text
    results = (await client.get("/api/projects/1/results", headers=bearer(admin))).json()["data"]
    assert {x["task_id"]: x["answer"] for x in results} == {1: {"label": "pos"}, 2: {"label": "pos"}}

    async with db.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT answer_correlation FROM projects"))).scalar_one()
        await conn.run_sync(_move, "0006", False)
        await conn.commit()
        down = await _projects(conn)
        tasks_down = [tuple(r) for r in await conn.execute(text("SELECT id, data FROM tasks ORDER BY id"))]
        answers_down = (await conn.execute(text("SELECT count(*) FROM annotations"))).scalar_one()
        await to_head(conn)
    assert stored == r.json()["answer_correlation"]
    assert [row[:10] for row in down] == [row[:10] for row in before]
    assert tasks_down == [row[:2] for row in tasks_before] and answers_down == 3  # nothing cascaded away
