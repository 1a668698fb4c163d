"""Submitting an answer, and settling tasks: the one line an answer takes through the platform.

    api/work.submit
      -> tasktypes: validate the answer for its task type (and score it if the task is gold)
      -> queue.record: close the lease, store the answer, count it            (the owner of bookkeeping)
      -> consensus.tasks.aggregate_task: the task's consensus, if it has all its answers   (pure)
      -> queue.settle: complete the task or want one more answer              (the owner of bookkeeping)

A worker may change an answer while the project's edit window allows it (`change`): the new answer replaces the
old one in the task's consensus, which is recomputed; a gold answer keeps the score of the answer first given.

Blocking a worker (gold accuracy below the threshold) is queue.block, then a settle of every task it reopened.
The answer is stored before anything after it runs: if blocking or settling fails, that part alone is undone
(`tx.isolated()`), the submit still answers 201, and the task waits, open with all its answers, for the
left-over sweep that every server process runs at start and every minute (`settle_left_over`), or a
project recompute. Both databases behave the same way. Functions are synchronous over a Tx (run with
Database.transact).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from labeling import audit, media, models, policy, queue, tasktypes
from labeling.auth import Principal
from labeling.consensus import tasks as consensus
from labeling.errors import Conflict, LabelingError, LeaseExpired, NotFound
from labeling.sqltx import Tx

SUBMIT_ATTEMPTS = 3
SETTLE_SWEEP_SECONDS = 60.0
log = logging.getLogger("labeling")


@dataclass(frozen=True)
class _Judged:
    project: Any
    answer: dict
    gold_score: float | None


def submit(tx: Tx, mem: queue.Memory, assignment_id: int, worker: Principal, raw_answer: Any,
           idempotency_key: str | None = None, duration_ms: int | None = None,
           meta: dict | None = None) -> queue.Submitted:
    """Accept an answer from the lease holder while the lease is live; a retry with the same key replays.

    On PostgreSQL the API runs this per statement: one statement records the answer, checking the lease as it
    does; it is preceded by a read of the assignment unless this process handed the lease out itself
    (queue.take_memo), and followed, when the answer completes its task, by the task's settle (a read and one
    write).
    """
    memo = queue.take_memo(tx, mem, assignment_id, worker)
    if memo is not None:
        try:
            project = queue.project_at(tx, mem, memo.project_id, memo.version)
            queue.admit(tx, mem, project, worker, "work.submit", memo)
            judged = _judge(tx, project, memo, raw_answer)
        except LabelingError:  # judged as the lease was handed out; the current state below has the last word
            judged = None
        if judged is not None:
            done = _store(tx, mem, memo, worker, judged, idempotency_key, duration_ms, meta)
            if done is not None:
                return done
    for _ in range(SUBMIT_ATTEMPTS):
        assignment, project = queue.held(tx, mem, assignment_id, worker, "work.submit", lock=False)
        if assignment.status == queue.AssignmentStatus.submitted:
            return queue.replay_submit(tx, assignment, idempotency_key)
        if assignment.task_found is None:
            raise NotFound(f"the task of assignment {assignment_id} no longer exists", field="assignment_id")
        done = _store(tx, mem, assignment, worker, _judge(tx, project, assignment, raw_answer), idempotency_key,
                      duration_ms, meta)
        if done is not None:
            return done
    raise Conflict("this assignment kept changing while the answer was being stored; submit again",
                   field="assignment_id")


def _judge(tx: Tx, project: Any, assignment: Any, raw_answer: Any) -> _Judged:
    """Validate the answer for this (read or remembered) assignment of a project the worker may answer in, and
    score it if the task is gold."""
    policy.check_status(project, "work.submit")
    answer = validated(tx, project, raw_answer, assignment.data)
    try:
        queue.check_live(assignment, time.time())
    except LeaseExpired:  # the block of a worker ends their leases: say the block, not the lease
        queue.refuse_if_blocked(tx, project, assignment.worker_id, "this answer was not saved", "assignment_id")
        raise
    gold_score = None
    if assignment.is_gold and assignment.gold is not None:
        gold_score = consensus.gold_score(project.task_type, answer, assignment.gold)
    return _Judged(project, answer, gold_score)


def validated(tx: Tx, project: Any, raw_answer: Any, data: dict) -> dict:
    """The answer checked against its task type, the project's labels and options, and (bounding boxes) the size of
    its image, looked up only by the task types that check answers against it."""
    context = tasktypes.Context(labels=tuple(project.labels), options=project.options,
                                image_size=functools.partial(media.stored_size, tx))
    return tasktypes.get(project.task_type).validate_answer(raw_answer, data, context)


def _store(tx: Tx, mem: queue.Memory, assignment: Any, worker: Principal, judged: _Judged, key: str | None,
           duration_ms: int | None, meta: dict | None) -> queue.Submitted | None:
    """Record a judged answer, then block the worker or settle the task if it calls for it.

    None (nothing stored) if the lease changed since it was read or handed out. A failure after the answer is
    recorded undoes only what came after it: it is logged and the task is left for the next settle.
    """
    now = time.time()
    project, gold_score = judged.project, judged.gold_score
    recorded = queue.record(tx, assignment, worker, judged.answer, gold_score=gold_score, key=key,
                            duration_ms=duration_ms, now=now, meta=meta)
    if recorded is None:
        return None
    # a gold task completes for no one; its answer says what a regular task's would (GoldPlace)
    complete = bool(assignment.is_gold and recorded.counted
                    and GoldPlace(recorded.n_done, recorded.n_done, recorded.needed).completes)
    try:
        block = gold_score is not None and not recorded.blocked and queue.below_threshold(project, recorded)
        if block or (not assignment.is_gold and recorded.task_ready):  # else nothing follows: no savepoint
            with tx.isolated():
                if block:
                    reopened = block_worker(tx, project, worker.id)
                    audit.record(tx, audit.SYSTEM, "worker.block", project=project, details={
                        "worker_id": worker.id, "username": worker.username, "tasks_reopened": reopened,
                        "reason": "gold accuracy below the project's threshold"})
                else:
                    complete = settle_task(tx, project, assignment.task_id, shard=worker.id, counters=recorded)
    except Exception:
        log.exception("answer %s stored; blocking or settling after it failed (left for the next settle)",
                      recorded.annotation_id)
        complete = bool(complete and assignment.is_gold)
    return queue.Submitted(recorded.annotation_id, assignment.id, assignment.task_id, now, task_complete=complete)


def _skill(row: Any) -> float | None:
    """Best known skill of a worker: the last project-wide estimate, else gold accuracy once there is enough."""
    if row.skill is not None:
        return row.skill
    if row.n_gold is not None and row.n_gold >= 3:
        return row.gold_score_sum / row.n_gold
    return None


def editable_until(project: Any, created_at: float, task_state: int, gold: GoldPlace | None = None) -> float | None:
    """Until when (Unix seconds) a worker may change an answer, by the project's edit window; None: not now.

    "until_final": while the task is open; a gold answer while its task would be, were it a regular one
    (GoldPlace.final); "minutes": for N minutes after the answer.
    """
    if project.edit_window == "minutes" and project.edit_minutes:
        return created_at + project.edit_minutes * 60
    if project.edit_window == "until_final" and (not gold.final if gold is not None
                                                 else task_state == models.TaskState.open):
        return float("inf")
    return None


@dataclass(frozen=True)
class GoldPlace:
    """Where a gold answer stands among its task's counted answers: its rank (1 for the first) and how many there are,
    and how many answers the task's regular twins need.

    A gold task never completes: every worker answers it once. Shown as it is, that marked it out: "until_final"
    answers to gold tasks stayed editable for ever while every regular one became final, and a gold submit never
    said `task_complete`, so a worker could tell the gold tasks (and, with others, their answers) from their own
    answers list. Its answers are taken in turns of `needed` instead, as a regular task's would be: an answer is
    final, and its submit completes "its task", when its turn is full."""

    rank: int
    n_done: int
    needed: int

    @property
    def final(self) -> bool:
        turn = max(self.needed, 1)
        return self.n_done >= -(-self.rank // turn) * turn

    @property
    def completes(self) -> bool:
        """Whether this answer, as it was given, filled its turn."""
        return self.rank % max(self.needed, 1) == 0


@dataclass(frozen=True)
class Changed:
    """What a changed answer did."""

    annotation_id: int
    task_id: int
    edited_at: float
    task_complete: bool


def change(tx: Tx, mem: queue.Memory, annotation_id: int, worker: Principal, raw_answer: Any,
           meta: dict | None = None) -> Changed:
    """Replace one of this worker's answers while the project's edit window allows it; the task's consensus (when
    it has one, or all its answers) is recomputed with the new answer; a gold answer keeps its first score."""
    now = time.time()
    row, project = queue.answer_to_change(tx, annotation_id, worker)
    queue.admit(tx, mem, project, worker, "work.change", row)
    policy.check_status(project, "work.change")
    if row.blocked:
        raise queue.blocked(tx, project, worker.id, "your answers can no longer change", "annotation_id")
    gold = GoldPlace(row.gold_rank, row.n_done, row.needed) if row.is_gold and not row.excluded else None
    until = editable_until(project, row.created_at, row.state, gold)
    if until is None or until <= now:
        why = {"off": "does not let answers change", "until_final": "lets answers change only until the task is "
               "final, and this one is"}.get(project.edit_window, "lets answers change only for "
                                                                   f"{project.edit_minutes} minutes")
        raise Conflict(f"this project {why}", field="annotation_id")
    answer = validated(tx, project, raw_answer, row.data)
    queue.change_answer(tx, row, answer, meta, now)
    complete = row.state == models.TaskState.complete
    if not row.excluded and not row.is_gold:
        if complete:
            restate_task(tx, project, row.task_id)
        elif row.n_done >= row.needed:  # every answer is in but the task was not settled yet: settle it now
            complete = settle_task(tx, project, row.task_id, shard=worker.id)
    return Changed(annotation_id, row.task_id, now, complete)


def _consensus(project: Any, task_id: int, rows: list[Any]) -> Any:
    skills = {r.worker_id: s for r in rows if (s := _skill(r)) is not None}
    return consensus.aggregate_task(project.task_type, [r.answer for r in rows], [r.worker_id for r in rows],
                                    list(project.labels), skills, project.answer_correlation or 0.0, task_id,
                                    consensus.span_overlap(project))


def restate_task(tx: Tx, project: Any, task_id: int) -> None:
    """Recompute the consensus of a task from its counted answers as they are now, and store it (no counted
    answers: no consensus)."""
    rows = queue.task_answers(tx, task_id)
    if rows:
        result = _consensus(project, task_id, rows)
        queue.restate(tx, project, task_id, queue.Outcome(result.answer, result.confidence, result.n_annotations,
                                                          result.details or {}))
    else:
        queue.drop_result(tx, task_id)


def settle_task(tx: Tx, project: Any, task_id: int, *, shard: int = 0, counters: Any = None) -> bool:
    """Compute a task's consensus now and store it: complete the task, or (adaptive redundancy) want one more.

    True when the task became complete. `counters` (n_done, needed) may be passed when the caller has just read
    them.
    """
    rows = queue.task_answers(tx, task_id)
    task = counters if counters is not None else queue.task_counts(tx, task_id)
    if not rows or task is None or task.n_done < task.needed:
        return False
    result = _consensus(project, task_id, rows)
    one_more = project.target_confidence is not None and task.needed < project.redundancy_max and (
        result.confidence is None or result.confidence < project.target_confidence)
    outcome = queue.Outcome(result.answer, result.confidence, result.n_annotations, result.details or {})
    return queue.settle(tx, project, task_id, outcome, needed=task.needed, answers=len(rows), one_more=one_more,
                        shard=shard)


def resettle_task(tx: Tx, project: Any, task_id: int, *, shard: int = 0) -> bool:
    """After a task's counted answers changed without a new one (a worker blocked, an answer excluded or counted
    again): complete it if it has the answers it needs, else keep its consensus over the answers left (none left:
    no consensus) while it waits for more. A task the requester overrode is complete whatever its answers: the
    requester decided its label, and only asking for more answers (which drops the override) reopens it. True when
    the task became complete."""
    if settle_task(tx, project, task_id, shard=shard):
        return True
    restate_task(tx, project, task_id)
    task = tx.one("reviews.task", {"task": task_id})
    return task.review_kind == models.ReviewKind.override.value and queue.complete_reviewed(tx, project.id, task)


def block_worker(tx: Tx, project: Any, worker_id: int) -> int:
    """Stop a worker in a project (queue.block); a task with enough other answers is complete again at once, the
    others keep a consensus over the answers left until new ones come."""
    task_ids = queue.block(tx, project.id, worker_id)
    for task_id in task_ids:
        resettle_task(tx, project, task_id, shard=worker_id)
    return len(task_ids)


def settle_ready(tx: Tx, mem: queue.Memory, project_id: int) -> int:
    """Settle every open task of a project that already has the answers it needs (after its redundancy went
    down, or left over by a server that stopped, or a settle that failed, after a task's last answer)."""
    project = queue.load_project(tx, mem, project_id)
    _blocks_left_over(tx, project)
    return sum(settle_task(tx, project, task_id) for task_id in queue.ready_tasks(tx, project_id))


def _blocks_left_over(tx: Tx, project: Any) -> None:
    """Block the workers whose gold accuracy calls for it but who are not blocked: the block after a gold answer
    runs once the answer is stored, and one that failed there (logged, see _store) would otherwise wait for the
    worker's next gold answer. An archived project's standings stay as they are."""
    if project.gold_threshold <= 0 or project.status == models.ProjectStatus.archived:
        return
    for worker in queue.workers_due_a_block(tx, project):
        reopened = block_worker(tx, project, worker.worker_id)
        audit.record(tx, audit.SYSTEM, "worker.block", project=project, details={
            "worker_id": worker.worker_id, "username": worker.username, "tasks_reopened": reopened,
            "reason": "gold accuracy below the project's threshold (made up by the settle sweep)"})


async def settle_left_over(db: Any, mem: queue.Memory | None = None) -> int:
    """Settle, in every project, the tasks that have all their answers but were never settled."""
    mem = mem or queue.Memory()
    async with db.read() as conn:
        project_ids = [row[0] for row in (await conn.execute(select(models.projects.c.id))).all()]
    settled = 0
    for project_id in project_ids:
        try:
            settled += await db.transact(lambda tx, pid=project_id: settle_ready(tx, mem, pid))
        except NotFound:  # deleted since it was listed: nothing left to settle, and nothing went wrong
            continue
        except Exception:  # one project's trouble does not keep the others unsettled
            log.exception("could not settle the left-over tasks of project %s", project_id)
    return settled


async def settle_periodically(db: Any, mem: queue.Memory, every: float = SETTLE_SWEEP_SECONDS) -> None:
    """settle_left_over now and then every `every` seconds, until cancelled (a server process's lifespan)."""
    while True:
        try:
            settled = await settle_left_over(db, mem)
            if settled:
                log.warning("settled %d tasks that had all their answers but no consensus", settled)
        except Exception:
            log.exception("could not look for tasks to settle; `labeling consensus` settles a project too")
        await asyncio.sleep(every)
