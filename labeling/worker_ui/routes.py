"""HTML routes of the worker UI: sign-in and sign-out, the home page, one labeling page per project.

The labeling page is a shell: its JavaScript loops next -> show -> submit -> next over the JSON API
(/api/projects/{id}/next, /api/assignments/{id}/...) with the session cookie and the CSRF header.
"""

from __future__ import annotations

import functools
from typing import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from labeling import auth, jsonio, label_styles, paging, projects, tasktypes, web, worker_stats
from labeling.auth import Principal
from labeling.errors import Forbidden, LabelingError
from labeling.worker_ui import pages

MAX_FORM_FIELDS = 10
MAX_CREDENTIAL_CHARS = 1000
MAX_FORM_BYTES = 64 * 1024

Page = Callable[[Request], Awaitable[Response]]


async def signed_in(request: Request) -> Principal | None:
    """The user of this browser session, or None (the session is cleared if its user is gone)."""
    user_id = request.session.get("user_id")
    if user_id is None:
        return None
    async with web.state(request).db.read() as conn:
        user = await auth.principal_for_id(conn, int(user_id))
    if user is None:
        request.session.clear()
    return user


def _to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


def safe_next(raw: str | None) -> str:
    """Only local paths: never another site (//evil.example, https://..., or a backslash trick)."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw or any(ord(c) < 32 for c in raw):
        return "/"
    return raw


def page(fn: Page) -> Page:
    """Domain errors on an HTML route become an HTML page in words, not JSON."""

    @functools.wraps(fn)
    async def handler(request: Request) -> Response:
        try:
            return await fn(request)
        except LabelingError as exc:
            status = web.status_for(exc)
            title = {403: "Not allowed", 404: "Not found"}.get(status, "Something went wrong")
            user = None if isinstance(exc, Forbidden) else await signed_in(request)
            return pages.render(request, "error.html", {"title": title, "message": exc.message, "user": user},
                                status_code=status)

    return handler


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form; a value neither database could store (a NUL) is a 400 naming its field."""
    web.limit_body(request, MAX_FORM_BYTES)
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    return {k: jsonio.check_text(v[:MAX_CREDENTIAL_CHARS], k) for k, v in form.items() if isinstance(v, str)}


@page
async def login_form(request: Request) -> Response:
    """GET /login"""
    next_url = safe_next(request.query_params.get("next"))
    if await signed_in(request) is not None:
        return RedirectResponse(next_url, status_code=303)
    notice = "You have signed out." if request.query_params.get("signed_out") else None
    return pages.render(request, "login.html", {"next": next_url, "username": "", "notice": notice})


@page
async def login_submit(request: Request) -> Response:
    """POST /login: check the CSRF token and the password, then start a fresh session."""
    form = await _form(request)
    next_url = safe_next(form.get("next"))
    username = form.get("username", "").strip()
    context = {"next": next_url, "username": username}
    try:
        web.check_csrf(request, form.get("csrf_token"))
    except Forbidden:
        return pages.render(request, "login.html", {
            **context, "error": "This sign-in form had expired. Please sign in again."}, status_code=403)
    if not username or not form.get("password"):
        return pages.render(request, "login.html", {
            **context, "error": "Enter your username and your password."}, status_code=400)
    async with web.state(request).db.read() as conn:
        user = await auth.login(conn, username, form["password"])
    if user is None:
        return pages.render(request, "login.html", {
            **context, "error": "Wrong username or password. Check both and try again."}, status_code=401)
    request.session.clear()  # a new session on sign-in: no fixation
    request.session["user_id"] = user.id
    web.csrf_token(request)
    return RedirectResponse(next_url, status_code=303)


@page
async def logout(request: Request) -> Response:
    """POST /logout (CSRF-protected form): end the session."""
    form = await _form(request)
    try:
        web.check_csrf(request, form.get("csrf_token"))
    except Forbidden as exc:
        return pages.render(request, "error.html", {
            "title": "Not signed out", "message": exc.message, "user": await signed_in(request)}, status_code=403)
    request.session.clear()
    return RedirectResponse("/login?signed_out=1", status_code=303)


@page
async def home(request: Request) -> Response:
    """GET /: the projects this user may work on, with what is left for them and their own counts."""
    user = await signed_in(request)
    if user is None:
        return _to_login(request)
    async with web.state(request).db.read() as conn:
        listed = await projects.list_(conn, user, None, paging.MAX_LIMIT)
        counts = await worker_stats.for_projects(conn, user.id, [p["id"] for p in listed["data"]],
                                                 worker_stats.day_start())
    rows = [{"project": p, "counts": counts[p["id"]]} for p in listed["data"]]
    # Work first: projects with tasks left for this worker, then finished ones, then stopped ones.
    rows.sort(key=lambda r: (r["counts"].blocked, r["counts"].left_for_worker == 0))
    return pages.render(request, "home.html", {"user": user, "rows": rows})


def _options(spec: tasktypes.TaskTypeSpec, options: dict) -> dict:
    """The project's options with the task type's defaults (a project older than an option has none set)."""
    try:
        return spec.validate_options(dict(options or {}))
    except LabelingError:
        return dict(options or {})


@page
async def label(request: Request) -> Response:
    """GET /projects/{id}/label: the labeling page of one project (its task type's template)."""
    user = await signed_in(request)
    if user is None:
        return _to_login(request)
    project_id = web.path_int(request, "project_id")
    async with web.state(request).db.read() as conn:
        row = await projects.load(conn, project_id)
        projects.check_access(row, user, manage=False)
        progress = await worker_stats.progress(conn, row.id, user.id)
    spec = tasktypes.get(row.task_type)
    config = {
        "project_id": row.id, "task_type": row.task_type, "labels": list(row.labels),
        "label_styles": label_styles.effective(row.labels, row.label_styles), "options": _options(spec, row.options),
        "lease_seconds": row.lease_seconds, "user_id": user.id, "text_first": spec.text_first, "progress": progress,
    }
    return pages.render(request, spec.template, {
        "user": user, "project": row, "config": config, "spec": spec,
        "is_image": spec.media == "image", "multi": spec.multi,
    })


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the JSON API)."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


async def not_found(request: Request) -> Response:
    """An unknown page asked for by a browser: a page in words with a way back, not JSON."""
    user = await signed_in(request) if "session" in request.scope else None
    return pages.render(request, "error.html", {
        "title": "Not found", "message": f"There is no page at {request.url.path}.", "user": user}, status_code=404)


def routes() -> list[BaseRoute]:
    """The UI's routes."""
    return web.method_routes([
        ("/", "GET", home),
        ("/login", "GET", login_form),
        ("/login", "POST", login_submit),
        ("/logout", "POST", logout),
        ("/projects/{project_id}/label", "GET", label),
    ])

