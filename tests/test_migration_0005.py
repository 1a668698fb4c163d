"""Migration 0005 (reviews) upgrades a database in use: every row stays, results get their console indexes, and
the old project's tasks can be reviewed at once."""

from __future__ import annotations

from sqlalchemy import text

from tests.conftest import bearer
from tests.test_migration_0004 import seed_at, to_head

RESULT = ("INSERT INTO task_results (task_id, project_id, answer, confidence, n_annotations, method, details, "
          "updated_at) VALUES (1, 1, '{\"label\": \"pos\"}', 0.75, 1, 'online', '{\"percent_agreement\": 1.0}', 5)")


async def test_upgrade_from_0004_keeps_every_row_and_reviews_work(db, client, make_user):
    async with db.engine.connect() as conn:
        await seed_at(conn, "0004", RESULT)
        await to_head(conn)
        if db.engine.dialect.name == "postgresql":
            names = {r[0] for r in await conn.execute(text("SELECT indexname FROM pg_indexes"))}
        else:
            names = {r[0] for r in await conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
        counts = {t: (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar()
                  for t in ("users", "projects", "tasks", "assignments", "annotations", "task_results", "reviews")}
        result = (await conn.execute(text("SELECT * FROM task_results"))).one()
    assert counts == {"users": 2, "projects": 1, "tasks": 2, "assignments": 2, "annotations": 1, "task_results": 1,
                      "reviews": 0}
    assert result.confidence == 0.75 and result.method == "online"
    assert {"ix_task_results_confidence", "ix_task_results_agreement", "ux_reviews_task"} <= names

    _, admin = await make_user("admin", "boss")
    r = await client.post("/api/projects/1/tasks/1/override", json={"answer": {"label": "neg"}},
                          headers=bearer(admin))
    assert r.status_code == 200, r.text
    rows = (await client.get("/api/projects/1/results", headers=bearer(admin))).json()["data"]
    assert rows[0]["answer"] == {"label": "neg"} and rows[0]["crowd_answer"] == {"label": "pos"}
    assert rows[0]["reviewed"] is True and rows[0]["confidence"] == 1.0  # the requester's label, as in exports
    kept = (await client.get("/api/projects/1/tasks/1", headers=bearer(admin))).json()["consensus"]
    assert kept["answer"] == {"label": "pos"} and kept["confidence"] == 0.75  # the crowd's, stored beside it
