"""Upgrading a database with data from revision 0001 to 0002 (access): nothing lost, existing projects active with
the all-workers pool, stored image tasks' media-folder files entered for their projects, workers still working."""

from __future__ import annotations

import json
import time

from sqlalchemy import text

from labeling import auth, media
from tests.conftest import bearer
from tests.test_migration_0004 import _move


async def test_an_upgrade_from_0001_keeps_everything_and_opens_projects_to_all_workers(db, client):
    async with db.engine.connect() as conn:
        await conn.run_sync(_move, "base", False)
        await conn.run_sync(_move, "0001", True)
        await conn.commit()
    now = time.time()
    users = [("old-requester", "requester", "lbl_old_requester"), ("old-worker", "worker", "lbl_old_worker")]
    async with db.engine.begin() as conn:  # rows as the previous release wrote them
        for name, role, token in users:
            await conn.execute(text("INSERT INTO users (username, role, password_hash, token_hash, is_active, "
                                    "created_at) VALUES (:n, :r, NULL, :t, true, :now)"),
                               {"n": name, "r": role, "t": auth.hash_token(token),
                                "now": now})
        owner = (await conn.execute(text("SELECT id FROM users WHERE username = 'old-requester'"))).scalar()
        for name, task_type, labels in (("old images", "image_classification", ["cat", "dog"]),
                                        ("old texts", "text_classification", ["pos"])):
            await conn.execute(text(
                "INSERT INTO projects (name, owner_id, task_type, labels, instructions, redundancy_min, redundancy_max,"
                " lease_seconds, gold_first_n, gold_fraction, gold_min, gold_threshold, options, created_at, "
                "updated_at) VALUES (:name, :owner, :tt, :labels, '', 1, 1, 600, 0, 0, 5, 0, '{}', :now, :now)"),
                {"name": name, "owner": owner, "tt": task_type, "labels": json.dumps(labels), "now": now})
        images = (await conn.execute(text("SELECT id FROM projects WHERE name = 'old images'"))).scalar()
        for i, image in enumerate(("uploads/ab/one.png", "https://example.org/two.png", "shelf/three.png",
                                   "uploads/ab/one.png")):
            await conn.execute(text(
                "INSERT INTO tasks (project_id, data, is_gold, priority, state, needed, n_done, n_leased, created_at) "
                "VALUES (:p, :data, false, 0, 0, 1, 0, 0, :now)"),
                {"p": images, "data": json.dumps({"image": image, "n": i}), "now": now})
        await conn.execute(text("INSERT INTO project_counters (project_id, shard, n_tasks, n_gold_tasks, n_complete, "
                                "n_annotations, n_skips) VALUES (:p, 0, 4, 0, 0, 0, 0)"), {"p": images})

    async with db.engine.connect() as conn:
        await conn.run_sync(_move, "head", True)
        await conn.commit()

    async with db.read() as conn:
        rows = (await conn.execute(text("SELECT name, status, pool_all FROM projects ORDER BY id"))).all()
        assert [(r.name, r.status, bool(r.pool_all)) for r in rows] == [("old images", 0, True), ("old texts", 0, True)]
        assert (await conn.execute(text("SELECT count(*) FROM tasks"))).scalar() == 4
        refs = (await conn.execute(text("SELECT path, path_hash, project_id FROM project_media ORDER BY path"))).all()
        assert [(r.path, r.project_id) for r in refs] == [("shelf/three.png", images), ("uploads/ab/one.png", images)]
        assert all(r.path_hash == media.path_hash(r.path) for r in refs)
        assert (await conn.execute(text("SELECT epoch FROM auth_epoch WHERE id = 1"))).scalar() == 0
    # The previous release's users work on as before: a worker claims, a requester reads its project.
    lease = await client.post(f"/api/projects/{images}/next", headers=bearer("lbl_old_worker"))
    assert lease.status_code == 200 and "media" in lease.json()["task"]
    project = (await client.get(f"/api/projects/{images}", headers=bearer("lbl_old_requester"))).json()
    assert project["status"] == "active" and project["all_workers"] is True and project["progress"]["tasks"] == 4
