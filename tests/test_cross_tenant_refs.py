"""References inside bodies and query strings that name another tenant's objects: an account, a team, a media file.
What is not the caller's gets the answer a missing one gets (status and body alike), so nothing says it exists."""

from __future__ import annotations

import io
import json

from PIL import Image

from tests.conftest import bearer, text_tasks


def _same_but_ref(a: dict, b: dict, ref_a: object, ref_b: object) -> bool:
    """Two error bodies are the same once each names the reference it was given."""
    return a == {"error": {**b["error"], "message": b["error"]["message"].replace(repr(ref_b), repr(ref_a))
                           .replace(str(ref_b), str(ref_a))}}


async def test_naming_a_requester_or_admin_as_a_worker_reads_as_no_such_worker(client, make_user, new_project,
                                                                                requester, admin):
    (other, _), (boss, _), (me, _) = (await make_user("requester", "bob"), await make_user("admin", "boss"),
                                      await make_user("requester", "carol"))
    project = await new_project()
    for refs, missing in ((["bob"], "nobody"), (["boss"], "nobody"), ([other["id"]], 99999), ([boss["id"]], 99999)):
        for method, url, key in (("PUT", f"/api/projects/{project['id']}/pool", "workers"),
                                 ("POST", "/api/teams", "members")):
            def body(value, key=key):
                return ({"all_workers": False, "workers": [value]} if key == "workers"
                        else {"name": f"team {value}", "members": [value]})
            there = await client.request(method, url, json=body(refs[0]), headers=bearer(requester))
            gone = await client.request(method, url, json=body(missing), headers=bearer(requester))
            assert there.status_code == gone.status_code == 400, there.text
            assert _same_but_ref(there.json(), gone.json(), refs[0], missing), (there.text, gone.text)
            assert "requester" not in there.text and "admin" not in there.text
    # The caller's own account, and any account for an admin: told what it is, to mend the mistake.
    r = await client.post("/api/teams", json={"name": "me", "members": ["req"]}, headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["message"] == "members[0]: req is a requester, not a worker"
    r = await client.post("/api/teams", json={"name": "them", "members": ["carol"]}, headers=bearer(admin))
    assert r.status_code == 400 and r.json()["error"]["message"] == "members[0]: carol is a requester, not a worker"
    r = await client.post("/api/teams", json={"name": "them", "members": [boss["id"]]}, headers=bearer(admin))
    assert r.json()["error"]["message"] == "members[0]: boss is an admin, not a worker"
    assert me  # a second requester exists for the admin to be told about


async def test_a_project_s_worker_routes_know_no_account_that_never_worked_there(client, make_user, new_project,
                                                                                 requester):
    (other, _), (boss, _), (worker, worker_token) = (await make_user("requester", "bob"),
                                                     await make_user("admin", "boss"), await make_user("worker"))
    project = await new_project(tasks=text_tasks(2), redundancy=1)
    pid = project["id"]
    for user_id in (other["id"], boss["id"]):
        for method, path in (("POST", "block"), ("POST", "unblock"), ("DELETE", "answers?confirm=true")):
            there = await client.request(method, f"/api/projects/{pid}/workers/{user_id}/{path}",
                                         headers=bearer(requester))
            gone = await client.request(method, f"/api/projects/{pid}/workers/99999/{path}", headers=bearer(requester))
            assert there.status_code == gone.status_code == 404, (path, there.text)
            assert _same_but_ref(there.json(), gone.json(), user_id, 99999)
    audit = (await client.get(f"/api/audit?project_id={pid}", headers=bearer(requester))).json()["data"]
    assert not [e for e in audit if e["action"].startswith("worker.")], audit
    # A worker (the crowd) may be named, and so may the owner once they labeled their own project.
    assert (await client.post(f"/api/projects/{pid}/workers/{worker['id']}/block",
                              headers=bearer(requester))).status_code == 200
    assert worker_token
    me = (await client.get("/api/users/me", headers=bearer(requester))).json()
    lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(requester))).json()
    assert (await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                              headers=bearer(requester))).status_code == 201
    r = await client.delete(f"/api/projects/{pid}/workers/{me['id']}/answers?confirm=true", headers=bearer(requester))
    assert r.status_code == 200 and r.json()["answers_deleted"] == 1, r.text


# ---- media-folder files named in tasks ------------------------------------------------------------------------------

def _png(color: str, size: tuple[int, int] = (12, 9)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def _put(settings, path: str, content: bytes) -> None:  # noqa: ANN001
    target = settings.media_dir / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)


async def _import(client, token: str, project_id: int, body, **kw):  # noqa: ANN001, ANN202
    if isinstance(body, list):
        kw["json"] = body
    return await client.post(f"/api/projects/{project_id}/tasks", headers=bearer(token), **kw)


async def test_a_requester_names_only_shared_files_and_their_own_folder_and_the_rest_reads_as_missing(
        client, make_user, admin, settings):
    (_, alice), (_, bob) = await make_user("requester", "alice"), await make_user("requester", "bob")
    _put(settings, "requesters/bob/secret.png", _png("red", (640, 480)))
    _put(settings, "requesters/alice/mine.png", _png("blue"))
    _put(settings, "shared/common.png", _png("green"))
    _put(settings, "loose.png", _png("white"))  # an operator's file outside both: nobody's to name
    boxes = (await client.post("/api/projects", json={"name": "boxes", "task_type": "bounding_box", "labels": ["x"]},
                               headers=bearer(alice))).json()["id"]
    gold = {"boxes": [{"label": "x", "x": 0, "y": 0, "w": 600, "h": 5}]}  # fits bob's image, not alice's uploads

    async def refused(path: str, missing: str, shape=lambda p: [{"data": {"image": p}, "gold": gold}]):  # noqa: ANN001
        there = await _import(client, alice, boxes, shape(path))
        gone = await _import(client, alice, boxes, shape(missing))
        assert there.status_code == gone.status_code == 400, there.text
        assert _same_but_ref(there.json(), gone.json(), path, missing), (there.text, gone.text)
        assert there.json()["error"]["field"] == "data.image" and "requesters/alice/" in there.text

    await refused("requesters/bob/secret.png", "requesters/bob/nothing.png")  # not even its size shows (gold)
    await refused("loose.png", "nothing.png")
    await refused("requesters/bob/secret.png", "requesters/bob/nothing.png",
                  lambda p: [{"source-ref": p}])  # a manifest line
    lines = lambda p: {"files": [("file", ("t.jsonl", json.dumps({"data": {"image": p}}).encode(),  # noqa: E731
                                           "application/x-ndjson"))]}
    there = await _import(client, alice, boxes, None, **lines("requesters/bob/secret.png"))
    gone = await _import(client, alice, boxes, None, **lines("requesters/bob/nothing.png"))
    assert there.status_code == gone.status_code == 400 and _same_but_ref(
        there.json(), gone.json(), "requesters/bob/secret.png", "requesters/bob/nothing.png"), there.text
    assert (await client.get("/media/requesters/bob/secret.png", headers=bearer(alice))).status_code == 404

    for path in ("shared/common.png", "requesters/alice/mine.png"):
        r = await _import(client, alice, boxes, [{"data": {"image": path}}])
        assert r.status_code == 201, (path, r.text)
    bobs = (await client.post("/api/projects", json={"name": "b", "task_type": "image_classification",
                                                     "labels": ["x"]}, headers=bearer(bob))).json()["id"]
    assert (await _import(client, bob, bobs, [{"source-ref": "requesters/bob/secret.png"}])).status_code == 201
    # An admin (the operator's account) names any file, in anyone's project; so does `labeling import`.
    r = await _import(client, admin, boxes, [{"data": {"image": "loose.png"}}])
    assert r.status_code == 201, r.text
    # ... and what a project of alice's shows is hers to name again (so do tasks stored before this rule).
    r = await _import(client, alice, boxes, [{"data": {"image": "loose.png"}}])
    assert r.status_code == 201, r.text
    assert (await _import(client, bob, bobs, [{"data": {"image": "loose.png"}}])).status_code == 400


async def test_an_upload_is_its_uploader_s_to_name(client, make_user, settings):
    (_, alice), (_, bob) = await make_user("requester", "alice"), await make_user("requester", "bob")
    r = await client.post("/api/media", files={"file": ("x.png", _png("red"), "image/png")}, headers=bearer(bob))
    path = r.json()["data"][0]["path"]
    never = path.replace(path.rsplit("/", 1)[1][:8], "00000000")  # an upload path no content has here
    project = (await client.post("/api/projects", json={"name": "a", "task_type": "image_classification",
                                                        "labels": ["x"]}, headers=bearer(alice))).json()["id"]
    there = await _import(client, alice, project, [{"data": {"image": path}}])
    gone = await _import(client, alice, project, [{"data": {"image": never}}])
    assert there.status_code == gone.status_code == 400, there.text
    assert _same_but_ref(there.json(), gone.json(), path, never)  # who holds which content is not told
    # Alice uploading the same image makes it hers too (the same file: uploads are stored by content).
    r = await client.post("/api/media", files={"file": ("y.png", _png("red"), "image/png")}, headers=bearer(alice))
    assert r.json()["data"][0]["path"] == path
    assert (await _import(client, alice, project, [{"data": {"image": path}}])).status_code == 201
    # An image uploaded with an import is the importer's to name again.
    r = await _import(client, alice, project, None, files={"file": ("z.png", _png("blue"), "image/png")})
    assert r.status_code == 201, r.text
    tasks = (await client.get(f"/api/projects/{project}/tasks", headers=bearer(alice))).json()["data"]
    uploaded = tasks[-1]["data"]["image"]
    assert (await _import(client, alice, project, [{"data": {"image": uploaded}}])).status_code == 201
    bobs = (await client.post("/api/projects", json={"name": "b", "task_type": "image_classification",
                                                     "labels": ["x"]}, headers=bearer(bob))).json()["id"]
    assert (await _import(client, bob, bobs, [{"data": {"image": uploaded}}])).status_code == 400


async def test_a_media_path_is_named_one_way_the_way_it_is_served(client, make_user, settings):
    """./shared//x.png was stored as it was written: its signed URL (an HTTP client drops ./) and /media/ found no
    file, so the task's image was never shown. Such a path is refused, naming the way to write it."""
    (_, alice), (_, worker) = await make_user("requester", "alice"), await make_user("worker", "w")
    _put(settings, "shared/common.png", _png("green"))
    project = (await client.post("/api/projects", json={"name": "a", "task_type": "image_classification",
                                                        "labels": ["x"], "redundancy": 1},
                                 headers=bearer(alice))).json()["id"]
    for path in ("./shared//common.png", "shared//common.png", "shared/./common.png", "shared/common.png/",
                 "./requesters/bob/x.png"):
        for body in ([{"data": {"image": path}}], [{"source-ref": path}]):
            r = await _import(client, alice, project, body)
            assert r.status_code == 400 and r.json()["error"]["field"] == "data.image", (path, r.text)
            assert "without ./, // or a final /" in r.json()["error"]["message"], r.text
    tasks = (await client.get(f"/api/projects/{project}/tasks", headers=bearer(alice))).json()["data"]
    assert tasks == []
    assert (await _import(client, alice, project, [{"data": {"image": "shared/common.png"}}])).status_code == 201
    lease = (await client.post(f"/api/projects/{project}/next", headers=bearer(worker))).json()
    for url in lease["task"]["media"].values():
        assert (await client.get(url)).status_code == 200, url


# ---- project names ---------------------------------------------------------------------------------------------

async def test_a_project_name_another_requester_uses_is_free_for_you(client, make_user, db):
    from labeling import projects
    from labeling.errors import InvalidInput

    (_, alice), (_, bob) = await make_user("requester", "alice"), await make_user("requester", "bob")

    async def create(token: str, name: str):  # noqa: ANN202
        return await client.post("/api/projects", json={"name": name, "task_type": "text_classification",
                                                        "labels": ["x"]}, headers=bearer(token))

    bobs = (await create(bob, "launch plan")).json()
    theirs, nobodys = await create(alice, "launch plan"), await create(alice, "nobody's name")
    assert theirs.status_code == nobodys.status_code == 201, theirs.text  # bob's name is not told
    again = await create(alice, "launch plan")  # one's own names stay unique
    assert again.status_code == 409 and again.json()["error"]["field"] == "name", again.text
    other = (await create(alice, "draft")).json()
    r = await client.patch(f"/api/projects/{other['id']}", json={"name": "nobody's name"}, headers=bearer(alice))
    assert r.status_code == 409, r.text
    r = await client.patch(f"/api/projects/{bobs['id']}", json={"name": "nobody's name"}, headers=bearer(bob))
    assert r.status_code == 200, r.text  # alice's name, now bob's too
    # The command line (the operator's) names a shared name's projects by id.
    async with db.read() as conn:
        try:
            await projects.find(conn, "nobody's name")
        except InvalidInput as exc:
            assert exc.field == "project" and f"ids {bobs['id']}, {nobodys.json()['id']}" in exc.message, exc.message
        else:
            raise AssertionError("an ambiguous name was taken")
        assert (await projects.find(conn, str(bobs["id"]))).owner_id == bobs["owner_id"]
        assert (await projects.find(conn, "draft")).id == other["id"]


async def test_deleting_a_project_does_not_tell_whether_another_requester_shows_the_same_upload(client, make_user,
                                                                                                settings):
    (_, alice), (_, bob) = await make_user("requester", "alice"), await make_user("requester", "bob")
    image = _png("red")

    async def project_showing(token: str, name: str) -> tuple[dict, str]:
        path = (await client.post("/api/media", files={"file": ("x.png", image, "image/png")},
                                  headers=bearer(token))).json()["data"][0]["path"]
        created = (await client.post("/api/projects", json={"name": name, "task_type": "image_classification",
                                                            "labels": ["x"]}, headers=bearer(token))).json()
        assert (await _import(client, token, created["id"], [{"data": {"image": path}}])).status_code == 201
        return created, path

    async def delete(token: str, project: dict) -> dict:
        r = await client.delete(f"/api/projects/{project['id']}", params={"confirm": project["name"]},
                                headers=bearer(token))
        assert r.status_code == 200, r.text
        return {k: v for k, v in r.json()["deleted"].items() if k not in ("project_id", "name")}

    alone, path = await project_showing(alice, "alone")
    assert await delete(alice, alone) == {"tasks": 1, "annotations": 0, "media_files": 1}
    assert not (settings.media_dir / path).exists()
    beside, _ = await project_showing(alice, "beside")
    bobs, _ = await project_showing(bob, "bob's")
    assert await delete(alice, beside) == {"tasks": 1, "annotations": 0, "media_files": 1}  # the same answer
    assert (settings.media_dir / path).exists()  # bob's project still shows it
    assert (await client.get(f"/media/{path}", headers=bearer(bob))).status_code == 200
    assert bobs
