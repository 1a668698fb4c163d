"""Two writes on the same thing at once give what one after the other would: never a 500 from a constraint the
first write's commit broke under the second, never a stored state no order of the two gives.

The races are made to happen in one order with tests/test_write_races.py's `race`: on PostgreSQL the first write is
held inside its transaction (its locks taken, not yet committed) while the second runs up to the lock it waits for;
SQLite's single writer runs them one after the other, the first first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.util import await_only

from labeling import accounts, annotations, audit, auth, cli, models, queue, reports, tasks, teams, web
from labeling.app import create_app
from labeling.consensus import runner
from labeling.export import dump
from labeling.errors import Conflict
from labeling.settings import Settings
from tests.conftest import PG_URL, bearer, sign_in_form, text_tasks
from tests.export.test_dump import _dump
from tests.export.helpers import answer_all
from tests.test_write_races import (Hold, _count, _delete, _error, _png, _upload_shown_by_one_project,
                                    _waiting_or_done, race)


async def _audited(db, action: str) -> int:  # noqa: ANN001
    return await _count(db, models.audit_log, action=action)


# ---- teams ----------------------------------------------------------------------------------------------------------

async def _team(client, requester: str, members: list[int]) -> int:  # noqa: ANN001
    r = await client.post("/api/teams", json={"name": "crew", "members": members}, headers=bearer(requester))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _deleting(client, requester: str, team_id: int):  # noqa: ANN001, ANN202
    return lambda: client.delete(f"/api/teams/{team_id}", headers=bearer(requester))


async def test_a_pool_listing_a_team_deleted_meanwhile_is_told_it_is_gone(client, db, requester, new_project,
                                                                        make_user, monkeypatch):
    """The pool change read the team before the deletion committed, then inserted its pool row: a foreign-key
    violation (500) on PostgreSQL. It now holds the team against the deletion as it reads it, so it waits and finds
    no team (400), as it does after the deletion."""
    worker, _ = await make_user("worker")
    team_id = await _team(client, requester, [worker["id"]])
    pid = (await new_project())["id"]

    def pooling():  # noqa: ANN202
        return client.put(f"/api/projects/{pid}/pool", json={"all_workers": False, "teams": [team_id]},
                          headers=bearer(requester))

    deleted, pooled = await race(db, monkeypatch, (teams, "delete"), _deleting(client, requester, team_id), pooling)
    assert deleted.status_code == 200, deleted.text
    assert pooled.status_code == 400 and _error(pooled)["field"] == "teams", pooled.text
    pool = (await client.get(f"/api/projects/{pid}/pool", headers=bearer(requester))).json()
    assert pool["all_workers"] is True and pool["teams"] == []


async def test_members_added_to_a_team_deleted_meanwhile_find_no_team(client, db, requester, make_user,
                                                                     monkeypatch):
    worker, _ = await make_user("worker")
    team_id = await _team(client, requester, [])

    def adding():  # noqa: ANN202
        return client.post(f"/api/teams/{team_id}/members", json={"workers": [worker["id"]]},
                           headers=bearer(requester))

    deleted, added = await race(db, monkeypatch, (teams, "delete"), _deleting(client, requester, team_id), adding)
    assert deleted.status_code == 200, deleted.text
    assert added.status_code == 404 and _error(added)["field"] == "team_id", added.text
    assert await _count(db, models.team_members) == 0


async def test_a_team_deleted_twice_at_once_is_deleted_once(client, db, requester, monkeypatch):
    """The second deletion read the team before the first committed: both answered 200 and the audit log said the
    team was deleted twice. The second now waits for the first and finds no team."""
    team_id = await _team(client, requester, [])
    first, second = await race(db, monkeypatch, (teams, "delete"), _deleting(client, requester, team_id),
                               _deleting(client, requester, team_id))
    assert first.status_code == 200, first.text
    assert second.status_code == 404 and _error(second)["field"] == "team_id", second.text
    assert await _audited(db, "team.delete") == 1


# ---- imports ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["json", "jsonl"])
async def test_two_imports_of_one_external_id_at_once_refuse_the_second(client, db, requester, new_project,
                                                                        monkeypatch, kind):
    """Both found the id free and both inserted it: the second failed on the unique index (a 500 on PostgreSQL).
    The second now checks the ids once the first has committed, and is told the id is taken, naming its line."""
    pid = (await new_project())["id"]
    lines = [{"data": {"text": "a"}, "external_id": "fresh"}, {"data": {"text": "b"}, "external_id": "same"}]

    def importing(items):  # noqa: ANN001, ANN202
        if kind == "json":
            return lambda: client.post(f"/api/projects/{pid}/tasks", json=items, headers=bearer(requester))
        return lambda: client.post(f"/api/projects/{pid}/tasks", content="\n".join(json.dumps(t) for t in items),
                                   headers={**bearer(requester), "Content-Type": "application/x-ndjson"})

    first, second = await race(db, monkeypatch, (tasks, "store"), importing([{"data": {"text": "c"},
                                                                              "external_id": "same"}]),
                               importing(lines))
    assert first.status_code == 201, first.text
    where = "tasks[1]" if kind == "json" else "line 2"
    assert second.status_code == 400 and _error(second)["field"] == "external_id", second.text
    assert _error(second)["message"] == f"{where}: external_id 'same' is already in the project", second.text
    assert await _count(db, models.tasks, project_id=pid) == 1
    progress = (await client.get(f"/api/projects/{pid}", headers=bearer(requester))).json()["progress"]
    assert progress["tasks"] == 1


async def test_a_multipart_import_keeps_its_image_removed_before_it_was_checked(client, db, settings, requester,
                                                                               new_project, monkeypatch):
    """The import put its image in the media folder (already there: another project showed it), and a deletion of
    that project removed the file, unused, before the import's tasks were checked: "no file" (400), although the
    import brings that very image and puts it back once it commits (tests/test_write_races.py covers a removal
    after the check). Either order of the two, one after the other, stores the task with its image."""
    path, doomed, other = await _upload_shown_by_one_project(client, requester, new_project)
    loop = asyncio.get_running_loop()
    original = tasks.validate

    def validate(*args: object, **kwargs: object) -> object:
        deleted = asyncio.run_coroutine_threadsafe(_delete(client, requester, doomed)(), loop).result(timeout=30)
        assert deleted.status_code == 200 and deleted.json()["deleted"]["media_files"] == 1, deleted.text
        return original(*args, **kwargs)

    monkeypatch.setattr(tasks, "validate", validate)
    r = await client.post(f"/api/projects/{other['id']}/tasks", files={"file": ("again.png", _png(), "image/png")},
                          headers=bearer(requester))
    assert r.status_code == 201 and r.json()["created"] == 1, r.text
    assert (settings.media_dir / path).exists()
    async with db.read() as conn:
        shown = await conn.scalar(select(models.tasks.c.data).where(models.tasks.c.project_id == other["id"]))
    assert shown["image"] == path


# ---- accounts -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["deactivate", "reactivate"])
async def test_an_account_switched_twice_at_once_is_switched_once(client, db, admin, make_user, monkeypatch, action):
    """Both read the account as it was and both changed it: two audit entries (and, for a deactivation, its leases
    released twice over) where one after the other the second finds it done. The second now waits for the first."""
    user, _ = await make_user("worker")
    if action == "reactivate":
        r = await client.post(f"/api/users/{user['id']}/deactivate", headers=bearer(admin))
        assert r.status_code == 200, r.text

    def switching():  # noqa: ANN202
        return client.post(f"/api/users/{user['id']}/{action}", headers=bearer(admin))

    first, second = await race(db, monkeypatch, (accounts, action), switching, switching)
    assert first.status_code == 200 and second.status_code == 200, (first.text, second.text)
    assert first.json()["is_active"] is second.json()["is_active"] is (action == "reactivate")
    assert await _audited(db, f"user.{action}") == 1


async def test_two_rotations_of_ones_own_token_at_once_never_answer_a_dead_token(client, db, make_user, monkeypatch):
    """Both passed sign-in with the old token; the first to commit replaced it and the other then replaced that, so
    the first 201 carried a token that no longer worked. The second is now refused (401), as after the first."""
    _, token = await make_user("worker")
    original = db.transact
    other: list = []

    async def transact(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if not other:  # signed in already; another rotation with the same token commits before this one
            other.append(None)
            other[0] = await client.post("/api/users/me/token", headers=bearer(token))
        return await original(fn, *args, **kwargs)

    monkeypatch.setattr(db, "transact", transact)
    late = await client.post("/api/users/me/token", headers=bearer(token))
    first = other[0]
    assert first.status_code == 201, first.text
    assert late.status_code == 401 and _error(late)["field"] == "Authorization", late.text
    me = await client.get("/api/users/me", headers=bearer(first.json()["token"]))
    assert me.status_code == 200, me.text
    assert await _audited(db, "user.token_rotate") == 1


@pytest.mark.parametrize("change", ["password", "deactivate"])
async def test_a_sign_in_checked_before_a_password_reset_starts_no_session(client, db, admin, make_user, monkeypatch,
                                                                           change):
    """The password was checked (slowly, off the database) and then the admin reset it, which ended the user's
    sessions; the sign-in then started a new one, which outlived the reset: the old password still gave a working
    session. The session is now started only if the password checked is still the user's (and the user active)."""
    user, _ = await make_user("worker", "signer", password="the-old-password")
    original = auth.login

    async def login(*args: object) -> object:
        out = await original(*args)
        body = {"json": {"password": "the-new-password"}} if change == "password" else {}
        r = await client.post(f"/api/users/{user['id']}/{change}", headers=bearer(admin), **body)
        assert r.status_code == 200, r.text
        return out

    monkeypatch.setattr(auth, "login", login)
    r = await sign_in_form(client, "signer", "the-old-password")
    assert r.status_code == 401 and "Wrong username or password" in r.text, r.text
    assert (await client.get("/api/users/me")).status_code == 401
    assert await _count(db, models.sessions) == 0


async def test_a_claim_racing_its_workers_deactivation_leaves_no_live_lease(client, db, admin, new_project,
                                                                           make_user, monkeypatch):
    """The claim passed sign-in before the deactivation committed, and on PostgreSQL leased a task after the
    deactivation had given the worker's leases back: a deactivated worker held a live lease, its task's answer kept
    from the others until it ran out. The claim now waits for the deactivation and is refused (401, as after it)."""
    project = await new_project(tasks=text_tasks(2))
    user, token = await make_user("worker")

    def deactivating():  # noqa: ANN202
        return client.post(f"/api/users/{user['id']}/deactivate", headers=bearer(admin))

    def claiming():  # noqa: ANN202
        return client.post(f"/api/projects/{project['id']}/next", headers=bearer(token))

    deactivated, claimed = await race(db, monkeypatch, (queue, "release_worker_leases"), deactivating, claiming)
    assert deactivated.status_code == 200, deactivated.text
    assert claimed.status_code == 401 and _error(claimed)["code"] == "account_deactivated", claimed.text
    assert await _count(db, models.assignments, status=0) == 0


@pytest.mark.parametrize("named", [False, True])
async def test_a_process_still_remembering_a_deactivated_token_leases_nothing(client, app, db, settings, admin,
                                                                              new_project, make_user, monkeypatch,
                                                                              named):
    """Another server process remembers a token for up to web.AUTH_RECHECK_SECONDS after a deactivation (README),
    and a claim there leased a task to the deactivated worker: a live lease the deactivation never gave back. The
    claim now asks whether the account is still active (as the page's reload asking for its task again, `named`)."""
    monkeypatch.setattr(web, "AUTH_RECHECK_SECONDS", 10**9)  # the other process has not looked again yet
    other = create_app(settings, db)
    project = await new_project(tasks=text_tasks(3))
    user, token = await make_user("worker")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://testserver") as there:
        lease = await there.post(f"/api/projects/{project['id']}/next", headers=bearer(token))
        assert lease.status_code == 200, lease.text
        released = await there.post(f"/api/assignments/{lease.json()['assignment_id']}/release", headers=bearer(token))
        assert released.status_code == 200, released.text
        r = await client.post(f"/api/users/{user['id']}/deactivate", headers=bearer(admin))
        assert r.status_code == 200, r.text
        query = {"prefer_task": lease.json()["task"]["id"], "resume": lease.json()["resume"]} if named else {}
        claimed = await there.post(f"/api/projects/{project['id']}/next", params=query, headers=bearer(token))
    assert claimed.status_code == 401 and _error(claimed)["code"] == "account_deactivated", claimed.text
    assert await _count(db, models.assignments, status=0) == 0


async def test_a_process_still_remembering_a_deactivated_token_renews_no_expired_lease(client, app, db, settings, admin,
                                                                                      new_project, make_user,
                                                                                      monkeypatch):
    """A deactivation gives back live leases; an expired one (reclaimed by the sweep) stays, and its renewal in a
    process that still remembered the token made it live again: a deactivated worker's live lease. Refused (401)."""
    monkeypatch.setattr(web, "AUTH_RECHECK_SECONDS", 10**9)  # the other process has not looked again yet
    other = create_app(settings, db)
    project = await new_project(tasks=text_tasks(1), redundancy=2)
    user, token = await make_user("worker")
    _, sweeper = await make_user("worker")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://testserver") as there:
        lease = await there.post(f"/api/projects/{project['id']}/next", headers=bearer(token))
        assert lease.status_code == 200, lease.text
        aid = lease.json()["assignment_id"]
        async with db.engine.begin() as conn:  # it ran out, and the next claim's sweep reclaims it
            await conn.execute(models.assignments.update().where(models.assignments.c.id == aid).values(expires_at=1.0))
        r = await client.post(f"/api/projects/{project['id']}/next", headers=bearer(sweeper))
        assert r.status_code == 200, r.text
        r = await client.post(f"/api/users/{user['id']}/deactivate", headers=bearer(admin))
        assert r.status_code == 200 and r.json()["leases_released"] == 0, r.text
        renewed = await there.post(f"/api/assignments/{aid}/renew", headers=bearer(token))
    assert renewed.status_code == 401 and _error(renewed)["code"] == "account_deactivated", renewed.text
    assert await _count(db, models.assignments, worker_id=user["id"], status=0) == 0


# ---- problem reports ------------------------------------------------------------------------------------------------

async def test_reports_at_once_never_pass_the_cap(client, db, new_project, make_user, monkeypatch):
    """Each report counted those before it without holding the assignment: reports at once all found room under
    MAX_REPORTS_PER_ASSIGNMENT and all were stored. They now take turns on the assignment."""
    pid = (await new_project(tasks=text_tasks(1)))["id"]
    _, worker = await make_user("worker")
    lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(worker))).json()
    url = f"/api/assignments/{lease['assignment_id']}/report"
    for i in range(reports.MAX_REPORTS_PER_ASSIGNMENT - 1):  # each its own text: the same text again is a retry
        r = await client.post(url, json={"text": f"cut off {i}"}, headers=bearer(worker))
        assert r.status_code == 201, r.text
    texts = iter(("still cut off", "cut off again"))

    def reporting():  # noqa: ANN202
        return client.post(url, json={"text": next(texts)}, headers=bearer(worker))

    last, over = await race(db, monkeypatch, (reports, "report"), reporting, reporting)
    assert last.status_code == 201, last.text
    assert over.status_code == 409 and _error(over)["field"] == "assignment_id", over.text
    assert await _count(db, models.task_reports, project_id=pid) == reports.MAX_REPORTS_PER_ASSIGNMENT


async def test_one_report_sent_twice_at_once_is_stored_once(client, db, new_project, make_user, monkeypatch):
    """A report sent again while the first is still being stored (a client's retry after its own timeout) finds it
    once the first commits: the same report, not a second one."""
    pid = (await new_project(tasks=text_tasks(1)))["id"]
    _, worker = await make_user("worker")
    lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(worker))).json()

    def reporting():  # noqa: ANN202
        return client.post(f"/api/assignments/{lease['assignment_id']}/report", json={"text": "cut off"},
                           headers=bearer(worker))

    first, again = await race(db, monkeypatch, (reports, "report"), reporting, reporting)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert first.json()["report_id"] == again.json()["report_id"]
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in (first, again)) == ["", "true"]
    assert await _count(db, models.task_reports, project_id=pid) == 1


# ---- a consensus recompute ------------------------------------------------------------------------------------------

async def test_a_recompute_writes_no_result_for_a_task_deleted_while_it_computed(client, db, requester, new_project,
                                                                               make_user, monkeypatch):
    """The recompute read the answers, the requester deleted a task, and the recompute wrote a result for it: a
    foreign-key violation (500) on both databases. Deleted tasks now get none; the others get theirs."""
    project = await new_project(tasks=text_tasks(3), redundancy=2)
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"label": "pos"}, {"label": "neg"}], f"del{pid}")
    original = runner.load_rows

    async def load_rows(*args: object) -> object:
        out = await original(*args)
        r = await client.request("DELETE", f"/api/projects/{pid}/tasks", json={"external_ids": ["t0"], "confirm": True},
                                 headers=bearer(requester))
        assert r.status_code == 200 and r.json()["deleted"] == 1, r.text
        return out

    monkeypatch.setattr(runner, "load_rows", load_rows)
    r = await client.post(f"/api/projects/{pid}/consensus", json={"method": "dawid-skene"}, headers=bearer(requester))
    assert r.status_code == 200, r.text
    async with db.read() as conn:
        written = (await conn.execute(select(models.task_results.c.method).join(
            models.tasks, models.tasks.c.id == models.task_results.c.task_id))).scalars().all()
    assert await _count(db, models.task_results) == 2 and written == ["dawid-skene"] * 2


# ---- a submit's settle and a change of its project ----------------------------------------------------------------

@pytest.mark.skipif(not PG_URL, reason="SQLite's single writer runs one after the other: no lock is ever waited for")
async def test_a_settle_racing_a_deletion_of_its_task_waits_for_it_instead_of_deadlocking(
        client, db, requester, new_project, make_user, monkeypatch, caplog):
    """The answer is stored; its settle then locked the task and waited for the project row, which a deletion of
    the task held while it waited for the task: a deadlock, the settle its victim (logged with a traceback, the task
    left for the sweep). The settle now holds the project row first, as the submit's statement does."""
    project = await new_project(tasks=text_tasks(1), redundancy=1)
    pid = project["id"]
    _, worker = await make_user("worker")
    lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(worker))).json()
    hold = Hold(monkeypatch, tasks, "ids_for")  # the deletion holds the project row, not yet its tasks
    original = annotations.settle_task
    started: list[asyncio.Future] = []

    async def release_once_the_settle_waits() -> None:
        never = asyncio.ensure_future(asyncio.Event().wait())  # returns once a lock is waited for, only then
        try:
            await _waiting_or_done(db, never)
        finally:
            never.cancel()
            hold.release()

    def settle_task(*args: object, **kwargs: object) -> object:
        started.append(asyncio.ensure_future(client.request(
            "DELETE", f"/api/projects/{pid}/tasks", json={"external_ids": ["t0"], "confirm": True},
            headers=bearer(requester))))
        await_only(hold.reached.wait())
        started.append(asyncio.ensure_future(release_once_the_settle_waits()))
        return original(*args, **kwargs)

    monkeypatch.setattr(annotations, "settle_task", settle_task)
    with caplog.at_level(logging.ERROR, logger="labeling"):
        submitted = await client.post(f"/api/assignments/{lease['assignment_id']}/submit",
                                      json={"answer": {"label": "pos"}}, headers=bearer(worker))
        deleted = await started[0]
        await started[1]
    assert submitted.status_code == 201, submitted.text
    assert deleted.status_code == 200 and deleted.json()["deleted"] == 1, deleted.text
    assert not [r for r in caplog.records if "settling after it failed" in r.getMessage()], caplog.text
    assert await _count(db, models.tasks, project_id=pid) == 0


async def test_the_settle_sweep_passes_over_a_project_deleted_after_it_listed_it(client, db, requester, new_project,
                                                                              monkeypatch, caplog):
    """The sweep each server process runs lists the projects, then settles each in a transaction of its own: one
    deleted in between was logged as an error with a traceback ("could not settle the left-over tasks")."""
    doomed = await new_project(tasks=text_tasks(1))
    kept = await new_project(tasks=text_tasks(1))
    original = db.transact
    deleted: list[int] = []

    async def transact(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if not deleted:  # the sweep's first transaction: the deletion commits first (through the same database)
            deleted.append(doomed["id"])
            r = await _delete(client, requester, doomed)()
            assert r.status_code == 200, r.text
        return await original(fn, *args, **kwargs)

    monkeypatch.setattr(db, "transact", transact)
    with caplog.at_level(logging.ERROR, logger="labeling"):
        assert await annotations.settle_left_over(db) == 0
    assert deleted and not caplog.records, caplog.text
    assert await _count(db, models.projects, id=kept["id"]) == 1


# ---- first start --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("made_meanwhile", ["admin", "worker"])
async def test_a_first_start_racing_another_one_uses_the_admin_it_made(settings, db, monkeypatch, made_meanwhile):
    """Two server processes starting at once on a new database without LABELING_ADMIN_TOKEN both found no admin and
    both made one: the second failed to start ("a user named 'admin' already exists"). It now starts, printing no
    token (the other printed it); a user named admin who is no admin still stops the start, as before."""
    monkeypatch.setenv("LABELING_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LABELING_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.delenv("LABELING_ADMIN_TOKEN", raising=False)
    original = auth.any_admin
    looked: list[bool] = []

    async def any_admin(conn):  # noqa: ANN001, ANN202
        if not looked:  # the other process makes its user just after this one looked
            looked.append(await original(conn))
            await db.transact(lambda tx: accounts.create(tx, audit.CLI, auth.ADMIN_NAME, made_meanwhile, None))
            return looked[0]
        return await original(conn)

    monkeypatch.setattr(auth, "any_admin", any_admin)
    if made_meanwhile == "admin":
        lines = await cli._startup(Settings.from_env(dict(os.environ)), False)
        assert looked == [False] and not any("Created the admin" in line for line in lines), lines
    else:
        with pytest.raises(Conflict, match="a user named 'admin' already exists"):
            await cli._startup(Settings.from_env(dict(os.environ)), False)
    assert await _count(db, models.users) == 1


# ---- a restore beside other writes --------------------------------------------------------------------------------

async def test_a_restore_never_moves_an_id_sequence_back(client, db, requester, new_project, tmp_path):
    """A restore inserts rows with their dumped ids, then sets each id sequence after the largest id: set to that
    alone, a sequence handed out before (ids of rows since deleted, or of an import in flight beside the restore) went
    back, and the next rows got those ids again (or, in flight, broke the primary key: a 500). Here the ids of a
    deleted project and its tasks were given again."""
    first = await new_project(tasks=text_tasks(2))
    path = tmp_path / "first.jsonl"
    path.write_bytes(await _dump(db, first["id"]))
    for project in (first, await new_project(tasks=text_tasks(3))):  # the second's ids come after the first's
        r = await _delete(client, requester, project)()
        assert r.status_code == 200, r.text
    async with db.read() as conn:
        highest = {table: await conn.scalar(select(func.max(table.c.id)).select_from(table))
                   for table in (models.projects, models.tasks)}
    assert highest == {models.projects: None, models.tasks: None}  # both gone, their ids never to be given again
    await dump.restore(db, path)
    later = await new_project(tasks=text_tasks(1))
    async with db.read() as conn:
        task_id = await conn.scalar(select(models.tasks.c.id).where(models.tasks.c.project_id == later["id"]))
    assert later["id"] == 3 and task_id == 6, (later["id"], task_id)  # after the deleted second project's 2 and 5
