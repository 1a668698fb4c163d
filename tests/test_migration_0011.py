"""Migration 0011 (project names unique per owner) upgrades a database in use: every project and what hangs on it
stays; another requester may then use a taken name, the owner still may not; the downgrade refuses while two
owners share a name, and otherwise keeps every row."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.conftest import bearer
from tests.test_migration_0004 import _move, rows_of, seed_at, to_head

OTHER = ("INSERT INTO users (id, username, role, token_hash, is_active, created_at) VALUES (3, 'other', 'requester', "
         "'h3', true, 1)")


async def _rows(conn) -> list:  # noqa: ANN001
    found = []
    for table in ("projects", "tasks", "annotations", "project_counters"):
        found.append(await rows_of(conn, table))
    return found


async def test_upgrade_from_0010_keeps_every_project_and_names_become_per_owner(db, client, make_user):
    async with db.engine.connect() as conn:
        await seed_at(conn, "0010", OTHER)
        before = await _rows(conn)
        await to_head(conn)
        after = await _rows(conn)
    assert after == before

    _, admin = await make_user("admin", "boss")
    owner = (await client.post("/api/users/1/token", headers=bearer(admin))).json()["token"]
    other = (await client.post("/api/users/3/token", headers=bearer(admin))).json()["token"]
    body = {"name": "old", "task_type": "text_classification", "labels": ["x"]}
    assert (await client.post("/api/projects", json=body, headers=bearer(owner))).status_code == 409
    theirs = await client.post("/api/projects", json=body, headers=bearer(other))
    assert theirs.status_code == 201, theirs.text
    mine = await client.post("/api/projects", json={**body, "name": "new"}, headers=bearer(owner))
    assert mine.status_code == 201, mine.text
    async with db.engine.connect() as conn:  # the database holds names unique per owner, not only the API's check
        with pytest.raises(IntegrityError):
            await conn.execute(text("UPDATE projects SET name = 'old' WHERE id = :id"), {"id": mine.json()["id"]})
        await conn.rollback()
    r = await client.get("/api/projects/1", headers=bearer(owner))
    assert r.status_code == 200 and r.json()["progress"]["tasks"] == 2, r.text

    async with db.engine.connect() as conn:
        with pytest.raises(RuntimeError, match="several owners have projects named"):
            await conn.run_sync(_move, "0010", False)
        await conn.rollback()
    r = await client.delete(f"/api/projects/{theirs.json()['id']}", params={"confirm": "old"}, headers=bearer(other))
    assert r.status_code == 200, r.text
    async with db.engine.connect() as conn:
        kept = await _rows(conn)
        await conn.run_sync(_move, "0010", False)
        await conn.commit()
        down = await _rows(conn)
        await to_head(conn)
    assert down == kept
