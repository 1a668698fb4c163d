"""One task as its requester reviews it: its data, every answer with what the worker was shown, the skips with
their reasons, the problem reports, the consensus and the requester's review (labeling/reviews.py). The
requester console builds on this read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import models, projects, tasks
from labeling.errors import NotFound


async def detail(conn: AsyncConnection, project_id: int, task_id: int) -> dict:
    """GET /api/projects/{id}/tasks/{task_id}: the task (NotFound unless it is in the project) and all about it."""
    row = await tasks.get(conn, task_id)
    if row.project_id != project_id:
        raise NotFound(f"no task {task_id}", field="task_id")
    a, u, s, r, tr = models.annotations, models.users, models.assignments, models.task_reports, models.task_results
    answers = (await conn.execute(
        select(a.c.id, a.c.worker_id, u.c.username, a.c.answer, a.c.meta, a.c.duration_ms, a.c.is_gold,
               a.c.gold_score, a.c.excluded, a.c.created_at, a.c.edited_at)
        .join(u, u.c.id == a.c.worker_id).where(a.c.task_id == task_id).order_by(a.c.id))).all()
    skips = (await conn.execute(
        select(s.c.id, s.c.worker_id, u.c.username, s.c.skip_reason, s.c.skip_note, s.c.finished_at)
        .join(u, u.c.id == s.c.worker_id)
        .where(and_(s.c.task_id == task_id, s.c.status == models.AssignmentStatus.skipped.value))
        .order_by(s.c.id))).all()
    reports = (await conn.execute(
        select(r.c.id, r.c.worker_id, u.c.username, r.c.text, r.c.created_at)
        .join(u, u.c.id == r.c.worker_id).where(r.c.task_id == task_id).order_by(r.c.id))).all()
    result = (await conn.execute(select(tr).where(tr.c.task_id == task_id))).first()
    v = models.reviews
    review = (await conn.execute(select(v.c.kind, v.c.answer, v.c.created_at, u.c.username)
                                 .join(u, u.c.id == v.c.reviewer_id).where(v.c.task_id == task_id))).first()
    return {
        **tasks.public(row),
        "consensus": None if result is None else {
            "answer": result.answer, "confidence": result.confidence, "n_annotations": result.n_annotations,
            "method": result.method, "updated_at": projects.iso(result.updated_at)},
        "review": None if review is None else {
            "kind": review.kind, "answer": review.answer, "reviewer": review.username,
            "created_at": projects.iso(review.created_at)},
        "annotations": [_answer(x) for x in answers],
        "skips": [{"assignment_id": x.id, "worker_id": x.worker_id, "username": x.username, "reason": x.skip_reason,
                   "note": x.skip_note, "skipped_at": projects.iso(x.finished_at)} for x in skips],
        "reports": [{"id": x.id, "worker_id": x.worker_id, "username": x.username, "text": x.text,
                     "created_at": projects.iso(x.created_at)} for x in reports],
    }


def _answer(x: Any) -> dict:
    return {"id": x.id, "worker_id": x.worker_id, "username": x.username, "answer": x.answer, "meta": x.meta,
            "duration_ms": x.duration_ms, "is_gold": x.is_gold, "gold_score": x.gold_score,
            "counted": not x.excluded, "created_at": projects.iso(x.created_at),
            "edited_at": projects.iso(x.edited_at)}
