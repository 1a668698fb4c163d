"""A worker's own answers in a project, newest first, with until when each may still change (the labeling page's
"Previous")."""

from __future__ import annotations

import math
import time
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import annotations, models, paging, projects


async def mine(conn: AsyncConnection, project: Any, worker_id: int, cursor: str | None, limit: int) -> dict:
    """A page of this worker's answers in the project: {annotation_id, assignment_id, task: {id, data}, answer,
    created_at, edited_at, editable, editable_until} (editable_until null: no end while the task is open)."""
    a, t = models.annotations, models.tasks
    earlier = a.alias("earlier")
    rank = (select(func.count()).select_from(earlier)
            .where(earlier.c.task_id == a.c.task_id, earlier.c.id <= a.c.id, earlier.c.excluded.is_(False))
            .scalar_subquery())
    query = (select(a.c.id, a.c.assignment_id, a.c.task_id, a.c.answer, a.c.created_at, a.c.edited_at, t.c.data,
                    t.c.state, t.c.n_done, t.c.needed, a.c.excluded,
                    case((a.c.is_gold, rank), else_=None).label("gold_rank"))
             .join(t, t.c.id == a.c.task_id)
             .where(and_(a.c.project_id == project.id, a.c.worker_id == worker_id))
             .order_by(a.c.id.desc()).limit(limit + 1))
    scope = f"projects/{project.id}/my-answers/{worker_id}"
    before = paging.decode(cursor, scope)
    if before is not None:
        query = query.where(a.c.id < before)
    now = time.time()
    # A worker the project has stopped changes no answer (annotations.change): none is said editable to them.
    pw = models.project_workers
    blocked = bool((await conn.execute(select(pw.c.blocked).where(
        pw.c.project_id == project.id, pw.c.worker_id == worker_id))).scalar())
    out = []
    for row in (await conn.execute(query)).all():
        gold = (annotations.GoldPlace(row.gold_rank, row.n_done, row.needed)
                if row.gold_rank is not None and not row.excluded else None)
        until = None if blocked else annotations.editable_until(project, row.created_at, row.state, gold)
        out.append({"annotation_id": row.id, "assignment_id": row.assignment_id,
                    "task": {"id": row.task_id, "data": row.data}, "answer": row.answer,
                    "created_at": projects.iso(row.created_at), "edited_at": projects.iso(row.edited_at),
                    "editable": until is not None and until > now,
                    "editable_until": None if until is None or math.isinf(until) else projects.iso(until)})
    return paging.page(out, limit, scope, key="annotation_id")
