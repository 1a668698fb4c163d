"""Image sizes: recorded at upload or when a box task first refers to an image; boxes checked against them; the
pixel cap on uploads."""

from __future__ import annotations

import dataclasses
import io
import struct
import zlib

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from labeling import models
from labeling.app import create_app
from tests.conftest import bearer


def _image(size: tuple[int, int], fmt: str = "PNG", orientation: int | None = None, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    image = Image.new(mode, size, "white" if mode != "1" else 1)
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(buffer, fmt, exif=exif)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


async def _recorded(db) -> dict[str, tuple[int, int]]:
    async with db.read() as conn:
        rows = (await conn.execute(select(models.media))).all()
    return {r.path: (r.width, r.height) for r in rows}


def _box(x, y, w, h, label="cat") -> dict:
    return {"answer": {"boxes": [{"label": label, "x": x, "y": y, "w": w, "h": h}]}}


async def _lease(client, make_user, project_id):
    _, worker = await make_user("worker")
    r = await client.post(f"/api/projects/{project_id}/next", headers=bearer(worker))
    assert r.status_code == 200, r.text
    return worker, r.json()


async def test_an_upload_records_its_size_and_boxes_must_stay_inside(client, db, requester, new_project, make_user):
    project = await new_project(task_type="bounding_box", labels=["cat"], redundancy=1)
    files = [("file", ("wide.png", _image((200, 100)), "image/png"))]
    r = await client.post(f"/api/projects/{project['id']}/tasks", files=files, headers=bearer(requester))
    assert r.status_code == 201, r.text
    recorded = await _recorded(db)
    assert list(recorded.values()) == [(200, 100)]
    worker, lease = await _lease(client, make_user, project["id"])
    url = f"/api/assignments/{lease['assignment_id']}/submit"
    for body, field in [(_box(150, 10, 52, 10), "answer.boxes[0].w"), (_box(0, 90, 10, 12), "answer.boxes[0].h"),
                        (_box(201, 0, 1, 1), "answer.boxes[0].x"), (_box(1e9, 0, 1, 1), "answer.boxes[0].x"),
                        (_box(0, 0, 1e300, 1), "answer.boxes[0].w"), (_box(-1, 0, 1, 1), "answer.boxes[0].x"),
                        (_box(0, 0, 0, 1), "answer.boxes[0].w"), (_box(0, 0, True, 1), "answer.boxes[0].w")]:
        r = await client.post(url, json=body, headers=bearer(worker))
        assert r.status_code == 400 and r.json()["error"]["field"] == field, (body, r.text)
    r = await client.post(url, json=_box(150.5, 0, 50.4, 100.9), headers=bearer(worker))  # within one pixel
    assert r.status_code == 201, r.text


async def test_a_task_referring_to_a_media_file_records_its_size_at_import(client, db, requester, new_project,
                                                                           settings):
    project = await new_project(task_type="bounding_box", labels=["cat"])
    (settings.media_dir / "shared" / "shots").mkdir(parents=True)
    (settings.media_dir / "shared" / "shots" / "a.png").write_bytes(_image((64, 48)))
    url = f"/api/projects/{project['id']}/tasks"
    bad_gold = [{"data": {"image": "shared/shots/a.png"}, "gold": {"boxes": [{"label": "cat", "x": 0, "y": 0, "w": 66,
                                                                        "h": 10}]}}]
    r = await client.post(url, json=bad_gold, headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["field"] == "gold.boxes[0].w", r.text
    assert await _recorded(db) == {}, "a refused import records nothing"
    r = await client.post(url, json=[{"data": {"image": "shared/shots/a.png"}}], headers=bearer(requester))
    assert r.status_code == 201, r.text
    assert await _recorded(db) == {"shared/shots/a.png": (64, 48)}


async def test_an_image_behind_a_url_only_has_the_coordinate_cap(client, requester, new_project, make_user):
    project = await new_project(task_type="bounding_box", labels=["cat"],
                                tasks=[{"data": {"image": "https://example.org/a.jpg"}}])
    worker, lease = await _lease(client, make_user, project["id"])
    url = f"/api/assignments/{lease['assignment_id']}/submit"
    r = await client.post(url, json=_box(100_001, 0, 1, 1), headers=bearer(worker))
    assert r.status_code == 400 and r.json()["error"]["field"] == "answer.boxes[0].x"
    assert (await client.post(url, json=_box(5000, 10, 20, 20), headers=bearer(worker))).status_code == 201


async def test_exif_orientation_swaps_the_recorded_size(client, db, requester):
    r = await client.post("/api/media", files=[("file", ("turned.jpg", _image((40, 30), "JPEG", 6), "image/jpeg"))],
                          headers=bearer(requester))
    assert r.status_code == 201 and (r.json()["data"][0]["width"], r.json()["data"][0]["height"]) == (30, 40)
    assert list((await _recorded(db)).values()) == [(30, 40)]


@pytest.mark.parametrize("fmt, shown", [("JPEG", (30, 40)), ("PNG", (30, 40)), ("WEBP", (40, 30))])
async def test_the_recorded_size_is_the_one_the_browser_shows(client, db, requester, new_project, make_user, fmt,
                                                              shown):
    # Chromium turns a JPEG or a PNG by its EXIF orientation, never a WebP: a WebP's size was recorded turned, so a
    # box a worker drew on its right part was refused as outside the picture (tests/browser/test_boxes.py checks the
    # browser's side).
    project = await new_project(task_type="bounding_box", labels=["cat"], redundancy=2)
    files = [("file", ("turned", _image((40, 30), fmt, 6), "image/*"))]
    r = await client.post(f"/api/projects/{project['id']}/tasks", files=files, headers=bearer(requester))
    assert r.status_code == 201, r.text
    assert list((await _recorded(db)).values()) == [shown]
    worker, lease = await _lease(client, make_user, project["id"])
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json=_box(0, 0, *shown),
                          headers=bearer(worker))
    assert r.status_code == 201, r.text
    worker, lease = await _lease(client, make_user, project["id"])
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json=_box(shown[0] + 5, 0, 1, 1),
                          headers=bearer(worker))
    assert r.status_code == 400 and r.json()["error"]["message"].endswith(f"x must be at most {shown[0]}"), r.text


def test_a_bound_is_said_as_people_write_it() -> None:
    """A size given in a task's data as 21.0 (JSON writers often do) was said back as 'at most 21.0'."""
    from labeling.errors import InvalidInput
    from labeling.tasktypes.base import require_number

    for bound, said in ((21.0, "21"), (21.5, "21.5"), (20000.0, "20,000"), (3, "3")):
        with pytest.raises(InvalidInput) as caught:
            require_number(100000, "x", maximum=bound)
        assert str(caught.value).endswith(f"x must be at most {said}"), str(caught.value)
    with pytest.raises(InvalidInput, match="x must be at least 2$"):
        require_number(1, "x", minimum=2.0)


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares a size and holds almost nothing (a decompression bomb's shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("route", ["media", "tasks"])
async def test_an_image_too_large_for_pillow_to_open_is_a_413_naming_the_cap(client, db, requester, new_project, route):
    """10 gigapixels declared in a few bytes: it was "not an image Pillow can read" (400), though it is one."""
    project = await new_project(task_type="image_classification", labels=["x"])
    url = "/api/media" if route == "media" else f"/api/projects/{project['id']}/tasks"
    r = await client.post(url, files=[("file", ("bomb.png", _png_header(100_000, 100_000), "image/png"))],
                          headers=bearer(requester))
    assert r.status_code == 413, r.text
    assert r.json()["error"]["field"] == "file" and "LABELING_MEDIA_MAX_PIXELS" in r.json()["error"]["message"]
    assert r.json()["error"]["message"].startswith("bomb.png: more than 50,000,000 pixels")
    assert await _recorded(db) == {}


async def test_the_pixel_cap_refuses_large_images(client, settings, db, requester):
    big = _image((8000, 7000), mode="1")  # 56 megapixels, a few kilobytes
    r = await client.post("/api/media", files=[("file", ("big.png", big, "image/png"))], headers=bearer(requester))
    assert r.status_code == 413 and "LABELING_MEDIA_MAX_PIXELS" in r.json()["error"]["message"], r.text
    small_cap = create_app(dataclasses.replace(settings, media_max_pixels=1000), db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small_cap), base_url="http://t") as c:
        r = await c.post("/api/media", files=[("file", ("a.png", _image((40, 30)), "image/png"))],
                         headers=bearer(requester))
        assert r.status_code == 413
        r = await c.post("/api/media", files=[("file", ("a.png", _image((20, 30)), "image/png"))],
                         headers=bearer(requester))
        assert r.status_code == 201
    assert list((await _recorded(db)).values()) == [(20, 30)]


async def test_a_file_that_is_no_image_is_named_with_the_kinds_that_are_read(client, requester):
    # The message named the library ("not an image Pillow can read"), not what the uploader may send.
    r = await client.post("/api/media", files=[("file", ("notes.png", b"just some text", "image/png"))],
                          headers=bearer(requester))
    assert r.status_code == 400
    assert r.json()["error"]["message"] == ("notes.png: not an image this server can read (PNG, JPEG, GIF, WEBP, BMP), "
                                            "or a damaged one")
    assert "Pillow" not in r.text


def _mpo(size: tuple[int, int]) -> bytes:
    """A JPEG with a second picture after the first (MPO): phones write depth maps and HDR gain maps so."""
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "MPO", save_all=True, append_images=[Image.new("RGB", size, "blue")])
    return buffer.getvalue()


async def test_a_phone_jpeg_with_more_pictures_is_a_jpeg(client, db, requester):
    # Pillow names a JPEG with a multi-picture block MPO; browsers show its first picture as any JPEG: it was refused.
    content = _mpo((30, 20))
    assert Image.open(io.BytesIO(content)).format == "MPO"
    r = await client.post("/api/media", files=[("file", ("phone.jpg", content, "image/jpeg"))],
                          headers=bearer(requester))
    assert r.status_code == 201, r.text
    path = r.json()["data"][0]["path"]
    assert path.endswith(".jpg")
    assert await _recorded(db) == {path: (30, 20)}


async def test_a_tiff_no_browser_shows_is_refused(client, db, requester):
    # Pillow reads TIFF, but Chromium and Firefox show none: every task of such an upload was a blank for workers.
    r = await client.post("/api/media", files=[("file", ("scan.tif", _image((30, 20), "TIFF"), "image/tiff"))],
                          headers=bearer(requester))
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {"code": "invalid", "field": "file", "message":
                                 "scan.tif: TIFF images are not accepted, as browsers do not show them (PNG, JPEG, "
                                 "GIF, WEBP, BMP)"}
    assert await _recorded(db) == {}
