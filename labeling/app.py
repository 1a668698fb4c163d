"""create_app(settings) -> App (a Starlette): routes, middleware, error handlers, lifespan. Nothing at import time."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import secrets
import sys
from urllib.parse import quote
from typing import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match, Mount, compile_path
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from labeling import annotations, api, auth, files, media, middleware, resources, web
from labeling.api import media as media_api
from labeling.db import Database
from labeling.errors import LabelingError
from labeling.settings import Settings


class CookieSessions(SessionMiddleware):
    """Starlette's signed-cookie sessions, skipped for API calls that carry no cookie (scripts use tokens)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/") and not any(
                name == b"cookie" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class App(Starlette):
    """Starlette, with one explicit outermost layer: the queue's token calls go straight to their handler.

    Scripts and labeling clients call next and submit thousands of times a second. Such a call (an `Op` marked
    `direct`) that carries a Bearer token and no cookie needs no session, CSRF or router: it is matched here
    and handed to its handler behind the same policy gate, with what the middleware stack would have done for
    it done here: the body cap (middleware.BodyLimit's check and count), `X-Content-Type-Options`
    (middleware.SecurityHeaders) and the app's error handlers. Every other request, and a queue call from the
    worker UI (cookie, CSRF), takes the ordinary way through the stack. The ordinary way costs about a fifth
    more server CPU per next+submit cycle (benchmarks/queue_cpu.py); tests/test_direct_queue_calls.py says which
    calls skip the stack and that they answer exactly as through it.
    """

    def __init__(self, *args, direct: list[tuple[str, str, Callable]] = (), max_body_bytes: int = 0,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_body_bytes = max_body_bytes
        # Starlette redirects a path that matches only with a "/" added or taken away (307, empty body). Pages keep
        # that; an API call gets the same 307 (requests follows it with the method and body, as scripts relied on)
        # with a JSON body naming the endpoint: httpx and curl do not follow it, and read an empty body.
        self.router.redirect_slashes = False
        self.router.default = self._not_found
        self.direct: dict[str, list[tuple[re.Pattern, Callable]]] = {}
        for method, path, handler in direct:
            pattern, _, _ = compile_path(path)  # the router's own matching of the same path
            self.direct.setdefault(method, []).append((pattern, handler))

    @staticmethod
    def _route_path(scope: Scope) -> str:
        """The path the routes match: without a proxy's prefix (root_path), as Starlette's router takes it."""
        path, root = scope.get("path", ""), scope.get("root_path", "")
        return path[len(root):] if root and path.startswith(root + "/") else path

    @staticmethod
    def _relative_url(scope: Scope) -> str:
        """The redirect's target as a path (with the proxy's prefix and the query string), never an absolute URL:
        Starlette's is built from the request's Host header, which the client writes (`Host: evil.example` sent
        the client on to evil.example with its method, body and, for a client that keeps it, its token). A path
        that starts with "//" would be read as another host: the slashes are collapsed to one."""
        path = "/" + scope.get("path", "").lstrip("/")
        query = scope.get("query_string", b"")
        return quote(path, safe="/:@!$&'()*+,;=") + ("?" + query.decode("latin-1") if query else "")

    async def _not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        """No route matched: a path with or without its final "/" is redirected there (as Starlette does), an API
        path's redirect with a JSON body saying which path exists; anything else Starlette's 404."""
        path = scope.get("path", "")
        if scope["type"] == "http" and path != "/":
            other = dict(scope, path=path.rstrip("/") if path.endswith("/") else path + "/")
            if any(route.matches(other)[0] is not Match.NONE for route in self.router.routes):
                redirect = RedirectResponse(url=self._relative_url(other))
                if self._route_path(scope).startswith("/api/"):  # behind a proxy's prefix (root_path) too
                    meant = self._route_path(other)
                    redirect = JSONResponse({"error": {
                        "code": "redirect", "field": None,
                        "message": f"{self._route_path(scope)} {'ends' if path.endswith('/') else 'does not end'} in "
                                   f"'/'; the endpoint is {meant} (this redirect keeps the method and body)"}},
                        status_code=307, headers={"Location": redirect.headers["location"]})
                await redirect(scope, receive, send)
                return
        await self.router.not_found(scope, receive, send)

    def direct_handler(self, scope: Scope) -> tuple[Callable, int | None] | None:
        """(handler, declared Content-Length) of a request served directly, from one pass over its headers, or
        None for the ordinary way."""
        routes = self.direct.get(scope.get("method", ""))
        if not routes or scope["type"] != "http" or scope.get("root_path"):
            return None
        bearer = False
        length: int | None = None
        seen_length = False
        for name, value in scope["headers"]:
            if name == b"cookie":
                return None
            if name == b"authorization":
                bearer = value[:7].lower() == b"bearer "
            elif name == b"content-length" and not seen_length:  # the first, as middleware.BodyLimit reads it
                seen_length = True
                length = middleware.content_length(value)
        if not bearer:
            return None
        for pattern, handler in routes:
            match = pattern.match(scope["path"])
            if match is not None:
                scope["path_params"] = match.groupdict()
                return handler, length
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.direct_handler(scope) if scope["type"] == "http" else None
        if found is None:
            await super().__call__(scope, receive, send)
            return
        handler, declared = found
        scope["app"] = self
        request = Request(scope, middleware.counted_receive(scope, receive, self.max_body_bytes))
        try:
            if middleware.length_over(declared, self.max_body_bytes):  # declared_too_large, from the same pass
                raise middleware.too_large(self.max_body_bytes)
            response = await handler(request)
        except LabelingError as exc:
            response = await web.on_labeling_error(request, exc)
        except HTTPException as exc:
            response = await on_http_error(request, exc)
        except ClientDisconnect as exc:
            response = await web.on_client_gone(request, exc)
        except Exception as exc:  # logged with its traceback, answered in words (as the stack's handler does)
            response = await web.on_unexpected(request, exc)
        for header in middleware.SECURITY_HEADERS:
            if all(name != header[0] for name, _ in response.raw_headers):
                response.raw_headers.append(header)
        await response(scope, receive, send)


def secret_key(settings: Settings) -> str:
    """LABELING_SECRET_KEY, or a random key kept in the data dir so sessions survive restarts."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = None
    if key:
        return key
    if key == "":  # an empty file, left by a crash mid-write before keys were written whole: never a key
        path.unlink(missing_ok=True)
    # Whole or not at all, readable by its owner only from its first byte, and never over the key another process
    # starting at the same time wrote first: every process must sign with the same key.
    with contextlib.suppress(FileExistsError):
        files.write(path, secrets.token_urlsafe(48), 0o600, exclusive=True)
    return path.read_text().strip()


class Static(StaticFiles):
    """The package's CSS and scripts; a method other than GET or HEAD is a 405 that says which are allowed."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})
        return await super().get_response(path, scope)


async def on_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors: an unknown page asked for by a browser is a page in words, the rest JSON."""
    from labeling.worker_ui import routes as ui_routes

    if getattr(exc, "status_code", None) == 404 and ui_routes.wants_html(request):
        return await ui_routes.not_found(request)
    return await web.on_http_error(request, exc)


async def on_labeling_error(request: Request, exc: Exception) -> Response:
    """A domain error: JSON, but a browser asking for a page outside /api that is not there gets a page in words
    (an expired signed image link opened in a tab, say)."""
    from labeling.worker_ui import routes as ui_routes

    if isinstance(exc, LabelingError) and web.status_for(exc) == 404 and ui_routes.wants_html(request):
        return await ui_routes.not_found(request)
    return await web.on_labeling_error(request, exc)


def create_app(settings: Settings, database: Database | None = None) -> App:
    """The whole web app. Migrations are applied by the CLI (or tests) before serving, not here."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    db = database or Database(settings.resolved_database_url, pool_size=settings.db_pool_size)

    key = secret_key(settings)
    state = web.AppState(settings=settings, db=db, secret_key=key, media_key=media.signing_key(key))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Tasks a stopped server or a failed settle left open with all their answers are settled at start and
        # then every minute, in the background (annotations.settle_left_over), on both databases.
        sweeper = asyncio.create_task(annotations.settle_periodically(db, state.memory))
        yield
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        if database is None:
            await db.dispose()

    from labeling import console
    from labeling.worker_ui import routes as ui_routes

    # Every route but the static files is behind the policy gate with its action (web.route).
    routes = [
        *api.routes(),  # the queue's routes come first: Starlette tries routes in order
        *web.routes([
            ("GET", "/media/{path:path}", media_api.serve, "media.read"),
            ("GET", media.SIGNED_PREFIX + "/{expires}/{signature}/{path:path}", media_api.serve_signed,
             "media.signed"),
        ]),
        Mount("/static", app=Static(directory=str(resources.static_dir())), name="static"),
        *ui_routes.routes(),
        *console.routes(),
    ]
    stack = [Middleware(middleware.SecurityHeaders),
             Middleware(middleware.BodyLimit, max_bytes=settings.max_body_bytes),
             Middleware(CookieSessions, secret_key=key, session_cookie="labeling_session",
                        same_site="strict", https_only=settings.secure_cookies, max_age=auth.SESSION_SECONDS)]
    app = App(routes=routes, middleware=stack, lifespan=lifespan, exception_handlers={
        LabelingError: on_labeling_error, HTTPException: on_http_error, ClientDisconnect: web.on_client_gone,
        Exception: web.on_unexpected},
        direct=api.direct_routes(), max_body_bytes=settings.max_body_bytes)
    app.state.labeling = state
    return app


# The SQLite writer thread releases the GIL around every statement and must get it back from the event
# loop; with CPython's default 5 ms switch interval it queues behind busy request handling (measured by
# benchmarks/queue.py: 800 cycles/s at 5 ms, 967 at 1 ms).
SERVER_SWITCH_INTERVAL = 0.001
GC_THRESHOLD_0 = 20_000


def app_from_env() -> Starlette:
    """uvicorn's factory for `labeling serve` (each server process builds its own app)."""
    sys.setswitchinterval(SERVER_SWITCH_INTERVAL)
    app = create_app(Settings.from_env())
    # Everything made at start-up lives as long as the process: keep it out of the collector's full passes,
    # and collect the young generation less often (requests make many short-lived objects).
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD_0, 20, 20)
    return app
