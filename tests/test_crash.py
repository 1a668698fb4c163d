"""Crash safety: the real server under 16 concurrent workers is SIGKILLed mid-run (its whole process group) and
started again on the same database. Every acknowledged submit is there exactly once, no task has more answers
than it wants, every counter equals the rows it counts, every complete task's result counts exactly its counted
answers, and the leases the crash left behind expire and their tasks are served again until all are done."""

from __future__ import annotations

import time

import pytest

from tests.conftest import PG_URL
from tests.live import LiveServer, Workload, make_projects, run_workers, settled, violations

N_WORKERS = 16
N_TASKS = 30
KILL_AFTER_SUBMITS = 40


@pytest.mark.slow
async def test_sigkill_mid_run_loses_nothing_acknowledged(settings, db, tmp_path):
    server = LiveServer(settings.resolved_database_url, settings.data_dir).start()
    try:
        requester = server.user("crash-requester", "requester")
        tokens = [server.user(f"crash-w{i}", "worker") for i in range(N_WORKERS)]
        projects = make_projects(server, requester, N_TASKS)
        load = Workload()
        stop, threads = run_workers(server, tokens, projects, load)
        deadline = time.monotonic() + 60
        while len(load.acknowledged) < KILL_AFTER_SUBMITS and time.monotonic() < deadline and not load.errors:
            time.sleep(0.01)
        server.kill()  # mid-run: requests in flight on every worker thread
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert not load.errors, load.errors[:5]
        assert len(load.acknowledged) >= KILL_AFTER_SUBMITS
        before_restart = dict(load.acknowledged)
        # The state the crash left, read before any restart. On SQLite an answer and its task's settle are one
        # transaction, so it is whole; on PostgreSQL a submit's statements each commit on their own, so a task may
        # be left open with all its answers (its result, for adaptive redundancy, one answer short) until the
        # start-up sweep settles it. Nothing else may be broken.
        raw = await violations(db, acknowledged=before_restart)
        unsettled = ("an open task has all its answers",) if PG_URL else ()
        print("left by the crash:", raw or "nothing")
        assert [v for v in raw if not (unsettled and v.startswith(unsettled))] == [], raw

        server.start()  # the same database, a fresh process
        found = await settled(db)
        assert found == [], found
        async with db.read() as conn:
            from sqlalchemy import text

            left = (await conn.execute(text("SELECT count(*) FROM assignments WHERE status = 0"))).scalar()
        # The leases the crash left behind expire and their tasks are served again: the work gets done.
        finish = Workload()
        stop, threads = run_workers(server, tokens, projects, finish, until_done=True)
        for thread in threads:
            thread.join(timeout=120)
        stop.set()
        assert not finish.errors, finish.errors[:5]
        found = await violations(db, acknowledged={**before_restart, **finish.acknowledged})
        assert found == [], found
        async with db.read() as conn:
            open_tasks = (await conn.execute(text("SELECT count(*) FROM tasks WHERE state = 0"))).scalar()
            live = (await conn.execute(text("SELECT count(*) FROM assignments WHERE status = 0"))).scalar()
        assert open_tasks == 0 and live == 0, (open_tasks, live, left)
    finally:
        server.stop()


async def test_the_checker_sees_what_a_crash_could_break(client, db, requester, new_project, make_user):
    """The invariants above would catch a lost answer, a drifted counter or a short result."""
    from sqlalchemy import text as sql

    from tests.conftest import bearer, raw_writes, text_tasks

    project = await new_project(tasks=text_tasks(2), redundancy=1)
    _, worker = await make_user("worker")
    lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))).json()
    done = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                             headers=bearer(worker))
    acknowledged = {lease["assignment_id"]: done.json()["annotation_id"]}
    assert await violations(db, acknowledged=acknowledged) == []
    assert (await violations(db, acknowledged={**acknowledged, 999: 999}))[0].startswith("acknowledged submit")
    for change, words in [("UPDATE tasks SET n_done = n_done + 1 WHERE state = 0", "tasks.n_done"),
                          ("UPDATE task_results SET n_annotations = n_annotations - 1", "a complete task's result"),
                          ("UPDATE project_counters SET n_annotations = n_annotations + 1", "project counters"),
                          ("UPDATE project_workers SET n_claims = n_claims + 1", "project_workers"),
                          ("UPDATE tasks SET n_leased = n_leased + 1", "tasks.n_leased")]:
        async with raw_writes(db) as conn:
            await conn.execute(sql(change))
        found = await violations(db, acknowledged=acknowledged)
        assert any(v.startswith(words) for v in found), (change, found)
        async with raw_writes(db) as conn:  # undo it for the next one
            await conn.execute(sql(change.replace("+ 1", "- 9").replace("- 1", "+ 1").replace("- 9", "- 1")))
