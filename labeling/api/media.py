"""Media routes: upload images; serve a media-folder file to whoever may see a project that shows it, or to the
holder of a signed URL handed out with a task."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
from pathlib import Path
from typing import Any, AsyncIterator

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from labeling import jsonio, media, tasks, tasktypes, web
from labeling.errors import InvalidInput
from labeling.settings import Settings
from labeling.sqltx import Tx

log = logging.getLogger("labeling")

MAX_FILES = 1000


async def _form(request: Request, settings: Settings) -> Any:
    # The body is counted as it streams in (middleware.BodyLimit): past the cap the parser stops with a 413.
    web.check_media_type(request, ("multipart/form-data",), "files (multipart/form-data)")
    web.check_content_encoding(request)
    return await web.read_form(request, max_files=MAX_FILES, max_fields=MAX_FILES)


async def _files(request: Request, settings: Settings) -> AsyncIterator[tuple[str, bytes]]:
    """(filename, content) of every file in a multipart upload; InvalidInput when there is none, or for a field
    that is no file (nothing reads one: `-F priority=5` is refused by name, as a body's unknown field is)."""
    form = await _form(request, settings)
    if all(isinstance(value, str) for _, value in form.multi_items()):
        raise InvalidInput("the upload has no files", field="file")
    for name, value in form.multi_items():
        if isinstance(value, str):
            field = jsonio.check_text(name, "file")[:100]
            raise InvalidInput(f"{field}: is not a known field (the form takes files, as 'file')", field=field)
    for name, value in form.multi_items():
        yield jsonio.check_text(value.filename or name, "file"), await value.read()


async def tasks_from_upload(request: Request, settings: Settings, placed: media.Placed,
                            task_type: str) -> tuple[list[tuple[str, Any]], media.Sizes]:
    """Multipart: each image file becomes a task (refused later by a project whose tasks are texts); a .json/.jsonl
    file in the form is read as task lines. Every file is checked before the images are written (to `placed`, which
    takes them away again if the import fails). Returns the items and the image sizes known so far (the uploads')."""
    items: list[tuple[str, Any]] = []
    uploads: list[media.Upload] = []
    images = tasktypes.get(task_type).media == "image"
    async for filename, content in _files(request, settings):
        lowered = filename.lower()
        if lowered.endswith((".json", ".jsonl", ".ndjson")):
            items.extend(await asyncio.to_thread(tasks.file_part_items, filename, content,  # off the event loop
                                                 tasks.MAX_TASKS_PER_IMPORT, len(items)))
            continue
        if content.startswith(tasks.GZIP_MAGIC):  # else "not an image this server can read"
            raise InvalidInput(f"{filename}: a compressed file; upload the task file or image itself", field="file",
                               file=filename)
        try:
            upload = await _check(settings, filename, content)
        except InvalidInput:
            if images:
                raise
            # A CSV or other file sent to a project whose tasks are no images: not "not an image".
            raise InvalidInput(f"{filename}: a {task_type} project takes task files here (.json, .jsonl or "
                               ".ndjson)", field="file", file=filename) from None
        uploads.append(upload)
        items.append((f"file {filename}", {"data": {"image": upload.path, "filename": filename}}))
    await asyncio.to_thread(placed.place_all, uploads)
    return items, media.Sizes(settings.media_dir, {u.path: (u.width, u.height) for u in uploads})


async def _check(settings: Settings, filename: str, content: bytes) -> media.Upload:
    """Check an image in a worker thread: Pillow's decoding never holds up the event loop."""
    return await asyncio.to_thread(media.check_image, filename, content, settings.media_max_bytes,
                                   settings.media_max_pixels)


@contextlib.asynccontextmanager
async def placing(app: web.AppState) -> AsyncIterator[media.Placed]:
    """The images a request writes: taken away if the request fails (an error, or the client gone), put back
    if a failing request with the same image took them away before this one committed."""
    placed = media.Placed(app.settings.media_dir)
    try:
        yield placed
    except BaseException:
        try:
            async with app.db.read() as conn:
                await asyncio.shield(placed.discard(conn))
        except Exception as exc:  # the database may be why the request failed: its error is the one to answer
            log.warning("could not take away the files of a failed upload %s: %s", placed.created, exc)
        raise
    await asyncio.to_thread(placed.ensure)


async def upload(request: Request, caller: web.Caller) -> Response:
    """POST /api/media: store images (their sizes recorded), answer their media paths (for tasks' data.image).
    Every file is checked before any is written: a refused upload leaves nothing on disk."""
    app = web.state(request)
    uploads = [await _check(app.settings, name, content) async for name, content in _files(request, app.settings)]
    async with placing(app) as placed:
        await asyncio.to_thread(placed.place_all, uploads)
        sizes = {item.path: (item.width, item.height) for item in uploads}

        def record(tx: Tx) -> None:
            media.record(tx, sizes)
            media.record_uploader(tx, caller.who.id, sizes)  # theirs to name in tasks

        await app.db.transact(record)
    return web.ok({"data": [item.public() for item in uploads]}, status_code=201)


# A media file is an image, never a page of this site: opened in a tab it runs nothing and reaches nothing (an SVG's
# scripts, a form), and a file that is no image by its name (an .html or .txt an operator put in the media folder,
# which a task may name) is a download, not a page: no link, redirect or form of it shows under this origin.
CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def _file(path: Path, cache_control: str) -> FileResponse:
    """The response serving one media file (`path` resolved inside the media folder)."""
    headers = {"Cache-Control": cache_control, "Content-Security-Policy": CSP}
    if (mimetypes.guess_type(path.name)[0] or "").startswith("image/"):
        return FileResponse(path, headers=headers)
    return FileResponse(path, headers=headers, media_type="application/octet-stream", filename=path.name)


async def serve(request: Request, caller: web.Caller) -> Response:
    """GET /media/{path}: a file of the media folder, for someone who may see a project that shows it."""
    app = web.state(request)
    path = request.path_params["path"]
    async with app.db.read() as conn:
        caller.check(await media.facts(conn, caller.who, path))
    return _file(media.resolve(app.settings.media_dir, path), "private, max-age=3600")


async def serve_signed(request: Request, caller: web.Caller) -> Response:
    """GET /signed-media/{expires}/{signature}/{path}: a file of the media folder, for the holder of the URL."""
    app = web.state(request)
    params = request.path_params
    seconds = media.check_signature(app.media_key, params["expires"], params["signature"], params["path"])
    return _file(media.resolve(app.settings.media_dir, params["path"]), f"private, max-age={seconds}")
