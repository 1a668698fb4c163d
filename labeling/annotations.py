"""Submitting answers: validate, store once, score gold, block bad workers, settle finished tasks.

Synchronous over a Tx (run with Database.transact), like the queue it drives.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from labeling import queue, tasktypes
from labeling.auth import Principal
from labeling.consensus import runner
from labeling.consensus import tasks as consensus_tasks
from labeling.errors import Conflict, LabelingError, NotFound
from labeling.sqltx import Query, Tx

_EXCLUDE = Query.make("exclude_answers", """
    UPDATE annotations SET excluded = true
    WHERE project_id = :project AND worker_id = :worker AND excluded = false AND is_gold = false
    RETURNING task_id""")
_REOPEN = Query.make("reopen_task", """
    UPDATE tasks SET n_done = n_done - 1, state = 0 WHERE id = :task RETURNING id""")
_WAS_COMPLETE = Query.make("task_state", "SELECT state FROM tasks WHERE id = :task")
_DROP_RESULT = Query.make("drop_result", "DELETE FROM task_results WHERE task_id = :task")
_BLOCK = Query.make("block_worker", """
    UPDATE project_workers SET blocked = true, updated_at = :now WHERE project_id = :project AND worker_id = :worker""")
_EXPIRE_LIVE = Query.make("expire_live_leases", """
    UPDATE assignments SET status = 3, finished_at = :now
    WHERE project_id = :project AND worker_id = :worker AND status = 0 RETURNING task_id""")


SUBMIT_ATTEMPTS = 3
log = logging.getLogger("labeling")


@dataclass(frozen=True)
class _Judged:
    project: Any
    answer: dict
    gold_score: float | None


def submit(tx: Tx, assignment_id: int, worker: Principal, raw_answer: Any, idempotency_key: str | None = None,
           duration_ms: int | None = None) -> queue.Submitted:
    """Accept an answer from the lease holder while the lease is live; a retry with the same key replays.

    On PostgreSQL the API runs this per statement: one statement closes the lease and stores and counts the
    answer, checking the lease as it does; it is preceded by a read of the assignment unless this process
    handed the lease out itself (queue.take_memo), and followed, when the answer completes its task, by the
    task's consensus (a read and one write).
    """
    memo = queue.take_memo(tx, assignment_id, worker)
    if memo is not None:
        try:
            judged = _judge(tx, memo, raw_answer)
        except LabelingError:  # judged as the lease was handed out; the current state below has the last word
            judged = None
        if judged is not None:
            done = _store(tx, memo, worker, judged, idempotency_key, duration_ms)
            if done is not None:
                return done
    for _ in range(SUBMIT_ATTEMPTS):
        assignment = queue.load_assignment(tx, assignment_id, worker, lock=False)
        if assignment.status == queue.SUBMITTED:
            return queue.replay_submit(tx, assignment, idempotency_key)
        if assignment.task_found is None:
            raise NotFound(f"the task of assignment {assignment_id} no longer exists", field="assignment_id")
        done = _store(tx, assignment, worker, _judge(tx, assignment, raw_answer), idempotency_key, duration_ms)
        if done is not None:
            return done
    raise Conflict("this assignment kept changing while the answer was being stored; submit again",
                   field="assignment_id")


def _judge(tx: Tx, assignment: Any, raw_answer: Any) -> _Judged:
    """Validate the answer for this (read or remembered) assignment and score it if the task is gold."""
    project = queue.project_at(tx, assignment.project_id, assignment.version)
    spec = tasktypes.get(project.task_type)
    answer = spec.validate_answer(raw_answer, assignment.data, tasktypes.Context(labels=tuple(project.labels)))
    queue.check_live(assignment, time.time())
    gold_score = None
    if assignment.is_gold and assignment.gold is not None:
        gold_score = consensus_tasks.gold_score(project.task_type, answer, assignment.gold)
    return _Judged(project, answer, gold_score)


def _store(tx: Tx, assignment: Any, worker: Principal, judged: _Judged, key: str | None,
           duration_ms: int | None) -> queue.Submitted | None:
    """Store a judged answer, then block the worker or settle the task if it calls for it.

    None (nothing stored) if the lease changed since it was read or handed out. When the answer was stored in a
    statement of its own (PostgreSQL), a failure of what follows does not unmake it: it is logged and the task
    is left for the next settle (server start, the periodic sweep, a project recompute).
    """
    now = time.time()
    project, gold_score = judged.project, judged.gold_score
    recorded = queue.record_annotation(tx, assignment, worker, judged.answer, gold_score=gold_score, key=key,
                                       duration_ms=duration_ms, now=now)
    if recorded is None:
        return None
    annotation_id, counted, counters, standing = recorded
    complete = False
    try:
        if gold_score is not None and not standing.blocked and _below_threshold(project, standing):
            block_worker(tx, project, worker.id)
        if not assignment.is_gold and counted and counters.state == 0 and counters.n_done >= counters.needed:
            complete = runner.settle_task(tx, project, assignment.task_id, shard=worker.id, counters=counters)
    except Exception:
        if not tx.committed_writes:
            raise  # one transaction (SQLite, or not per statement): nothing is kept, the error is the answer
        tx.rollback()
        log.exception("answer %s stored; blocking or settling after it failed (left for the next settle)",
                      annotation_id)
        complete = False
    return queue.Submitted(annotation_id, assignment.id, assignment.task_id, now, task_complete=complete)


def _below_threshold(project: Any, standing: Any) -> bool:
    if project.gold_threshold <= 0 or standing.n_gold < project.gold_min:
        return False
    return standing.gold_score_sum / standing.n_gold < project.gold_threshold


def block_worker(tx: Tx, project: Any, worker_id: int) -> int:
    """Stop a worker in a project: drop their answers from consensus and reopen the tasks they counted in."""
    tx.begin()  # all of it or nothing, also when the caller runs per statement
    now = time.time()
    tx.run(_BLOCK, {"project": project.id, "worker": worker_id, "now": now})
    task_ids = sorted({row.task_id for row in tx.rows(_EXCLUDE, {"project": project.id, "worker": worker_id})})
    reopened = 0
    for task_id in task_ids:
        reopened += 1 if tx.scalar(_WAS_COMPLETE, {"task": task_id}) == 1 else 0
        tx.run(_REOPEN, {"task": task_id})
        tx.run(_DROP_RESULT, {"task": task_id})
    queue.add_counts(tx, project.id, worker_id, n_complete=-reopened)
    for task_id in task_ids:  # a task with enough other answers is complete again at once
        runner.settle_task(tx, project, task_id, shard=worker_id)
    # Their live leases go back to the queue now rather than at expiry.
    for row in tx.rows(_EXPIRE_LIVE, {"project": project.id, "worker": worker_id, "now": now}):
        tx.run(queue.q("lease_dropped", tx.dialect), {"task": row.task_id})
    return len(task_ids)
