"""The work queue and the one owner of its bookkeeping: task states and counters, assignments, project
counters, workers' standing and consensus results change here and nowhere else.

Every change is a function over a `Tx` (run through `Database.transact`): enqueue, claim, record, skip,
release, renew, expire, settle, reopen, block, unblock, and taking work away (a deactivated user's or an archived
project's leases, a deleted project or tasks, one worker's answers); its statements are the `queue.*` ones of
labeling/sql/.
Who may claim or answer is asked of labeling/policy.py (`admit`) with the project row the claim or submit already
has in memory, and the project's status is checked the same way (`policy.check_status`): no extra round trip.
The statement that leases or records then holds the project row at that version (PostgreSQL KEY SHARE, which its
foreign-key check takes anyway), so a change of the project racing it is seen one way or the other.
A submitted answer goes along one line (labeling/annotations.py):

    API -> tasktypes (validate the answer) -> queue.record -> consensus (aggregate, pure) -> queue.settle

Invariants (checked by tests/test_queue_concurrency.py on both backends):
- a regular task gets at most `needed` accepted annotations, from distinct workers;
- a worker holds at most one assignment per task, ever (a unique index), so skipped tasks never return;
- `tasks.n_leased` counts the task's leased assignments, `tasks.n_done` its counted annotations; every
  change to either happens in the statement that changes the assignment, in one transaction.
Expired leases are reclaimed by the claim itself (no cron).

SQLite: every call is one job of the single writer (one transaction); a claim is one UPDATE ... RETURNING
on the queue index, then the assignment's INSERT.
PostgreSQL: the API runs claims and submits per statement (Database.transact(per_statement=True)), so each
write is one statement with data-modifying CTEs that is complete and consistent on its own, and carries the
checks that make it safe to send without reading first (queue.lease_regular and queue.record_annotation in
labeling/sql/postgresql.sql). A server process remembers each worker's last claim and the leases it handed
out (`Memory`, kept in the app state); a claim or submit that can trust them is one round trip, and any
failed check falls back to reading.
"""

from __future__ import annotations

import collections
import random
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from labeling import membership, policy
from labeling.auth import Principal
from labeling.errors import AccountDeactivated, Conflict, InvalidInput, LeaseExpired, NotFound, WorkerBlocked
from labeling.models import N_COUNTER_SHARDS, AssignmentStatus, TaskState
from labeling.sqltx import Tx, is_unique_violation

COUNTERS = ("n_tasks", "n_gold_tasks", "n_complete", "n_annotations", "n_skips")
CLAIM_ATTEMPTS = 3
HINT_LIMIT = 100_000  # remembered workers per process (a few numbers each)
MEMO_LIMIT = 10_000  # remembered leases per process (each holds its task's data); past it, start afresh
PROJECT_LIMIT = 1_000  # remembered project rows per process
INSERT_CHUNK = 2_000
_TASK_COLUMNS = ("data", "gold", "predictions", "is_gold", "priority", "external_id", "source_key")
SKIP_REASONS = ("unclear", "offensive", "broken_media", "other")


@dataclass(frozen=True)
class _Hint:
    """What this process last knew of a worker in a project (PostgreSQL): enough to lease without a read."""

    n_claims: int
    version: float


@dataclass(frozen=True)
class Memo:
    """A lease this process handed out (PostgreSQL), so its submit can skip reading it back."""

    id: int
    project_id: int
    task_id: int
    worker_id: int
    is_gold: bool
    expires_at: float
    version: float
    data: dict
    gold: dict | None
    status: int = AssignmentStatus.leased
    blocked: bool = False


@dataclass
class Memory:
    """What one server process remembers between requests: project rows and pool listings by project version,
    and (PostgreSQL) each worker's last claim and the leases it handed out. Kept in the app state; every check
    it saves is made again by the statement that trusts it (the project's version), so another process's
    changes are never missed."""

    projects: dict[tuple[int, float], Any] = field(default_factory=dict)
    hints: dict[tuple[int, int], _Hint] = field(default_factory=dict)
    memos: dict[int, Memo] = field(default_factory=dict)
    listings: membership.Listings = field(default_factory=membership.Listings)


def _remember(store: dict, limit: int, key: Any, value: Any) -> None:
    if len(store) >= limit:
        store.clear()
    store[key] = value


# ---- projects ----------------------------------------------------------------------------------------------

def project_at(tx: Tx, mem: Memory, project_id: int, version: float) -> Any:
    """The project row as of `version` (its updated_at), from this process's memory or the database."""
    row = mem.projects.get((project_id, version))
    if row is None:
        row = tx.one("queue.project", {"project": project_id})
        if row is None:
            raise NotFound(f"no project {project_id}", field="project_id")
        _remember(mem.projects, PROJECT_LIMIT, (project_id, row.updated_at), row)
    return row


def load_project(tx: Tx, mem: Memory, project_id: int) -> Any:
    """The project row, or NotFound; one tiny query checks the version of the remembered row."""
    version = tx.scalar("queue.project_version", {"project": project_id})
    if version is None:
        raise NotFound(f"no project {project_id}", field="project_id")
    return project_at(tx, mem, project_id, version)


def admit(tx: Tx, mem: Memory, project: Any, user: Principal, action: str, assignment: Any = None) -> None:
    """Ask the policy whether the user may do this queue action in the project (or on its assignment). The pool
    listing comes from this process's memory by project version: no round trip on the hot path."""
    seen = membership.tx_facts(tx, mem.listings, project, user)
    policy.authorize(user, action, seen if assignment is None else
                     policy.Assignment(assignment.id, assignment.worker_id, seen))


def init_project(tx: Tx, project_id: int) -> None:
    """A new project's first counter row."""
    tx.run("queue.init_counters", {"project": project_id})


def _add_counts(tx: Tx, project_id: int, shard: int, **deltas: int) -> None:
    """Add to a project's progress counters in this transaction (the shard spreads concurrent writers)."""
    if any(deltas.values()):
        params = {c: deltas.get(c, 0) for c in COUNTERS}
        tx.run("queue.add_counts", {**params, "project": project_id, "shard": shard % N_COUNTER_SHARDS})


def set_redundancy(tx: Tx, project_id: int, needed: int) -> None:
    """Open regular tasks follow the project's new minimum; the queue stops serving a task at `needed`. Holds the
    project's lease sweep first (hold_reclaims): hand_back_surplus then locks the leases after the tasks."""
    hold_reclaims(tx, project_id)
    tx.run("queue.set_needed", {"project": project_id, "needed": needed})


def cap_redundancy(tx: Tx, project_id: int, most: int) -> None:
    """Open regular tasks want at most `most` answers (a lower maximum at the same minimum); as set_redundancy, the
    lease sweep held first."""
    hold_reclaims(tx, project_id)
    tx.run("queue.cap_needed", {"project": project_id, "needed": most})


def hold_reclaims(tx: Tx, project_id: int) -> None:
    """Keep the project's expired-lease sweep (reclaim_expired) off until this transaction ends: it locks leases,
    then their tasks; a change locking tasks, then leases, deadlocked with it on PostgreSQL."""
    tx.one("queue.hold_reclaims", {"project": project_id})


def hand_back_surplus(tx: Tx, project_id: int, task_id: int | None = None) -> int:
    """Once tasks were settled after their need went down (a lower redundancy) or their counted answers went up (an
    answer counted again): a regular task holding more live leases than the answers it still wants, or complete,
    hands the surplus back (a submit on one answers expired), so no task collects more answers than it wants. Run
    after the settle, which may want one more answer (adaptive redundancy) and so keep a lease. All the project's
    tasks, or one. Returns how many leases went back."""
    return _drop_leases(tx, tx.rows("queue.expire_surplus_leases",
                                    {"project": project_id, "task": task_id, "now": time.time()}))


@dataclass(frozen=True)
class NewTask:
    """A validated task to enqueue."""

    data: dict
    gold: dict | None
    predictions: dict | None
    priority: int
    external_id: str | None
    source_key: str | None = None  # the manifest key its image or text came under (tasktypes.manifest_key)


def enqueue(tx: Tx, project: Any, tasks: Iterable[NewTask], now: float | None = None) -> int:
    """Insert tasks, open and wanting the project's minimum redundancy, and count them; returns how many."""
    now = time.time() if now is None else now
    total = gold = 0
    batch: list[dict] = []

    def flush() -> None:
        if tx.dialect == "postgresql":  # the batch in one statement, each column an array
            tx.run("queue.insert_tasks", {"project": project.id, "needed": project.redundancy_min, "now": now,
                                          **{column: [row[column] for row in batch] for column in _TASK_COLUMNS}})
        else:  # SQLite runs the statement per row in its own loop: no round trips to save
            tx.run("queue.tick_changes")  # the batch's change number (tasks.change_id), one for all its tasks
            tx.run_many("queue.insert_task", batch)
        batch.clear()

    for task in tasks:
        batch.append({"project": project.id, "data": task.data, "gold": task.gold, "predictions": task.predictions,
                      "is_gold": task.gold is not None, "priority": task.priority, "external_id": task.external_id,
                      "source_key": task.source_key, "needed": project.redundancy_min, "now": now})
        total += 1
        gold += task.gold is not None
        if len(batch) == INSERT_CHUNK:
            flush()
    if batch:
        flush()
    _add_counts(tx, project.id, 0, n_tasks=total, n_gold_tasks=gold)
    return total


# ---- claims ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lease:
    """What /next hands a worker."""

    assignment_id: int
    task_id: int
    data: dict
    predictions: dict | None
    expires_at: float
    task_type: str = ""


def below_threshold(project: Any, standing: Any) -> bool:
    """Whether a worker's gold record (n_gold, gold_score_sum) calls for a block in the project."""
    if project.gold_threshold <= 0 or standing.n_gold < project.gold_min:
        return False
    return standing.gold_score_sum / standing.n_gold < project.gold_threshold


def blocked(tx: Tx, project: Any, worker_id: int, then: str, field: str) -> WorkerBlocked:
    """The error of a worker blocked in the project, saying why: their gold record, or (a requester's block, which
    needs no gold record) the requester."""
    return _blocked_error(project, tx.one("queue.worker_row", {"project": project.id, "worker": worker_id}), then,
                          field)


def _blocked_error(project: Any, row: Any, then: str, field: str) -> WorkerBlocked:
    """blocked's error from the worker's row in the project (queue.worker_row), already read."""
    why = ("your gold-task accuracy in this project is below its threshold" if row is not None
           and below_threshold(project, row) else "the project's requester has stopped your work in it")
    return WorkerBlocked(f"{why}, so {then}", field=field)


def _check_standing(tx: Tx, project: Any, worker_id: int, standing: Any) -> Any:
    if standing.blocked:
        raise blocked(tx, project, worker_id, "it gives you no more tasks", "project_id")
    return standing


def refuse_if_blocked(tx: Tx, project: Any, worker_id: int, then: str, field: str) -> None:
    """WorkerBlocked if the worker is blocked in the project. Asked where a lease was found gone: a block ends the
    worker's leases, and "your lease ran out" would hide why."""
    row = tx.one("queue.worker_row", {"project": project.id, "worker": worker_id})
    if row is not None and row.blocked:
        raise _blocked_error(project, row, then, field)  # the row read here says why: not read again


def _worker_row(tx: Tx, project: Any, worker_id: int, now: float) -> Any:
    params = {"project": project.id, "worker": worker_id, "now": now}
    return _check_standing(tx, project, worker_id,
                           tx.one("queue.worker_row", params) or _new_worker_row(tx, params))


def _new_worker_row(tx: Tx, params: dict) -> Any:
    """The worker's new standing row in the project, or NotFound when the project was deleted meanwhile."""
    row = tx.one("queue.new_worker_row", params)
    if row is None:
        raise NotFound(f"no project {params['project']}", field="project_id")
    return row


def reclaim_expired(tx: Tx, project_id: int, now: float) -> int:
    """Mark this project's expired leases and give their slots back; returns how many were reclaimed."""
    rows = tx.rows("queue.reclaim_expired", {"project": project_id, "now": now})
    if tx.dialect == "sqlite":  # PostgreSQL's statement gives the slots back itself
        for row in rows:
            tx.run("queue.lease_dropped", {"task": row.task_id})
    return len(rows)


def _wants_gold(project: Any, claims_so_far: int, rng: random.Random) -> bool:
    if claims_so_far < project.gold_first_n:
        return True
    return project.gold_fraction > 0 and rng.random() < project.gold_fraction


def claim_next(tx: Tx, mem: Memory, project_id: int, worker: Principal, max_leases: int, now: float | None = None,
               rng: random.Random | None = None, prefer_task: int | None = None) -> Lease | None:
    """Hand this worker a lease on the next task it should do in the project, or None when there is nothing.

    On PostgreSQL (run per statement) a claim is one leasing statement when this process remembers the
    worker's last claim in the project, else a read and that statement (plus the rare project reload,
    first-claim worker row and expired-lease sweep). A claim whose checks fail (a concurrent claim of the
    same worker, a lease to hand back, a lease to reclaim, a changed project) reads and starts over.
    `prefer_task`: the task this worker just released (its labeling page reloaded), leased again if it may be.
    """
    now = time.time() if now is None else now
    rng = rng or random
    if prefer_task is not None:
        lease = _claim_preferred(tx, mem, project_id, worker, prefer_task, max_leases, now)
        if lease is not None:
            return lease
    if tx.dialect == "postgresql":
        hint = mem.hints.get((project_id, worker.id))
        if hint is not None:
            project = mem.projects.get((project_id, hint.version))
            if project is not None:
                admit(tx, mem, project, worker, "work.next")
                policy.check_status(project, "work.next")
                found, lease = _lease_for(tx, mem, project, worker, hint.n_claims, hint.version, max_leases, now,
                                          rng, remembered=True)
                if found is not None:
                    return lease
    for _ in range(CLAIM_ATTEMPTS):
        found, lease = _claim_once(tx, mem, project_id, worker, max_leases, now, rng)
        if found is not None:
            return lease
    raise Conflict("the queue changed while this claim was being made; ask again", field="project_id")


def _handed_back(tx: Tx, project: Any, held: Any) -> Lease:
    """A live lease the worker already holds (a claim_state row), with its task."""
    payload = tx.one("queue.task_payload", {"task": held.lease_task})
    return Lease(held.lease_id, held.lease_task, payload.data, payload.predictions, held.lease_expires,
                 project.task_type)


class _Blocked(Exception):
    """A claim found the worker blocked in the statement that counts it: what it leased is undone."""


def _deactivated() -> AccountDeactivated:
    """What a claim or a renewal of a worker deactivated since they signed in is told (as sign-in would tell them)."""
    return AccountDeactivated("your account was deactivated by an admin: ask them to reactivate it",
                              field="Authorization")


def _claim_preferred(tx: Tx, mem: Memory, project_id: int, worker: Principal, task_id: int, max_leases: int,
                     now: float) -> Lease | None:
    """Lease one named task to this worker again, or None to let the ordinary claim decide (and say why not).

    Only on a reload of the labeling page, so not the hot path: a few statements in one transaction, which holds
    the project row (membership.shared) at the version the claim's rules came from.
    """
    params = {"project": project_id, "worker": worker.id, "now": now, "task": task_id}
    rows = tx.rows("queue.claim_state", params)
    if not rows or rows[0].n_claims is None or rows[0].blocked or not rows[0].worker_active:
        return None
    live = [row for row in rows if row.lease_id is not None]
    held = next((row for row in live if row.lease_project == project_id and row.lease_task == task_id), None)
    if held is not None:
        # Still the worker's: the page's release on leaving has not arrived. Handed back from this one read, as
        # the ordinary claim would, but never past the moment it goes: a claim read afresh after it would hand
        # out the queue's next task instead of this one.
        project = project_at(tx, mem, project_id, rows[0].version)
        admit(tx, mem, project, worker, "work.next")
        return _handed_back(tx, project, held)
    if len(live) >= max_leases or any(row.lease_project == project_id for row in live):
        return None
    project = project_at(tx, mem, project_id, rows[0].version)
    admit(tx, mem, project, worker, "work.next")
    policy.check_status(project, "work.next")
    expires = now + project.lease_seconds
    tx.begin()
    if membership.shared(tx, project_id).updated_at != rows[0].version:
        return None  # changed since the read (an archive, a pool change): the ordinary claim reads it again
    if not tx.scalar("queue.worker_active", params):
        return None  # deactivated since the read: the ordinary claim reads it again, and says so
    try:
        with tx.isolated():
            row = tx.one("queue.claim_task", params)
            if row is None:
                return None
            assignment_id = tx.scalar("queue.insert_lease", {**params, "is_gold": bool(row.is_gold),
                                                             "expires": expires})
            if tx.run("queue.count_claim", params) != 1:
                # Blocked since the read (a block moves no version, so the check above passed): undone, and the
                # ordinary claim says so.
                raise _Blocked
    except _Blocked:
        return None
    except Exception as exc:
        if is_unique_violation(exc):  # a concurrent claim of this worker took it first
            return None
        raise
    mem.hints.pop((project_id, worker.id), None)  # its claim count moved on
    return Lease(assignment_id, row.id, row.data, row.predictions, expires, project.task_type)


def _claim_once(tx: Tx, mem: Memory, project_id: int, worker: Principal, max_leases: int, now: float,
                rng: Any) -> tuple[bool | None, Lease | None]:
    params = {"project": project_id, "worker": worker.id, "now": now}
    rows = tx.rows("queue.claim_state", params)
    if not rows:
        raise NotFound(f"no project {project_id}", field="project_id")
    state = rows[0]
    if not state.worker_active:  # signed in before a deactivation, or in a process that remembers the token
        raise _deactivated()
    project = project_at(tx, mem, project_id, state.version)
    admit(tx, mem, project, worker, "work.next")
    standing = _check_standing(tx, project, worker.id,
                               state if state.n_claims is not None else _new_worker_row(tx, params))
    live = [row for row in rows if row.lease_id is not None]
    held = next((row for row in live if row.lease_project == project_id), None)
    if held is not None:  # handed back in a paused project too: it may still be answered
        return True, _handed_back(tx, project, held)
    policy.check_status(project, "work.next")
    if len(live) >= max_leases:
        raise Conflict(f"you hold {len(live)} live leases, the most allowed; submit, skip or release one first",
                       field="assignment_id")
    if state.next_expiry is not None and state.next_expiry <= now:
        reclaim_expired(tx, project_id, now)
    return _lease_for(tx, mem, project, worker, standing.n_claims, project.updated_at, max_leases, now, rng,
                      remembered=False)


def _lease_for(tx: Tx, mem: Memory, project: Any, worker: Principal, n_claims: int, version: float,
               max_leases: int, now: float, rng: Any, *, remembered: bool) -> tuple[bool | None, Lease | None]:
    """Lease the worker's next task: (True, lease), (False, None) when there is none, or (None, None) when
    the statement's checks failed (PostgreSQL: the claim must read its state again)."""
    expires = now + project.lease_seconds
    params = {"project": project.id, "worker": worker.id, "now": now, "expires": expires, "seen_claims": n_claims,
              "version": version, "max_leases": max_leases, "remembered": remembered}
    kinds = ["regular"]
    if (project.gold_first_n or project.gold_fraction) and _wants_gold(project, n_claims, rng):
        kinds.insert(0, "gold")
    params["mixed"] = n_claims >= project.gold_first_n  # mixed-in gold needs regular work left (queue.claim_gold)
    for kind in kinds:
        is_gold = kind == "gold"
        if tx.dialect == "postgresql":
            row = tx.one(f"queue.lease_{kind}", params)
            # A check failed, or a task was there but a concurrent claim of this worker counted first.
            if not row.ok or (row.assignment_id is None and row.found):
                mem.hints.pop((project.id, worker.id), None)
                return None, None
            if row.assignment_id is None:
                _remember(mem.hints, HINT_LIMIT, (project.id, worker.id), _Hint(n_claims, version))
                continue
            _remember(mem.hints, HINT_LIMIT, (project.id, worker.id), _Hint(n_claims + 1, version))
            _remember(mem.memos, MEMO_LIMIT, row.assignment_id, Memo(
                row.assignment_id, project.id, row.id, worker.id, is_gold, expires, version, row.data, row.gold))
            return True, Lease(row.assignment_id, row.id, row.data, row.predictions, expires, project.task_type)
        row = tx.one(f"queue.claim_{kind}", params)
        if row is None:
            continue
        assignment_id = tx.scalar("queue.insert_lease", {**params, "task": row.id, "is_gold": is_gold})
        tx.run("queue.count_claim", params)
        return True, Lease(assignment_id, row.id, row.data, row.predictions, expires, project.task_type)
    return False, None


# ---- an assignment: submit, skip, release, renew ---------------------------------------------------------------

def load_assignment(tx: Tx, assignment_id: int, lock: bool = True) -> Any:
    """The assignment row (with its task and project version), or NotFound; whose it is, `held` asks the policy.

    `lock` holds the row for change until the transaction ends (PostgreSQL; SQLite's single writer already
    excludes every other change); a submit reads without it, because the statement that records the answer
    checks the lease again as it closes it.
    """
    name = "queue.locked_assignment" if lock and tx.dialect == "postgresql" else "queue.assignment"
    row = tx.one(name, {"assignment": assignment_id})
    if row is None:
        raise NotFound(f"no assignment {assignment_id} of yours", field="assignment_id")
    return row


def held(tx: Tx, mem: Memory, assignment_id: int, worker: Principal, action: str, lock: bool = True
         ) -> tuple[Any, Any]:
    """(assignment, project) once the policy allows the action: the lease is the worker's, in a project they may
    still work on (NotFound otherwise, as if it did not exist)."""
    assignment = load_assignment(tx, assignment_id, lock)
    project = project_at(tx, mem, assignment.project_id, assignment.version)
    admit(tx, mem, project, worker, action, assignment)
    return assignment, project


def held_in_project(tx: Tx, mem: Memory, assignment_id: int, worker: Principal, action: str, lock: bool = True
                    ) -> tuple[Any, Any]:
    """`held`, with the project row held first (membership.shared, before the lease is locked: the order every write
    takes them), so the policy is asked of the project as it stays until the write commits: a pool or status change
    racing a renewal, skip, release or report waits for it, or comes first and is seen."""
    membership.shared(tx, load_assignment(tx, assignment_id, lock=False).project_id)
    return held(tx, mem, assignment_id, worker, action, lock)


def take_memo(tx: Tx, mem: Memory, assignment_id: int, worker: Principal) -> Memo | None:
    """The lease this process handed out under that id to this worker, forgotten as it is taken."""
    memo = mem.memos.pop(assignment_id, None) if tx.dialect == "postgresql" else None
    return memo if memo is not None and memo.worker_id == worker.id else None


def check_live(assignment: Any, now: float) -> None:
    """Refuse to submit to a lease that is not live: an expired lease answers LeaseExpired and stores nothing."""
    if assignment.status == AssignmentStatus.skipped:
        raise Conflict("this assignment was skipped; ask for the next task", field="assignment_id")
    if assignment.status == AssignmentStatus.expired or assignment.expires_at <= now:
        raise LeaseExpired("the lease on this task expired before the answer arrived; renew it or ask for the "
                           "next task", field="assignment_id")


@dataclass(frozen=True)
class Recorded:
    """A stored answer: its id, whether it counts in consensus, the task's counters and the worker's standing
    just after it (what deciding to settle or to block needs)."""

    annotation_id: int
    counted: bool
    n_done: int
    needed: int
    state: int
    n_gold: int
    gold_score_sum: float
    blocked: bool

    @property
    def task_ready(self) -> bool:
        """The answer was counted and the open task now has every answer it wants."""
        return self.counted and self.state == TaskState.open and self.n_done >= self.needed


def record(tx: Tx, assignment: Any, worker: Principal, answer: dict, *, gold_score: float | None,
           key: str | None, duration_ms: int | None, now: float, meta: dict | None = None) -> Recorded | None:
    """Close the lease, store the annotation and count it for the task, the worker and the project.

    None (nothing stored) when the lease is no longer this worker's live lease or the project changed since
    `assignment.version`. One statement on PostgreSQL.
    """
    counted = not assignment.blocked
    params = {"project": assignment.project_id, "task": assignment.task_id, "worker": worker.id,
              "assignment": assignment.id, "answer": answer, "is_gold": bool(assignment.is_gold),
              "gold_score": gold_score, "excluded": not counted, "key": key, "duration": duration_ms, "now": now,
              "meta": meta,
              "counted": 1 if counted else 0, "gold": 1 if gold_score is not None else 0, "score": gold_score or 0.0,
              "shard": worker.id % N_COUNTER_SHARDS, "version": assignment.version}
    if tx.dialect == "postgresql":
        row = tx.one("queue.record_annotation", params)
        if row is None:
            return None
        return Recorded(row.annotation_id, row.counted, row.n_done, row.needed, row.state, row.n_gold,
                        row.gold_score_sum, row.blocked)
    if tx.run("queue.close_lease_submitted", params) != 1:
        return None
    annotation_id = tx.scalar("queue.insert_annotation", params)
    task = tx.one("queue.task_lease_done", params)
    standing = tx.one("queue.count_annotation", params)
    _add_counts(tx, assignment.project_id, worker.id, n_annotations=1)
    return Recorded(annotation_id, counted, task.n_done, task.needed, task.state, standing.n_gold,
                    standing.gold_score_sum, bool(standing.blocked))


@dataclass(frozen=True)
class Submitted:
    """What a submit stored (or, for a retried submit, what the first one stored)."""

    annotation_id: int
    assignment_id: int
    task_id: int
    created_at: float
    replayed: bool = False
    task_complete: bool = False


def replay_submit(tx: Tx, assignment: Any, key: str | None) -> Submitted:
    """A retried submit with the same Idempotency-Key gets the first result; anything else is a conflict."""
    ann = tx.one("queue.annotation_for_assignment", {"assignment": assignment.id})
    if ann is not None and key is not None and ann.idempotency_key == key:
        return Submitted(ann.id, ann.assignment_id, ann.task_id, ann.created_at, replayed=True)
    raise Conflict("this assignment was already submitted", field="assignment_id")


def skip(tx: Tx, mem: Memory, assignment_id: int, worker: Principal, reason: str | None = None,
         note: str | None = None) -> dict:
    """Give the task back; this worker will not be offered it again. Skipping twice is harmless.

    `reason` (one of SKIP_REASONS; "other" with the worker's `note`) is kept on the assignment for the requester.
    """
    now = time.time()
    note = (note or "").strip() or None
    if reason is not None and reason not in SKIP_REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(SKIP_REASONS)}", field="reason")
    if reason == "other" and note is None:
        raise InvalidInput("note: say in a few words why you skip, for the reason 'other'", field="note")
    mem.memos.pop(assignment_id, None)
    assignment, _ = held_in_project(tx, mem, assignment_id, worker, "work.skip")
    if assignment.status == AssignmentStatus.submitted:
        raise Conflict("this assignment was already submitted", field="assignment_id")
    if assignment.status == AssignmentStatus.expired:
        raise LeaseExpired("the lease on this task had already expired", field="assignment_id")
    if assignment.status == AssignmentStatus.leased:
        tx.run("queue.close_lease_skipped", {"assignment": assignment_id, "worker": worker.id, "now": now,
                                             "reason": reason, "note": note})
        tx.run("queue.lease_dropped", {"task": assignment.task_id})
        tx.run("queue.count_skip", {"project": assignment.project_id, "worker": worker.id, "now": now})
        _add_counts(tx, assignment.project_id, worker.id, n_skips=1)
    return {"assignment_id": assignment_id, "status": "skipped", "reason": reason}


def release(tx: Tx, mem: Memory, assignment_id: int, worker: Principal) -> dict:
    """Hand the lease back as if it had never been taken (this worker may get the task again).

    The lease is deleted, so a second release finds nothing: a 404, as a DELETE repeated (the lease is not the
    worker's either way), in words that say so; the same words for an id that was never theirs, so the answer
    tells no one whether another worker holds it. A lease that was submitted, skipped or expired stays: a 409
    naming its state, as a renew of one answers."""
    mem.memos.pop(assignment_id, None)
    try:
        assignment, _ = held_in_project(tx, mem, assignment_id, worker, "work.release")
    except NotFound:
        raise NotFound(f"no lease {assignment_id} of yours to release: a released lease is gone, so releasing it "
                       "again finds nothing", field="assignment_id") from None
    if assignment.status != AssignmentStatus.leased:
        raise Conflict("only a live lease can be released; this one is "
                       f"{AssignmentStatus(assignment.status).name}", field="assignment_id")
    tx.run("queue.delete_lease", {"assignment": assignment_id, "worker": worker.id})
    tx.run("queue.lease_dropped", {"task": assignment.task_id})
    tx.run("queue.uncount_claim", {"project": assignment.project_id, "worker": worker.id})
    mem.hints.pop((assignment.project_id, worker.id), None)  # its claim count moved back
    return {"assignment_id": assignment_id, "status": "released"}


def renew(tx: Tx, mem: Memory, assignment_id: int, worker: Principal) -> Lease:
    """Extend a live lease, or take an expired one back if the task still needs this worker's answer.

    The project row is held (`held_in_project`), so the status asked is the one the renewal commits under: a pause
    racing it waits for it, or comes first and is seen.
    """
    now = time.time()
    # An expired lease is no live one, so a deactivation left it; renewed, it would be live again. The account is
    # held first, in the order a deactivation takes it and the worker's leases (which then waits for this renewal).
    if not tx.scalar("queue.worker_active", {"worker": worker.id}):
        raise _deactivated()
    assignment, project = held_in_project(tx, mem, assignment_id, worker, "work.renew")
    policy.check_status(project, "work.renew")
    _worker_row(tx, project, worker.id, now)
    if assignment.status in (AssignmentStatus.submitted, AssignmentStatus.skipped):
        raise Conflict(f"this assignment was already {AssignmentStatus(assignment.status).name}",
                       field="assignment_id")
    if assignment.status == AssignmentStatus.expired and tx.run("queue.task_relet", {"task": assignment.task_id}) != 1:
        raise LeaseExpired("the lease expired and other workers have taken this task; ask for the next one",
                           field="assignment_id")
    expires = now + project.lease_seconds
    tx.run("queue.extend_lease", {"assignment": assignment_id, "worker": worker.id, "expires": expires})
    payload = tx.one("queue.task_payload", {"task": assignment.task_id})
    return Lease(assignment_id, assignment.task_id, payload.data, payload.predictions, expires, project.task_type)


# ---- a changed answer ---------------------------------------------------------------------------------------------

def answer_to_change(tx: Tx, annotation_id: int, worker: Principal) -> tuple[Any, Any]:
    """(the worker's answer with its task's state and counts, its project's row), NotFound unless it is this
    worker's. Held until the transaction ends: the project row (membership.shared), so its status, labels and edit
    window stay as read until the change commits, then the task (so a settle of the task waits and then sees the
    change), in the order every other write takes them."""
    tx.begin()
    row = tx.one("queue.answer_to_change", {"annotation": annotation_id})
    if row is None or row.worker_id != worker.id:
        raise NotFound(f"no answer {annotation_id} of yours", field="annotation_id")
    project = membership.shared(tx, row.project_id)
    tx.one("queue.lock_task", {"task": row.task_id})
    return tx.one("queue.answer_to_change", {"annotation": annotation_id}), project  # as of the locks


def change_answer(tx: Tx, row: Any, answer: dict, meta: dict | None, now: float) -> None:
    """Replace a worker's answer (read by answer_to_change). A gold answer keeps the score of the answer first given:
    a worker sees their gold accuracy, so a new score would let them mend the answers it shows were wrong."""
    tx.run("queue.change_answer", {"annotation": row.id, "worker": row.worker_id, "answer": answer, "meta": meta,
                                   "now": now})


def restate(tx: Tx, project: Any, task_id: int, outcome: "Outcome") -> None:
    """Store the recomputed consensus of a task whose answer changed; the task keeps its state and counts."""
    tx.run("queue.upsert_result", {"task": task_id, "project": project.id, "answer": outcome.answer,
                                   "confidence": outcome.confidence, "n": outcome.n_annotations,
                                   "method": outcome.method, "details": outcome.details or {}, "now": time.time()})


# ---- settling ---------------------------------------------------------------------------------------------------

def task_answers(tx: Tx, task_id: int) -> list[Any]:
    """A task's counted answers (worker_id, answer, skill, n_gold, gold_score_sum), in the order given."""
    return tx.rows("queue.task_answers", {"task": task_id})


def task_counts(tx: Tx, task_id: int) -> Any:
    """A task's (n_done, needed, state), or None."""
    return tx.one("queue.task_counts", {"task": task_id})


def ready_tasks(tx: Tx, project_id: int) -> list[int]:
    """Open regular tasks of a project that already have every answer they want."""
    return [row.id for row in tx.rows("queue.tasks_ready", {"project": project_id})]


@dataclass(frozen=True, slots=True)
class Outcome:
    """A task's consensus as the settle stores it."""

    answer: dict | None
    confidence: float | None
    n_annotations: int
    details: dict
    method: str = "online"


def settle(tx: Tx, project: Any, task_id: int, outcome: Outcome, *, needed: int, answers: int,
           one_more: bool, shard: int = 0) -> bool:
    """Store a task's consensus: complete the task (and count it), or (adaptive redundancy) want one more answer.

    Guarded by what was read and aggregated (`needed`, and `answers` counted): a settle that raced another
    change of the task changes nothing. True when the task became complete.
    """
    params = {"task": task_id, "project": project.id, "answer": outcome.answer, "confidence": outcome.confidence,
              "n": outcome.n_annotations, "method": outcome.method, "details": outcome.details or {},
              "now": time.time(), "needed": needed, "answers": answers, "shard": shard % N_COUNTER_SHARDS}
    name = "queue.one_more_answer" if one_more else "queue.complete_task"
    if tx.dialect == "postgresql":  # one statement: the change, the counter and the result together
        return tx.scalar(name, params) > 0 and not one_more
    if tx.run(name, params) != 1:
        return False
    tx.run("queue.upsert_result", params)
    if one_more:
        return False
    _add_counts(tx, project.id, shard, n_complete=1)
    return True


def store_results(tx: Tx, project_id: int, results: dict[int, Outcome], skills: dict[int, tuple[float, float | None]],
                  read_at: float) -> None:
    """A project-wide recompute: every task's consensus and every worker's (skill, agreement). A task whose own
    settle wrote a consensus after the recompute began reading (`read_at`) keeps that newer one."""
    now = time.time()
    tx.run_many("queue.upsert_recomputed", [
        {"task": task_id, "project": project_id, "answer": o.answer, "confidence": o.confidence,
         "n": o.n_annotations, "method": o.method, "details": o.details or {}, "now": now, "read_at": read_at}
        for task_id, o in results.items()])
    tx.run_many("queue.set_skill", [{"project": project_id, "worker": worker_id, "skill": skill, "agreement": agreement}
                                    for worker_id, (skill, agreement) in skills.items()])


def block(tx: Tx, project_id: int, worker_id: int) -> list[int]:
    """Stop a worker in a project: their answers leave consensus, the tasks they counted in reopen (without a
    result until settled again) and their live leases go back to the queue. Returns the reopened task ids."""
    tx.begin()  # all of it or nothing, also when the caller runs per statement
    hold_reclaims(tx, project_id)  # it reopens tasks, then expires leases: the sweep's other order
    now = time.time()
    tx.run("queue.new_worker_row", {"project": project_id, "worker": worker_id, "now": now})  # blocked before working
    tx.run("queue.block_worker", {"project": project_id, "worker": worker_id, "now": now})
    task_ids = sorted({row.task_id for row in tx.rows("queue.exclude_answers",
                                                      {"project": project_id, "worker": worker_id})})
    reopened = 0
    for task_id in task_ids:
        reopened += task_counts(tx, task_id).state == TaskState.complete
        tx.run("queue.reopen_task", {"task": task_id})
        tx.run("queue.drop_result", {"task": task_id})
    _add_counts(tx, project_id, worker_id, n_complete=-reopened)
    for row in tx.rows("queue.expire_live_leases", {"project": project_id, "worker": worker_id, "now": now}):
        tx.run("queue.lease_dropped", {"task": row.task_id})
    return task_ids


def is_blocked(tx: Tx, project_id: int, worker_id: int) -> bool:
    """Whether the worker is blocked in the project (a block sent again finds it so and changes nothing)."""
    row = tx.one("queue.worker_row", {"project": project_id, "worker": worker_id})
    return row is not None and bool(row.blocked)


def workers_due_a_block(tx: Tx, project: Any) -> list[Any]:
    """(worker_id, username) of the workers whose gold accuracy is below the project's threshold (above 0) and who
    are not blocked (annotations._blocks_left_over)."""
    return tx.rows("queue.workers_due_a_block", {"project": project.id, "gold_min": project.gold_min,
                                                 "threshold": project.gold_threshold})


def unblock(tx: Tx, project_id: int, worker_id: int) -> bool:
    """Let a blocked worker work in the project again, with a fresh gold record; False if they were not blocked.
    Their answers left out while blocked stay out of consensus."""
    return tx.run("queue.unblock_worker", {"project": project_id, "worker": worker_id, "now": time.time()}) > 0


# ---- a requester's review: more answers, one answer left out ------------------------------------------------------

def lock_task(tx: Tx, task_id: int) -> None:
    """Hold a task for change until the transaction ends (PostgreSQL), so a concurrent settle waits and then sees
    the change."""
    tx.begin()
    tx.one("queue.lock_task", {"task": task_id})


def ask_more(tx: Tx, project_id: int, task: Any) -> None:
    """One more answer wanted for a regular task (read by the caller as locked): it is open until it has it."""
    tx.run("queue.ask_more", {"task": task.id})
    if task.state == TaskState.complete:
        _add_counts(tx, project_id, 0, n_complete=-1)


def recheck(tx: Tx, project_id: int, doubted: list[tuple[int, int, float]], maximum: int) -> list[int]:
    """Complete tasks of an adaptive project that the project consensus doubts, each given as (task id, the counted
    answers that consensus read, the updated_at of the stored consensus it compared), want one more answer: those
    still as read, under `maximum` answers and not reviewed reopen. Returns the reopened ids."""
    reopened = [task_id for task_id, n, stamp in doubted
                if tx.run("queue.recheck_task", {"task": task_id, "n": n, "max": maximum, "stamp": stamp}) == 1]
    _add_counts(tx, project_id, 0, n_complete=-len(reopened))
    return reopened


def complete_reviewed(tx: Tx, project_id: int, task: Any) -> bool:
    """An open regular task (read by the caller as locked) whose consensus the requester overrode is complete: it
    is counted done, asks for no more answers and its live leases go back. False if it was not open."""
    if tx.run("queue.complete_reviewed", {"task": task.id}) != 1:
        return False
    _add_counts(tx, project_id, 0, n_complete=1)
    _drop_leases(tx, tx.rows("queue.expire_task_leases", {"task": task.id, "now": time.time()}))
    return True


def exclude_answer(tx: Tx, project_id: int, annotation_id: int, task: Any) -> bool:
    """One answer leaves its task's consensus: the task counts it no more and is open again (it wants its
    redundancy). False if the answer was already left out."""
    if tx.run("queue.exclude_answer", {"annotation": annotation_id}) != 1:
        return False
    tx.run("queue.reopen_task", {"task": task.id})
    if task.state == TaskState.complete:
        _add_counts(tx, project_id, 0, n_complete=-1)
    return True


def include_answer(tx: Tx, annotation_id: int, task_id: int) -> bool:
    """An excluded answer counts again; False if it was not excluded (the caller, which held the lease sweep off
    before it locked the task, settles the task, then hands back a lease it no longer wants: hand_back_surplus)."""
    if tx.run("queue.include_answer", {"annotation": annotation_id}) != 1:
        return False
    tx.run("queue.count_answer_back", {"task": task_id})
    return True


def drop_result(tx: Tx, task_id: int) -> None:
    """A task without counted answers has no consensus."""
    tx.run("queue.drop_result", {"task": task_id})


# ---- taking work away: deactivation, archiving, deletion ------------------------------------------------------

def _drop_leases(tx: Tx, rows: list[Any]) -> int:
    for row in rows:
        tx.run("queue.lease_dropped", {"task": row.task_id})
    return len(rows)


def _released(tx: Tx, rows: list[Any]) -> int:
    """Leases deleted as if each was released: their tasks lose them, their workers' claim counts too."""
    claims = collections.Counter((row.project_id, row.worker_id) for row in rows)
    tx.run_many("queue.uncount_claims", [{"project": project_id, "worker": worker_id, "n": n}
                                         for (project_id, worker_id), n in sorted(claims.items())])
    return _drop_leases(tx, rows)


def release_worker_leases(tx: Tx, worker_id: int) -> int:
    """Every live lease of a user goes back to the queue (a deactivated user); returns how many."""
    return _released(tx, tx.rows("queue.release_worker_leases", {"worker": worker_id}))


def release_project_leases(tx: Tx, project_id: int) -> int:
    """Every live lease of a project goes back (an archived project); returns how many."""
    return _released(tx, tx.rows("queue.release_project_leases", {"project": project_id}))


def delete_project(tx: Tx, project_id: int) -> None:
    """A project and everything under it: tasks, leases, answers, results, counters, standings, pool."""
    tx.run("queue.delete_project", {"project": project_id})


DELETE_CHUNK = 1_000


def delete_tasks(tx: Tx, project_id: int, task_ids: list[int]) -> int:
    """Delete tasks of a project with their leases, answers and results, and take from the project's counters and
    each worker's standing what they had counted; each is recorded in task_deletions (for incremental pulls);
    returns how many were deleted (ids of other projects, or of no task, are left alone)."""
    deleted, now = 0, time.time()
    for start in range(0, len(task_ids), DELETE_CHUNK):
        chunk = task_ids[start:start + DELETE_CHUNK]
        params = {"project": project_id, "ids": chunk}
        rows = tx.rows("queue.tasks_in", params)
        if not rows:
            continue
        ids = [row.id for row in rows]
        params["ids"] = ids
        tallies = tx.rows("queue.answer_tallies_of_tasks", params)
        tx.run_many("queue.uncount_worker", [
            {"project": project_id, "worker": t.worker_id, "n_annotations": t.n_annotations, "n_gold": t.n_gold,
             "score": float(t.score or 0), "n_skips": t.n_skips, "n_claims": t.n_claims} for t in tallies])
        tx.run("queue.record_deletions", {**params, "now": now})
        tx.run("queue.delete_tasks", params)
        _add_counts(tx, project_id, 0, n_tasks=-len(rows), n_gold_tasks=-sum(bool(r.is_gold) for r in rows),
                    n_complete=-sum(r.state == TaskState.complete for r in rows),
                    n_annotations=-sum(t.n_annotations for t in tallies), n_skips=-sum(t.n_skips for t in tallies))
        deleted += len(rows)
    return deleted


def remove_worker(tx: Tx, project_id: int, worker_id: int) -> tuple[list[int], int]:
    """Take one worker out of a project's work: their answers (and leases and skips) are deleted, the tasks they
    counted in lose their answer (complete ones reopen, without a result until settled again) and the project's
    counters and their standing forget them, all but a block, which stays. Returns (the regular tasks to settle
    again, answers deleted)."""
    params = {"project": project_id, "worker": worker_id}
    counted = tx.rows("queue.worker_counted_tasks", params)
    tallies = tx.one("queue.worker_tallies", params)
    tx.run("queue.uncount_worker_answers", params)
    tx.run("queue.drop_worker_results", params)
    tx.run("queue.worker_leases_dropped", params)
    tx.run("queue.delete_worker_assignments", params)
    tx.run("queue.delete_worker_row", params)
    tx.run("queue.forget_blocked_worker", {**params, "now": time.time()})
    _add_counts(tx, project_id, worker_id, n_complete=-sum(r.state == TaskState.complete for r in counted),
                n_annotations=-int(tallies.n_annotations), n_skips=-int(tallies.n_skips))
    return sorted(r.task_id for r in counted if not r.is_gold), int(tallies.n_annotations)


# ---- restoring a dump -------------------------------------------------------------------------------------------
# A dump restored (labeling/export/dump.py) is the one case where bookkeeping rows arrive whole: tasks with their
# states and counts, leases, answers, workers' standing, results and progress counters, each as it was dumped.

RESTORED = {"tasks": "queue.restore_task", "assignments": "queue.restore_assignment",
            "annotations": "queue.restore_annotation", "project_workers": "queue.restore_worker",
            "task_results": "queue.restore_result"}


def restore_rows(tx: Tx, table: str, rows: list[dict]) -> None:
    """Insert dumped bookkeeping rows of one table as they are (ids included; JSON columns as values, which the Tx
    encodes as it encodes every write's)."""
    tx.run_many(RESTORED[table], rows)


def restore_counters(tx: Tx, project_id: int, totals: dict) -> None:
    """A restored project's progress counters: the dumped totals, in its first shard (there even when all are 0,
    as init_project made it: a project without tasks dumps back the same)."""
    init_project(tx, project_id)
    _add_counts(tx, project_id, 0, **{c: int(totals.get(c, 0)) for c in COUNTERS})
