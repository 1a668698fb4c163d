"""Migration 0010 (media_uploaders) upgrades a database in use: every row stays, the files stored tasks show stay
visible and nameable by their projects' owners (project_media), and nobody else may name them; the downgrade keeps
every row too."""

from __future__ import annotations

import hashlib
import io

from PIL import Image
from sqlalchemy import text

from tests.conftest import bearer
from tests.test_migration_0004 import _move, rows_of, seed_at, to_head

OLD = "shelf/old.png"
IMAGE_PROJECT = [
    "INSERT INTO users (id, username, role, token_hash, is_active, created_at) VALUES (3, 'other', 'requester', 'h3', "
    "true, 1)",
    "INSERT INTO projects (id, name, owner_id, task_type, labels, instructions, redundancy_min, redundancy_max, "
    "lease_seconds, gold_first_n, gold_fraction, gold_min, gold_threshold, options, created_at, updated_at) "
    "VALUES (2, 'pictures', 1, 'image_classification', '[\"x\"]', '', 1, 1, 600, 0, 0, 5, 0, '{}', 1, 1)",
    "INSERT INTO project_counters (project_id, shard, n_tasks, n_gold_tasks, n_complete, n_annotations, n_skips) "
    "VALUES (2, 0, 1, 0, 0, 0, 0)",
    "INSERT INTO tasks (id, project_id, data, is_gold, priority, state, needed, n_done, n_leased, created_at) "
    f"VALUES (3, 2, '{{\"image\": \"{OLD}\"}}', false, 0, 0, 1, 0, 0, 1)",
    "INSERT INTO project_media (path_hash, project_id, path) "
    f"VALUES ('{hashlib.sha256(OLD.encode()).hexdigest()}', 2, '{OLD}')",
]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return buffer.getvalue()


async def _rows(conn) -> list:  # noqa: ANN001
    found = []
    for table in ("projects", "tasks", "project_media", "users"):
        found.append(await rows_of(conn, table))
    return found


async def test_upgrade_from_0009_keeps_what_tasks_show_and_their_owners_may_name_it(db, client, make_user,
                                                                                   settings):
    async with db.engine.connect() as conn:
        await conn.execute(text("DELETE FROM project_media"))
        await conn.commit()
        await seed_at(conn, "0009", *IMAGE_PROJECT)
        before = await _rows(conn)
        await to_head(conn)
        after = await _rows(conn)
        uploaders = (await conn.execute(text("SELECT count(*) FROM media_uploaders"))).scalar_one()
    assert after == before and uploaders == 0

    (settings.media_dir / "shelf").mkdir(parents=True)
    (settings.media_dir / OLD).write_bytes(_png())
    _, admin = await make_user("admin", "boss")
    owner = (await client.post("/api/users/1/token", headers=bearer(admin))).json()["token"]
    other = (await client.post("/api/users/3/token", headers=bearer(admin))).json()["token"]
    assert (await client.get(f"/media/{OLD}", headers=bearer(owner))).status_code == 200
    r = await client.post("/api/projects/2/tasks", json=[{"data": {"image": OLD}}], headers=bearer(owner))
    assert r.status_code == 201, r.text  # the file its stored task shows is still the owner's to name
    mine = (await client.post("/api/projects", json={"name": "mine", "task_type": "image_classification",
                                                     "labels": ["x"]}, headers=bearer(other))).json()["id"]
    r = await client.post(f"/api/projects/{mine}/tasks", json=[{"data": {"image": OLD}}], headers=bearer(other))
    assert r.status_code == 400 and r.json()["error"]["field"] == "data.image", r.text
    r = await client.post("/api/media", files={"file": ("a.png", _png(), "image/png")}, headers=bearer(other))
    upload = r.json()["data"][0]["path"]
    assert (await client.post(f"/api/projects/{mine}/tasks", json=[{"data": {"image": upload}}],
                              headers=bearer(other))).status_code == 201

    async with db.engine.connect() as conn:
        kept = await _rows(conn)
        await conn.run_sync(_move, "0009", False)
        await conn.commit()
        down = await _rows(conn)
        await to_head(conn)
    assert down == kept  # the downgrade drops the table alone: no task, project or media row goes with it
