"""64+ concurrent workers hammering next/submit/skip with expiring leases; then the invariants must hold."""

from __future__ import annotations

import asyncio
import random
import time

import httpx
import pytest
from sqlalchemy import func, select, text

from labeling import models
from tests.conftest import bearer, text_tasks

N_WORKERS = 64
N_TASKS = 120
REDUNDANCY = 3
LEASE_SECONDS = 2


@pytest.mark.slow
async def test_many_workers_never_break_the_queue_invariants(app, db, make_user, new_project, requester):
    project = await new_project(tasks=text_tasks(N_TASKS), redundancy=REDUNDANCY, lease_seconds=LEASE_SECONDS)
    pid = project["id"]
    tokens = [(await make_user("worker", f"cw{i}"))[1] for i in range(N_WORKERS)]
    acknowledged: list[tuple[int, int, str]] = []  # (assignment, annotation, worker) of every 201
    errors: list[str] = []
    deadline = time.monotonic() + 90
    rng = random.Random(7)

    async def worker(index: int, token: str) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as c:
            idle = 0
            while time.monotonic() < deadline:
                r = await c.post(f"/api/projects/{pid}/next", headers=bearer(token))
                if r.status_code == 204:
                    idle += 1
                    progress = (await c.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]
                    if progress["remaining"] == 0:
                        return
                    await asyncio.sleep(0.05 * min(idle, 10))
                    continue
                if r.status_code != 200:
                    errors.append(f"next {r.status_code} {r.text}")
                    return
                idle = 0
                lease = r.json()
                roll = rng.random()
                if roll < 0.10:
                    s = await c.post(f"/api/assignments/{lease['assignment_id']}/skip", headers=bearer(token))
                    # A loaded machine can stall a worker past its 2-second lease: then the skip is refused.
                    if s.status_code != 200 and not (s.status_code == 409 and
                                                     s.json()["error"]["code"] == "lease_expired"):
                        errors.append(f"skip {s.status_code} {s.text}")
                    continue
                if roll < 0.16:
                    await asyncio.sleep(LEASE_SECONDS + 0.3)  # let the lease expire, then try anyway
                key = f"{index}-{lease['assignment_id']}"
                body = {"answer": {"label": rng.choice(["pos", "neg"])}}
                s = await c.post(f"/api/assignments/{lease['assignment_id']}/submit", json=body,
                                 headers={**bearer(token), "Idempotency-Key": key})
                if s.status_code == 201:
                    acknowledged.append((lease["assignment_id"], s.json()["annotation_id"], token))
                    if rng.random() < 0.1:  # a client retry after a lost response must not store twice
                        again = await c.post(f"/api/assignments/{lease['assignment_id']}/submit", json=body,
                                             headers={**bearer(token), "Idempotency-Key": key})
                        if again.status_code != 201 or again.json()["annotation_id"] != s.json()["annotation_id"]:
                            errors.append(f"retry {again.status_code} {again.text}")
                elif s.status_code == 409 and s.json()["error"]["code"] == "lease_expired":
                    continue
                else:
                    errors.append(f"submit {s.status_code} {s.text}")

    await asyncio.gather(*(worker(i, t) for i, t in enumerate(tokens)))
    assert not errors, errors[:5]

    async with db.read() as conn:
        over = (await conn.execute(text(
            "SELECT t.id, count(a.id) FROM tasks t JOIN annotations a ON a.task_id = t.id "
            "WHERE t.project_id = :p GROUP BY t.id HAVING count(a.id) > :r"), {"p": pid, "r": REDUNDANCY})).all()
        assert over == [], f"tasks with more than {REDUNDANCY} annotations: {over[:5]}"
        twice = (await conn.execute(text(
            "SELECT task_id, worker_id FROM annotations WHERE project_id = :p "
            "GROUP BY task_id, worker_id HAVING count(*) > 1"), {"p": pid})).all()
        assert twice == [], "a worker annotated a task twice"
        stored = {r.assignment_id: r.id for r in (await conn.execute(
            select(models.annotations.c.id, models.annotations.c.assignment_id))).all()}
        assert len(stored) == len(acknowledged), "every acknowledged submit is stored exactly once"
        for assignment_id, annotation_id, _ in acknowledged:
            assert stored[assignment_id] == annotation_id
        unserved = await conn.scalar(select(func.count()).select_from(models.tasks).where(
            models.tasks.c.project_id == pid, models.tasks.c.state == 0))
        assert unserved == 0, "tasks left open while workers were asking"
        counts = (await conn.execute(text(
            "SELECT t.id, t.n_done, t.n_leased, (SELECT count(*) FROM annotations a WHERE a.task_id = t.id) AS real, "
            "(SELECT count(*) FROM assignments s WHERE s.task_id = t.id AND s.status = 0) AS leased "
            "FROM tasks t WHERE t.project_id = :p"), {"p": pid})).all()
        for row in counts:
            assert row.n_done == row.real == REDUNDANCY, row
            assert row.n_leased == row.leased, row
    progress = await _progress(app, pid, requester)
    assert progress["complete"] == N_TASKS and progress["annotations"] == N_TASKS * REDUNDANCY


async def _progress(app, pid, token):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return (await c.get(f"/api/projects/{pid}", headers=bearer(token))).json()["progress"]
