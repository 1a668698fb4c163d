"""A write decides on the project as its own transaction holds it, never on a row read before: a status, label,
pool or deletion change racing the write either waits for it and sees what it stored, or comes first and is seen.

Each race is made to happen in one order, the same on both databases. A change that lands between a route's read and
its write is made by hooking the step in between (the import's validation, off the event loop). On PostgreSQL the
change is held open inside its transaction (its row lock taken, not yet committed) while the racing request runs up
to the lock it waits for (or to its end, where nothing made it wait); SQLite's single writer runs the two one after
the other, the change first: the order the waiting gives on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select, text
from sqlalchemy.util import await_only

from labeling import media, membership, models, projects, queue, tasks
from labeling.consensus import runner
from labeling.errors import ProjectArchived
from tests.conftest import PG_URL, bearer, text_tasks
from tests.export.helpers import answer_all


class Hold:
    """Holds a write inside its transaction, just after `name` of `module` returns, until `release` (PostgreSQL:
    the write runs in run_sync's greenlet on the event loop, so waiting there lets the loop run other requests)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
        self.reached = asyncio.Event()
        self.go = asyncio.Event()
        original = getattr(module, name)

        def held(*args: object, **kwargs: object) -> object:
            out = original(*args, **kwargs)
            if not self.reached.is_set():
                self.reached.set()
                await_only(self.go.wait())
            return out

        monkeypatch.setattr(module, name, held)

    def release(self) -> None:
        self.go.set()


async def _waiting_or_done(db, request: asyncio.Task) -> None:  # noqa: ANN001
    """Until the racing request waits for a lock (it cannot go on before the held change commits) or has finished
    (nothing made it wait)."""
    for _ in range(2000):
        if request.done():
            return
        async with db.read() as conn:
            if await conn.scalar(text("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                                      "WHERE NOT l.granted AND a.datname = current_database()")):
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the racing request neither waited for a lock nor finished")


async def race(db, monkeypatch, where: tuple[object, str], change, racing, *, held=None):  # noqa: ANN001, ANN201
    """Run `change()` (a request) and, while it holds its lock (PostgreSQL) or after it (SQLite), `racing()`; both
    responses. `held(racing)`, on PostgreSQL, looks at the racing request while the change is still held. The change
    is let go also when the race fails, so a failing test ends instead of holding its transaction open."""
    hold = Hold(monkeypatch, *where) if PG_URL else None
    first = asyncio.ensure_future(change())
    try:
        if hold is None:
            await first
        else:
            await asyncio.wait([first, asyncio.ensure_future(hold.reached.wait())],
                               return_when=asyncio.FIRST_COMPLETED)
            assert hold.reached.is_set(), (await first).text
        second = asyncio.ensure_future(racing())
        if hold is not None:
            await _waiting_or_done(db, second)
            if held is not None:
                await held(second)
    finally:
        if hold is not None:
            hold.release()
    return await first, await second


def between_check_and_write(monkeypatch, client, change) -> None:  # noqa: ANN001
    """Make `change()` (a request) happen after an import's tasks were checked against the project it read and
    before its transaction: from the validation's thread, on the event loop, waiting for it."""
    loop = asyncio.get_running_loop()
    original = tasks.validate

    def validate(*args: object, **kwargs: object) -> object:
        out = original(*args, **kwargs)
        # a change that blocked fails the test instead of hanging it
        response = asyncio.run_coroutine_threadsafe(change(), loop).result(timeout=30)
        assert response.status_code == 200, response.text
        return out

    monkeypatch.setattr(tasks, "validate", validate)


async def _count(db, table, **where) -> int:  # noqa: ANN001
    async with db.read() as conn:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(getattr(table.c, column) == value)
        return int(await conn.scalar(query))


def _archive(client, requester: str, pid: int):  # noqa: ANN001, ANN202
    return lambda: client.patch(f"/api/projects/{pid}", json={"status": "archived"}, headers=bearer(requester))


def _error(response) -> dict:  # noqa: ANN001
    return response.json()["error"]


# ---- imports ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["json", "jsonl"])
async def test_an_import_racing_an_archive_stores_nothing(client, db, requester, new_project, monkeypatch, kind):
    project = await new_project(tasks=text_tasks(1))
    pid = project["id"]
    late = [{"data": {"text": "late"}}]

    def importing():  # noqa: ANN202
        if kind == "json":
            return client.post(f"/api/projects/{pid}/tasks", json=late, headers=bearer(requester))
        return client.post(f"/api/projects/{pid}/tasks", content="\n".join(json.dumps(t) for t in late),
                           headers={**bearer(requester), "Content-Type": "application/x-ndjson"})

    archived, imported = await race(db, monkeypatch, (queue, "release_project_leases"),
                                    _archive(client, requester, pid), importing)
    assert archived.status_code == 200, archived.text
    assert imported.status_code == 409 and _error(imported)["code"] == "project_archived", imported.text
    assert await _count(db, models.tasks, project_id=pid) == 1


async def test_an_import_checked_before_an_archive_stores_nothing(client, db, requester, new_project, monkeypatch):
    """The archive lands between the route's read and the import's transaction."""
    project = await new_project(tasks=text_tasks(1))
    pid = project["id"]
    between_check_and_write(monkeypatch, client, _archive(client, requester, pid))
    r = await client.post(f"/api/projects/{pid}/tasks", json=[{"data": {"text": "late"}}], headers=bearer(requester))
    assert r.status_code == 409 and _error(r)["code"] == "project_archived", r.text
    assert await _count(db, models.tasks, project_id=pid) == 1


async def test_a_file_import_asks_the_project_its_transaction_holds(client, db, settings, requester, new_project,
                                                                    tmp_path: Path):
    """`labeling import` finds the project, then imports in a transaction of its own: an archive in between is
    seen (the row found first is not what decides)."""
    project = await new_project(tasks=text_tasks(1))
    pid = project["id"]
    async with db.read() as conn:
        found = await projects.find(conn, str(pid))
    assert (await _archive(client, requester, pid)()).status_code == 200
    path = tmp_path / "late.jsonl"
    path.write_text(json.dumps({"data": {"text": "late"}}) + "\n")
    with pytest.raises(ProjectArchived):
        await tasks.import_file(db, found, path, settings)
    assert await _count(db, models.tasks, project_id=pid) == 1


async def test_an_import_checked_against_a_label_removed_meanwhile_is_refused(client, db, requester, new_project,
                                                                             monkeypatch):
    project = await new_project(labels=["pos", "neg", "gone"])
    pid = project["id"]
    between_check_and_write(monkeypatch, client, lambda: client.patch(
        f"/api/projects/{pid}", json={"labels": ["pos", "neg"]}, headers=bearer(requester)))
    r = await client.post(f"/api/projects/{pid}/tasks", json=[{"data": {"text": "a"}, "gold": {"label": "gone"}}],
                          headers=bearer(requester))
    assert r.status_code == 409 and _error(r)["field"] == "labels" and "'gone'" in _error(r)["message"], r.text
    assert await _count(db, models.tasks, project_id=pid) == 0
    view = (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()
    assert view["labels"] == ["pos", "neg"]
    # Sent again, it is checked against the labels the project has now.
    r = await client.post(f"/api/projects/{pid}/tasks", json=[{"data": {"text": "a"}, "gold": {"label": "gone"}}],
                          headers=bearer(requester))
    assert r.status_code == 400 and _error(r)["field"] == "gold.label", r.text


async def test_an_import_in_flight_holds_the_project_against_a_label_removal(client, db, requester, new_project,
                                                                            monkeypatch):
    """The other order: an import holding the project row commits first, and the removal then finds the label used."""
    project = await new_project(labels=["pos", "neg", "kept"])
    pid = project["id"]

    def importing():  # noqa: ANN202
        return client.post(f"/api/projects/{pid}/tasks", json=[{"data": {"text": "a"}, "gold": {"label": "kept"}}],
                           headers=bearer(requester))

    def removing():  # noqa: ANN202
        return client.patch(f"/api/projects/{pid}", json={"labels": ["pos", "neg"]}, headers=bearer(requester))

    imported, removed = await race(db, monkeypatch, (queue, "enqueue"), importing, removing)
    assert imported.status_code == 201, imported.text
    assert removed.status_code == 400 and _error(removed)["field"] == "labels", removed.text
    view = (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()
    assert view["labels"] == ["pos", "neg", "kept"]


async def test_an_import_in_flight_holds_up_no_claim(client, db, requester, new_project, make_user, monkeypatch):
    """An import holds its project row against changes of the project only (KEY SHARE): a claim while a long import
    is being stored is served at once."""
    project = await new_project(tasks=text_tasks(1))
    pid = project["id"]
    _, worker = await make_user("worker")

    def importing():  # noqa: ANN202
        return client.post(f"/api/projects/{pid}/tasks", json=[{"data": {"text": "late"}}], headers=bearer(requester))

    async def served_meanwhile(claim: asyncio.Task) -> None:
        assert claim.done(), "the claim waited for the import"

    imported, claimed = await race(db, monkeypatch, (queue, "enqueue"), importing,
                                   lambda: client.post(f"/api/projects/{pid}/next", headers=bearer(worker)),
                                   held=served_meanwhile)
    assert imported.status_code == 201, imported.text
    assert claimed.status_code == 200, claimed.text


# ---- the queue: claims, submits, changed answers, reports -----------------------------------------------------------

async def _leased(client, make_user, new_project, **settings):  # noqa: ANN001, ANN202
    project = await new_project(**{"tasks": text_tasks(1), **settings})
    _, worker = await make_user("worker")
    lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))).json()
    return project["id"], worker, lease


async def test_a_submit_racing_a_label_removal_never_stores_the_removed_label(client, db, requester, new_project,
                                                                             make_user, monkeypatch):
    pid, worker, lease = await _leased(client, make_user, new_project, labels=["pos", "neg", "gone"])

    def removing():  # noqa: ANN202
        return client.patch(f"/api/projects/{pid}", json={"labels": ["pos", "neg"]}, headers=bearer(requester))

    def submitting():  # noqa: ANN202
        return client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "gone"}},
                           headers=bearer(worker))

    removed, submitted = await race(db, monkeypatch, (projects, "_check_removed_labels"), removing, submitting)
    assert removed.status_code == 200 and removed.json()["labels"] == ["pos", "neg"], removed.text
    assert submitted.status_code == 400 and _error(submitted)["field"] == "answer.label", submitted.text
    assert await _count(db, models.annotations, project_id=pid) == 0
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "neg"}},
                          headers=bearer(worker))
    assert r.status_code == 201, r.text


async def test_a_claim_racing_an_archive_leaves_no_live_lease(client, db, requester, new_project, make_user,
                                                              monkeypatch):
    pid, worker, lease = await _leased(client, make_user, new_project, tasks=text_tasks(2), redundancy=1)
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                          headers=bearer(worker))
    assert r.status_code == 201, r.text  # the worker's second claim here: one statement (PostgreSQL)

    def claiming():  # noqa: ANN202
        return client.post(f"/api/projects/{pid}/next", headers=bearer(worker))

    archived, claimed = await race(db, monkeypatch, (queue, "release_project_leases"),
                                   _archive(client, requester, pid), claiming)
    assert archived.status_code == 200, archived.text
    assert claimed.status_code == 409 and _error(claimed)["code"] == "project_archived", claimed.text
    assert await _count(db, models.assignments, project_id=pid, status=models.AssignmentStatus.leased.value) == 0


async def test_a_reloaded_page_claiming_its_task_again_racing_an_archive_leaves_no_live_lease(
        client, db, requester, new_project, make_user, monkeypatch):
    pid, worker, lease = await _leased(client, make_user, new_project)
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/release", headers=bearer(worker))
    assert r.status_code == 200, r.text  # released on leaving the page

    def claiming():  # noqa: ANN202
        return client.post(f"/api/projects/{pid}/next",
                           params={"prefer_task": lease["task"]["id"], "resume": lease["resume"]}, headers=bearer(worker))

    archived, claimed = await race(db, monkeypatch, (queue, "release_project_leases"),
                                   _archive(client, requester, pid), claiming)
    assert archived.status_code == 200, archived.text
    assert claimed.status_code == 409 and _error(claimed)["code"] == "project_archived", claimed.text
    assert await _count(db, models.assignments, project_id=pid) == 0


async def test_a_reloaded_page_claiming_its_task_again_racing_the_workers_block_leases_nothing(
        client, db, requester, new_project, make_user, monkeypatch):
    """A block moves no project version: the claim of the named task asks the worker's standing again in the
    statement that counts the claim, so a block racing it is seen (403, as on SQLite, where it comes first), or
    waits for it and then takes the lease back."""
    project = await new_project(tasks=text_tasks(1))
    pid = project["id"]
    user, worker = await make_user("worker")
    lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(worker))).json()
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/release", headers=bearer(worker))
    assert r.status_code == 200, r.text  # released on leaving the page

    def blocking():  # noqa: ANN202
        return client.post(f"/api/projects/{pid}/workers/{user['id']}/block", headers=bearer(requester))

    def claiming():  # noqa: ANN202
        return client.post(f"/api/projects/{pid}/next",
                           params={"prefer_task": lease["task"]["id"], "resume": lease["resume"]}, headers=bearer(worker))

    blocked, claimed = await race(db, monkeypatch, (queue, "block"), blocking, claiming)
    assert blocked.status_code == 200, blocked.text
    assert claimed.status_code == 403 and _error(claimed)["code"] == "worker_blocked", claimed.text
    assert await _count(db, models.assignments, project_id=pid, status=models.AssignmentStatus.leased.value) == 0


async def test_a_renewal_racing_a_pause_is_refused(client, db, requester, new_project, make_user, monkeypatch):
    pid, worker, lease = await _leased(client, make_user, new_project)

    def pausing():  # noqa: ANN202
        return client.patch(f"/api/projects/{pid}", json={"status": "paused"}, headers=bearer(requester))

    def renewing():  # noqa: ANN202
        return client.post(f"/api/assignments/{lease['assignment_id']}/renew", headers=bearer(worker))

    async with db.read() as conn:
        expires = await conn.scalar(select(models.assignments.c.expires_at))
    paused, renewed = await race(db, monkeypatch, (projects, "_named_write"), pausing, renewing)
    assert paused.status_code == 200, paused.text
    assert renewed.status_code == 409 and _error(renewed)["code"] == "project_paused", renewed.text
    async with db.read() as conn:
        assert await conn.scalar(select(models.assignments.c.expires_at)) == expires


async def _answered(client, make_user, new_project, labels):  # noqa: ANN001, ANN202
    """A project whose answers may change until the task is final, one task answered once (of two wanted)."""
    pid, worker, lease = await _leased(client, make_user, new_project, labels=labels, redundancy=2,
                                       edit_window="until_final")
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                          headers=bearer(worker))
    assert r.status_code == 201, r.text
    return pid, worker, r.json()["annotation_id"]


async def _answers(db, pid: int) -> list[dict]:
    async with db.read() as conn:
        return [row[0] for row in await conn.execute(
            select(models.annotations.c.answer).where(models.annotations.c.project_id == pid))]


async def test_a_changed_answer_racing_a_label_removal_never_names_the_removed_label(client, db, requester,
                                                                                    new_project, make_user,
                                                                                    monkeypatch):
    pid, worker, annotation_id = await _answered(client, make_user, new_project, ["pos", "neg", "gone"])

    def removing():  # noqa: ANN202
        return client.patch(f"/api/projects/{pid}", json={"labels": ["pos", "neg"]}, headers=bearer(requester))

    def changing():  # noqa: ANN202
        return client.put(f"/api/annotations/{annotation_id}", json={"answer": {"label": "gone"}},
                          headers=bearer(worker))

    removed, changed = await race(db, monkeypatch, (projects, "_check_removed_labels"), removing, changing)
    assert removed.status_code == 200, removed.text
    assert changed.status_code == 400 and _error(changed)["field"] == "answer.label", changed.text
    assert await _answers(db, pid) == [{"label": "pos"}]


async def test_a_changed_answer_racing_an_archive_is_refused(client, db, requester, new_project, make_user,
                                                             monkeypatch):
    pid, worker, annotation_id = await _answered(client, make_user, new_project, ["pos", "neg"])

    def changing():  # noqa: ANN202
        return client.put(f"/api/annotations/{annotation_id}", json={"answer": {"label": "neg"}},
                          headers=bearer(worker))

    archived, changed = await race(db, monkeypatch, (queue, "release_project_leases"),
                                   _archive(client, requester, pid), changing)
    assert archived.status_code == 200, archived.text
    assert changed.status_code == 409 and _error(changed)["code"] == "project_archived", changed.text
    assert await _answers(db, pid) == [{"label": "pos"}]


async def test_a_report_racing_an_archive_is_refused(client, db, requester, new_project, make_user, monkeypatch):
    pid, worker, lease = await _leased(client, make_user, new_project)
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                          headers=bearer(worker))
    assert r.status_code == 201, r.text  # an answered task may be reported (a live lease would go with the archive)

    def reporting():  # noqa: ANN202
        return client.post(f"/api/assignments/{lease['assignment_id']}/report", json={"text": "cut off"},
                           headers=bearer(worker))

    archived, reported = await race(db, monkeypatch, (queue, "release_project_leases"),
                                    _archive(client, requester, pid), reporting)
    assert archived.status_code == 200, archived.text
    assert reported.status_code == 409 and _error(reported)["code"] == "project_archived", reported.text
    assert await _count(db, models.task_reports, project_id=pid) == 0


async def test_a_report_racing_its_workers_removal_from_the_pool_is_not_theirs(client, db, requester, new_project,
                                                                              make_user, monkeypatch):
    """Who may report is asked of the project row the report holds, not of the version its assignment was read at:
    a pool change that leaves the worker out, racing the report, is seen (404, as on SQLite, where it comes first)."""
    pid, worker, lease = await _leased(client, make_user, new_project)
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                          headers=bearer(worker))
    assert r.status_code == 201, r.text

    def leaving_out():  # noqa: ANN202
        return client.put(f"/api/projects/{pid}/pool", json={"all_workers": False, "workers": []},
                          headers=bearer(requester))

    def reporting():  # noqa: ANN202
        return client.post(f"/api/assignments/{lease['assignment_id']}/report", json={"text": "cut off"},
                           headers=bearer(worker))

    changed, reported = await race(db, monkeypatch, (membership, "touch"), leaving_out, reporting)
    assert changed.status_code == 200, changed.text
    assert reported.status_code == 404, reported.text
    assert await _count(db, models.task_reports, project_id=pid) == 0


@pytest.mark.parametrize("action", ["skip", "release"])
async def test_a_lease_given_back_racing_its_workers_removal_from_the_pool_is_not_theirs(
        client, db, requester, new_project, make_user, monkeypatch, action):
    """A skip or a release asks who may give the lease back of the project row it holds, as a renewal does: a pool
    change leaving the worker out, racing it, is seen (404, as on SQLite, where it comes first) and the lease stays
    as it was, to expire."""
    pid, worker, lease = await _leased(client, make_user, new_project)

    def leaving_out():  # noqa: ANN202
        return client.put(f"/api/projects/{pid}/pool", json={"all_workers": False, "workers": []},
                          headers=bearer(requester))

    def giving_back():  # noqa: ANN202
        return client.post(f"/api/assignments/{lease['assignment_id']}/{action}", headers=bearer(worker))

    changed, given = await race(db, monkeypatch, (membership, "touch"), leaving_out, giving_back)
    assert changed.status_code == 200, changed.text
    assert given.status_code == 404, given.text
    assert await _count(db, models.assignments, project_id=pid, status=models.AssignmentStatus.leased.value) == 1


# ---- a consensus recompute -----------------------------------------------------------------------------------------

async def _results(db, pid: int) -> list[tuple]:
    async with db.read() as conn:
        results = (await conn.execute(select(models.task_results).where(models.task_results.c.project_id == pid)
                                      .order_by(models.task_results.c.task_id))).all()
        skills = (await conn.execute(select(models.project_workers.c.worker_id, models.project_workers.c.skill)
                                     .where(models.project_workers.c.project_id == pid)
                                     .order_by(models.project_workers.c.worker_id))).all()
    return [tuple(r) for r in results] + [tuple(r) for r in skills]


@pytest.mark.parametrize("change", [{"status": "archived"}, {"labels": ["pos", "neg", "neu", "new"]}])
async def test_a_recompute_racing_a_change_of_the_project_writes_nothing(client, db, requester, new_project,
                                                                         make_user, monkeypatch, change):
    """The consensus is computed between two transactions (the computation holds no lock): an archive, or a change
    of what it was computed with, that lands meanwhile is seen by the write, which stores nothing."""
    project = await new_project(tasks=text_tasks(2), redundancy=2)
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"label": "pos"}, {"label": "neg"}], f"rc{pid}")
    before = await _results(db, pid)
    original = runner.load_rows

    async def load_rows(*args: object) -> object:
        out = await original(*args)
        r = await client.patch(f"/api/projects/{pid}", json=change, headers=bearer(requester))
        assert r.status_code == 200, r.text
        return out

    monkeypatch.setattr(runner, "load_rows", load_rows)
    r = await client.post(f"/api/projects/{pid}/consensus", json={"method": "dawid-skene"}, headers=bearer(requester))
    assert r.status_code == 409, r.text
    assert _error(r)["code"] == ("project_archived" if "status" in change else "conflict"), r.text
    assert await _results(db, pid) == before


async def _recompute_holding_the_project(client, db, requester, new_project, make_user):  # noqa: ANN001, ANN202
    """A project whose two tasks are answered (a recompute has something to write) and a third waits for a worker."""
    project = await new_project(tasks=text_tasks(2), redundancy=2)
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"label": "pos"}, {"label": "neg"}], f"rc{pid}")
    r = await client.post(f"/api/projects/{pid}/tasks", json=[{"data": {"text": "more"}}], headers=bearer(requester))
    assert r.status_code == 201, r.text
    return pid, lambda: client.post(f"/api/projects/{pid}/consensus", json={"method": "dawid-skene"},
                                    headers=bearer(requester))


async def test_a_recompute_writing_its_results_holds_up_no_claim(client, db, requester, new_project, make_user,
                                                                 monkeypatch):
    """The recompute's write holds the project row against changes of it as an import does (KEY SHARE), not against
    the queue: a claim while the results are being written is served at once (FOR UPDATE kept every claim and submit
    of the project waiting until all of them were written)."""
    pid, recomputing = await _recompute_holding_the_project(client, db, requester, new_project, make_user)
    _, worker = await make_user("worker")

    async def served_meanwhile(claim: asyncio.Task) -> None:
        assert claim.done(), "the claim waited for the recompute's write"

    recomputed, claimed = await race(db, monkeypatch, (queue, "store_results"), recomputing,
                                     lambda: client.post(f"/api/projects/{pid}/next", headers=bearer(worker)),
                                     held=served_meanwhile)
    assert recomputed.status_code == 200, recomputed.text
    assert claimed.status_code == 200 and claimed.json()["task"]["data"] == {"text": "more"}, claimed.text


async def test_an_archive_racing_a_recompute_write_waits_for_its_results(client, db, requester, new_project,
                                                                         make_user, monkeypatch):
    """The other order of the race above: the write holds the row when the archive comes, which waits for it (the
    write moving the project's version meanwhile, its answers' correlation, is no deadlock) and then archives."""
    pid, recomputing = await _recompute_holding_the_project(client, db, requester, new_project, make_user)
    recomputed, archived = await race(db, monkeypatch, (queue, "store_results"), recomputing,
                                      _archive(client, requester, pid))
    assert recomputed.status_code == 200 and recomputed.json()["tasks"] == 2, recomputed.text
    assert archived.status_code == 200 and archived.json()["status"] == "archived", archived.text
    async with db.read() as conn:
        assert await conn.scalar(select(models.projects.c.answer_correlation)) == \
            recomputed.json()["answer_correlation"]
    assert await _count(db, models.task_results, method="dawid-skene") == 2


# ---- a deleted project's uploads and imports naming them --------------------------------------------------------

def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), "red").save(buffer, "PNG")
    return buffer.getvalue()


async def _upload_shown_by_one_project(client, requester, new_project):  # noqa: ANN001, ANN202
    """An uploaded image that only one project (to be deleted) shows, and another image project: (path, the
    doomed project, the other)."""
    path = (await client.post("/api/media", files={"file": ("r.png", _png(), "image/png")},
                              headers=bearer(requester))).json()["data"][0]["path"]
    doomed = await new_project(tasks=[{"data": {"image": path}}], task_type="image_classification", labels=["a"])
    other = await new_project(task_type="image_classification", labels=["a"])
    return path, doomed, other


def _delete(client, requester: str, project: dict):  # noqa: ANN001, ANN202
    return lambda: client.delete(f"/api/projects/{project['id']}", params={"confirm": project["name"]},
                                 headers=bearer(requester))


@pytest.mark.parametrize("kind", ["json", "multipart"])
async def test_an_import_naming_an_upload_removed_meanwhile_stores_nothing(client, db, settings, requester,
                                                                          new_project, monkeypatch, kind):
    """Checked while the file was there; a deletion then removed it (no project showed it any more): the import
    finds it gone, as it would have if it had come after (also a JSON Lines file in a multipart import)."""
    path, doomed, other = await _upload_shown_by_one_project(client, requester, new_project)
    between_check_and_write(monkeypatch, client, _delete(client, requester, doomed))
    url, line = f"/api/projects/{other['id']}/tasks", {"data": {"image": path}}
    if kind == "json":
        r = await client.post(url, json=[line], headers=bearer(requester))
    else:
        r = await client.post(url, files={"file": ("t.jsonl", json.dumps(line).encode(), "application/octet-stream")},
                              headers=bearer(requester))
    assert r.status_code == 400, r.text
    where = "tasks[0]" if kind == "json" else "t.jsonl: line 1"  # a multipart import names its file
    assert _error(r)["field"] == "data.image" and _error(r)["message"].startswith(f"{where}: data.image: no file")
    assert not (settings.media_dir / path).exists()
    assert await _count(db, models.tasks, project_id=other["id"]) == 0
    assert await _count(db, models.project_media) == 0


async def test_an_import_racing_its_projects_deletion_finds_no_project(client, db, requester, new_project,
                                                                      monkeypatch):
    project = await new_project(tasks=text_tasks(1))
    pid = project["id"]

    def importing():  # noqa: ANN202
        return client.post(f"/api/projects/{pid}/tasks", json=[{"data": {"text": "late"}}], headers=bearer(requester))

    deleted, imported = await race(db, monkeypatch, (queue, "delete_project"), _delete(client, requester, project),
                                   importing)
    assert deleted.status_code == 200 and deleted.json()["deleted"]["tasks"] == 1, deleted.text
    assert imported.status_code == 404 and _error(imported)["field"] == "project_id", imported.text
    assert await _count(db, models.tasks) == 0


async def test_a_first_claim_racing_its_projects_deletion_finds_no_project(client, db, requester, new_project,
                                                                          make_user, monkeypatch):
    """A worker's first claim in a project read the project before its deletion committed, then made the worker's
    standing row in it: on PostgreSQL that row's foreign key met the project deleted meanwhile, a 500
    (ForeignKeyViolation in the log). It now finds no project (404), as a claim after the deletion does."""
    project = await new_project(tasks=text_tasks(2))
    _, worker = await make_user("worker")

    def claiming():  # noqa: ANN202
        return client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))

    deleted, claimed = await race(db, monkeypatch, (queue, "delete_project"), _delete(client, requester, project),
                                  claiming)
    assert deleted.status_code == 200, deleted.text
    assert claimed.status_code == 404 and _error(claimed)["field"] == "project_id", claimed.text
    assert await _count(db, models.project_workers) == 0
    assert await _count(db, models.assignments) == 0


async def test_an_import_in_flight_keeps_the_upload_it_names(client, db, settings, requester, new_project,
                                                            monkeypatch):
    """The other order: the import holds the uploads when the deletion's removal of unused files comes, which
    waits for it and then sees the file used."""
    path, doomed, other = await _upload_shown_by_one_project(client, requester, new_project)

    def importing():  # noqa: ANN202
        return client.post(f"/api/projects/{other['id']}/tasks", json=[{"data": {"image": path}}],
                           headers=bearer(requester))

    imported, deleted = await race(db, monkeypatch, (media, "record_refs"), importing,
                                   _delete(client, requester, doomed))
    assert imported.status_code == 201, imported.text
    assert deleted.status_code == 200 and deleted.json()["deleted"]["media_files"] == 0, deleted.text
    assert (settings.media_dir / path).exists()
    assert await _count(db, models.project_media, project_id=other["id"]) == 1


async def test_deleting_a_project_without_uploads_waits_for_no_import(client, db, requester, new_project,
                                                                      monkeypatch):
    """Only a deletion with uploads to remove holds them against imports: a project of texts is deleted while an
    import naming an upload (of another project) is in flight, without waiting for it (nor making imports that
    come meanwhile wait behind it)."""
    path, _, other = await _upload_shown_by_one_project(client, requester, new_project)
    texts = await new_project(tasks=text_tasks(1))

    def importing():  # noqa: ANN202
        return client.post(f"/api/projects/{other['id']}/tasks", json=[{"data": {"image": path}}],
                           headers=bearer(requester))

    async def deleted_meanwhile(deletion: asyncio.Task) -> None:
        assert deletion.done(), "the deletion waited for an import in another project"

    imported, deleted = await race(db, monkeypatch, (media, "record_refs"), importing,
                                   _delete(client, requester, texts), held=deleted_meanwhile)
    assert imported.status_code == 201, imported.text
    assert deleted.status_code == 200 and deleted.json()["deleted"]["media_files"] == 0, deleted.text


async def test_an_import_bringing_an_image_a_deletion_is_removing_keeps_it(client, db, settings, requester,
                                                                          new_project, monkeypatch):
    """A multipart import brings along the very image a deletion is removing (uploads are stored by content): the
    import waits for the removal, then puts the file back and commits, so the image its task shows is there. Not
    held, it committed and found the file still there between the removal's look (unused) and its unlink."""
    path, doomed, other = await _upload_shown_by_one_project(client, requester, new_project)

    def importing():  # noqa: ANN202
        return client.post(f"/api/projects/{other['id']}/tasks", files={"file": ("again.png", _png(), "image/png")},
                           headers=bearer(requester))

    deleted, imported = await race(db, monkeypatch, (media, "resolve"), _delete(client, requester, doomed),
                                   importing)
    assert deleted.status_code == 200, deleted.text
    assert imported.status_code == 201 and imported.json()["created"] == 1, imported.text
    async with db.read() as conn:
        shown = await conn.scalar(select(models.tasks.c.data).where(models.tasks.c.project_id == other["id"]))
    assert shown["image"] == path
    assert (settings.media_dir / path).exists()


async def test_removing_a_worker_s_answers_says_when_the_project_changed_before_the_recompute(
        client, db, requester, new_project, make_user, monkeypatch):
    """The removal commits, then the recompute runs: an archive landing between them leaves the removal standing, and
    the answer says so (200, the consensus not recomputed and why) instead of a 409 for a removal that happened."""
    project = await new_project(tasks=text_tasks(2), redundancy=2)
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"label": "pos"}, {"label": "neg"}], f"rm{pid}")
    async with db.read() as conn:
        leaver = (await conn.execute(select(models.users.c.id).where(models.users.c.username == f"rm{pid}-w0"))).scalar()
    original = runner.recompute_project

    async def recompute_project(*args: object, **kwargs: object) -> object:
        r = await client.patch(f"/api/projects/{pid}", json={"status": "archived"}, headers=bearer(requester))
        assert r.status_code == 200, r.text
        return await original(*args, **kwargs)

    monkeypatch.setattr(runner, "recompute_project", recompute_project)
    r = await client.delete(f"/api/projects/{pid}/workers/{leaver}/answers", params={"confirm": "true"},
                            headers=bearer(requester))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answers_deleted"] == 2 and body["consensus"] is None
    assert "archived" in body["consensus_not_recomputed"] and "answers are removed" in body["consensus_not_recomputed"]
    assert await _count(db, models.annotations, worker_id=leaver) == 0
