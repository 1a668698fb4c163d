"""The console's image import in Chromium against a real server (SQLite, or PostgreSQL with
LABELING_TEST_DATABASE_URL): images dropped together go to the import API as one multipart import, so a refused
drop leaves no file in the media folder and no media row (the server checks every image before it writes any and
takes them away again when the import is refused); a good drop becomes tasks that show their images; a drop larger
than one request goes in parts, each imported whole, and a refused part leaves nothing of itself."""

from __future__ import annotations

import secrets
import uuid

from playwright.sync_api import expect

from tests.browser.support import DESKTOP, png, sign_in

BROKEN = b"this is text, not a PNG\n"


def _project(server) -> tuple[dict, int]:  # noqa: ANN001
    requester = server.user("requester")
    with server.client(requester["token"]) as c:
        r = c.post("/api/projects", json={"name": f"images {uuid.uuid4().hex[:6]}",
                                          "task_type": "image_classification", "labels": ["cat", "dog"]})
        assert r.status_code == 201, r.text
    return requester, r.json()["id"]


def _images(n: int, width: int = 24) -> list[dict]:
    """n PNGs no other test has (a random colour each): files for set_input_files."""
    return [{"name": f"img{i}.png", "mimeType": "image/png",
             "buffer": png(width + i % 7, 16, [("rect", (1, 1, 8, 8), "#" + secrets.token_hex(3))])} for i in range(n)]


def _stored(server, project_id: int) -> tuple[set[str], int, int]:  # noqa: ANN001
    """The files under the media folder, the media rows, and the project's tasks."""
    root = server.data_dir / "media"
    files = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    media = server.query("SELECT count(*) AS n FROM media")[0]["n"]
    tasks = server.query("SELECT count(*) AS n FROM tasks WHERE project_id = :p", p=project_id)[0]["n"]
    return files, media, tasks


def test_a_refused_image_drop_leaves_nothing_and_a_good_one_shows_its_images(server, new_page):  # noqa: ANN001
    requester, project_id = _project(server)
    page = new_page(DESKTOP)
    sign_in(page, requester, f"/console/projects/{project_id}/import")
    files_before, media_before, _ = _stored(server, project_id)

    # More images than one of the old upload batches (200), the last one no image: refused whole, named.
    drop = _images(201) + [{"name": "broken.png", "mimeType": "image/png", "buffer": BROKEN}]
    page.set_input_files("#file-input", drop)
    expect(page.locator(".import-error")).to_contain_text("broken.png: not an image")
    expect(page.locator("#upload-progress")).to_be_hidden()
    assert _stored(server, project_id) == (files_before, media_before, 0)
    expect(page.locator(".import-error")).to_contain_text("nothing was stored")

    # A good drop: three tasks, three new files and media rows, and the results page shows the images.
    page.set_input_files("#file-input", _images(3, width=31))
    expect(page.locator(".import-ok")).to_have_text("Imported 3 tasks from 3 images.")
    files_after, media_after, tasks = _stored(server, project_id)
    assert tasks == 3 and len(files_after - files_before) == 3 and files_before <= files_after
    assert media_after == media_before + 3
    page.goto(f"/console/projects/{project_id}/results?sort=id")
    page.wait_for_function("() => { const imgs = [...document.querySelectorAll('.results-table img.view-image')];"
                           " return imgs.length === 3 && imgs.every(i => i.complete && i.naturalWidth > 0); }")
    widths = page.eval_on_selector_all(".results-table img.view-image", "imgs => imgs.map(i => i.naturalWidth)")
    assert sorted(widths) == [31, 32, 33]


def test_a_drop_larger_than_one_request_goes_in_parts_and_a_refused_part_leaves_nothing(server, new_page):  # noqa: ANN001
    requester, project_id = _project(server)
    page = new_page(DESKTOP)
    sign_in(page, requester, f"/console/projects/{project_id}/import")
    files_before, media_before, _ = _stored(server, project_id)
    # As if the form's file limit were 2: five images go as three imports; the second one's broken file refuses it.
    page.eval_on_selector("#import", "el => el.setAttribute('data-max-files', '2')")
    drop = _images(5)
    drop[3] = {"name": "broken.png", "mimeType": "image/png", "buffer": BROKEN}
    page.set_input_files("#file-input", drop)
    error = page.locator(".import-error")
    expect(error).to_contain_text("broken.png")
    expect(error).to_contain_text("2 tasks from the first 2 of 5 images were imported")
    files_after, media_after, tasks = _stored(server, project_id)
    assert tasks == 2 and len(files_after - files_before) == 2 and media_after == media_before + 2
    page.reload()
    page.eval_on_selector("#import", "el => el.setAttribute('data-max-files', '2')")
    page.set_input_files("#file-input", _images(5, width=40))
    expect(page.locator(".import-ok")).to_have_text("Imported 5 tasks from 5 images.")
    assert _stored(server, project_id)[2] == 7
