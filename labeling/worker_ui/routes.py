"""HTML routes of the worker UI: sign-in and sign-out, the home page, one labeling page per project.

The labeling page is a shell: its JavaScript loops next -> show -> submit -> next over the JSON API
(/api/projects/{id}/next, /api/assignments/{id}/...) with the session cookie and the CSRF header.
"""

from __future__ import annotations

import functools
from typing import Awaitable, Callable
from urllib.parse import quote

from python_multipart.multipart import parse_options_header
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from labeling import auth, jsonio, label_styles, membership, paging, policy, projects, tasktypes, web, worker_stats
from labeling.errors import Forbidden, InvalidInput, LabelingError, Unauthenticated
from labeling.models import Role
from labeling.worker_ui import pages

MAX_FORM_FIELDS = 10
MAX_CREDENTIAL_CHARS = 1000
MAX_FORM_BYTES = 64 * 1024
WORKER_VIEW = "view"  # session key: a requester or admin who chose the worker view ("worker")

Page = Callable[[Request, web.Caller], Awaitable[Response]]


def _to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


def safe_next(raw: str | None) -> str:
    """Only local paths: never another site (//evil.example, https://..., or a backslash trick)."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw or any(ord(c) < 32 for c in raw):
        return "/"
    return raw


async def _error_page(request: Request, exc: LabelingError) -> Response:
    status = web.status_for(exc)
    title = {401: "Not signed in", 403: "Not allowed", 404: "Not found"}.get(
        status, "Something went wrong")
    # A signed-in user refused a page (403) keeps the top bar: their way back and Sign out.
    user = None if isinstance(exc, Unauthenticated) else await web.session_user(request)
    response = pages.render(request, "error.html", {"title": title, "message": exc.message, "user": user},
                            status_code=status)
    response.headers.update(web.error_headers(exc) or {})
    return response


def page(action: str) -> Callable[[Page], Callable[[Request], Awaitable[Response]]]:
    """An HTML route behind the policy gate with its action: a visitor without credentials is sent to sign in,
    and domain errors become a page in words, not JSON."""
    rule = policy.rule(action)

    def wrap(fn: Page) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(fn)
        async def handler(request: Request) -> Response:
            try:
                user = None
                if not rule.public:
                    try:
                        user = await web.principal(request)
                    except Unauthenticated:
                        if "authorization" in request.headers:
                            raise
                        return _to_login(request)  # no credentials, or a session that has ended
                policy.authorize(user, action)
                return await fn(request, web.Caller(user, action))
            except LabelingError as exc:
                return await _error_page(request, exc)

        handler.action = action  # type: ignore[attr-defined]  # read by the matrix test
        return handler

    return wrap


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form; a malformed one, or a value neither database could store (a NUL), is an
    InvalidInput (400) naming the body or the field."""
    web.limit_body(request, MAX_FORM_BYTES)
    body = await request.body()  # small (MAX_FORM_BYTES): read whole, so a cut-off multipart body can be told
    content_type, options = parse_options_header(request.headers.get("content-type"))
    if content_type == b"multipart/form-data" and options.get(b"boundary") and not body.rstrip().endswith(
            b"--" + options[b"boundary"] + b"--"):  # the parser takes a body cut off between parts as whole
        raise InvalidInput(f"{web.FORM_UNREAD}it ends before its closing boundary", field="body")
    form = await web.read_form(request, max_files=0, max_fields=MAX_FORM_FIELDS)
    return {k: jsonio.check_text(v[:MAX_CREDENTIAL_CHARS], k) for k, v in form.items() if isinstance(v, str)}


def _address(request: Request) -> str:
    """The client address the throttle counts (the direct peer: uvicorn runs without proxy headers)."""
    return request.client.host if request.client else "unknown"


@page("session.sign_in")
async def login_form(request: Request, caller: web.Caller) -> Response:
    """GET /login"""
    next_url = safe_next(request.query_params.get("next"))
    if await web.session_user(request) is not None:
        return RedirectResponse(next_url, status_code=303)
    notice = "You have signed out." if request.query_params.get("signed_out") else None
    return pages.render(request, "login.html", {"next": next_url, "username": "", "notice": notice})


def _throttled(request: Request, context: dict, wait: int) -> Response:
    words = "a second" if wait == 1 else f"{wait} seconds"
    response = pages.render(request, "login.html", {
        **context, "error": f"Too many failed sign-ins for this account or from your network. Wait {words}, "
                            "then try again."}, status_code=429)
    response.headers["Retry-After"] = str(wait)
    return response


@page("session.sign_in")
async def login_submit(request: Request, caller: web.Caller) -> Response:
    """POST /login: check the CSRF token, the throttle and the password, then start a fresh session."""
    try:
        form = await _form(request)
    except LabelingError as exc:  # a malformed or oversized form: the sign-in page says so, as for its other errors
        why = exc.message.removeprefix(web.FORM_UNREAD)
        return pages.render(request, "login.html", {
            "next": "/", "username": "", "error": f"This sign-in form could not be read ({why}). Please sign in again."},
            status_code=web.status_for(exc))
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
    app, address = web.state(request), _address(request)
    wait = app.throttle.retry_after(username, address)
    if wait:
        return _throttled(request, context, wait)
    app.throttle.started(username, address)  # checks under way count: a crowd sent at once gets no more
    try:
        signed_in = await auth.login(app.db.read, app.gate, username, form["password"])
        session_id = None
        if signed_in is not None:  # a reset or deactivation meanwhile: refused, as if it had come first
            user, matched = signed_in
            session_id = await app.db.transact(lambda tx: auth.start_session(tx, user.id, matched))
    finally:
        app.throttle.finished(username, address)
    if session_id is None:
        app.throttle.failed(username, address)
        return pages.render(request, "login.html", {
            **context, "error": "Wrong username or password. Check both and try again."}, status_code=401)
    app.throttle.succeeded(username)
    request.session.clear()  # a new session on sign-in: no fixation
    request.session["sid"] = session_id
    web.csrf_token(request)
    return RedirectResponse(next_url, status_code=303)


@page("session.sign_out")
async def logout(request: Request, caller: web.Caller) -> Response:
    """POST /logout (CSRF-protected form): end the session, on the server too."""
    form = await _form(request)
    session_id = web.session_of(request)
    if session_id is not None:
        try:
            web.check_csrf(request, form.get("csrf_token"))
        except Forbidden as exc:
            return pages.render(request, "error.html", {"title": "Not signed out", "message": exc.message,
                                                        "user": await web.session_user(request)}, status_code=403)
        app = web.state(request)
        await app.db.transact(lambda tx: auth.end_session(tx, session_id))
        app.forget_credentials()
    request.session.clear()
    return RedirectResponse("/login?signed_out=1", status_code=303)


@page("page.home")
async def home(request: Request, caller: web.Caller) -> Response:
    """GET /: the active projects this user may work on, with what is left for them and their own counts. A
    requester or admin goes to the console unless they chose the worker view (?view=worker, kept in the session
    until they open the console again)."""
    user = caller.who
    if user.role is not Role.worker:
        if request.query_params.get("view") == "worker":
            request.session[WORKER_VIEW] = "worker"
        elif request.session.get(WORKER_VIEW) != "worker":
            return RedirectResponse("/console/projects", status_code=303)
    async with web.state(request).db.read() as conn:
        listed = await projects.list_(conn, user, None, paging.MAX_LIMIT, working=True)
        counts = await worker_stats.for_projects(conn, user.id, [p["id"] for p in listed["data"]],
                                                 worker_stats.day_start())
    rows = [{"project": p, "counts": counts[p["id"]]} for p in listed["data"]]
    # Work first: projects with tasks left for this worker, then finished ones, then stopped ones.
    rows.sort(key=lambda r: (r["counts"].blocked, r["counts"].left_for_worker == 0))
    return pages.render(request, "home.html", {"user": user, "rows": rows, "console": user.role is not Role.worker})


def _options(spec: tasktypes.TaskTypeSpec, options: dict) -> dict:
    """The options the task type's page reads, with their defaults (a project older than an option has none set);
    the project's other options are the requester's and stay out of the worker's page, as out of the API's."""
    try:
        filled = spec.validate_options(dict(options or {}))
    except LabelingError:
        filled = dict(options or {})
    return {key: filled[key] for key in spec.page_options if key in filled}


@page("page.label")
async def label(request: Request, caller: web.Caller) -> Response:
    """GET /projects/{id}/label: the labeling page of one project (its task type's template)."""
    user = caller.who
    project_id = web.path_int(request, "project_id")
    async with web.state(request).db.read() as conn:
        row, seen = await membership.project(conn, user, project_id)
        caller.check(seen)
        progress = await worker_stats.progress(conn, row.id, user.id)
    spec = tasktypes.get(row.task_type)
    config = {
        "project_id": row.id, "task_type": row.task_type, "labels": list(row.labels),
        "label_styles": label_styles.effective(row.labels, row.label_styles), "options": _options(spec, row.options),
        "lease_seconds": row.lease_seconds, "user_id": user.id, "text_first": spec.text_first, "progress": progress,
    }
    return pages.render(request, spec.template, {
        "user": user, "project": projects.for_workers(row), "config": config, "spec": spec,
        "is_image": spec.media == "image", "multi": spec.multi,
    })


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the JSON API)."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


async def not_found(request: Request) -> Response:
    """An unknown page asked for by a browser: a page in words with a way back, not JSON."""
    user = await web.session_user(request) if "session" in request.scope else None
    return pages.render(request, "error.html", {
        "title": "Not found", "message": f"There is no page at {request.url.path}.", "user": user}, status_code=404)


# Every HTML route, each with the policy action it asks about.
PAGES: list[tuple[str, str, Callable]] = [
    ("GET", "/", home),
    ("GET", "/login", login_form),
    ("POST", "/login", login_submit),
    ("POST", "/logout", logout),
    ("GET", "/projects/{project_id}/label", label),
]


def routes() -> list[BaseRoute]:
    """The UI's routes."""
    return web.method_routes((path, method, handler) for method, path, handler in PAGES)
