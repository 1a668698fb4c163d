"""A project's workers, as its requester manages them: block, unblock, and remove one worker's answers (a person
leaving). Each is one transaction, audited; the bookkeeping is queue.py's, consensus is settled again through
labeling/annotations.py (block) or recomputed for the project by the route (removal)."""

from __future__ import annotations

from typing import Any

from labeling import annotations, audit, membership, queue
from labeling.auth import Principal
from labeling.errors import InvalidInput, NotFound
from labeling.models import Role
from labeling.sqltx import Tx


def _worker(tx: Tx, project_id: int, worker_id: int) -> Any:
    """The account a route names as a project's worker: a worker, or anyone with a standing in the project (its
    owner or an admin who labeled it). Another account (a requester, an admin) is not the requester's to find: it
    gets the words a missing one gets, and is never blocked nor named in the audit log."""
    row = tx.one("auth.user", {"user": worker_id})
    if row is None or (row.role != Role.worker.value
                       and tx.one("people.standing", {"project": project_id, "worker": worker_id}) is None):
        raise NotFound(f"no worker {worker_id}", field="worker_id")
    return row


def block(tx: Tx, mem: queue.Memory, actor: Principal, project_id: int, worker_id: int) -> dict:
    """Stop a worker in a project: their answers leave consensus, the tasks they counted in settle again. A worker
    already blocked stays so: the same 200, nothing done again nor recorded twice (as an unblock of a worker not
    blocked)."""
    project = queue.project_at(tx, mem, project_id, membership.locked(tx, project_id, "worker.block").updated_at)
    worker = _worker(tx, project_id, worker_id)
    if queue.is_blocked(tx, project_id, worker_id):
        return {"worker_id": worker_id, "blocked": True, "tasks_reopened": 0}
    reopened = annotations.block_worker(tx, project, worker_id)
    audit.record(tx, actor, "worker.block", project=project, details={
        "worker_id": worker_id, "username": worker.username, "tasks_reopened": reopened})
    return {"worker_id": worker_id, "blocked": True, "tasks_reopened": reopened}


def unblock(tx: Tx, actor: Principal, project_id: int, worker_id: int) -> dict:
    """Let a blocked worker work in the project again (their gold record starts afresh). A worker who is not
    blocked is already where the call leads: the same 200, as a second block is (a retried unblock was a 409),
    with nothing changed or recorded (a gold record is not wiped by an unblock of nobody blocked)."""
    project = membership.locked(tx, project_id, "worker.unblock")
    worker = _worker(tx, project_id, worker_id)
    if queue.unblock(tx, project_id, worker_id):
        audit.record(tx, actor, "worker.unblock", project=project, details={"worker_id": worker_id,
                                                                             "username": worker.username})
    return {"worker_id": worker_id, "blocked": False}


def remove_answers(tx: Tx, mem: queue.Memory, actor: Principal, project_id: int, worker_id: int,
                   confirm: bool) -> dict:
    """Delete everything one worker did in a project (answers, leases, skips, standing); the tasks their answers
    counted in lose them (complete ones reopen). The caller then recomputes the project's consensus and skills."""
    if confirm is not True:
        raise InvalidInput("confirm must be true: the worker's answers are deleted for good", field="confirm")
    project = membership.locked(tx, project_id, "worker.answers.delete")
    worker = _worker(tx, project_id, worker_id)
    reopened, deleted = queue.remove_worker(tx, project_id, worker_id)
    audit.record(tx, actor, "worker.answers_delete", project=project, details={
        "worker_id": worker_id, "username": worker.username, "answers_deleted": deleted,
        "tasks_reopened": len(reopened)})
    return {"worker_id": worker_id, "answers_deleted": deleted, "tasks_reopened": len(reopened)}
