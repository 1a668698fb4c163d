"""GET /api/projects/{id}/export: the bytes `labeling export` writes, streamed as they are made."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from labeling import audit, web
from labeling.api import projects as projects_api
from labeling.export import exporter, options


async def export(request: Request, caller: web.Caller) -> Response:
    """GET /api/projects/{id}/export?format=F&...: a file, or a zip when the export is several files."""
    app = web.state(request)
    async with app.db.read() as conn:
        project = await projects_api.project_for(request, caller, conn)
    chosen = options.parse(dict(request.query_params))
    job = exporter.Export(app.db, project, chosen, media_dir=app.settings.media_dir, secret=app.secret_key)
    await app.db.transact(lambda tx: audit.record(tx, caller.who, "project.export", project=project,
                                                  details={"format": chosen.format, "via": "api"}))
    return StreamingResponse(job.chunks(), media_type=job.media_type,
                             headers={"Content-Disposition": f'attachment; filename="{job.file_name}"',
                                      "Cache-Control": "no-store"})
