"""Two server processes on one database, a worker's requests alternating between them: what each process
remembers (queue.Memory in its app state) never breaks the queue's invariants."""

from __future__ import annotations

import asyncio
import random
import secrets

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import bearer
from tests.servers import ServerProcess

pytestmark = pytest.mark.slow

N_TASKS, REDUNDANCY, N_WORKERS = 40, 3, 8


async def test_a_worker_alternating_between_two_processes_keeps_the_invariants(settings, db, tmp_path):
    admin = "lbl_two_" + secrets.token_urlsafe(24)
    env = {"LABELING_DATABASE_URL": settings.resolved_database_url, "LABELING_DATA_DIR": str(settings.data_dir),
           "LABELING_ADMIN_TOKEN": admin, "LABELING_SECRET_KEY": "two-processes"}
    with ServerProcess(env, tmp_path / "a.log") as a, ServerProcess(env, tmp_path / "b.log") as b:
        async with httpx.AsyncClient(timeout=30) as c:
            r = await c.post(f"{a.url}/api/users", headers=bearer(admin), json={"username": "req", "role": "requester"})
            requester = r.json()["token"]
            r = await c.post(f"{b.url}/api/projects", headers=bearer(requester), json={
                "name": "two", "task_type": "text_classification", "labels": ["x", "y"], "redundancy": REDUNDANCY})
            pid = r.json()["id"]
            r = await c.post(f"{a.url}/api/projects/{pid}/tasks", headers=bearer(requester),
                             json=[{"data": {"text": f"t{i}"}} for i in range(N_TASKS)])
            assert r.status_code == 201
            tokens = []
            for i in range(N_WORKERS):
                r = await c.post(f"{a.url}/api/users", headers=bearer(admin),
                                 json={"username": f"w{i}", "role": "worker"})
                tokens.append(r.json()["token"])
            acknowledged: list[tuple[int, int]] = []
            errors: list[str] = []

            async def worker(i: int, token: str) -> None:
                rng = random.Random(i)
                servers = [a.url, b.url]
                step = i  # claims alternate between the processes; each lease is answered on the other one
                while True:
                    lease = await c.post(f"{servers[step % 2]}/api/projects/{pid}/next", headers=bearer(token))
                    other = servers[(step + 1) % 2]
                    step += 1
                    if lease.status_code == 204:
                        return
                    if lease.status_code != 200:
                        errors.append(f"next {lease.status_code} {lease.text}")
                        return
                    assignment = lease.json()["assignment_id"]
                    roll = rng.random()
                    if roll < 0.1:
                        r = await c.post(f"{other}/api/assignments/{assignment}/release",
                                         headers=bearer(token))
                    elif roll < 0.15:
                        r = await c.post(f"{other}/api/assignments/{assignment}/skip",
                                         headers=bearer(token))
                    else:
                        key = f"{i}-{assignment}"
                        r = await c.post(f"{other}/api/assignments/{assignment}/submit",
                                         headers={**bearer(token), "Idempotency-Key": key},
                                         json={"answer": {"label": rng.choice(["x", "y"])}})
                        if r.status_code == 201:
                            acknowledged.append((assignment, r.json()["annotation_id"]))
                            # the retry of a lost response, on the other process: the same answer, not a second
                            again = await c.post(f"{servers[(step + 1) % 2]}/api/assignments/{assignment}/submit",
                                                 headers={**bearer(token), "Idempotency-Key": key},
                                                 json={"answer": {"label": "x"}})
                            if again.status_code != 201 or again.json()["annotation_id"] != r.json()["annotation_id"]:
                                errors.append(f"retry {again.status_code} {again.text}")
                    if r.status_code not in (200, 201):
                        errors.append(f"{r.request.url} {r.status_code} {r.text}")

            await asyncio.gather(*(worker(i, t) for i, t in enumerate(tokens)))
            assert not errors, errors[:5]
            progress = (await c.get(f"{b.url}/api/projects/{pid}", headers=bearer(requester))).json()["progress"]

    async with db.read() as conn:
        over = (await conn.execute(text(
            "SELECT task_id FROM annotations WHERE project_id = :p GROUP BY task_id HAVING count(*) > :r"),
            {"p": pid, "r": REDUNDANCY})).all()
        assert over == [], "no task over its redundancy"
        twice = (await conn.execute(text(
            "SELECT task_id, worker_id FROM annotations GROUP BY task_id, worker_id HAVING count(*) > 1"))).all()
        assert twice == [], "no worker twice on a task"
        stored = dict((await conn.execute(text("SELECT assignment_id, id FROM annotations"))).all())
        assert stored == dict(acknowledged), "every acknowledged submit stored once, under the id it was given"
        rows = (await conn.execute(text(
            "SELECT t.n_done, t.n_leased, t.state, (SELECT count(*) FROM annotations a WHERE a.task_id = t.id), "
            "(SELECT count(*) FROM assignments s WHERE s.task_id = t.id AND s.status = 0) FROM tasks t "
            "WHERE t.project_id = :p"), {"p": pid})).all()
    assert all(n_done == answers and n_leased == leased for n_done, n_leased, _, answers, leased in rows)
    complete = sum(1 for row in rows if row[2] == 1)
    assert progress["complete"] == complete and progress["annotations"] == len(acknowledged)
    assert complete == N_TASKS or any(row[3] < REDUNDANCY for row in rows), "only skips leave tasks short"
