"""The work queue: claim, submit, skip, release and renew leases. The only module with locking SQL.

Invariants (checked by tests/test_queue_concurrency.py on both backends):
- a regular task gets at most `needed` accepted annotations, from distinct workers;
- a worker holds at most one assignment per task, ever (a unique index), so skipped tasks never return;
- `tasks.n_leased` counts status-0 assignments of the task, `tasks.n_done` its accepted annotations;
  every change to either happens in the statement that changes the assignment, in one transaction.
Expired leases are reclaimed by the claim itself (no cron).

SQLite: every call is one job of the single writer (one transaction); a claim is one UPDATE ... RETURNING
on the queue index, then the assignment's INSERT.
PostgreSQL: the API runs claims and submits per statement (Database.transact(per_statement=True)), so each
write is one statement with data-modifying CTEs that is complete and consistent on its own, and carries the
checks that make it safe to send without reading first (see _LEASE_PG and record_annotation). The claim
locks its task FOR NO KEY UPDATE SKIP LOCKED (not FOR UPDATE, which would also block the foreign-key checks
of every annotation and assignment inserted for that task meanwhile) and commits at once. A server process
remembers each worker's last claim (`_hints`) and the leases it handed out (`_memos`); a claim or submit
that can trust them is one round trip, and any failed check falls back to reading.
Functions here are synchronous over a `Tx` and run through `Database.transact` (see labeling/sqltx.py).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from labeling import projects
from labeling.auth import Principal
from labeling.errors import Conflict, LeaseExpired, NotFound, WorkerBlocked
from labeling.models import N_COUNTER_SHARDS
from labeling.sqltx import Query, Tx

LEASED, SUBMITTED, SKIPPED, EXPIRED = 0, 1, 2, 3
_STATUS = {LEASED: "leased", SUBMITTED: "submitted", SKIPPED: "skipped", EXPIRED: "expired"}

# ---- every queue query, named; "name/dialect" overrides "name" ----------------------------------------
# The next task a worker should get: partly done first, then priority, then import order (ix_tasks_queue),
# never one the worker already had. Gold checks have no redundancy cap: every worker may see each one once,
# in a per-worker order.
_CANDIDATE = {
    "regular": """
        SELECT t.id FROM tasks t
        WHERE t.project_id = :project AND t.is_gold = false AND t.state = 0
          AND t.n_done + t.n_leased < t.needed
          AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.worker_id = :worker){guard}
        ORDER BY t.n_done DESC, t.priority DESC, t.id LIMIT 1""",
    "gold": """
        SELECT t.id FROM tasks t
        WHERE t.project_id = :project AND t.is_gold = true AND t.state = 0
          AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.worker_id = :worker){guard}
        ORDER BY (t.id * 7919 + :worker * 104729) % 1000003 LIMIT 1""",
}
# PostgreSQL leases a task in one statement, which is its own transaction. It first checks, in the same
# statement, everything the claim's read established: the project is at the version the claim's rules came
# from, the worker is not blocked, holds no live lease in this project and fewer live leases than the cap,
# and (when the claim did not read: `remembered`) nothing in the project waits to be reclaimed, its own
# leases included (a claim that read swept them just before, as far as it could). If all hold (`ok`), it
# locks the candidate (other claims skip it; a gold check, having no cap, is waited for), counts the worker's
# claim, counts the lease on the task and inserts the assignment. `ok` locks the worker's row in the project first, so claims of one worker take
# turns; the claim counter must still hold the value this claim knew: when a concurrent claim of the same
# worker got there first, it changed, and this one leases nothing (and reads again: it gets that lease).
# Because the checks are in the statement, a server process that remembers a worker's last claim (`_hints`)
# can send this statement alone, without the read; when a check fails it reads and tries again.
_LEASE_PG = """
    WITH ok AS (
        SELECT 1 FROM project_workers pw
        WHERE pw.project_id = :project AND pw.worker_id = :worker AND pw.n_claims = :seen_claims
          AND NOT pw.blocked
          AND EXISTS (SELECT 1 FROM projects p WHERE p.id = :project AND p.updated_at = :version)
          AND NOT EXISTS (SELECT 1 FROM assignments h
                          WHERE h.worker_id = :worker AND h.project_id = :project AND h.status = 0
                            AND (h.expires_at > :now OR CAST(:remembered AS boolean)))
          AND (NOT CAST(:remembered AS boolean) OR NOT EXISTS (
               SELECT 1 FROM assignments e WHERE e.project_id = :project AND e.status = 0 AND e.expires_at <= :now))
          AND (SELECT count(*) FROM assignments l
               WHERE l.worker_id = :worker AND l.status = 0 AND l.expires_at > :now) < :max_leases
        FOR NO KEY UPDATE OF pw),
    candidate AS ({candidate} FOR NO KEY UPDATE OF t{skip}),
    counted AS (
        UPDATE project_workers pw SET n_claims = pw.n_claims + 1 FROM candidate
        WHERE pw.project_id = :project AND pw.worker_id = :worker AND pw.n_claims = :seen_claims
          AND NOT pw.blocked
        RETURNING pw.worker_id),
    claimed AS (
        UPDATE tasks t SET n_leased = t.n_leased + 1 FROM candidate, counted WHERE t.id = candidate.id
        RETURNING t.id, t.data, t.predictions, t.gold),
    lease AS (
        INSERT INTO assignments (project_id, task_id, worker_id, status, is_gold, created_at, expires_at)
        SELECT CAST(:project AS bigint), claimed.id, CAST(:worker AS bigint), 0, CAST(:is_gold AS boolean),
               CAST(:now AS double precision), CAST(:expires AS double precision)
        FROM claimed RETURNING id)
    SELECT (SELECT count(*) FROM ok) AS ok, c.found, lease.id AS assignment_id, claimed.id, claimed.data,
           claimed.predictions, claimed.gold
    FROM (SELECT count(*) AS found FROM candidate) c LEFT JOIN claimed ON true LEFT JOIN lease ON true"""
_GUARD_PG = "\n          AND EXISTS (SELECT 1 FROM ok)"
_ASSIGNMENT = """
    SELECT a.id, a.project_id, a.task_id, a.worker_id, a.status, a.is_gold, a.expires_at, pw.blocked,
           p.updated_at AS version, t.id AS task_found, t.data, t.gold
    FROM assignments a JOIN projects p ON p.id = a.project_id
    LEFT JOIN project_workers pw ON pw.project_id = a.project_id AND pw.worker_id = a.worker_id
    LEFT JOIN tasks t ON t.id = a.task_id
    WHERE a.id = :assignment"""
_SQL: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {  # name: (sql, json columns, json params)
    "project": ("SELECT * FROM projects WHERE id = :project", ("labels", "options"), ()),
    "project_version": ("SELECT updated_at FROM projects WHERE id = :project", (), ()),
    # What a claim needs to know, in one read: the project's version, the worker's standing (NULLs before
    # the worker's first claim here), every live lease of the worker in any project (a handful at most: the
    # one in this project is handed back, their number is checked against the cap), and the project's
    # earliest lease expiry, so the expired-lease sweep runs only when something can have expired.
    "claim_state": ("""
        SELECT p.updated_at AS version,
               (SELECT min(e.expires_at) FROM assignments e WHERE e.project_id = :project AND e.status = 0)
                   AS next_expiry,
               pw.n_claims, pw.blocked, a.id AS lease_id, a.project_id AS lease_project, a.task_id AS lease_task,
               a.expires_at AS lease_expires
        FROM projects p
        LEFT JOIN project_workers pw ON pw.project_id = p.id AND pw.worker_id = :worker
        LEFT JOIN assignments a ON a.worker_id = :worker AND a.status = 0 AND a.expires_at > :now
        WHERE p.id = :project ORDER BY a.id""", (), ()),
    # SQLite: the writer holds the database lock, so plain UPDATE ... RETURNING statements are atomic.
    "reclaim_expired/sqlite": ("""
        UPDATE assignments SET status = 3, finished_at = :now
        WHERE project_id = :project AND status = 0 AND expires_at <= :now RETURNING task_id""", (), ()),
    "lease_dropped": ("UPDATE tasks SET n_leased = n_leased - 1 WHERE id = :task", (), ()),
    # PostgreSQL: one reclaimer at a time per project (the others skip the step); rows it cannot lock are skipped.
    "reclaim_expired/postgresql": ("""
        WITH expired AS (
            SELECT id FROM assignments
            WHERE project_id = :project AND status = 0 AND expires_at <= :now
              AND pg_try_advisory_xact_lock(7461, CAST(:project % 2147483647 AS integer))
            ORDER BY task_id FOR NO KEY UPDATE SKIP LOCKED
        ), marked AS (
            UPDATE assignments a SET status = 3, finished_at = :now FROM expired
            WHERE a.id = expired.id AND a.status = 0 RETURNING a.task_id
        ), per_task AS (SELECT task_id, count(*) AS n FROM marked GROUP BY task_id)
        UPDATE tasks t SET n_leased = t.n_leased - per_task.n FROM per_task WHERE t.id = per_task.task_id
        RETURNING t.id AS task_id""", (), ()),
    "claim_regular/sqlite": ("UPDATE tasks SET n_leased = n_leased + 1 WHERE id = ("
                             + _CANDIDATE["regular"].format(guard="") + ") RETURNING id, data, predictions",
                             ("data", "predictions"), ()),
    "claim_gold/sqlite": ("UPDATE tasks SET n_leased = n_leased + 1 WHERE id = ("
                          + _CANDIDATE["gold"].format(guard="") + ") RETURNING id, data, predictions",
                          ("data", "predictions"), ()),
    "lease_regular/postgresql": (_LEASE_PG.format(candidate=_CANDIDATE["regular"].format(guard=_GUARD_PG),
                                                  skip=" SKIP LOCKED"), ("data", "predictions", "gold"), ()),
    "lease_gold/postgresql": (_LEASE_PG.format(candidate=_CANDIDATE["gold"].format(guard=_GUARD_PG), skip=""),
                              ("data", "predictions", "gold"), ()),
    "insert_lease": ("""
        INSERT INTO assignments (project_id, task_id, worker_id, status, is_gold, created_at, expires_at)
        VALUES (:project, :task, :worker, 0, :is_gold, :now, :expires) RETURNING id""", (), ()),
    "task_payload": ("SELECT id, data, predictions FROM tasks WHERE id = :task", ("data", "predictions"), ()),
    # A read in the common case; the row is made on a worker's first claim in the project.
    "worker_row": ("""
        SELECT n_claims, n_gold, gold_score_sum, blocked, skill FROM project_workers
        WHERE project_id = :project AND worker_id = :worker""", (), ()),
    "new_worker_row": ("""
        INSERT INTO project_workers (project_id, worker_id, n_claims, n_annotations, n_skips, n_gold,
                                     gold_score_sum, blocked, updated_at)
        VALUES (:project, :worker, 0, 0, 0, 0, 0, false, :now)
        ON CONFLICT (project_id, worker_id) DO UPDATE SET updated_at = excluded.updated_at
        RETURNING n_claims, n_gold, gold_score_sum, blocked, skill""", (), ()),
    "count_claim": ("UPDATE project_workers SET n_claims = n_claims + 1 WHERE project_id = :project AND worker_id = :worker",
                    (), ()),
    # The assignment with everything a submit, skip, release or renew reads: its project's version, the
    # worker's standing and the task's data and gold answer. Locked for change on PostgreSQL.
    "assignment": (_ASSIGNMENT, ("data", "gold"), ()),
    "locked_assignment/postgresql": (_ASSIGNMENT + " FOR NO KEY UPDATE OF a", ("data", "gold"), ()),
    # State changes are refused in SQL unless the lease is still the worker's (and, to submit, still live).
    "close_lease_submitted": ("""
        UPDATE assignments SET status = 1, finished_at = :now
        WHERE id = :assignment AND worker_id = :worker AND status = 0 AND expires_at > :now""", (), ()),
    "close_lease_skipped": ("""
        UPDATE assignments SET status = 2, finished_at = :now
        WHERE id = :assignment AND worker_id = :worker AND status = 0""", (), ()),
    "delete_lease": ("DELETE FROM assignments WHERE id = :assignment AND worker_id = :worker AND status = 0", (), ()),
    "extend_lease": ("""
        UPDATE assignments SET status = 0, expires_at = :expires, finished_at = NULL
        WHERE id = :assignment AND worker_id = :worker AND status IN (0, 3)""", (), ()),
    "task_lease_done": ("""
        UPDATE tasks SET n_leased = n_leased - 1, n_done = n_done + :counted WHERE id = :task
        RETURNING n_done, needed, state""", (), ()),
    "task_relet": ("""
        UPDATE tasks SET n_leased = n_leased + 1
        WHERE id = :task AND state = 0 AND (is_gold = true OR n_done + n_leased < needed)""", (), ()),
    "insert_annotation": ("""
        INSERT INTO annotations (project_id, task_id, worker_id, assignment_id, answer, is_gold, gold_score,
                                 excluded, idempotency_key, duration_ms, created_at)
        VALUES (:project, :task, :worker, :assignment, :answer, :is_gold, :gold_score, :excluded, :key,
                :duration, :now) RETURNING id""", (), ("answer",)),
    # PostgreSQL stores a submit in one statement: close the lease (only if it is still this worker's live
    # lease on that task, and the project is at the version the answer was checked against), insert the
    # annotation (left out of consensus if the worker is blocked), and count it for the worker, the project
    # and the task. The task row, the one other workers' statements wait for, is locked last.
    "record_annotation/postgresql": ("""
        WITH closed AS (
            UPDATE assignments SET status = 1, finished_at = :now
            WHERE id = :assignment AND worker_id = :worker AND task_id = :task AND project_id = :project
              AND status = 0 AND expires_at > :now
              AND EXISTS (SELECT 1 FROM projects p WHERE p.id = :project AND p.updated_at = :version)
            RETURNING id),
        ann AS (
            INSERT INTO annotations (project_id, task_id, worker_id, assignment_id, answer, is_gold, gold_score,
                                     excluded, idempotency_key, duration_ms, created_at)
            SELECT CAST(:project AS bigint), CAST(:task AS bigint), CAST(:worker AS bigint), closed.id,
                   CAST(:answer AS jsonb), CAST(:is_gold AS boolean), CAST(:gold_score AS double precision),
                   COALESCE((SELECT pw.blocked FROM project_workers pw
                             WHERE pw.project_id = :project AND pw.worker_id = :worker), false),
                   CAST(:key AS varchar), CAST(:duration AS integer), CAST(:now AS double precision)
            FROM closed RETURNING id, excluded),
        standing AS (
            UPDATE project_workers SET n_annotations = n_annotations + 1, n_gold = n_gold + :gold,
                   gold_score_sum = gold_score_sum + :score, updated_at = :now
            WHERE project_id = :project AND worker_id = :worker AND EXISTS (SELECT 1 FROM ann)
            RETURNING n_gold, gold_score_sum, blocked),
        progress AS (
            INSERT INTO project_counters (project_id, shard, n_tasks, n_gold_tasks, n_complete, n_annotations, n_skips)
            SELECT CAST(:project AS bigint), CAST(:shard AS integer), 0, 0, 0, 1, 0 FROM ann
            ON CONFLICT (project_id, shard) DO UPDATE SET n_annotations = project_counters.n_annotations + 1),
        task AS (
            UPDATE tasks SET n_leased = n_leased - 1,
                   n_done = n_done + (SELECT CASE WHEN ann.excluded THEN 0 ELSE 1 END FROM ann)
            WHERE id = :task AND EXISTS (SELECT 1 FROM ann) RETURNING n_done, needed, state)
        SELECT ann.id AS annotation_id, NOT ann.excluded AS counted, task.n_done, task.needed, task.state,
               standing.n_gold, standing.gold_score_sum, standing.blocked
        FROM ann, task, standing""", (), ("answer",)),
    "annotation_for_assignment": ("""
        SELECT id, task_id, assignment_id, idempotency_key, created_at FROM annotations
        WHERE assignment_id = :assignment""", (), ()),
    "count_annotation": ("""
        UPDATE project_workers SET n_annotations = n_annotations + 1, n_gold = n_gold + :gold,
               gold_score_sum = gold_score_sum + :score, updated_at = :now
        WHERE project_id = :project AND worker_id = :worker
        RETURNING n_gold, gold_score_sum, blocked""", (), ()),
    "count_skip": ("""
        UPDATE project_workers SET n_skips = n_skips + 1, updated_at = :now
        WHERE project_id = :project AND worker_id = :worker""", (), ()),
    "add_counts": ("""
        INSERT INTO project_counters (project_id, shard, n_tasks, n_gold_tasks, n_complete, n_annotations, n_skips)
        VALUES (:project, :shard, :n_tasks, :n_gold_tasks, :n_complete, :n_annotations, :n_skips)
        ON CONFLICT (project_id, shard) DO UPDATE SET
            n_tasks = project_counters.n_tasks + excluded.n_tasks,
            n_gold_tasks = project_counters.n_gold_tasks + excluded.n_gold_tasks,
            n_complete = project_counters.n_complete + excluded.n_complete,
            n_annotations = project_counters.n_annotations + excluded.n_annotations,
            n_skips = project_counters.n_skips + excluded.n_skips""", (), ()),
}
_QUERIES: dict[str, Query] = {name: Query.make(name, *spec) for name, spec in _SQL.items()}


def q(name: str, dialect: str) -> Query:
    """The named query for this dialect (a dialect-specific version wins over the shared one)."""
    specific = _QUERIES.get(f"{name}/{dialect}")
    return specific if specific is not None else _QUERIES[name]


def add_counts(tx: Tx, project_id: int, shard: int, **deltas: int) -> None:
    """Add to a project's progress counters in this transaction (the shard spreads concurrent writers)."""
    if any(deltas.values()):
        params = {c: deltas.get(c, 0) for c in projects.COUNTERS}
        tx.run(q("add_counts", tx.dialect), {**params, "project": project_id, "shard": shard % N_COUNTER_SHARDS})


_project_cache: dict[tuple[int, float], Any] = {}


def project_at(tx: Tx, project_id: int, version: float) -> Any:
    """The project row as of `version` (its updated_at), from a per-process cache or the database."""
    row = _project_cache.get((project_id, version))
    if row is None:
        row = tx.one(q("project", tx.dialect), {"project": project_id})
        if row is None:
            raise NotFound(f"no project {project_id}", field="project_id")
        if len(_project_cache) > 1000:
            _project_cache.clear()
        _project_cache[(project_id, row.updated_at)] = row
    return row


def load_project(tx: Tx, project_id: int) -> Any:
    """The project row, or NotFound. Rows are cached by (id, updated_at): one tiny query checks the version."""
    version = tx.scalar(q("project_version", tx.dialect), {"project": project_id})
    if version is None:
        raise NotFound(f"no project {project_id}", field="project_id")
    return project_at(tx, project_id, version)


@dataclass(frozen=True)
class Lease:
    """What /next hands a worker."""

    assignment_id: int
    task_id: int
    data: dict
    predictions: dict | None
    expires_at: float

    def public(self) -> dict:
        """The API shape: gold or not is never revealed."""
        task: dict = {"id": self.task_id, "data": self.data}
        if self.predictions is not None:
            task["predictions"] = self.predictions
        return {"assignment_id": self.assignment_id, "task": task, "expires_at": projects.iso(self.expires_at),
                "expires_in": max(0.0, round(self.expires_at - time.time(), 3))}


def _check_standing(standing: Any) -> Any:
    if standing.blocked:
        raise WorkerBlocked("your gold-task accuracy in this project is below its threshold, so it gives you "
                            "no more tasks", field="project_id")
    return standing


def _worker_row(tx: Tx, project_id: int, worker_id: int, now: float) -> Any:
    params = {"project": project_id, "worker": worker_id, "now": now}
    return _check_standing(tx.one(q("worker_row", tx.dialect), params)
                           or tx.one(q("new_worker_row", tx.dialect), params))


def reclaim_expired(tx: Tx, project_id: int, now: float) -> int:
    """Mark this project's expired leases and give their slots back; returns how many were reclaimed."""
    rows = tx.rows(q("reclaim_expired", tx.dialect), {"project": project_id, "now": now})
    if tx.dialect == "sqlite":
        for row in rows:
            tx.run(q("lease_dropped", tx.dialect), {"task": row.task_id})
    return len(rows)


def _wants_gold(project: Any, claims_so_far: int, rng: random.Random) -> bool:
    if claims_so_far < project.gold_first_n:
        return True
    return project.gold_fraction > 0 and rng.random() < project.gold_fraction


CLAIM_ATTEMPTS = 3
HINT_LIMIT = 100_000  # remembered workers per process (a few numbers each)
MEMO_LIMIT = 10_000  # remembered leases per process (each holds its task's data); past it, start afresh


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
    status: int = LEASED
    blocked: bool = False


_hints: dict[tuple[int, int], _Hint] = {}
_memos: dict[int, Memo] = {}


def _remember(store: dict, limit: int, key: Any, value: Any) -> None:
    if len(store) >= limit:
        store.clear()
    store[key] = value


def take_memo(tx: Tx, assignment_id: int, worker: Principal) -> Memo | None:
    """The lease this process handed out under that id to this worker, forgotten as it is taken."""
    memo = _memos.pop(assignment_id, None) if tx.dialect == "postgresql" else None
    return memo if memo is not None and memo.worker_id == worker.id else None


def claim_next(tx: Tx, project_id: int, worker: Principal, max_leases: int, now: float | None = None,
               rng: random.Random | None = None) -> Lease | None:
    """Hand this worker a lease on the next task it should do in the project, or None when there is nothing.

    On PostgreSQL (run per statement) a claim is one leasing statement when this process remembers the
    worker's last claim in the project, else a read and that statement (plus the rare project reload,
    first-claim worker row and expired-lease sweep). A claim whose checks fail (a concurrent claim of the
    same worker, a lease to hand back, a lease to reclaim, a changed project) reads and starts over.
    """
    now = time.time() if now is None else now
    rng = rng or random
    if tx.dialect == "postgresql":
        hint = _hints.get((project_id, worker.id))
        if hint is not None:
            project = _project_cache.get((project_id, hint.version))
            if project is not None:
                found, lease = _lease_for(tx, project, worker, hint.n_claims, hint.version, max_leases, now, rng,
                                          remembered=True)
                if found is not None:
                    return lease
    for _ in range(CLAIM_ATTEMPTS):
        found, lease = _claim_once(tx, project_id, worker, max_leases, now, rng)
        if found is not None:
            return lease
    raise Conflict("the queue changed while this claim was being made; ask again", field="project_id")


def _handed_back(tx: Tx, held: Any) -> Lease:
    """A live lease the worker already holds (a claim_state row), with its task."""
    payload = tx.one(q("task_payload", tx.dialect), {"task": held.lease_task})
    return Lease(held.lease_id, held.lease_task, payload.data, payload.predictions, held.lease_expires)


def _claim_once(tx: Tx, project_id: int, worker: Principal, max_leases: int, now: float,
                rng: Any) -> tuple[bool | None, Lease | None]:
    dialect = tx.dialect
    params = {"project": project_id, "worker": worker.id, "now": now}
    rows = tx.rows(q("claim_state", dialect), params)
    if not rows:
        raise NotFound(f"no project {project_id}", field="project_id")
    state = rows[0]
    project = project_at(tx, project_id, state.version)
    standing = _check_standing(state if state.n_claims is not None else tx.one(q("new_worker_row", dialect), params))
    live = [row for row in rows if row.lease_id is not None]
    held = next((row for row in live if row.lease_project == project_id), None)
    if held is not None:
        return True, _handed_back(tx, held)
    if len(live) >= max_leases:
        raise Conflict(f"you hold {len(live)} live leases, the most allowed; submit, skip or release one first",
                       field="assignment_id")
    if state.next_expiry is not None and state.next_expiry <= now:
        reclaim_expired(tx, project_id, now)
    return _lease_for(tx, project, worker, standing.n_claims, project.updated_at, max_leases, now, rng,
                      remembered=False)


def _lease_for(tx: Tx, project: Any, worker: Principal, n_claims: int, version: float, max_leases: int,
               now: float, rng: Any, *, remembered: bool) -> tuple[bool | None, Lease | None]:
    """Lease the worker's next task: (True, lease), (False, None) when there is none, or (None, None) when
    the statement's checks failed (PostgreSQL: the claim must read its state again)."""
    expires = now + project.lease_seconds
    params = {"project": project.id, "worker": worker.id, "now": now, "expires": expires, "seen_claims": n_claims,
              "version": version, "max_leases": max_leases, "remembered": remembered}
    kinds = ["regular"]
    if (project.gold_first_n or project.gold_fraction) and _wants_gold(project, n_claims, rng):
        kinds.insert(0, "gold")
    for kind in kinds:
        is_gold = kind == "gold"
        if tx.dialect == "postgresql":
            row = tx.one(q(f"lease_{kind}", tx.dialect), {**params, "is_gold": is_gold})
            # A check failed, or a task was there but a concurrent claim of this worker counted first.
            if not row.ok or (row.assignment_id is None and row.found):
                _hints.pop((project.id, worker.id), None)
                return None, None
            if row.assignment_id is None:
                _remember(_hints, HINT_LIMIT, (project.id, worker.id), _Hint(n_claims, version))
                continue
            _remember(_hints, HINT_LIMIT, (project.id, worker.id), _Hint(n_claims + 1, version))
            _remember(_memos, MEMO_LIMIT, row.assignment_id, Memo(row.assignment_id, project.id, row.id, worker.id,
                                                                  is_gold, expires, version, row.data, row.gold))
            return True, Lease(row.assignment_id, row.id, row.data, row.predictions, expires)
        row = tx.one(q(f"claim_{kind}", tx.dialect), params)
        if row is None:
            continue
        assignment_id = tx.scalar(q("insert_lease", tx.dialect), {**params, "task": row.id, "is_gold": is_gold})
        tx.run(q("count_claim", tx.dialect), params)
        return True, Lease(assignment_id, row.id, row.data, row.predictions, expires)
    return False, None


def load_assignment(tx: Tx, assignment_id: int, worker: Principal, lock: bool = True) -> Any:
    """The assignment row (with its task and project version); NotFound unless it is this worker's.

    `lock` holds the row for change until the transaction ends (PostgreSQL); a submit reads without it,
    because the statement that records the answer checks the lease again as it closes it.
    """
    locked = lock and tx.dialect == "postgresql"  # SQLite's single writer already excludes every other change
    row = tx.one(q("locked_assignment" if locked else "assignment", tx.dialect), {"assignment": assignment_id})
    if row is None or row.worker_id != worker.id:
        raise NotFound(f"no assignment {assignment_id} of yours", field="assignment_id")
    return row


@dataclass(frozen=True)
class Submitted:
    """What a submit stored (or, for a retried submit, what the first one stored)."""

    annotation_id: int
    assignment_id: int
    task_id: int
    created_at: float
    replayed: bool = False
    task_complete: bool = False

    def public(self) -> dict:
        """The API shape of a submit's result."""
        return {"annotation_id": self.annotation_id, "assignment_id": self.assignment_id, "task_id": self.task_id,
                "created_at": projects.iso(self.created_at), "task_complete": self.task_complete}


def replay_submit(tx: Tx, assignment: Any, key: str | None) -> Submitted:
    """A retried submit with the same Idempotency-Key gets the first result; anything else is a conflict."""
    ann = tx.one(q("annotation_for_assignment", tx.dialect), {"assignment": assignment.id})
    if ann is not None and key is not None and ann.idempotency_key == key:
        return Submitted(ann.id, ann.assignment_id, ann.task_id, ann.created_at, replayed=True)
    raise Conflict("this assignment was already submitted", field="assignment_id")


def check_live(assignment: Any, now: float) -> None:
    """Refuse to submit to a lease that is not live: an expired lease answers LeaseExpired and stores nothing."""
    if assignment.status == SKIPPED:
        raise Conflict("this assignment was skipped; ask for the next task", field="assignment_id")
    if assignment.status == EXPIRED or assignment.expires_at <= now:
        raise LeaseExpired("the lease on this task expired before the answer arrived; renew it or ask for the "
                           "next task", field="assignment_id")


def record_annotation(tx: Tx, assignment: Any, worker: Principal, answer: dict, *, gold_score: float | None,
                      key: str | None, duration_ms: int | None, now: float) -> tuple[int, bool, Any, Any] | None:
    """Close the lease, store the annotation and count it for the task, the worker and the project.

    Returns (annotation id, counted in consensus, task counters, worker standing), or None (nothing stored)
    when the lease is no longer this worker's live lease or the project changed since `assignment.version`.
    One statement on PostgreSQL.
    """
    dialect = tx.dialect
    counted = not assignment.blocked
    params = {"project": assignment.project_id, "task": assignment.task_id, "worker": worker.id,
              "assignment": assignment.id, "answer": answer, "is_gold": bool(assignment.is_gold),
              "gold_score": gold_score, "excluded": not counted, "key": key, "duration": duration_ms, "now": now,
              "counted": 1 if counted else 0, "gold": 1 if gold_score is not None else 0, "score": gold_score or 0.0,
              "shard": worker.id % N_COUNTER_SHARDS, "version": assignment.version}
    if dialect == "postgresql":
        row = tx.one(q("record_annotation", dialect), params)
        return None if row is None else (row.annotation_id, row.counted, row, row)
    if tx.run(q("close_lease_submitted", dialect), params) != 1:
        return None
    annotation_id = tx.scalar(q("insert_annotation", dialect), params)
    task = tx.one(q("task_lease_done", dialect), params)
    standing = tx.one(q("count_annotation", dialect), params)
    add_counts(tx, assignment.project_id, worker.id, n_annotations=1)
    return annotation_id, counted, task, standing


def skip(tx: Tx, assignment_id: int, worker: Principal) -> dict:
    """Give the task back; this worker will not be offered it again. Skipping twice is harmless."""
    now = time.time()
    _memos.pop(assignment_id, None)
    assignment = load_assignment(tx, assignment_id, worker)
    if assignment.status == SUBMITTED:
        raise Conflict("this assignment was already submitted", field="assignment_id")
    if assignment.status == EXPIRED:
        raise LeaseExpired("the lease on this task had already expired", field="assignment_id")
    if assignment.status == LEASED:
        dialect = tx.dialect
        tx.run(q("close_lease_skipped", dialect), {"assignment": assignment_id, "worker": worker.id, "now": now})
        tx.run(q("lease_dropped", dialect), {"task": assignment.task_id})
        tx.run(q("count_skip", dialect), {"project": assignment.project_id, "worker": worker.id, "now": now})
        add_counts(tx, assignment.project_id, worker.id, n_skips=1)
    return {"assignment_id": assignment_id, "status": "skipped"}


def release(tx: Tx, assignment_id: int, worker: Principal) -> dict:
    """Hand the lease back as if it had never been taken (this worker may get the task again)."""
    _memos.pop(assignment_id, None)
    assignment = load_assignment(tx, assignment_id, worker)
    if assignment.status != LEASED:
        raise Conflict(f"only a live lease can be released; this one is {_STATUS[assignment.status]}",
                       field="assignment_id")
    tx.run(q("delete_lease", tx.dialect), {"assignment": assignment_id, "worker": worker.id})
    tx.run(q("lease_dropped", tx.dialect), {"task": assignment.task_id})
    return {"assignment_id": assignment_id, "status": "released"}


def renew(tx: Tx, assignment_id: int, worker: Principal) -> Lease:
    """Extend a live lease, or take an expired one back if the task still needs this worker's answer."""
    now = time.time()
    dialect = tx.dialect
    assignment = load_assignment(tx, assignment_id, worker)
    project = project_at(tx, assignment.project_id, assignment.version)
    _worker_row(tx, assignment.project_id, worker.id, now)
    if assignment.status in (SUBMITTED, SKIPPED):
        raise Conflict(f"this assignment was already {_STATUS[assignment.status]}", field="assignment_id")
    if assignment.status == EXPIRED and tx.run(q("task_relet", dialect), {"task": assignment.task_id}) != 1:
        raise LeaseExpired("the lease expired and other workers have taken this task; ask for the next one",
                           field="assignment_id")
    expires = now + project.lease_seconds
    tx.run(q("extend_lease", dialect), {"assignment": assignment_id, "worker": worker.id, "expires": expires})
    payload = tx.one(q("task_payload", dialect), {"task": assignment.task_id})
    return Lease(assignment_id, assignment.task_id, payload.data, payload.predictions, expires)
