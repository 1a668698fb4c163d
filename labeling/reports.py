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
    """Store a report on the task of one of this worker's assignments (leased, answered or skipped)."""
    # Who may report, and whether the project takes reports (an archived one does not), are asked of the row held
    # until the report commits, so a pool or status change racing it waits for it or is seen. The assignment is held
    # too, so reports on it take turns and each counts those before it: read unheld, several at once each found
    # room under the cap and all were stored.
    assignment, project = queue.held_in_project(tx, mem, assignment_id, worker, "work.report")
    policy.check_status(project, "work.report")
    if tx.scalar("reports.count_for_assignment", {"assignment": assignment_id}) >= MAX_REPORTS_PER_ASSIGNMENT:
        raise Conflict(f"at most {MAX_REPORTS_PER_ASSIGNMENT} reports per task; the requester has yours",
                       field="assignment_id")
    now = time.time()
    report_id = tx.scalar("reports.insert", {"project": assignment.project_id, "task": assignment.task_id,
                                             "worker": worker.id, "assignment": assignment_id,
                                             "text": text.strip(), "now": now})
    return {"report_id": report_id, "assignment_id": assignment_id, "task_id": assignment.task_id,
            "created_at": now}
