"""GET /api/projects/{id}/export: the bytes `labeling export` writes, streamed as they are made."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from labeling import projects, web
from labeling.auth import Principal
from labeling.export import exporter, options
from labeling.models import Role


@web.endpoint(Role.requester)
async def export(request: Request, user: Principal) -> Response:
    """GET /api/projects/{id}/export?format=F&...: a file, or a zip when the export is several files."""
    app = web.state(request)
    async with app.db.read() as conn:
        project = await projects.load(conn, web.path_int(request, "project_id"))
    projects.check_access(project, user, manage=True)
    job = exporter.Export(app.db, project, options.parse(dict(request.query_params)),
                          media_dir=app.settings.media_dir, secret=app.secret_key)
    return StreamingResponse(job.chunks(), media_type=job.media_type,
                             headers={"Content-Disposition": f'attachment; filename="{job.file_name}"',
                                      "Cache-Control": "no-store"})
