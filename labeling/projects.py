"""Projects: create, read with progress (the requester's view) or for labeling (the worker's), list, update
settings and status. Who may do which is labeling/policy.py's; the routes ask it before calling these."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import (annotations, audit, jsonio, label_styles, membership, models, paging, policy, queue, schemas,
                      tasktypes)
from labeling.auth import Principal
from labeling.errors import Conflict, InvalidInput, NotFound
from labeling.models import ProjectStatus
from labeling.sqltx import Tx, is_unique_violation

COUNTERS = queue.COUNTERS
AMBIGUOUS_SHOWN = 10  # project ids a CLI error lists for a name several owners use
SETTINGS = ("name", "labels", "instructions", "redundancy_min", "redundancy_max", "target_confidence",
            "lease_seconds", "gold_first_n", "gold_fraction", "gold_min", "gold_threshold", "options", "label_styles",
            "edit_window", "edit_minutes", "status")
iso = schemas.iso


def _redundancy_columns(value: int | schemas.RedundancySpec) -> dict:
    if isinstance(value, schemas.RedundancySpec):
        return {"redundancy_min": value.min, "redundancy_max": value.max, "target_confidence": value.target_confidence}
    return {"redundancy_min": value, "redundancy_max": value, "target_confidence": None}


def _edit_columns(value: str | int) -> dict:
    if isinstance(value, int):
        return {"edit_window": "minutes", "edit_minutes": value}
    return {"edit_window": value, "edit_minutes": None}


def _label_columns(task_type: str, labels: list) -> dict:
    """projects.labels (the names, which everything else reads) and label_styles (how the UI shows them)."""
    spec = tasktypes.get(task_type)
    if spec.needs_labels and not labels:
        raise InvalidInput(f"labels: a {task_type} project needs at least one label", field="labels")
    styles = schemas.label_styles(labels)
    names = schemas.label_names(labels)
    for name, style in styles.items():
        if style.get("hotkey") and style["hotkey"] in spec.reserved_keys:
            where = f"labels[{names.index(name)}].hotkey"
            raise InvalidInput(f"{where}: the hotkey {style['hotkey']!r} of {name!r} is a key of the labeling page "
                               f"(taken: {' '.join(spec.reserved_keys)})", field=where)
    return {"labels": schemas.label_names(labels), "label_styles": styles}


def _options(task_type: str, options: dict) -> dict:
    return tasktypes.get(task_type).validate_options(options)


def create(tx: Tx, owner: Principal, body: schemas.ProjectCreate, via: str = "api") -> int:
    """Insert a project (and its first counter row), active with the all-workers pool unless told; returns its id."""
    task_type = body.task_type.value
    _check_name(tx, body.name, owner.id, 0)
    values = {"name": body.name, "owner": owner.id, "task_type": task_type,
              "instructions": body.instructions, "lease_seconds": body.lease_seconds,
              "gold_first_n": body.gold_first_n, "gold_fraction": body.gold_fraction, "gold_min": body.gold_min,
              "gold_threshold": body.gold_threshold, "options": _options(task_type, body.options), "now": time.time(),
              "status": ProjectStatus[body.status].value, **_label_columns(task_type, body.labels),
              **_redundancy_columns(body.redundancy), **_edit_columns(body.edit_window)}
    project_id = _named_write(tx, body.name, lambda: tx.scalar("projects.insert", values))
    queue.init_project(tx, project_id)
    audit.record(tx, owner, "project.create", project=membership.locked(tx, project_id),
                 details={"name": body.name, "task_type": body.task_type.value, "via": via})
    return project_id


def _check_removed_labels(tx: Tx, row: Any, labels: list[str]) -> None:
    """A label may leave a project only while no answer, gold answer, prediction, review or consensus names it."""
    removed = [name for name in row.labels if name not in labels]
    used = [name for name in removed if tx.scalar("projects.label_used", {"project": row.id, "label": name})]
    if used:
        words = ", ".join(repr(name) for name in used)
        raise InvalidInput(f"labels: {words} {'is' if len(used) == 1 else 'are'} used by answers, gold answers, "
                           "predictions, reviews or consensus here, so cannot be removed; add new labels instead",
                           field="labels")


def _check_name(tx: Tx, name: str, owner_id: int, project_id: int) -> None:
    """A name is unique among its owner's projects (only theirs: another requester's names are not told)."""
    if tx.scalar("projects.name_taken", {"name": name, "owner": owner_id, "project": project_id}) is not None:
        raise Conflict(f"a project named {name!r} already exists", field="name")


def _named_write(tx: Tx, name: str, write: Any) -> Any:
    """Run a write that sets a project's name; a name taken meanwhile by another process is a Conflict."""
    try:
        with tx.isolated():
            return write()
    except Exception as exc:
        if is_unique_violation(exc):
            raise Conflict(f"a project named {name!r} already exists", field="name") from None
        raise


async def counts(conn: AsyncConnection, project_id: int) -> dict:
    """Progress: the sharded counters summed, plus the live leases (a small indexed set)."""
    row = (await conn.execute(select(*[func.coalesce(func.sum(getattr(models.project_counters.c, c)), 0)
                                        for c in COUNTERS]).where(models.project_counters.c.project_id == project_id))).first()
    values = dict(zip(COUNTERS, (int(v) for v in row)))
    live = await conn.scalar(select(func.count()).select_from(models.assignments).where(
        # status as a literal: a bound value would keep SQLite from the partial index of live leases (a scan of
        # every assignment instead)
        models.assignments.c.project_id == project_id, models.assignments.c.status == literal_column("0"),
        models.assignments.c.expires_at > time.time()))
    regular = values["n_tasks"] - values["n_gold_tasks"]
    return {
        "tasks": values["n_tasks"], "gold_tasks": values["n_gold_tasks"], "complete": values["n_complete"],
        "remaining": max(regular - values["n_complete"], 0), "annotations": values["n_annotations"],
        "skips": values["n_skips"], "live_leases": int(live or 0),
        "percent_complete": round(100.0 * values["n_complete"] / regular, 2) if regular else 0.0,
    }


def edit_window(row: Any) -> str | int:
    """The project's edit window as the API says it: "off", "until_final" or minutes."""
    return row.edit_minutes if row.edit_window == "minutes" else row.edit_window


def for_workers(row: Any) -> dict:
    """What a worker sees of a project: what labeling needs (its labels as the worker UI shows them, how long answers
    may change), never gold answers or the requester's settings."""
    return {"id": row.id, "name": row.name, "task_type": row.task_type, "labels": row.labels,
            "label_styles": label_styles.effective(row.labels, row.label_styles), "edit_window": edit_window(row),
            "instructions": row.instructions, "status": ProjectStatus(row.status).name}


def public(row: Any, progress: dict | None = None) -> dict:
    """The requester's (and admin's) API shape of a project: `labels` as the requester gave them, `label_styles` as
    the worker UI shows them."""
    redundancy: int | dict = row.redundancy_min
    if row.target_confidence is not None:
        redundancy = {"min": row.redundancy_min, "max": row.redundancy_max, "target_confidence": row.target_confidence}
    out = {
        "id": row.id, "name": row.name, "task_type": row.task_type,
        "labels": label_styles.as_sent(row.labels, row.label_styles),
        "label_styles": label_styles.effective(row.labels, row.label_styles),
        "instructions": row.instructions, "redundancy": redundancy, "lease_seconds": row.lease_seconds,
        "gold_first_n": row.gold_first_n, "gold_fraction": row.gold_fraction, "gold_min": row.gold_min,
        "gold_threshold": row.gold_threshold, "options": row.options, "edit_window": edit_window(row),
        "owner_id": row.owner_id, "status": ProjectStatus(row.status).name, "all_workers": bool(row.pool_all),
        "created_at": iso(row.created_at), "updated_at": iso(row.updated_at),
    }
    if progress is not None:
        out["progress"] = progress
    return out


async def view(conn: AsyncConnection, row: Any, *, settings: bool) -> dict:
    """A project as its reader may see it: with settings and progress (owner, admin), or for labeling."""
    return public(row, await counts(conn, row.id)) if settings else for_workers(row)


async def list_(conn: AsyncConnection, user: Principal, cursor: str | None, limit: int, *,
                status: str | None = None, working: bool = False) -> dict:
    """A page of the projects the user may read (membership.visible_projects), each as they may see it;
    `working`: only active ones."""
    p = models.projects
    query = select(p).where(membership.visible_projects(user, working=working)).order_by(p.c.id).limit(limit + 1)
    after = paging.decode(cursor, "projects")
    if after is not None:
        query = query.where(p.c.id > after)
    if status:
        query = query.where(p.c.status == schemas.project_status(status).value)
    rows = (await conn.execute(query)).all()
    shape = for_workers if user.role is models.Role.worker else public
    return paging.page([shape(r) for r in rows], limit, "projects")


def update_settings(tx: Tx, mem: queue.Memory, user: Principal, project_id: int,
                    body: schemas.ProjectUpdate, if_match: str | None = None) -> None:
    """Change settings in one transaction; labels may grow, and lose only a label nothing uses. An archived project
    changes only its status. When the minimum redundancy changes, open tasks follow it, and those that now have all
    their answers are settled at once. With `if_match`, only while the project is the version the caller read
    (membership.check_version: two requesters editing at once no longer overwrite each other unseen)."""
    row = membership.locked(tx, project_id)
    membership.check_version(row, if_match)
    values: dict[str, Any] = {}
    changes = body.model_dump(exclude_unset=True)
    if "redundancy" in changes:
        if body.redundancy is None:
            raise InvalidInput("redundancy: must not be null", field="redundancy")
        values.update(_redundancy_columns(body.redundancy))
    for key in ("name", "labels", "instructions", "lease_seconds", "gold_first_n", "gold_fraction", "gold_min",
                "gold_threshold", "options", "edit_window"):
        if key in changes:
            if changes[key] is None:
                raise InvalidInput(f"{key}: must not be null", field=key)
            values[key] = getattr(body, key)
    if "edit_window" in values:
        values.update(_edit_columns(values["edit_window"]))
    if "options" in values:
        values["options"] = _options(row.task_type, values["options"])
    if changes.get("status") is not None and ProjectStatus[body.status].value != row.status:
        values["status"] = ProjectStatus[body.status].value
    elif "status" in changes and changes["status"] is None:
        raise InvalidInput("status: must not be null", field="status")
    if "labels" in values:
        values.update(_label_columns(row.task_type, values["labels"]))
    if not values:
        return
    merged = {key: values.get(key, getattr(row, key)) for key in SETTINGS}
    if merged["status"] == row.status and any(merged[key] != getattr(row, key) for key in SETTINGS):
        # Setting what is already set is no change; an archived project refuses any other until it is un-archived
        # (in the same request, or before).
        policy.check_status(row, "project.edit")
    if "labels" in values:
        _check_removed_labels(tx, row, values["labels"])
    if "name" in values:
        _check_name(tx, values["name"], row.owner_id, project_id)
    _named_write(tx, merged["name"], lambda: tx.run("projects.update", {**merged, "project": project_id,
                                                                        "now": time.time()}))
    new_min = values.get("redundancy_min", row.redundancy_min)
    new_max = values.get("redundancy_max", row.redundancy_max)
    if new_min != row.redundancy_min or new_max < row.redundancy_max:
        # A new minimum sets every open task's need; a lower maximum caps it (a project made fixed at its minimum
        # leaves no task wanting what adaptive redundancy raised). Nothing else does: the same redundancy sent again
        # (a settings form saved whole, a script's full PATCH), a new target or a higher maximum would take back
        # the answers asked of single tasks (more-answers, adaptive) and complete them short of them.
        if new_min != row.redundancy_min:
            queue.set_redundancy(tx, project_id, new_min)
        else:
            queue.cap_redundancy(tx, project_id, new_max)
        annotations.settle_ready(tx, mem, project_id)
        handed_back = queue.hand_back_surplus(tx, project_id)
    else:
        handed_back = 0
    settings = sorted(key for key in changes if key != "status")
    if settings:
        # The leases a lower redundancy took back from their workers, said as an archive says its own.
        audit.record(tx, user, "project.update", project=row,
                     details={"changed": settings, **({"leases_released": handed_back} if handed_back else {})})
    if "status" in values:
        released = 0
        if values["status"] == ProjectStatus.archived:
            released = queue.release_project_leases(tx, project_id)
        audit.record(tx, user, "project.status", project=row, details={
            "from": ProjectStatus(row.status).name, "to": ProjectStatus(values["status"]).name,
            "leases_released": released})


async def find(conn: AsyncConnection, ref: str, owner_id: int | None = None) -> Any:
    """A project by id or by name (the CLI's PROJECT argument; `owner_id`: among that user's projects only). Names
    are unique per owner, so a name two owners use is refused, naming the ids to give instead."""
    if jsonio.text_problem(ref) is not None:
        raise NotFound(f"no project with id or name {ref!r}", field="project")
    p = models.projects
    number = jsonio.whole_number(ref)
    if number is not None and 0 < number <= jsonio.INT_LIMIT:
        query = select(p).where(p.c.id == number)
        row = (await conn.execute(query if owner_id is None else query.where(p.c.owner_id == owner_id))).first()
        if row is not None:
            return row
    query = select(p).where(p.c.name == ref).order_by(p.c.id).limit(AMBIGUOUS_SHOWN + 1)
    rows = (await conn.execute(query if owner_id is None else query.where(p.c.owner_id == owner_id))).all()
    if not rows:
        raise NotFound(f"no project with id or name {ref!r}", field="project")
    if len(rows) > 1:
        ids = ", ".join(str(row.id) for row in rows[:AMBIGUOUS_SHOWN])
        ids += ", ..." if len(rows) > AMBIGUOUS_SHOWN else ""
        raise InvalidInput(f"several projects are named {ref!r} (ids {ids}): give the project's id", field="project")
    return rows[0]
