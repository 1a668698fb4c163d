"""Reads annotations, runs the pure consensus code, writes task results and worker skills."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import models, paging, projects, queue
from labeling.consensus import tasks as consensus_tasks
from labeling.sqltx import Query, Tx

READ_CHUNK = 20_000
SETTLE_SWEEP_SECONDS = 60.0
log = logging.getLogger("labeling")


_TASK_ANSWERS = Query.make("task_answers", """
    SELECT a.worker_id, a.answer, pw.skill, pw.n_gold, pw.gold_score_sum
    FROM annotations a LEFT JOIN project_workers pw ON pw.project_id = a.project_id AND pw.worker_id = a.worker_id
    WHERE a.task_id = :task AND a.excluded = false ORDER BY a.id""", json_columns=("answer",))
_TASK_COUNTS = Query.make("task_counts", "SELECT n_done, needed, state FROM tasks WHERE id = :task")
# What a settle may change, guarded by what it read and aggregated: the task still open, still wanting
# `needed`, with all of those answers in and exactly the `answers` counted that went into the result. A
# settle that raced a blocked worker's answers leaving, or another settle, changes nothing.
_SETTLE_GUARD = "id = :task AND state = 0 AND needed = :needed AND n_done >= needed AND n_done = :answers"
_ONE_MORE = Query.make("one_more_answer", f"UPDATE tasks SET needed = needed + 1 WHERE {_SETTLE_GUARD}")
_COMPLETE = Query.make("complete_task", f"UPDATE tasks SET state = 1 WHERE {_SETTLE_GUARD}")
_RESULT_UPSERT = """
    INSERT INTO task_results (task_id, project_id, answer, confidence, n_annotations, method, details, updated_at)
    {rows}
    ON CONFLICT (task_id) DO UPDATE SET answer = excluded.answer, confidence = excluded.confidence,
        n_annotations = excluded.n_annotations, method = excluded.method, details = excluded.details,
        updated_at = excluded.updated_at"""
_UPSERT_RESULT = Query.make("upsert_result",
                            _RESULT_UPSERT.format(rows="VALUES (:task, :project, :answer, :confidence, :n, "
                                                       ":method, :details, :now)"),
                            json_params=("answer", "details"))
# PostgreSQL writes a settled task in one statement (it may run on its own, per statement): the task's
# completion with the project's counter, or one more answer wanted (both guarded as above); and the result,
# written only if that change was made.
_PG_RESULT = _RESULT_UPSERT.format(rows="""SELECT CAST(:task AS bigint), CAST(:project AS bigint),
    CAST(:answer AS jsonb), CAST(:confidence AS double precision), CAST(:n AS integer), CAST(:method AS varchar),
    CAST(:details AS jsonb), CAST(:now AS double precision) FROM changed""")
_SETTLE_COMPLETE_PG = Query.make("settle_complete", f"""
    WITH changed AS ({_COMPLETE.sql} RETURNING id),
    result AS ({_PG_RESULT}),
    progress AS (
        INSERT INTO project_counters (project_id, shard, n_tasks, n_gold_tasks, n_complete, n_annotations, n_skips)
        SELECT CAST(:project AS bigint), CAST(:shard AS integer), 0, 0, 1, 0, 0 FROM changed
        ON CONFLICT (project_id, shard) DO UPDATE SET n_complete = project_counters.n_complete + 1)
    SELECT count(*) AS n FROM changed""", json_params=("answer", "details"))
_SETTLE_MORE_PG = Query.make("settle_one_more", f"""
    WITH changed AS ({_ONE_MORE.sql} RETURNING id),
    result AS ({_PG_RESULT})
    SELECT count(*) AS n FROM changed""", json_params=("answer", "details"))


def _skill(row: Any) -> float | None:
    """Best known skill of a worker: the last project-wide estimate, else gold accuracy once there is enough."""
    if row.skill is not None:
        return row.skill
    if row.n_gold is not None and row.n_gold >= 3:
        return row.gold_score_sum / row.n_gold
    return None


def settle_task(tx: Tx, project: Any, task_id: int, *, shard: int = 0, counters: Any = None) -> bool:
    """Compute a task's consensus now; complete it, or (adaptive redundancy) ask for one more answer.

    Returns True when the task became complete (and counts it in the project's progress, on `shard`).
    `counters` (n_done, needed) may be passed when the caller has just read them.
    """
    rows = tx.rows(_TASK_ANSWERS, {"task": task_id})
    task = counters if counters is not None else tx.one(_TASK_COUNTS, {"task": task_id})
    if not rows or task is None or task.n_done < task.needed:
        return False
    worker_ids = [r.worker_id for r in rows]
    skills = {r.worker_id: s for r in rows if (s := _skill(r)) is not None}
    result = consensus_tasks.aggregate_task(project.task_type, [r.answer for r in rows], worker_ids,
                                            list(project.labels), skills)
    params = {"task": task_id, "project": project.id, "answer": result.answer, "confidence": result.confidence,
              "n": result.n_annotations, "method": "online", "details": result.details or {}, "now": time.time(),
              "needed": task.needed, "answers": len(rows), "shard": shard % models.N_COUNTER_SHARDS}
    adaptive = project.target_confidence is not None
    one_more = adaptive and task.needed < project.redundancy_max and (
        result.confidence is None or result.confidence < project.target_confidence)
    if tx.dialect == "postgresql":
        return tx.scalar(_SETTLE_MORE_PG if one_more else _SETTLE_COMPLETE_PG, params) > 0 and not one_more
    if tx.run(_ONE_MORE if one_more else _COMPLETE, params) != 1:
        return False
    tx.run(_UPSERT_RESULT, params)
    if not one_more:
        queue.add_counts(tx, project.id, shard, n_complete=1)
        return True
    return False


_READY = Query.make("tasks_ready", """
    SELECT id FROM tasks WHERE project_id = :project AND state = 0 AND is_gold = false AND n_done > 0
      AND n_done >= needed ORDER BY id""")


def settle_ready(tx: Tx, project_id: int) -> int:
    """Settle every open task that already has the answers it needs (after its project's redundancy changed,
    or left over by a server that stopped between storing a task's last answer and settling it)."""
    project = queue.load_project(tx, project_id)
    return sum(settle_task(tx, project, row.id) for row in tx.rows(_READY, {"project": project_id}))


async def settle_left_over(db: Any) -> int:
    """Settle, in every project, the tasks that have all their answers but were never settled.

    On PostgreSQL a submit stores a task's last answer and settles the task in separate statements (see
    annotations.submit); a server stopped between them, or a settle that failed, leaves the task open with
    nothing to serve. Each server process runs this as it starts and then every SETTLE_SWEEP_SECONDS. Cheap:
    the query walks only the partly done front of the queue index.
    """
    async with db.read() as conn:
        project_ids = [row[0] for row in (await conn.execute(select(models.projects.c.id))).all()]
    settled = 0
    for project_id in project_ids:
        try:
            settled += await db.transact(lambda tx, pid=project_id: settle_ready(tx, pid))
        except Exception:  # one project's trouble does not keep the others unsettled
            log.exception("could not settle the left-over tasks of project %s", project_id)
    return settled


async def settle_periodically(db: Any, every: float = SETTLE_SWEEP_SECONDS) -> None:
    """settle_left_over now and then every `every` seconds, until cancelled (a server process's lifespan)."""
    while True:
        try:
            settled = await settle_left_over(db)
            if settled:
                log.warning("settled %d tasks that had all their answers but no consensus", settled)
        except Exception:
            log.exception("could not look for tasks to settle; `labeling consensus` settles a project too")
        await asyncio.sleep(every)


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


_SET_SKILL = Query.make("set_skill", """
    UPDATE project_workers SET skill = :skill, agreement = :agreement WHERE project_id = :project AND worker_id = :worker""")


async def recompute_project(db: Any, project: Any, method: str = "auto") -> dict:
    """Re-estimate worker skills over the whole project and rewrite every task's consensus.

    Reads in one snapshot, computes in a worker thread (the event loop keeps serving), then writes the
    results in one short transaction, so the queue is never held up by the computation.
    """
    started = time.perf_counter()
    await db.transact(lambda tx: settle_ready(tx, project.id))  # tasks with all their answers are complete first
    async with db.read() as conn:
        rows, gold = await load_rows(conn, project.id)
    if not rows:
        return {"tasks": 0, "annotations": 0, "workers": 0, "method": method, "seconds": 0.0}

    def compute() -> tuple[Any, dict]:
        outcome = consensus_tasks.aggregate_project(project.task_type, rows, list(project.labels), gold, method=method)
        report = consensus_tasks.quality_report(project.task_type, rows, list(project.labels), gold, outcome.results)
        return outcome, report

    outcome, report = await asyncio.to_thread(compute)
    regular = {task_id: res for task_id, res in outcome.results.items() if task_id not in gold}
    agreement = {w["worker_id"]: w.get("agreement_with_consensus") for w in report.get("workers", [])}
    now = time.time()
    batch = [{"task": task_id, "project": project.id, "answer": res.answer, "confidence": res.confidence,
              "n": res.n_annotations, "method": outcome.method, "details": res.details or {}, "now": now}
             for task_id, res in regular.items()]
    skills = [{"project": project.id, "worker": worker_id, "skill": float(skill), "agreement": agreement.get(worker_id)}
              for worker_id, skill in outcome.worker_skill.items()]

    def write(tx: Tx) -> None:
        tx.run_many(_UPSERT_RESULT, batch)
        tx.run_many(_SET_SKILL, skills)

    await db.transact(write)
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
