"""Deleting a project, or some of its tasks: all or nothing in one transaction, audited, confirmed by the caller.

A deleted project takes everything under it (tasks, leases, answers, results, standings, its pool); the uploaded
images no other project shows are removed from disk once the deletion has committed (`media.remove_unused`).
Deleted tasks take their leases, answers and results, and the counters forget them (queue.delete_tasks).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from labeling import audit, media, membership, queue, tasks
from labeling.auth import Principal
from labeling.errors import InvalidInput
from labeling.sqltx import Tx


@dataclass(frozen=True)
class Deleted:
    """A deleted project: its name, owner, what it took (its task and answer counts, read in the deletion's
    transaction) and the media files no other project of its owner showed (to remove after the commit, unless
    another owner's project shows them)."""

    name: str
    owner_id: int
    sizes: dict
    unused: list[str]


def _as_typed(name: str) -> str:
    """A name as a person reads it off the page and types it back: a page shows a run of white space (a line break,
    a no-break space) as one space, and a keyboard types composed letters (NFC: é, not e and a combining accent)."""
    return " ".join(unicodedata.normalize("NFC", name).split())


def delete_project(tx: Tx, actor: Principal, project_id: int, confirm: str | None) -> Deleted:
    """Delete a project whose name the caller repeats in `confirm`, with everything under it as it is once the row
    is locked (an import racing the deletion has committed, or waits and then finds no project)."""
    row = membership.locked(tx, project_id)
    if confirm is None or _as_typed(confirm) != _as_typed(row.name):
        raise InvalidInput(f"confirm must be the project's name, {row.name!r}, to delete it and everything under it",
                           field="confirm")
    counts = tx.one("deletion.sizes", {"project": project_id})
    sizes = {"tasks": int(counts.tasks), "annotations": int(counts.annotations)}
    unused = media.only_in_project(tx, project_id, row.owner_id)
    queue.delete_project(tx, project_id)
    audit.record(tx, actor, "project.delete", project=row, details={"name": row.name, **sizes})
    return Deleted(row.name, row.owner_id, sizes, unused)


def delete_tasks(tx: Tx, actor: Principal, project_id: int, task_ids: list[int], external_ids: list[str],
                 confirm: bool) -> int:
    """Delete tasks of a project (by id or external id) with their answers and results; returns how many."""
    if confirm is not True:
        raise InvalidInput("confirm must be true: deleted tasks take their answers and results with them",
                           field="confirm")
    if not task_ids and not external_ids:
        raise InvalidInput("name the tasks to delete in task_ids or external_ids", field="task_ids")
    row = membership.locked(tx, project_id, "tasks.delete")
    deleted = queue.delete_tasks(tx, project_id, tasks.ids_for(tx, project_id, task_ids, external_ids))
    audit.record(tx, actor, "tasks.delete", project=row, details={
        "deleted": deleted, "task_ids": audit.ids(task_ids), "external_ids": external_ids[:audit.MAX_DETAIL_IDS]})
    return deleted
