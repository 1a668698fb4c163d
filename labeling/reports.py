"""Problem reports: a worker's words about a task ("the image is broken"), kept for the requester. A report is
never an answer and changes no bookkeeping of the queue."""

from __future__ import annotations

import time

from labeling import policy, queue
from labeling.auth import Principal
from labeling.errors import Conflict
from labeling.sqltx import Tx

MAX_REPORTS_PER_ASSIGNMENT = 5


def report(tx: Tx, mem: queue.Memory, assignment_id: int, worker: Principal, text: str) -> dict:
    """Store a report on the task of one of this worker's assignments (leased, answered or skipped); the same text
    on the same assignment again is that report (`replayed`), not a second one."""
    # Who may report, and whether the project takes reports (an archived one does not), are asked of the row held
    # until the report commits, so a pool or status change racing it waits for it or is seen. The assignment is held
    # too, so reports on it take turns and each counts those before it: read unheld, several at once each found
    # room under the cap and all were stored.
    assignment, project = queue.held_in_project(tx, mem, assignment_id, worker, "work.report")
    policy.check_status(project, "work.report")
    text = text.strip()
    same = tx.one("reports.same_text", {"assignment": assignment_id, "text": text})
    if same is not None:  # sent again (a retry after a timeout): the report stored, not a second one
        return {"report_id": same.id, "assignment_id": assignment_id, "task_id": same.task_id,
                "created_at": same.created_at, "replayed": True}
    if tx.scalar("reports.count_for_assignment", {"assignment": assignment_id}) >= MAX_REPORTS_PER_ASSIGNMENT:
        raise Conflict(f"at most {MAX_REPORTS_PER_ASSIGNMENT} reports per task; the requester has yours",
                       field="assignment_id")
    now = time.time()
    report_id = tx.scalar("reports.insert", {"project": assignment.project_id, "task": assignment.task_id,
                                             "worker": worker.id, "assignment": assignment_id,
                                             "text": text, "now": now})
    return {"report_id": report_id, "assignment_id": assignment_id, "task_id": assignment.task_id,
            "created_at": now, "replayed": False}
