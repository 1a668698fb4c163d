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


@pytest.mark.parametrize("task,field", [
    ({"data": {"text": "x"}, "gold": {"label": "nope"}}, "answer.label"),
    ({"data": {"text": "x"}, "predictions": {"labels": ["pos"]}}, "answer.label"),
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
    assert await _count(client, requester, project["id"]) == 0


async def test_invalid_json_line_is_reported(client, requester, new_project):
    project = await new_project()
    r = await client.post(f"/api/projects/{project['id']}/tasks", content='{"data": {"text": "a"}}\n{oops\n',
                          headers={**bearer(requester), "Content-Type": "application/x-ndjson"})
    assert r.status_code == 400 and r.json()["error"]["line"] == 2


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
    (settings.media_dir / "pics").mkdir(parents=True)
    (settings.media_dir / "pics" / "one.png").write_bytes(_png())
    url = f"/api/projects/{project['id']}/tasks"
    assert (await client.post(url, json=[{"data": {"image": "pics/one.png"}}], headers=bearer(requester))).status_code == 201
    r = await client.post(url, json=[{"data": {"image": "pics/missing.png"}}], headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["field"] == "data.image"
    r = await client.post(url, json=[{"data": {"image": "../secret.png"}}], headers=bearer(requester))
    assert r.status_code == 400


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
    r = await client.get(f"/api/projects/{project['id']}/export", params={"format": "jsonl", "include_open": "1"},
                         headers=bearer(requester))
    row = json.loads(r.text)
    assert {k: (row[k], type(row[k])) for k in data} == {k: (v, type(v)) for k, v in data.items()}
