"""/console/account (requesters and admins): who is signed in, and a new API token for the scripts and the export
page's curl line, shown once (POST /api/users/me/token from console-account.js: the old token stops working).
Before this page a requester who signs in with a password had no way to get a token but an admin."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from labeling import web
from labeling.console import frame


@frame.page("console.projects")
async def account_page(request: Request, caller: web.Caller) -> Response:
    """GET /console/account"""
    return frame.render(request, caller, "console/account.html", {"api_url": str(request.base_url).rstrip("/") + "/api"})


PAGES = [("GET", "/console/account", account_page)]
