"""Task import: JSON arrays, JSON Lines, manifest lines, images; all or nothing with the bad line named."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from labeling import tasks as tasks_mod
from tests.conftest import bearer, every_page


async def _count(client, requester, project_id) -> int:
    return (await client.get(f"/api/projects/{project_id}", headers=bearer(requester))).json()["progress"]["tasks"]


async def test_json_lines_import_and_listing(client, requester, new_project):
    project = await new_project()
    lines = "\n".join(json.dumps({"data": {"text": f"t{i}"}, "priority": i % 3}) for i in range(25))
    r = await client.post(f"/api/projects/{project['id']}/tasks", content=lines,
                          headers={**bearer(requester), "Content-Type": "application/x-ndjson"})
    assert r.status_code == 201 and r.json() == {"created": 25}
    got = await every_page(client, f"/api/projects/{project['id']}/tasks", requester, limit=10)
    assert [t["data"]["text"] for t in got] == [f"t{i}" for i in range(25)]
    assert got[4]["priority"] == 1 and got[0]["state"] == "open"


async def test_manifest_lines_are_accepted_as_data(client, requester, new_project):
    project = await new_project()
    lines = '{"source": "from a manifest"}\n{"source-ref": "also text"}\n'
    r = await client.post(f"/api/projects/{project['id']}/tasks", content=lines,
                          headers={**bearer(requester), "Content-Type": "application/x-ndjson"})
    assert r.status_code == 201, r.text
    page = (await client.get(f"/api/projects/{project['id']}/tasks", headers=bearer(requester))).json()
    assert [t["data"]["text"] for t in page["data"]] == ["from a manifest", "also text"]


async def test_bad_line_is_named_and_nothing_is_stored(client, requester, new_project):
    project = await new_project()
    lines = ['{"data": {"text": "ok"}}'] * 3 + ['{"data": {"txt": "typo"}}'] + ['{"data": {"text": "ok"}}']
    r = await client.post(f"/api/projects/{project['id']}/tasks", content="\n".join(lines),
                          headers={**bearer(requester), "Content-Type": "application/x-ndjson"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["line"] == 4 and error["field"] == "data.text" and "line 4" in error["message"]
    assert await _count(client, requester, project["id"]) == 0


async def test_a_label_not_in_a_project_of_many_labels_names_some_of_them(client, requester, new_project):
    """The error named every label: 200 of them made a console import error of some 2,000 characters (1,000 labels,
    the most a project may have, over 10,000), all of it one line in the CLI."""
    labels = [f"label {i:03d}" for i in range(200)]
    project = await new_project(labels=labels)
    r = await client.post(f"/api/projects/{project['id']}/tasks", json=[{"data": {"text": "x"}, "gold": {"label": "nope"}}],
                          headers=bearer(requester))
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["field"] == "gold.label" and error["index"] == 0
    assert error["message"].endswith("gold.label 'nope' is not one of the project's labels (label 000, label 001, "
                                     "label 002, label 003, label 004, label 005, label 006, label 007, label 008, "
                                     "label 009, label 010, label 011, label 012, label 013, label 014, label 015, "
                                     "label 016, label 017, label 018, label 019 and 180 more)")
    project = await new_project(labels=labels[:20])  # up to 20: every one
    r = await client.post(f"/api/projects/{project['id']}/tasks", json=[{"data": {"text": "x"}, "gold": {"label": "nope"}}],
                          headers=bearer(requester))
    assert r.json()["error"]["message"].endswith("label 018, label 019)")
    assert await _count(client, requester, project["id"]) == 0


@pytest.mark.parametrize("task,field", [
    ({"data": {"text": "x"}, "gold": {"label": "nope"}}, "gold.label"),
    ({"data": {"text": "x"}, "predictions": {"labels": ["pos"]}}, "predictions.label"),
    ({"data": {"text": "x"}, "gold": "pos"}, "gold"),
    ({"data": {"text": "x"}, "priority": "high"}, "priority"),
    ({"data": {"text": "x"}, "colour": "red"}, "colour"),
    ({"data": {"text": ""}}, "data.text"),
    ("just a string", "task"),
])
async def test_bad_tasks_in_an_array_name_index_and_field(client, requester, new_project, task, field):
    project = await new_project()
    r = await client.post(f"/api/projects/{project['id']}/tasks", json=[{"data": {"text": "fine"}}, task],
                          headers=bearer(requester))
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"] == field and r.json()["error"]["index"] == 1
    assert "answer" not in r.json()["error"]["message"], "gold and predictions are named as such"
    assert await _count(client, requester, project["id"]) == 0


@pytest.mark.parametrize("priority", [2**31, -2**31, 2**40, 1.5, "high", True])
async def test_a_priority_out_of_range_is_refused_with_the_range(client, requester, new_project, priority):
    """A priority past 32 bits was refused as "not a whole number", which 2147483648 is."""
    project = await new_project()
    r = await client.post(f"/api/projects/{project['id']}/tasks", json=[{"data": {"text": "x"}, "priority": priority}],
                          headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["field"] == "priority"
    assert "from -2,147,483,647 to 2,147,483,647, got " in r.json()["error"]["message"]
    assert await _count(client, requester, project["id"]) == 0


@pytest.mark.parametrize("priority, said", [(None, "got null"), (True, "got true"), ("high", 'got "high"')])
async def test_a_bad_priority_is_quoted_as_the_json_sent(client, requester, new_project, priority, said):
    """The message quotes the value as JSON, as it was sent (null, true), not as Python writes it (None, True)."""
    project = await new_project()
    r = await client.post(f"/api/projects/{project['id']}/tasks", json=[{"data": {"text": "x"}, "priority": priority}],
                          headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["message"].endswith(said), r.text


async def test_invalid_json_line_is_reported(client, requester, new_project):
    project = await new_project()
    r = await client.post(f"/api/projects/{project['id']}/tasks", content='{"data": {"text": "a"}}\n{oops\n',
                          headers={**bearer(requester), "Content-Type": "application/x-ndjson"})
    assert r.status_code == 400 and r.json()["error"]["line"] == 2
    message = r.json()["error"]["message"]
    assert message.startswith("line 2: not valid JSON") and "line 1" not in message and "column 2" in message
    r = await client.post(f"/api/projects/{project['id']}/tasks", content='{"data": {"text": "a"}}\n{"data": 1\n',
                          headers={**bearer(requester), "Content-Type": "application/x-ndjson"})
    assert r.json()["error"]["message"].endswith("at the end of the line)"), "not a second, different line number"


async def test_external_ids_must_be_unique(client, requester, new_project):
    project = await new_project(tasks=[{"data": {"text": "a"}, "external_id": "x1"}])
    url = f"/api/projects/{project['id']}/tasks"
    r = await client.post(url, json=[{"data": {"text": "b"}, "external_id": "x2"},
                                     {"data": {"text": "c"}, "external_id": "x1"}], headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["index"] == 1 and r.json()["error"]["field"] == "external_id"
    r = await client.post(url, json=[{"data": {"text": "b"}, "external_id": "x3"},
                                     {"data": {"text": "c"}, "external_id": "x3"}], headers=bearer(requester))
    assert r.status_code == 400 and "repeats" in r.json()["error"]["message"]
    assert await _count(client, requester, project["id"]) == 1


async def test_import_limit_is_enforced(client, requester, new_project, monkeypatch):
    monkeypatch.setattr(tasks_mod, "MAX_TASKS_PER_IMPORT", 10)
    project = await new_project()
    r = await client.post(f"/api/projects/{project['id']}/tasks", json=[{"data": {"text": "x"}}] * 11,
                          headers=bearer(requester))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert await _count(client, requester, project["id"]) == 0


async def test_every_task_type_validates_its_data(client, requester, new_project):
    cases = {
        "preference_ranking": ({"prompt": "p", "responses": [{"id": "a", "text": "x"}, {"id": "b", "text": "y"}]},
                               {"prompt": "p", "responses": [{"id": "a", "text": "x"}]}, "data.responses"),
        "demonstration": ({"prompt": "write"}, {"question": "write"}, "data.prompt"),
        "named_entities": ({"text": "Ada at IBM"}, {"text": 5}, "data.text"),
        "image_classification": ({"image": "https://example.org/cat.png"}, {"image": "/etc/passwd"}, "data.image"),
        "bounding_box": ({"image": "http://example.org/a.jpg"}, {"image": "s3://bucket/a.jpg"}, "data.image"),
    }
    for task_type, (good, bad, field) in cases.items():
        labels = [] if task_type in ("preference_ranking", "demonstration") else ["A", "B"]
        project = await new_project(task_type=task_type, labels=labels)
        url = f"/api/projects/{project['id']}/tasks"
        assert (await client.post(url, json=[{"data": good}], headers=bearer(requester))).status_code == 201
        r = await client.post(url, json=[{"data": bad}], headers=bearer(requester))
        assert r.status_code == 400 and r.json()["error"]["field"] == field, (task_type, r.text)


def _png(color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buffer, "PNG")
    return buffer.getvalue()


async def test_uploaded_images_become_tasks_and_are_served(client, requester, new_project, make_user):
    project = await new_project(task_type="image_classification", labels=["cat", "dog"])
    files = [("file", ("a.png", _png("red"), "image/png")), ("file", ("b.png", _png("blue"), "image/png"))]
    r = await client.post(f"/api/projects/{project['id']}/tasks", files=files, headers=bearer(requester))
    assert r.status_code == 201 and r.json() == {"created": 2}
    page = (await client.get(f"/api/projects/{project['id']}/tasks", headers=bearer(requester))).json()
    path = page["data"][0]["data"]["image"]
    assert path.startswith("uploads/") and path.endswith(".png")
    _, worker = await make_user("worker")
    served = await client.get(f"/media/{path}", headers=bearer(worker))
    assert served.status_code == 200 and served.content == _png("red")
    assert (await client.get(f"/media/{path}")).status_code == 401
    assert (await client.get("/media/../../etc/passwd", headers=bearer(worker))).status_code == 404


async def test_a_fake_image_upload_is_refused_and_nothing_stored(client, requester, new_project):
    project = await new_project(task_type="image_classification", labels=["cat"])
    files = [("file", ("ok.png", _png(), "image/png")), ("file", ("evil.png", b"<?php echo 1; ?>", "image/png"))]
    r = await client.post(f"/api/projects/{project['id']}/tasks", files=files, headers=bearer(requester))
    assert r.status_code == 400 and "evil.png" in r.json()["error"]["message"]
    assert await _count(client, requester, project["id"]) == 0


async def test_relative_image_paths_must_exist_in_media(client, requester, new_project, settings):
    project = await new_project(task_type="image_classification", labels=["cat"])
    (settings.media_dir / "requesters" / "req" / "pics").mkdir(parents=True)
    (settings.media_dir / "requesters" / "req" / "pics" / "one.png").write_bytes(_png())
    url = f"/api/projects/{project['id']}/tasks"
    r = await client.post(url, json=[{"data": {"image": "requesters/req/pics/one.png"}}], headers=bearer(requester))
    assert r.status_code == 201, r.text  # the requester's own folder
    r = await client.post(url, json=[{"data": {"image": "requesters/req/pics/missing.png"}}],
                          headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["field"] == "data.image"
    r = await client.post(url, json=[{"data": {"image": "../secret.png"}}], headers=bearer(requester))
    assert r.status_code == 400


async def test_a_media_folder_file_no_browser_shows_is_refused_by_name(client, requester, new_project, settings):
    """An import named files of the media folder and checked only that they were there: a TIFF (or a HEIC photo, a
    PDF) made tasks every worker saw blank. Said with the line and field, nothing stored; an upload of a TIFF was
    refused already."""
    project = await new_project(task_type="image_classification", labels=["cat"])
    folder = settings.media_dir / "requesters" / "req" / "scans"
    folder.mkdir(parents=True)
    tiff = io.BytesIO()
    Image.new("RGB", (8, 6)).save(tiff, "TIFF")
    (folder / "page.png").write_bytes(tiff.getvalue())  # its name says PNG: its bytes are read
    (folder / "photo.jpg").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
    (folder / "ok.png").write_bytes(_png())
    url = f"/api/projects/{project['id']}/tasks"
    for name, kind in (("page.png", "TIFF"), ("photo.jpg", "HEIC")):
        body = [{"data": {"image": "requesters/req/scans/ok.png"}}, {"data": {"image": f"requesters/req/scans/{name}"}}]
        r = await client.post(url, json=body, headers=bearer(requester))
        assert r.status_code == 400, r.text
        assert r.json()["error"]["field"] == "data.image"
        assert r.json()["error"]["message"] == (f"tasks[1]: data.image: 'requesters/req/scans/{name}' is a {kind} file, "
                                                "which browsers do not show as an image (give PNG, JPEG, GIF, WEBP "
                                                "or BMP)")
    assert await _count(client, requester, project["id"]) == 0


async def test_media_upload_endpoint(client, requester):
    r = await client.post("/api/media", files=[("file", ("x.png", _png(), "image/png"))], headers=bearer(requester))
    assert r.status_code == 201
    item = r.json()["data"][0]
    assert item["width"] == 40 and item["height"] == 30 and item["path"].startswith("uploads/")


async def test_an_image_the_project_cannot_take_names_the_file(client, requester, new_project):
    project = await new_project()  # a text project: uploaded images are not its kind of task
    r = await client.post(f"/api/projects/{project['id']}/tasks", files=[("file", ("cat.png", _png(), "image/png"))],
                          headers=bearer(requester))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["file"] == "cat.png" and error["field"] == "data.text" and "cat.png" in error["message"]
    assert await _count(client, requester, project["id"]) == 0


async def test_an_upload_without_files_is_refused(client, requester, new_project):
    project = await new_project(task_type="image_classification", labels=["cat"])
    for url in (f"/api/projects/{project['id']}/tasks", "/api/media"):
        r = await client.post(url, files={"note": (None, "no file here")}, headers=bearer(requester))  # multipart
        assert r.status_code == 400 and r.json()["error"]["field"] == "file", r.text


async def test_a_taken_external_id_in_a_later_check_chunk_is_named(client, requester, new_project, monkeypatch):
    monkeypatch.setattr(tasks_mod, "ID_CHECK_CHUNK", 2)
    project = await new_project(tasks=[{"data": {"text": "old"}, "external_id": "e4"}])
    url = f"/api/projects/{project['id']}/tasks"
    batch = [{"data": {"text": f"t{i}"}, "external_id": f"e{i}"} for i in range(6)]
    r = await client.post(url, json=batch, headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["index"] == 4 and "'e4'" in r.json()["error"]["message"]
    assert await _count(client, requester, project["id"]) == 1


async def test_data_values_keep_their_json_types(client, requester, new_project):
    """Every value comes back as it was imported, type included, on SQLite and PostgreSQL alike: strings that
    look like numbers stay strings, and a float too large for plain digits stays a float (PostgreSQL's jsonb
    writes 1e16 back as the integer 10000000000000000)."""
    project = await new_project()
    data = {"text": "x", "code": "007", "sci": "1e5", "nan": "NaN", "empty": "", "i": 7, "i64": 9007199254740993,
            "f": 1.5, "whole": 100.0, "big": 1e16, "huge": 1.2345e300, "tiny": 1e-7, "neg": -2.5e20,
            "nested": {"a": [1e22, {"b": "1e5"}], "d.e f": None}}
    r = await client.post(f"/api/projects/{project['id']}/tasks", json=[{"data": data}], headers=bearer(requester))
    assert r.status_code == 201, r.text
    got = (await client.get(f"/api/projects/{project['id']}/tasks", headers=bearer(requester))).json()["data"][0]
    assert got["data"] == data
    assert {k: type(v) for k, v in got["data"].items()} == {k: type(v) for k, v in data.items()}
    assert type(got["data"]["nested"]["a"][0]) is float
    r = await client.get(f"/api/projects/{project['id']}/export", params={"format": "jsonl", "include_open": "true"},
                         headers=bearer(requester))
    row = json.loads(r.text)
    assert {k: (row[k], type(row[k])) for k in data} == {k: (v, type(v)) for k, v in data.items()}


def _files_under(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize("bad", ["fake image", "bad task line", "external id taken"])
async def test_a_refused_image_import_leaves_no_file_on_disk(client, requester, new_project, settings, bad):
    project = await new_project(task_type="image_classification", labels=["cat"])
    if bad == "external id taken":
        r = await client.post(f"/api/projects/{project['id']}/tasks", headers=bearer(requester),
                              json=[{"data": {"image": "https://img.example/a.png"}, "external_id": "x"}])
        assert r.status_code == 201
    before = _files_under(settings.media_dir)
    files = [("file", ("ok.png", _png("green"), "image/png"))]
    if bad == "fake image":
        files.append(("file", ("evil.png", b"<?php echo 1; ?>", "image/png")))
    elif bad == "bad task line":
        files.append(("file", ("more.jsonl", b'{"data": {"image": "https://img.example/b.png"}, "priority": "x"}\n',
                               "application/x-ndjson")))
    else:
        files.append(("file", ("more.jsonl", b'{"data": {"image": "https://img.example/b.png"}, "external_id": "x"}\n',
                               "application/x-ndjson")))
    r = await client.post(f"/api/projects/{project['id']}/tasks", files=files, headers=bearer(requester))
    assert r.status_code == 400, r.text
    assert await _count(client, requester, project["id"]) == (1 if bad == "external id taken" else 0)
    assert _files_under(settings.media_dir) == before  # no image, no temporary file


async def test_a_refused_media_upload_leaves_no_file_and_an_image_shared_with_a_stored_one_stays(
        client, requester, new_project, settings):
    kept = await client.post("/api/media", files=[("file", ("a.png", _png("red"), "image/png"))],
                             headers=bearer(requester))
    assert kept.status_code == 201
    before = _files_under(settings.media_dir)
    files = [("file", ("a.png", _png("red"), "image/png")), ("file", ("b.png", _png("blue"), "image/png")),
             ("file", ("evil.png", b"GIF89a not really", "image/png"))]
    r = await client.post("/api/media", files=files, headers=bearer(requester))
    assert r.status_code == 400 and "evil.png" in r.json()["error"]["message"]
    assert _files_under(settings.media_dir) == before
    project = await new_project(task_type="image_classification", labels=["cat"])
    files = [("file", ("a.png", _png("red"), "image/png")), ("file", ("evil.png", b"nope", "image/png"))]
    r = await client.post(f"/api/projects/{project['id']}/tasks", files=files, headers=bearer(requester))
    assert r.status_code == 400
    assert _files_under(settings.media_dir) == before  # the image uploaded before is still there


def test_a_failed_write_leaves_no_temporary_file_and_a_cut_short_image_is_rewritten(tmp_path, monkeypatch):
    from labeling import files, media

    upload = media.check_image("a.png", _png("red"), 10**6, 10**6)
    target = tmp_path / upload.path
    target.parent.mkdir(parents=True)
    target.write_bytes(upload.content[:10])  # what a crash mid-write without flush could leave
    assert media.place(tmp_path, upload.path, upload.content) is True
    assert target.read_bytes() == upload.content
    assert media.place(tmp_path, upload.path, upload.content) is False

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    other = media.check_image("b.png", _png("blue"), 10**6, 10**6)
    monkeypatch.setattr(files.os, "fsync", full_disk)
    with pytest.raises(OSError):
        media.place(tmp_path, other.path, other.content)
    assert _files_under(tmp_path) == [upload.path]


async def test_an_import_whose_image_a_failing_import_took_away_puts_it_back(settings):
    from labeling import media

    upload = media.check_image("a.png", _png("red"), 10**6, 10**6)
    first, second = media.Placed(settings.media_dir), media.Placed(settings.media_dir)
    first.place_all([upload])
    second.place_all([upload])  # already there: not second's to take away
    assert first.created == [upload.path] and second.created == []
    (settings.media_dir / upload.path).unlink()  # first failed and discarded it before second committed
    second.ensure()
    assert (settings.media_dir / upload.path).read_bytes() == upload.content


async def test_a_failed_request_keeps_an_image_it_made_that_another_request_recorded_meanwhile(settings, db):
    from labeling import media

    upload = media.check_image("a.png", _png("red"), 10**6, 10**6)
    other = media.check_image("b.png", _png("blue"), 10**6, 10**6)
    placed = media.Placed(settings.media_dir)
    placed.place_all([upload, other])
    await db.transact(lambda tx: media.record(tx, {upload.path: (40, 30)}))  # another request committed it
    async with db.read() as conn:
        await placed.discard(conn)
    assert (settings.media_dir / upload.path).is_file() and not (settings.media_dir / other.path).exists()


async def test_a_cleanup_that_fails_does_not_hide_why_the_import_was_refused(client, requester, new_project,
                                                                           monkeypatch):
    from labeling import media

    async def broken(self, conn):  # noqa: ANN001, ANN202
        raise OSError("the database went away")

    monkeypatch.setattr(media.Placed, "discard", broken)
    project = await new_project(task_type="image_classification", labels=["cat"])
    files = [("file", ("ok.png", _png("pink"), "image/png")), ("file", ("evil.png", b"nope", "image/png"))]
    r = await client.post(f"/api/projects/{project['id']}/tasks", files=files, headers=bearer(requester))
    assert r.status_code == 400 and "evil.png" in r.json()["error"]["message"]


async def test_a_compressed_import_is_refused_by_name(client, requester, new_project):
    import gzip

    project = await new_project()
    url = f"/api/projects/{project['id']}/tasks"
    packed = gzip.compress(b'[{"data": {"text": "a"}}]')
    r = await client.post(url, content=packed, headers={**bearer(requester), "Content-Type": "application/json",
                                                        "Content-Encoding": "gzip"})
    assert r.status_code == 415 and r.json()["error"]["field"] == "Content-Encoding", r.text
    r = await client.post(url, content=packed, headers={**bearer(requester), "Content-Type": "application/json"})
    assert r.status_code == 400 and "gzip-compressed" in r.json()["error"]["message"], r.text
    r = await client.post(url, files=[("file", ("t.jsonl.gz", packed, "application/gzip"))], headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["file"] == "t.jsonl.gz", r.text
    assert "compressed" in r.json()["error"]["message"]
    assert await _count(client, requester, project["id"]) == 0


async def test_a_table_uploaded_to_a_text_project_is_not_called_a_bad_image(client, requester, new_project):
    project = await new_project()
    r = await client.post(f"/api/projects/{project['id']}/tasks", headers=bearer(requester),
                          files=[("file", ("t.csv", b"text\nhi\n", "text/csv"))])
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["file"] == "t.csv" and "image" not in error["message"] and ".jsonl" in error["message"]
    assert await _count(client, requester, project["id"]) == 0


async def test_a_bad_line_in_one_of_two_uploaded_task_files_names_the_file(client, requester, new_project):
    project = await new_project()
    url = f"/api/projects/{project['id']}/tasks"
    good = b'{"data": {"text": "a"}}\n{"data": {"text": "b"}}\n'
    for second, words, place in [
            (b'{"data": {"text": "c"}}\n{"data": {"text": 5}}\n', "b.jsonl: line 2: data.text", {"line": 2}),
            (b'[{"data": {"text": "c"}}, {"data": {}}]', "b.json: tasks[1]: data.text", {"index": 1}),
            (b'{"data": {"text": "c"}}\n{"data": ', "b.jsonl: line 2: not valid JSON", {"line": 2})]:
        name = "b.json" if second.startswith(b"[") else "b.jsonl"
        files = [("file", ("a.jsonl", good, "application/x-ndjson")), ("file", (name, second, "application/json"))]
        r = await client.post(url, files=files, headers=bearer(requester))
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error["message"].startswith(words) and error["file"] == name, error
        assert {key: error[key] for key in place} == place
    assert await _count(client, requester, project["id"]) == 0


@pytest.mark.parametrize("key", ["gold", "predictions"])
async def test_gold_and_predictions_keep_to_the_projects_span_overlap_as_answers_do(client, db, requester, new_project,
                                                                                   key, tmp_path, monkeypatch):
    """A worker's answer in a project with span_overlap "none" may not overlap; gold and predictions were checked
    without the project's options, so overlapping gold imported (and scored workers against what they cannot give)."""
    text = "Ada Lovelace met Charles Babbage."
    crossing = {"spans": [{"start": 0, "end": 12, "label": "PER"}, {"start": 4, "end": 16, "label": "PER"}]}
    nested = {"spans": [{"start": 0, "end": 12, "label": "PER"}, {"start": 4, "end": 12, "label": "PER"}]}
    strict = await new_project(task_type="named_entities", labels=["PER"], options={"span_overlap": "none"})
    r = await client.post(f"/api/projects/{strict['id']}/tasks", headers=bearer(requester),
                          json=[{"data": {"text": text}}, {"data": {"text": text}, key: crossing}])
    assert r.status_code == 400 and r.json()["error"]["field"].startswith(f"{key}.spans"), r.text
    assert "tasks[1]" in r.json()["error"]["message"]
    listed = await client.get(f"/api/projects/{strict['id']}/tasks", headers=bearer(requester))
    assert listed.json()["data"] == []  # nothing stored
    loose = await new_project(task_type="named_entities", labels=["PER"], options={"span_overlap": "nested"})
    r = await client.post(f"/api/projects/{loose['id']}/tasks", headers=bearer(requester),
                          json=[{"data": {"text": text}, key: nested}])
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/projects/{loose['id']}/tasks", headers=bearer(requester),
                          json=[{"data": {"text": text}, key: crossing}])
    assert r.status_code == 400 and r.json()["error"]["field"].startswith(f"{key}.spans"), r.text


@pytest.mark.parametrize("body,content_type,where", [
    ('{"tasks": [{"data": {"text": "a"}}]}', "application/json", "line 1"),  # tasks wrapped, as other APIs take
    ('[{"input": "a"}]', "application/json", "tasks[0]"),
    ('{"prompt": "a"}\n', "application/x-ndjson", "line 1"),
])
async def test_an_object_without_data_that_is_no_data_says_how_it_was_read(client, requester, new_project, body,
                                                                          content_type, where):
    """It said only 'line 1: data.text is required', about a body that has no data.text because it wrapped its
    tasks in {"tasks": [...]}: the author of the script was not told that a task is {"data": ...}."""
    project = await new_project()
    r = await client.post(f"/api/projects/{project['id']}/tasks", content=body,
                          headers={**bearer(requester), "Content-Type": content_type})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["field"] == "data.text" and error["message"].startswith(f"{where}: data.text is required: "), error
    assert 'no "data" field' in error["message"] and 'a task is {"data": {...}' in error["message"], error
    assert await _count(client, requester, project["id"]) == 0


async def test_bare_data_and_manifest_lines_keep_their_own_errors(client, requester, new_project):
    project = await new_project()
    url = f"/api/projects/{project['id']}/tasks"
    for body in ([{"text": 5}], [{"source": 5}], [{"data": {"txt": "a"}}]):
        r = await client.post(url, json=body, headers=bearer(requester))
        assert r.status_code == 400 and 'no "data" field' not in r.json()["error"]["message"], (body, r.text)


async def test_json_lines_over_the_task_limit_are_refused_before_any_line_is_parsed(client, requester, new_project,
                                                                                    monkeypatch):
    """Counted first: 200 MB of 150,000 lines were all parsed (28 s, 1.6 GB of the server's memory) before the
    100,001st task was refused. A bad line among too many lines is therefore not what is reported."""
    monkeypatch.setattr(tasks_mod, "MAX_TASKS_PER_IMPORT", 10)
    project = await new_project()
    lines = [json.dumps({"data": {"text": f"t{i}"}}) for i in range(11)]
    lines[4] = '{"data": '  # never parsed
    r = await client.post(f"/api/projects/{project['id']}/tasks", content="\n".join(lines) + "\n\n",
                          headers={**bearer(requester), "Content-Type": "application/x-ndjson"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text
    assert "at most 10 tasks per request, and these JSON Lines have 11" in r.json()["error"]["message"]
    # the same in a task file of a multipart upload, named
    r = await client.post(f"/api/projects/{project['id']}/tasks", headers=bearer(requester),
                          files=[("file", ("big.jsonl", "\n".join(lines), "application/x-ndjson"))])
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text
    assert r.json()["error"]["message"].startswith("big.jsonl: at most 10 tasks per request, and these JSON Lines")
    # and counted over the upload's files: two of 9 lines each are 18 tasks, the second refused unparsed
    halves = [("file", (f"half{i}.jsonl", "\n".join(lines[:4] + lines[5:10]), "application/x-ndjson"))
              for i in range(2)]
    r = await client.post(f"/api/projects/{project['id']}/tasks", headers=bearer(requester), files=halves)
    assert r.status_code == 413 and r.json()["error"]["message"].startswith(
        "half1.jsonl: at most 10 tasks per request, and these JSON Lines have 9 after 9 in the upload's files"), r.text
    blank_lines_too = "\n\n".join(lines[:4] + lines[5:] + ["", "   "])  # 10 tasks and blank lines: not too many
    r = await client.post(f"/api/projects/{project['id']}/tasks", content=blank_lines_too,
                          headers={**bearer(requester), "Content-Type": "application/x-ndjson"})
    assert r.status_code == 201 and r.json()["created"] == 10, r.text


async def test_tasks_of_several_insert_batches_are_stored_in_order_with_every_column(client, requester, new_project,
                                                                                     db, monkeypatch):
    """The tasks of an import are written a batch at a time (PostgreSQL: one statement per batch, its columns as
    arrays): across batch boundaries, ids follow the file's order and every column is what a task alone stores
    (gold and predictions or none, external ids or none, priorities, a manifest line's source key, JSON types)."""
    from labeling import queue

    monkeypatch.setattr(queue, "INSERT_CHUNK", 3)
    project = await new_project(labels=["pos", "neg"], redundancy=2)
    sent = []
    for i in range(11):
        task: dict = {"data": {"text": f"t{i}", "n": i, "f": i + 0.5, "big": 1e16, "z": None, "s": "é \u2028"}}
        if i % 2:
            task["external_id"] = f"x{i}"
        if i % 3 == 0:
            task["gold"] = {"label": "pos"}
        if i % 4 == 1:
            task["predictions"] = {"label": "neg"}
        task["priority"] = i % 5 - 2
        sent.append(task if i != 7 else {"source": "from a manifest"})
    r = await client.post(f"/api/projects/{project['id']}/tasks", json=sent, headers=bearer(requester))
    assert r.status_code == 201, r.text
    got = await every_page(client, f"/api/projects/{project['id']}/tasks", requester, limit=100)
    ids = [t["id"] for t in got]
    assert ids == sorted(ids) and len(ids) == 11
    for task, stored in zip(sent, got):
        assert stored["data"] == task.get("data", {"text": "from a manifest"})
        assert (stored["gold"], stored["predictions"]) == (task.get("gold"), task.get("predictions"))
        assert (stored["external_id"], stored["priority"]) == (task.get("external_id"), task.get("priority", 0))
        assert (stored["needed"], stored["state"], stored["n_annotations"]) == (2, "open", 0)
    async with db.read() as conn:
        from sqlalchemy import text

        rows = (await conn.execute(text("SELECT source_key, is_gold, state, n_done, n_leased FROM tasks "
                                        "WHERE project_id = :p ORDER BY id"), {"p": project["id"]})).all()
    assert [tuple(row) for row in rows] == [("source" if i == 7 else None, i % 3 == 0, 0, 0, 0) for i in range(11)]
    progress = (await client.get(f"/api/projects/{project['id']}", headers=bearer(requester))).json()["progress"]
    assert progress["tasks"] == 11


def _wait(get):
    return get()


def test_reading_ahead_keeps_the_order_and_raises_an_error_after_what_came_before_it():
    """read_ahead (PostgreSQL's imports: the file read and checked in a thread while the server writes) hands every
    item over in order, and an error where it was met: after the items made before it, none after."""
    assert list(tasks_mod.read_ahead(iter(range(10)), _wait, chunk=3, ahead=1)) == list(range(10))
    assert list(tasks_mod.read_ahead(iter([]), _wait, chunk=3)) == []

    def failing():
        yield from range(5)
        raise tasks_mod.InvalidInput("line 6: bad", field="data.text")

    got = []
    with pytest.raises(tasks_mod.InvalidInput, match="line 6: bad"):
        for item in tasks_mod.read_ahead(failing(), _wait, chunk=2, ahead=1):
            got.append(item)
    assert got == list(range(5))


def test_leaving_a_read_ahead_early_stops_its_thread_and_closes_the_file():
    import threading

    closed = threading.Event()
    made = []

    def endless():
        try:
            for i in range(10**9):
                made.append(i)
                yield i
        finally:
            closed.set()

    reader = tasks_mod.read_ahead(endless(), _wait, chunk=4, ahead=2)
    assert [next(reader) for _ in range(3)] == [0, 1, 2]
    reader.close()
    assert closed.wait(10)
    assert len(made) <= 4 * 4  # memory stays bounded: the chunks held, the one being made, the one handed over
