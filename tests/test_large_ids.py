"""Ids past 32 bits, and near 64, work alike on SQLite and PostgreSQL. Ids are 64-bit on both (BIGINT on PostgreSQL,
INTEGER on SQLite), and a restored database keeps its ids (a dump's up to 2**53 - 1): a query computing with an id
must not leave 64 bits where the other database would not. The per-worker order of gold checks multiplied a task id
by 7919: past about 1.2e15 PostgreSQL refused the product (bigint out of range, a 500) where SQLite went on in
floating point."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import bearer, raw_writes

SHIFT = 2**62  # a restored dump's ids: far past 2**53, the 64-bit products' limit


async def _shift_ids(db, project_id: int, worker_id: int, which: str) -> None:
    """Give the project's tasks or the worker (no answers or leases yet) the ids a restored dump could bring."""
    async with raw_writes(db) as conn:
        if which == "tasks":
            await conn.execute(text("UPDATE tasks SET id = id + :shift WHERE project_id = :p"),
                               {"shift": SHIFT, "p": project_id})
        else:
            await conn.execute(text("UPDATE users SET id = id + :shift WHERE id = :w"), {"shift": SHIFT, "w": worker_id})


@pytest.mark.parametrize("which", ["tasks", "worker"])
async def test_gold_checks_are_handed_out_with_ids_near_64_bits(client, db, make_user, new_project, which):
    gold = [{"data": {"text": f"gold {i}"}, "gold": {"label": "pos"}} for i in range(3)]
    project = await new_project(tasks=gold, gold_first_n=3)
    user, worker = await make_user("worker")
    await _shift_ids(db, project["id"], user["id"], which)
    seen = []
    for _ in range(3):
        lease = await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))
        assert lease.status_code == 200, lease.text
        assert (lease.json()["task"]["id"] > SHIFT) == (which == "tasks")
        seen.append(lease.json()["task"]["data"]["text"])
        r = await client.post(f"/api/assignments/{lease.json()['assignment_id']}/submit", headers=bearer(worker),
                              json={"answer": {"label": "pos"}})
        assert r.status_code == 201, r.text
    assert sorted(seen) == ["gold 0", "gold 1", "gold 2"]
