"""Migration 0012 (task_deletions) upgrades a database in use: every row stays, a task deleted afterwards is recorded
and listed by `--format deletions`; the downgrade keeps every other row."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.conftest import bearer
from tests.test_migration_0004 import _move, rows_of, seed_at, to_head


async def _rows(conn) -> list:  # noqa: ANN001
    found = []
    for table in ("projects", "tasks", "assignments", "annotations", "project_counters"):
        found.append(await rows_of(conn, table))
    return found


async def test_upgrade_from_0011_keeps_every_row_and_records_later_deletions(db, client, make_user):
    async with db.engine.connect() as conn:
        await seed_at(conn, "0011")
        before = await _rows(conn)
        await to_head(conn)
        after = await _rows(conn)
        recorded = (await conn.execute(text("SELECT count(*) FROM task_deletions"))).scalar_one()
    assert after == before and recorded == 0

    _, admin = await make_user("admin", "boss")
    owner = (await client.post("/api/users/1/token", headers=bearer(admin))).json()["token"]
    r = await client.request("DELETE", "/api/projects/1/tasks", json={"task_ids": [2], "confirm": True},
                             headers=bearer(owner))
    assert r.status_code == 200, r.text
    r = await client.get("/api/projects/1/export", params={"format": "deletions"}, headers=bearer(owner))
    assert r.status_code == 200, r.text
    assert [(d["id"], d["external_id"]) for d in map(json.loads, r.text.splitlines())] == [(2, None)]

    async with db.engine.connect() as conn:
        kept = await _rows(conn)
        await conn.run_sync(_move, "0011", False)
        await conn.commit()
        down = await _rows(conn)
        await to_head(conn)
    assert down == kept
