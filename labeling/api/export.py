"""GET /api/projects/{id}/export: the bytes `labeling export` writes, streamed as they are made."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Send

from labeling import audit, schemas, web
from labeling.api import projects as projects_api
from labeling.export import exporter, formats, options

Flag = schemas.QueryBool | None


class ExportQuery(schemas.Strict):
    """GET /api/projects/{id}/export: the format and its options (labeling/export/options.py parses them, for the CLI
    too; which formats and options a project takes depends on its task type)."""

    format: Literal[tuple(formats.FORMATS)]  # type: ignore[valid-type]
    split: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}=[0-9.]+(,[A-Za-z0-9][A-Za-z0-9_-]{0,63}=[0-9.]+)*$",
                              description="NAME=SHARE,... whose shares add up to 1")
    seed: schemas.QueryInt | None = Field(default=None, ge=0, le=2**63 - 1)
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    include_open: Flag = None
    include_gold: Flag = None
    since: str | None = Field(default=None, description="the Labeling-Next-Since of the previous pull (c:...), an ISO "
                              "8601 time or Unix seconds")
    card: Flag = None
    label_attribute: str | None = Field(default=None, pattern=options.LABEL_ATTRIBUTE.pattern)
    copy_images: Flag = None
    pairs: Literal[options.PAIRS] | None = None  # type: ignore[valid-type]
    min_margin: float | None = None
    margin: Literal[options.MARGINS] | None = None  # type: ignore[valid-type]
    conversational: Flag = None
    kto_source: Literal[options.KTO_SOURCES] | None = None  # type: ignore[valid-type]
    good_rating: float | None = Field(default=None, ge=1, le=7)
    bad_rating: float | None = Field(default=None, ge=1, le=7)
    good_rank: schemas.QueryInt | None = Field(default=None, ge=1, le=2**63 - 1)
    bad_rank: schemas.QueryInt | None = Field(default=None, ge=1, le=2**63 - 1)
    csv_escape_formulas: Flag = Field(default=None, description="csv: a text cell or column name that begins with "
                                      "=, +, -, @, a tab or a carriage return begins with ' (CSV injection)")


# The zip first: a generator that reads a response as its first media type it knows (openapi-python-client takes
# application/json, then reads a JSON Lines export with json.loads and fails) is told by README.md's client.yaml to
# read application/zip as bytes, and so reads every export as bytes.
MEDIA_TYPES = ["application/zip", *sorted({f.media_type.split(";")[0] for f in formats.FORMATS.values()}
                                          - {"application/zip"})]


NEXT_SINCE = "Labeling-Next-Since"


class ExportResponse(StreamingResponse):
    """The export, streamed; its head carries the next pull's cursor (Labeling-Next-Since: the snapshot the export reads,
    known once it is open), so its body's first chunk is made before the head is sent."""

    def __init__(self, job: exporter.Export, headers: dict[str, str]) -> None:
        self.job = job
        super().__init__(job.chunks(), media_type=job.media_type, headers=headers)

    async def stream_response(self, send: Send) -> None:
        chunks = self.body_iterator.__aiter__()
        first = await anext(chunks, b"")
        if self.job.cursor is not None:
            self.raw_headers.append((NEXT_SINCE.lower().encode(), str(self.job.cursor).encode()))
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if first:
            await send({"type": "http.response.body", "body": first, "more_body": True})
        async for chunk in chunks:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def export(request: Request, caller: web.Caller) -> Response:
    """GET /api/projects/{id}/export?format=F&...: a file, or a zip when the export is several files."""
    app = web.state(request)
    async with app.db.read() as conn:
        project = await projects_api.project_for(request, caller, conn)
    chosen = options.parse(web.single_params(request))
    job = exporter.Export(app.db, project, chosen, media_dir=app.settings.media_dir, secret=app.secret_key)
    headers = {"Content-Disposition": f'attachment; filename="{job.file_name}"', "Cache-Control": "no-store"}
    await job.check_since()  # a cursor refused is a 400 (to a HEAD too), not an export logged and then cut short
    if request.method == "HEAD":
        # What a GET would answer, checked as it would be, without making the export nobody will read (a HEAD's
        # body is dropped on the way out) or saying in the audit log that it was exported.
        response = Response(media_type=job.media_type, headers=headers)
        del response.headers["content-length"]  # the GET's length is not known (it streams), not 0
        return response
    await app.db.transact(lambda tx: audit.record(tx, caller.who, "project.export", project=project,
                                                  details={"format": chosen.format, "via": "api"}))
    return ExportResponse(job, headers)
