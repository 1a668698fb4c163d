"""The API's own operations: whether the server is up (GET /api/health); its document is labeling/api/openapi.py."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from labeling import web


async def health(request: Request, caller: web.Caller) -> Response:
    """GET /api/health: the server is up and the database answers."""
    async with web.state(request).db.read() as conn:
        await conn.exec_driver_sql("SELECT 1")
    return JSONResponse({"status": "ok"})
