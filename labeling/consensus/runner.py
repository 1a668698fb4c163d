"""A project's consensus as a whole: reads annotations, runs the pure consensus code, and has the queue store
task results and worker skills; the quality report and the results pages."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import annotations, audit, models, paging, projects, queue
from labeling.auth import Principal
from labeling.consensus import tasks as consensus_tasks

READ_CHUNK = 20_000


async def load_rows(conn: AsyncConnection, project_id: int) -> tuple[list[tuple[int, int, dict]], dict[int, dict]]:
    """Every counted answer of a project as (task, worker, answer), plus the gold answers by task."""
    ann, t = models.annotations, models.tasks
    rows: list[tuple[int, int, dict]] = []
    last = 0
    while True:
        chunk = (await conn.execute(select(ann.c.id, ann.c.task_id, ann.c.worker_id, ann.c.answer).where(and_(
            ann.c.project_id == project_id, ann.c.excluded.is_(False), ann.c.id > last))
            .order_by(ann.c.id).limit(READ_CHUNK))).all()
        if not chunk:
            break
        rows.extend((r.task_id, r.worker_id, r.answer) for r in chunk)
        last = chunk[-1].id
    gold = {r.id: r.gold for r in (await conn.execute(select(t.c.id, t.c.gold).where(and_(
        t.c.project_id == project_id, t.c.gold.is_not(None))))).all()}
    return rows, gold


async def recompute_project(db: Any, project: Any, method: str = "auto", mem: queue.Memory | None = None,
                            actor: Principal | str = audit.CLI) -> dict:
    """Re-estimate worker skills over the whole project and rewrite every task's consensus (audited).

    Reads in one snapshot, computes in a worker thread (the event loop keeps serving), then writes the
    results in one short transaction, so the queue is never held up by the computation.
    """
    started = time.perf_counter()
    mem = mem or queue.Memory()

    def settle(tx: Any) -> int:  # tasks with all their answers are complete first
        audit.record(tx, actor, "project.recompute", project=project, details={"method": method})
        return annotations.settle_ready(tx, mem, project.id)

    await db.transact(settle)
    async with db.read() as conn:
        rows, gold = await load_rows(conn, project.id)
    if not rows:
        return {"tasks": 0, "annotations": 0, "workers": 0, "method": method, "seconds": 0.0}

    def compute() -> tuple[Any, dict]:
        outcome = consensus_tasks.aggregate_project(project.task_type, rows, list(project.labels), gold, method=method)
        report = consensus_tasks.quality_report(project.task_type, rows, list(project.labels), gold, outcome.results)
        return outcome, report

    outcome, report = await asyncio.to_thread(compute)
    regular = {task_id: queue.Outcome(res.answer, res.confidence, res.n_annotations, res.details or {},
                                      outcome.method)
               for task_id, res in outcome.results.items() if task_id not in gold}
    agreement = {w["worker_id"]: w.get("agreement_with_consensus") for w in report.get("workers", [])}
    skills = {worker_id: (float(skill), agreement.get(worker_id)) for worker_id, skill in outcome.worker_skill.items()}
    await db.transact(lambda tx: queue.store_results(tx, project.id, regular, skills))
    return {"tasks": len(regular), "annotations": len(rows), "workers": len({w for _, w, _ in rows}),
            "method": outcome.method, "seconds": round(time.perf_counter() - started, 3)}


async def quality(conn: AsyncConnection, project: Any) -> dict:
    """Agreement metrics, worker scores and confusion for a project (from stored results and answers)."""
    rows, gold = await load_rows(conn, project.id)
    results = await stored_results(conn, project.id)
    report = await asyncio.to_thread(consensus_tasks.quality_report, project.task_type, rows, list(project.labels),
                                     gold, results)
    pw = models.project_workers
    standing = {r.worker_id: r for r in (await conn.execute(select(pw).where(pw.c.project_id == project.id))).all()}
    names = {r.id: r.username for r in (await conn.execute(select(models.users.c.id, models.users.c.username).where(
        models.users.c.id.in_(list(standing) or [0])))).all()}
    for worker in report.get("workers", []):
        row = standing.get(worker["worker_id"])
        worker["username"] = names.get(worker["worker_id"])
        if row is not None:
            worker["blocked"] = bool(row.blocked)
            worker["skips"] = row.n_skips
    report["progress"] = await projects.counts(conn, project.id)
    return report


async def stored_results(conn: AsyncConnection, project_id: int) -> dict[int, Any]:
    """The stored consensus rows of a project, as TaskConsensus objects by task id."""
    tr = models.task_results
    rows = (await conn.execute(select(tr).where(tr.c.project_id == project_id))).all()
    return {r.task_id: consensus_tasks.TaskConsensus(answer=r.answer, confidence=r.confidence,
                                                     n_annotations=r.n_annotations, details=r.details or {})
            for r in rows}


async def results_page(conn: AsyncConnection, project_id: int, cursor: str | None, limit: int) -> dict:
    """A page of consensus results in task order: {task_id, external_id, answer, confidence, n_annotations, ...}.
    A requester's override is the task's answer (`reviewed`, with the crowd's consensus kept as
    `crowd_answer`); an accepted consensus is `reviewed` too."""
    tr, t, v = models.task_results, models.tasks, models.reviews
    query = (select(tr.c.task_id, t.c.external_id, t.c.state, tr.c.answer, tr.c.confidence, tr.c.n_annotations,
                    tr.c.method, tr.c.details, v.c.kind.label("review"), v.c.answer.label("review_answer"))
             .join(t, t.c.id == tr.c.task_id).outerjoin(v, v.c.task_id == tr.c.task_id)
             .where(tr.c.project_id == project_id)
             .order_by(tr.c.task_id).limit(limit + 1))
    after = paging.decode(cursor)
    if after is not None:
        query = query.where(tr.c.task_id > after)
    rows = (await conn.execute(query)).all()
    data = [{"task_id": r.task_id, "external_id": r.external_id,
             "answer": r.review_answer if r.review == models.ReviewKind.override.value else r.answer,
             "confidence": r.confidence, "n_annotations": r.n_annotations, "complete": r.state == 1,
             "method": r.method, "details": r.details, "reviewed": r.review is not None, "review": r.review,
             "crowd_answer": r.answer}
            for r in rows]
    return paging.page(data, limit, key="task_id")
