"""Who sees an image: anyone who may see a project that shows it, or the holder of the signed URL handed out with
a task (short-lived, unforgeable); the same for files an operator put in the media folder."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from labeling import media
from labeling.errors import NotFound
from tests.conftest import bearer, text_tasks


def _png(color: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (12, 9), color).save(buffer, "PNG")
    return buffer.getvalue()


async def _upload(client, token, color):
    r = await client.post("/api/media", files={"file": (f"{color}.png", _png(color), "image/png")},
                          headers=bearer(token))
    return r.json()["data"][0]["path"]


async def test_an_image_is_served_to_those_who_may_see_a_project_that_shows_it(client, admin, requester, make_user,
                                                                                new_project, settings):
    shown, unused = await _upload(client, requester, "red"), await _upload(client, requester, "blue")
    (settings.media_dir / "shared" / "shelf").mkdir(parents=True)
    (settings.media_dir / "shared" / "shelf" / "a.png").write_bytes(_png("green"))
    project = await new_project(tasks=[{"data": {"image": shown}}, {"data": {"image": "shared/shelf/a.png"}}],
                                task_type="image_classification", labels=["x"])
    (insider, insider_token), (_, outsider), (_, other_requester) = (
        await make_user("worker"), await make_user("worker"), await make_user("requester"))
    await client.put(f"/api/projects/{project['id']}/pool", json={"all_workers": False, "workers": [insider["id"]]},
                     headers=bearer(requester))
    for path in (shown, "shared/shelf/a.png"):
        for token, status in ((requester, 200), (admin, 200), (insider_token, 200), (outsider, 404),
                              (other_requester, 404)):
            assert (await client.get(f"/media/{path}", headers=bearer(token))).status_code == status, (path, status)
        assert (await client.get(f"/media/{path}")).status_code == 401
    # An upload no project shows yet: an admin's only.
    assert (await client.get(f"/media/{unused}", headers=bearer(requester))).status_code == 404
    assert (await client.get(f"/media/{unused}", headers=bearer(admin))).status_code == 200
    assert (await client.get("/media/../../etc/passwd", headers=bearer(admin))).status_code == 404


async def test_a_task_comes_with_short_lived_signed_urls_for_its_images(client, app, requester, make_user,
                                                                        new_project):
    path = await _upload(client, requester, "red")
    project = await new_project(tasks=[{"data": {"image": path}}, {"data": {"image": "https://example.org/x.png"}}],
                                task_type="image_classification", labels=["x"])
    _, worker = await make_user("worker")
    lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))).json()
    url = lease["task"]["media"][path]
    served = await client.get(url)  # no credentials: the URL is the credential
    assert served.status_code == 200 and served.content == _png("red")
    assert "private" in served.headers["cache-control"]
    _, _, expires, signature, rest = url.split("/", 4)
    assert media.SIGNED_SECONDS <= int(expires) - time.time() <= media.SIGNED_SECONDS + media.SIGNED_BUCKET
    forged = f"/signed-media/{expires}/{signature[:-2]}xx/{rest}"
    other_file = f"/signed-media/{expires}/{signature}/uploads/other.png"
    later = f"/signed-media/{int(expires) + 600}/{signature}/{rest}"
    for bad in (forged, other_file, later):
        assert (await client.get(bad)).status_code == 404
    with pytest.raises(NotFound):
        media.check_signature(app.state.labeling.media_key, expires, signature, path, now=int(expires) + 1)
    text = await new_project(tasks=text_tasks(1))
    assert "media" not in (await client.post(f"/api/projects/{text['id']}/next", headers=bearer(worker))).json()["task"]


@pytest.mark.parametrize("task_type", ["image_classification", "bounding_box"])
async def test_a_link_out_of_the_media_folder_is_no_file_when_named_in_a_task(client, requester, new_project,
                                                                            settings, tmp_path, task_type):
    outside = tmp_path / "outside.png"
    outside.write_bytes(_png("red"))
    (settings.media_dir / "shared" / "ops").mkdir(parents=True, exist_ok=True)
    # served as 404: so naming it is refused too
    (settings.media_dir / "shared" / "ops" / "out.png").symlink_to(outside)
    (settings.media_dir / "shared" / "ops" / "real.png").write_bytes(_png("blue"))
    (settings.media_dir / "shared" / "ops" / "in.png").symlink_to(settings.media_dir / "shared" / "ops" / "real.png")
    project = await new_project(task_type=task_type, labels=["a"])
    url = f"/api/projects/{project['id']}/tasks"
    r = await client.post(url, json=[{"data": {"image": "shared/ops/out.png"}}], headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["field"] == "data.image", r.text
    assert "no file 'shared/ops/out.png'" in r.json()["error"]["message"]
    assert (await client.get("/media/shared/ops/out.png", headers=bearer(requester))).status_code == 404
    r = await client.post(url, json=[{"data": {"image": "shared/ops/in.png"}}], headers=bearer(requester))
    assert r.status_code == 201, r.text  # a link that stays inside is a file like any other
    assert (await client.get("/media/shared/ops/in.png", headers=bearer(requester))).status_code == 200


async def test_a_media_file_is_served_as_an_image_or_a_download_never_as_a_page(client, requester, new_project,
                                                                                settings, make_user):
    """An .html or .svg an operator put in the media folder, named by a task: opened in a tab it runs no script and
    shows no page under this origin (no form to steal a password, no redirect elsewhere)."""
    shelf = settings.media_dir / "shared" / "shelf"
    shelf.mkdir(parents=True)
    page = b'<meta http-equiv="refresh" content="0;url=https://evil.example/"><form action="https://evil.example/">'
    (shelf / "page.html").write_bytes(page)
    (shelf / "notes.txt").write_bytes(b"<script>window.pwned = 1</script>")
    (shelf / "drawing.svg").write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg" onload="window.pwned = 1"/>')
    (shelf / "photo.png").write_bytes(_png("red"))
    names = ("page.html", "notes.txt", "drawing.svg", "photo.png")
    project = await new_project(tasks=[{"data": {"image": f"shared/shelf/{name}"}} for name in names],
                                task_type="image_classification", labels=["x"])
    _, worker = await make_user("worker")
    signed: dict[str, str] = {}
    for _ in names:
        lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))).json()
        signed.update(lease["task"]["media"])
        await client.post(f"/api/assignments/{lease['assignment_id']}/skip", headers=bearer(worker))
    assert set(signed) == {f"shared/shelf/{name}" for name in names}
    for name, kind, download in (("page.html", "application/octet-stream", True),
                                 ("notes.txt", "application/octet-stream", True),
                                 ("drawing.svg", "image/svg+xml", False), ("photo.png", "image/png", False)):
        for r in (await client.get(f"/media/shared/shelf/{name}", headers=bearer(requester)),
                  await client.get(signed[f"shared/shelf/{name}"])):
            assert r.status_code == 200, (name, r.status_code)
            assert r.headers["content-type"] == kind, (name, r.headers["content-type"])
            assert r.headers.get("content-disposition", "").startswith("attachment") is download, name
            policy = [d.strip() for d in r.headers["content-security-policy"].split(";")]
            assert "sandbox" in policy and "default-src 'none'" in policy, name
            assert r.headers["x-content-type-options"] == "nosniff"


async def test_a_media_name_the_file_system_cannot_hold_is_no_such_file(client, admin, new_project, settings):
    """A part of a path over 255 bytes (within the 1,024 a path may have) made the file system refuse the name:
    an admin's GET /media/... and import naming it were 500s (OSError: File name too long); now the 404 and 400 of a
    missing file."""
    (settings.media_dir / "shared").mkdir(parents=True, exist_ok=True)
    long_part = "b" * 300
    for path in (f"{long_part}/x.png", f"shared/{long_part}.png", "a" * 1000):
        r = await client.get(f"/media/{path}", headers=bearer(admin))
        assert r.status_code == 404 and r.json()["error"]["field"] == "path", (path, r.text)
    project = await new_project(task_type="image_classification", labels=["x"])
    for path in (f"{long_part}/x.png", f"shared/{long_part}/x.png"):
        r = await client.post(f"/api/projects/{project['id']}/tasks", json=[{"data": {"image": path}}],
                              headers=bearer(admin))
        assert r.status_code == 400 and r.json()["error"]["field"] == "data.image", (path, r.text)
        assert "no file" in r.json()["error"]["message"]
