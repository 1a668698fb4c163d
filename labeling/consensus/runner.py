"""Reads annotations, runs the pure consensus code, writes task results and worker skills."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import models, paging, projects
from labeling.consensus import tasks as consensus_tasks

READ_CHUNK = 20_000


def _upsert(conn: AsyncConnection) -> Any:
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(models.task_results)
    return stmt.on_conflict_do_update(index_elements=["task_id"], set_={
        c: stmt.excluded[c] for c in ("answer", "confidence", "n_annotations", "method", "details", "updated_at")})


async def _skills(conn: AsyncConnection, project_id: int, worker_ids: list[int]) -> dict[int, float]:
    """Best known skill per worker: the last project-wide estimate, else gold accuracy."""
    pw = models.project_workers
    rows = (await conn.execute(select(pw.c.worker_id, pw.c.skill, pw.c.n_gold, pw.c.gold_score_sum).where(
        and_(pw.c.project_id == project_id, pw.c.worker_id.in_(worker_ids))))).all()
    skills = {}
    for row in rows:
        if row.skill is not None:
            skills[row.worker_id] = row.skill
        elif row.n_gold >= 3:
            skills[row.worker_id] = row.gold_score_sum / row.n_gold
    return skills


async def settle_task(conn: AsyncConnection, project: Any, task_id: int, *, shard: int = 0) -> bool:
    """Compute a task's consensus now; complete it, or (adaptive redundancy) ask for one more answer.

    Returns True when the task became complete.
    """
    ann, t = models.annotations, models.tasks
    rows = (await conn.execute(select(ann.c.worker_id, ann.c.answer).where(and_(
        ann.c.task_id == task_id, ann.c.excluded.is_(False))).order_by(ann.c.id))).all()
    task = (await conn.execute(select(t.c.n_done, t.c.needed, t.c.state).where(t.c.id == task_id))).first()
    if not rows or task is None or task.n_done < task.needed:
        return False
    worker_ids = [r.worker_id for r in rows]
    result = consensus_tasks.aggregate_task(project.task_type, [r.answer for r in rows], worker_ids,
                                            list(project.labels), await _skills(conn, project.id, worker_ids))
    await write_result(conn, project.id, task_id, result, "online")
    adaptive = project.target_confidence is not None
    if adaptive and task.needed < project.redundancy_max and (
            result.confidence is None or result.confidence < project.target_confidence):
        await conn.execute(update(t).where(t.c.id == task_id).values(needed=t.c.needed + 1))
        return False
    changed = await conn.execute(update(t).where(and_(t.c.id == task_id, t.c.state == 0)).values(state=1))
    if changed.rowcount == 1:
        await projects.add_counts(conn, project.id, shard, n_complete=1)
        return True
    return False


async def write_result(conn: AsyncConnection, project_id: int, task_id: int, result: Any, method: str) -> None:
    """Insert or replace a task's consensus row."""
    await conn.execute(_upsert(conn), [{
        "task_id": task_id, "project_id": project_id, "answer": result.answer, "confidence": result.confidence,
        "n_annotations": result.n_annotations, "method": method, "details": result.details or {},
        "updated_at": time.time()}])


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


async def recompute_project(conn: AsyncConnection, project: Any, method: str = "auto") -> dict:
    """Re-estimate worker skills over the whole project and rewrite every task's consensus."""
    started = time.perf_counter()
    rows, gold = await load_rows(conn, project.id)
    if not rows:
        return {"tasks": 0, "annotations": 0, "workers": 0, "method": method, "seconds": 0.0}
    outcome = consensus_tasks.aggregate_project(project.task_type, rows, list(project.labels), gold, method=method)
    gold_ids = set(gold)
    regular = {task_id: res for task_id, res in outcome.results.items() if task_id not in gold_ids}
    batch = [{"task_id": task_id, "project_id": project.id, "answer": res.answer, "confidence": res.confidence,
              "n_annotations": res.n_annotations, "method": outcome.method, "details": res.details or {},
              "updated_at": time.time()} for task_id, res in regular.items()]
    for start in range(0, len(batch), 2000):
        await conn.execute(_upsert(conn), batch[start:start + 2000])
    pw = models.project_workers
    report = consensus_tasks.quality_report(project.task_type, rows, list(project.labels), gold, outcome.results)
    agreement = {w["worker_id"]: w.get("agreement_with_consensus") for w in report.get("workers", [])}
    for worker_id, skill in outcome.worker_skill.items():
        await conn.execute(update(pw).where(and_(pw.c.project_id == project.id, pw.c.worker_id == worker_id))
                           .values(skill=float(skill), agreement=agreement.get(worker_id)))
    per_worker: dict[int, int] = defaultdict(int)
    for _, worker_id, _ in rows:
        per_worker[worker_id] += 1
    return {"tasks": len(regular), "annotations": len(rows), "workers": len(per_worker), "method": outcome.method,
            "seconds": round(time.perf_counter() - started, 3)}


async def quality(conn: AsyncConnection, project: Any) -> dict:
    """Agreement metrics, worker scores and confusion for a project (from stored results and answers)."""
    rows, gold = await load_rows(conn, project.id)
    results = await stored_results(conn, project.id)
    report = consensus_tasks.quality_report(project.task_type, rows, list(project.labels), gold, results)
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
    """A page of consensus results in task order: {task_id, external_id, answer, confidence, n_annotations}."""
    tr, t = models.task_results, models.tasks
    query = (select(tr.c.task_id, t.c.external_id, t.c.state, tr.c.answer, tr.c.confidence, tr.c.n_annotations,
                    tr.c.method, tr.c.details)
             .join(t, t.c.id == tr.c.task_id).where(tr.c.project_id == project_id)
             .order_by(tr.c.task_id).limit(limit + 1))
    after = paging.decode(cursor)
    if after is not None:
        query = query.where(tr.c.task_id > after)
    rows = (await conn.execute(query)).all()
    data = [{"task_id": r.task_id, "external_id": r.external_id, "answer": r.answer, "confidence": r.confidence,
             "n_annotations": r.n_annotations, "complete": r.state == 1, "method": r.method, "details": r.details}
            for r in rows]
    return paging.page(data, limit, key="task_id")
