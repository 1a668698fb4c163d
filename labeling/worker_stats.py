"""A worker's own counts per project, for the worker UI's home page: cheap, indexed queries only.

"Left for you" is the project's remaining regular tasks (summed from the sharded counters) minus
the open regular tasks this worker has already answered (annotations by project and worker, an index)
and the tasks they skipped (project_workers.n_skips, an upper bound that stays cheap), plus the gold tasks the
queue would still mix in for them (left_for). It never counts over all tasks; it is an estimate, never a promise
the queue must keep.

A worker's gold figures are as of the start of the day: the gold answers given today count from tomorrow. Shown at
once, they said after each submit whether the task was gold (the count moved) and whether the answer was right (the
accuracy moved), so that a worker, or workers sharing notes, could learn the gold tasks and their answers. A worker
the project has stopped sees the whole tally: they get none of its tasks any more.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass
from typing import Iterable

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import models, projects


@dataclass(frozen=True)
class WorkerCounts:
    """One worker's standing in one project."""

    project_id: int
    remaining: int = 0  # regular tasks of the project still open, for everyone
    left_for_worker: int = 0
    done_today: int = 0
    total: int = 0
    n_gold: int = 0  # gold answers scored before today
    gold_accuracy: float | None = None  # their mean gold score in [0, 1], when there is at least one
    blocked: bool = False


@dataclass(frozen=True)
class Pool:
    """What a project has left for everyone: its open regular tasks, its gold tasks and how it serves them."""

    remaining: int = 0
    gold_tasks: int = 0
    gold_first_n: int = 0
    gold_fraction: float = 0.0


async def project_pools(conn: AsyncConnection, project_ids: list[int]) -> dict[int, Pool]:
    """Open regular tasks and gold tasks per project, from the sharded counters (8 rows a project), with the
    projects' gold serving."""
    if not project_ids:
        return {}
    c, p = models.project_counters, models.projects
    rows = (await conn.execute(
        select(c.c.project_id, func.sum(c.c.n_tasks), func.sum(c.c.n_gold_tasks), func.sum(c.c.n_complete))
        .where(c.c.project_id.in_(project_ids)).group_by(c.c.project_id))).all()
    serving = {row.id: row for row in (await conn.execute(
        select(p.c.id, p.c.gold_first_n, p.c.gold_fraction).where(p.c.id.in_(project_ids)))).all()}
    out = {}
    for row in rows:
        gold = int(row[2] or 0)
        how = serving.get(row[0])
        out[row[0]] = Pool(max(int(row[1] or 0) - gold - int(row[3] or 0), 0), gold,
                           int(how.gold_first_n) if how else 0, float(how.gold_fraction) if how else 0.0)
    return out


async def answered_open(conn: AsyncConnection, worker_id: int, project_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(open regular tasks, gold tasks) this worker already answered, per project (annotations by (project, worker))."""
    if not project_ids:
        return {}
    a, t = models.annotations, models.tasks
    regular_open = and_(a.c.is_gold.is_(False), t.c.state == models.TaskState.open.value)
    rows = (await conn.execute(
        select(a.c.project_id, func.count(case((regular_open, 1))), func.count(case((a.c.is_gold, 1))))
        .select_from(a.join(t, t.c.id == a.c.task_id))
        .where(a.c.project_id.in_(project_ids), a.c.worker_id == worker_id)
        .group_by(a.c.project_id))).all()
    return {row[0]: (int(row[1]), int(row[2])) for row in rows}


def left_for(pool: Pool, answered_regular: int, answered_gold: int, skips: int) -> int:
    """The tasks the queue may still give this worker: the open regular ones they have not answered or skipped, and
    the gold ones it would mix in (all those not answered yet while regular work is left and a share of it is gold,
    else what is left of the first `gold_first_n`). So every answer, gold or not, takes one from it: counting
    regular tasks alone, it stood still after a gold answer and moved after any other, marking the gold tasks out."""
    regular = max(pool.remaining - answered_regular - skips, 0)
    unanswered_gold = max(pool.gold_tasks - answered_gold, 0)
    if regular and pool.gold_fraction > 0:
        gold = unanswered_gold
    else:
        gold = min(unanswered_gold, max(pool.gold_first_n - answered_gold, 0))
    return regular + gold


@dataclass(frozen=True)
class Since:
    """A worker's answers in a project since a time: how many, and of them the scored gold answers and their scores."""

    answers: int = 0
    gold: int = 0
    gold_score: float = 0.0


async def done_since(conn: AsyncConnection, worker_id: int, since: float) -> dict[int, Since]:
    """Annotations this worker submitted since `since` (Unix seconds), per project (worker/time index)."""
    a = models.annotations
    rows = (await conn.execute(
        select(a.c.project_id, func.count(), func.count(a.c.gold_score), func.coalesce(func.sum(a.c.gold_score), 0))
        .where(a.c.worker_id == worker_id, a.c.created_at >= since).group_by(a.c.project_id))).all()
    return {row[0]: Since(int(row[1]), int(row[2]), float(row[3])) for row in rows}


async def standing(conn: AsyncConnection, worker_id: int, project_ids: list[int]) -> dict[int, dict]:
    """The worker's project_workers rows (totals, skips, gold tallies, blocked), by project."""
    if not project_ids:
        return {}
    pw = models.project_workers
    rows = (await conn.execute(
        select(pw.c.project_id, pw.c.n_annotations, pw.c.n_skips, pw.c.n_gold, pw.c.gold_score_sum, pw.c.blocked)
        .where(and_(pw.c.project_id.in_(project_ids), pw.c.worker_id == worker_id)))).all()
    return {row.project_id: row._asdict() for row in rows}


async def for_projects(conn: AsyncConnection, worker_id: int, project_ids: Iterable[int],
                       day_start: float) -> dict[int, WorkerCounts]:
    """Everything the home page shows per project, in five small queries whatever the number of projects."""
    ids = sorted(set(project_ids))
    pools = await project_pools(conn, ids)
    answered = await answered_open(conn, worker_id, ids)
    today = await done_since(conn, worker_id, day_start)
    rows = await standing(conn, worker_id, ids)
    out: dict[int, WorkerCounts] = {}
    for pid in ids:
        row = rows.get(pid, {})
        since = today.get(pid, Since())
        blocked = bool(row.get("blocked"))
        # The tally less today's gold answers (none below 0: a block lifted today started the tally again); all of it
        # for a worker the project has stopped, who gets no more of its tasks
        held = Since() if blocked else since
        n_gold = max(int(row.get("n_gold") or 0) - held.gold, 0)
        gold_sum = max(float(row.get("gold_score_sum") or 0.0) - held.gold_score, 0.0)
        pool = pools.get(pid, Pool())
        left = left_for(pool, *answered.get(pid, (0, 0)), int(row.get("n_skips") or 0))
        out[pid] = WorkerCounts(
            project_id=pid, remaining=pool.remaining, left_for_worker=0 if blocked else left,
            done_today=since.answers, total=int(row.get("n_annotations") or 0), n_gold=n_gold,
            gold_accuracy=min(gold_sum / n_gold, 1.0) if n_gold else None, blocked=blocked)
    return out


def day_start(now: datetime.datetime | None = None) -> float:
    """Midnight of today in the server's local time, as Unix seconds ("done today"). Found as a local time, not as
    now's UTC offset at midnight: on the day a clock changes for summer or winter, that offset was midnight's no
    longer, and the day began an hour off."""
    local = (now or datetime.datetime.now().astimezone()).astimezone().replace(tzinfo=None)
    return datetime.datetime(local.year, local.month, local.day).timestamp()  # a naive time: the local rules


async def progress(conn: AsyncConnection, project_id: int, worker_id: int) -> dict:
    """The labeling page's header: the project's progress and this worker's counts in it."""
    mine = (await for_projects(conn, worker_id, [project_id], day_start()))[project_id]
    return {"project": await projects.counts(conn, project_id),
            "worker": {k: v for k, v in asdict(mine).items() if k not in ("project_id", "remaining")}}
