"""Media routes: upload images; serve a media-folder file to whoever may see a project that shows it, or to the
holder of a signed URL handed out with a task."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from labeling import jsonio, media, tasks, web
from labeling.errors import InvalidInput
from labeling.settings import Settings

MAX_FILES = 1000


async def _form(request: Request, settings: Settings) -> Any:
    # The body is counted as it streams in (middleware.BodyLimit): past the cap the parser stops with a 413.
    try:
        return await request.form(max_files=MAX_FILES, max_fields=MAX_FILES)
    except (HTTPException, MultiPartException) as exc:  # Starlette's word for a malformed upload (not a full disk)
        detail = getattr(exc, "detail", None) or getattr(exc, "message", "")
        raise InvalidInput(f"could not read the multipart upload: {detail}", field="body") from None


async def _files(request: Request, settings: Settings) -> AsyncIterator[tuple[str, bytes]]:
    """(filename, content) of every file in a multipart upload; InvalidInput when there is none."""
    form = await _form(request, settings)
    found = False
    for name, value in form.multi_items():
        if not isinstance(value, str):
            found = True
            yield jsonio.check_text(value.filename or name, "file"), await value.read()
    if not found:
        raise InvalidInput("the upload has no files", field="file")


async def tasks_from_upload(request: Request, settings: Settings) -> tuple[list[tuple[str, Any]], media.Sizes]:
    """Multipart: each image file becomes a task; a .json/.jsonl file in the form is read as task lines.
    Returns the items and the image sizes known so far (the uploads')."""
    items: list[tuple[str, Any]] = []
    known: dict[str, tuple[int, int]] = {}
    async for filename, content in _files(request, settings):
        lowered = filename.lower()
        if lowered.endswith((".json", ".jsonl", ".ndjson")):
            kind = "" if lowered.endswith(".json") else "ndjson"
            items.extend(await asyncio.to_thread(tasks.read_items, content, kind))  # off the event loop
            continue
        stored = await _store(settings, filename, content)
        known[stored["path"]] = (stored["width"], stored["height"])
        items.append((f"file {filename}", {"data": {"image": stored["path"], "filename": filename}}))
    return items, media.Sizes(settings.media_dir, known)


async def _store(settings: Settings, filename: str, content: bytes) -> dict:
    """Check and store an image in a worker thread: Pillow's decoding never holds up the event loop."""
    return await asyncio.to_thread(media.store_image, settings.media_dir, filename, content, settings.media_max_bytes,
                                   settings.media_max_pixels)


async def upload(request: Request, caller: web.Caller) -> Response:
    """POST /api/media: store images (their sizes recorded), answer their media paths (for tasks' data.image)."""
    app = web.state(request)
    stored = [await _store(app.settings, name, content) async for name, content in _files(request, app.settings)]
    sizes = {item["path"]: (item["width"], item["height"]) for item in stored}
    await app.db.transact(lambda tx: media.record(tx, sizes))
    return web.ok({"data": stored}, status_code=201)


HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


async def serve(request: Request, caller: web.Caller) -> Response:
    """GET /media/{path}: a file of the media folder, for someone who may see a project that shows it."""
    app = web.state(request)
    path = request.path_params["path"]
    async with app.db.read() as conn:
        caller.check(await media.facts(conn, caller.who, path))
    return FileResponse(media.resolve(app.settings.media_dir, path),
                        headers={"Cache-Control": "private, max-age=3600", **HEADERS})


async def serve_signed(request: Request, caller: web.Caller) -> Response:
    """GET /signed-media/{expires}/{signature}/{path}: a file of the media folder, for the holder of the URL."""
    app = web.state(request)
    params = request.path_params
    seconds = media.check_signature(app.media_key, params["expires"], params["signature"], params["path"])
    return FileResponse(media.resolve(app.settings.media_dir, params["path"]),
                        headers={"Cache-Control": f"private, max-age={seconds}", **HEADERS})
