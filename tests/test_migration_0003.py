"""Migration 0003 (the media table) on a database that holds data: nothing is lost either way."""

from __future__ import annotations

from sqlalchemy import func, inspect, select

from labeling import models
from tests.conftest import bearer, text_tasks
from tests.test_migration_0004 import _move


async def test_upgrade_to_0003_keeps_the_data_and_adds_media(db, client, requester, new_project):
    project = await new_project(tasks=text_tasks(4))
    async with db.engine.connect() as conn:
        await conn.run_sync(_move, "0001", False)
        await conn.commit()
        assert "media" not in await conn.run_sync(lambda c: inspect(c).get_table_names())
        await conn.run_sync(_move, "head", True)
        await conn.commit()
        assert "media" in await conn.run_sync(lambda c: inspect(c).get_table_names())
    async with db.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(models.tasks)) == 4
    r = await client.get(f"/api/projects/{project['id']}", headers=bearer(requester))
    assert r.status_code == 200 and r.json()["progress"]["tasks"] == 4
