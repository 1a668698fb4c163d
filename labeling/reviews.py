"""A requester reviewing a task's consensus: accept it, override it with their own answer, ask for one more
answer, or leave one answer out of it (and undo that). Each is one transaction over a `Tx`, audited.

A task has at most one review (a later one replaces it; the audit log keeps them all). An override is the task's
label wherever consensus is read (/results, the console, every export), which also mark it `reviewed`; the
crowd's consensus stays stored beside it, and an open task is complete with it. Changing a task's answers (more
answers, an answer left out or counted again, a worker blocked) drops an acceptance, which was of the consensus as
it was; an override stays, and its task stays complete. Bookkeeping (the task's state and counts, which answers count) is queue.py's; the consensus is
settled again through annotations.py.
"""

from __future__ import annotations

import time
from typing import Any

from labeling import annotations, audit, membership, queue
from labeling.auth import Principal
from labeling.errors import Conflict, NotFound
from labeling.models import ReviewKind, TaskState
from labeling.sqltx import Tx


def _task(tx: Tx, project: Any, task_id: int) -> Any:
    """The project's task, locked for change until the transaction ends; NotFound unless it is the project's.
    Gold tasks have their gold answer and are not reviewed. The project's lease sweep is held off first: a review
    may go on to the task's leases (an override expires them, an answer counted again hands one back), the other
    order from the sweep's, which locks a lease and then its task (the two deadlocked on PostgreSQL)."""
    queue.hold_reclaims(tx, project.id)
    queue.lock_task(tx, task_id)
    row = tx.one("reviews.task", {"task": task_id})
    if row is None or row.project_id != project.id:
        raise NotFound(f"no task {task_id}", field="task_id")
    if row.is_gold:
        raise Conflict(f"task {task_id} is a gold task: its answer is its gold answer, not a consensus",
                       field="task_id")
    return row


def _state(tx: Tx, project: Any, task_id: int) -> dict:
    row = tx.one("reviews.task", {"task": task_id})
    return {"task_id": task_id, "state": TaskState(row.state).name, "needed": row.needed, "n_done": row.n_done,
            "review": row.review_kind, "consensus": row.result_answer, "confidence": row.confidence}


def _put(tx: Tx, actor: Principal, project: Any, task_id: int, kind: ReviewKind, answer: dict | None) -> None:
    tx.one("reviews.put", {"project": project.id, "task": task_id, "reviewer": actor.id, "kind": kind.value,
                           "answer": answer, "now": time.time()})


def accept(tx: Tx, actor: Principal, project_id: int, task_id: int) -> dict:
    """The task's consensus is right as it is (it must have one)."""
    project = membership.locked(tx, project_id, "task.accept")
    task = _task(tx, project, task_id)
    if task.result_task is None:
        raise Conflict(f"task {task_id} has no consensus yet to accept", field="task_id")
    _put(tx, actor, project, task_id, ReviewKind.accept, None)
    audit.record(tx, actor, "task.accept", project=project, details={"task_id": task_id})
    return _state(tx, project, task_id)


def override(tx: Tx, actor: Principal, project_id: int, task_id: int, raw_answer: Any) -> dict:
    """The requester's own answer, checked as a worker's answer to the task is, replaces its consensus. An open
    task is complete with it: the requester has decided, so it asks no more answers of the crowd (and is in the
    exports of completed tasks); asking for more answers reopens it."""
    project = membership.locked(tx, project_id, "task.override")
    task = _task(tx, project, task_id)
    answer = annotations.validated(tx, project, raw_answer, task.data)
    _put(tx, actor, project, task_id, ReviewKind.override, answer)
    completed = queue.complete_reviewed(tx, project.id, task)
    if completed and task.result_task is None:  # the crowd's consensus over its answers, kept beside the override
        annotations.restate_task(tx, project, task_id)
    audit.record(tx, actor, "task.override", project=project, details={"task_id": task_id, "completed": completed})
    return {**_state(tx, project, task_id), "answer": answer}


def more_answers(tx: Tx, actor: Principal, project_id: int, task_id: int, needed: int | None = None) -> dict:
    """One more answer for this task: its redundancy goes up by one and it is open until the answer comes; the
    task's review goes (the crowd is asked again). With `needed` (the count read, plus one) a retry is safe: a
    task that already wants `needed` answers is left as it is, and one that wants another number than
    `needed - 1` is a Conflict (the task changed since it was read)."""
    project = membership.locked(tx, project_id, "task.more_answers")
    task = _task(tx, project, task_id)
    if needed is not None and task.needed != needed - 1:
        if task.needed == needed:  # asked already (this request's first attempt, or someone else)
            return {**_state(tx, project, task_id), "changed": False}
        raise Conflict(f"task {task_id} wants {task.needed} answers now, not {needed - 1} as read; to ask for one "
                       f"more, send needed {task.needed + 1}", field="needed")
    queue.ask_more(tx, project.id, task)
    tx.run("reviews.drop", {"task": task_id})
    audit.record(tx, actor, "task.more_answers", project=project, details={"task_id": task_id,
                                                                           "needed": task.needed + 1})
    return {**_state(tx, project, task_id), "changed": True}


def exclude(tx: Tx, mem: queue.Memory, actor: Principal, project_id: int, task_id: int, annotation_id: int,
            excluded: bool) -> dict:
    """Leave one answer of the task out of its consensus (excluded=True), or count it again (False); the
    consensus is settled again over the answers that count, and the task wants its redundancy (an overridden task
    stays complete)."""
    locked = membership.locked(tx, project_id, "answer.exclude")
    project = queue.project_at(tx, mem, project_id, locked.updated_at)
    task = _task(tx, project, task_id)
    answer = tx.one("reviews.answer", {"annotation": annotation_id})
    if answer is None or answer.task_id != task_id:
        raise NotFound(f"no answer {annotation_id} of task {task_id}", field="annotation_id")
    if answer.is_gold:
        raise Conflict("a gold answer scores its worker and never counts in a consensus", field="annotation_id")
    if excluded:
        changed = queue.exclude_answer(tx, project.id, annotation_id, task)
    else:
        if answer.blocked:
            raise Conflict("this answer's worker is blocked in the project: their answers stay out of consensus "
                           "until they are unblocked", field="annotation_id")
        changed = queue.include_answer(tx, annotation_id, task_id)
    if changed:
        tx.run("reviews.drop_accept", {"task": task_id})
        annotations.resettle_task(tx, project, task_id)
        if not excluded:  # a lease taken to replace the answer may be one too many now
            queue.hand_back_surplus(tx, project.id, task_id)
        audit.record(tx, actor, "answer.exclude" if excluded else "answer.include", project=project,
                     details={"task_id": task_id, "annotation_id": annotation_id, "worker_id": answer.worker_id})
    return {**_state(tx, project, task_id), "annotation_id": annotation_id, "excluded": excluded,
            "changed": changed}

