"""Submitting answers: validate, store once, score gold, block bad workers, settle finished tasks."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import models, projects, queue, tasks, tasktypes
from labeling.auth import Principal
from labeling.consensus import runner
from labeling.consensus import tasks as consensus_tasks


async def submit(conn: AsyncConnection, assignment_id: int, worker: Principal, raw_answer: Any,
                 idempotency_key: str | None = None, duration_ms: int | None = None) -> queue.Submitted:
    """Accept an answer from the lease holder while the lease is live; a retry with the same key replays."""
    now = time.time()
    assignment = await queue.load_assignment(conn, assignment_id, worker)
    if assignment.status == queue.SUBMITTED:
        return await queue.replay_submit(conn, assignment, idempotency_key)
    project = await projects.load(conn, assignment.project_id)
    task = await tasks.get(conn, assignment.task_id)
    spec = tasktypes.get(project.task_type)
    answer = spec.validate_answer(raw_answer, task.data, tasktypes.Context(labels=tuple(project.labels)))
    await queue.close_for_submit(conn, assignment, worker, now)
    blocked = bool(await conn.scalar(select(models.project_workers.c.blocked).where(
        models.project_workers.c.project_id == project.id, models.project_workers.c.worker_id == worker.id)))
    gold_score = None
    if assignment.is_gold and task.gold is not None:
        gold_score = consensus_tasks.gold_score(project.task_type, answer, task.gold)
    annotation_id, counters, standing = await queue.record_annotation(
        conn, assignment, worker, answer, counted=not blocked, gold_score=gold_score, key=idempotency_key,
        duration_ms=duration_ms, now=now)
    if gold_score is not None and not standing.blocked and _below_threshold(project, standing):
        await block_worker(conn, project, worker.id)
    complete = False
    if not assignment.is_gold and not blocked and counters.state == 0 and counters.n_done >= counters.needed:
        complete = await runner.settle_task(conn, project, assignment.task_id, shard=worker.id)
    return queue.Submitted(annotation_id, assignment_id, assignment.task_id, now, task_complete=complete)


def _below_threshold(project: Any, standing: Any) -> bool:
    if project.gold_threshold <= 0 or standing.n_gold < project.gold_min:
        return False
    return standing.gold_score_sum / standing.n_gold < project.gold_threshold


async def block_worker(conn: AsyncConnection, project: Any, worker_id: int) -> int:
    """Stop a worker in a project: drop their answers from consensus and reopen the tasks they counted in."""
    pw, ann, t = models.project_workers, models.annotations, models.tasks
    await conn.execute(update(pw).where(and_(pw.c.project_id == project.id, pw.c.worker_id == worker_id))
                       .values(blocked=True, updated_at=time.time()))
    excluded = (await conn.execute(update(ann).where(and_(
        ann.c.project_id == project.id, ann.c.worker_id == worker_id, ann.c.excluded.is_(False),
        ann.c.is_gold.is_(False))).values(excluded=True).returning(ann.c.task_id))).scalars().all()
    task_ids = sorted(set(excluded))
    reopened = 0
    for start in range(0, len(task_ids), 500):
        chunk = task_ids[start:start + 500]
        reopened += len((await conn.execute(select(t.c.id).where(and_(t.c.id.in_(chunk), t.c.state == 1)))).all())
        await conn.execute(update(t).where(t.c.id.in_(chunk)).values(n_done=t.c.n_done - 1, state=0))
        await conn.execute(delete(models.task_results).where(models.task_results.c.task_id.in_(chunk)))
    if reopened:
        await projects.add_counts(conn, project.id, worker_id, n_complete=-reopened)
    for task_id in task_ids:  # a task with enough other answers is complete again at once
        await runner.settle_task(conn, project, task_id, shard=worker_id)
    # Their live leases go back to the queue now rather than at expiry.
    live = (await conn.execute(update(models.assignments).where(and_(
        models.assignments.c.project_id == project.id, models.assignments.c.worker_id == worker_id,
        models.assignments.c.status == queue.LEASED)).values(status=queue.EXPIRED, finished_at=time.time())
        .returning(models.assignments.c.task_id))).scalars().all()
    for task_id in live:
        await conn.execute(update(t).where(t.c.id == task_id).values(n_leased=t.c.n_leased - 1))
    return len(excluded)
