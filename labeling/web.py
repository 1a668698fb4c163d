"""Shared request helpers: the app state, authentication, the policy gate every route passes, bodies with limits,
errors as JSON."""

from __future__ import annotations

import collections
import functools
import logging
import random
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable

import orjson
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from labeling import auth, jsonio, middleware, policy, queue, schemas, throttle
from labeling.auth import Principal
from labeling.db import Database
from labeling.errors import (Conflict, Forbidden, InvalidInput, LabelingError, NotFound, PreconditionFailed,
                             TooLarge, Unauthenticated, UnsupportedMediaType)
from labeling.settings import Settings

log = logging.getLogger("labeling")

STATUS = {InvalidInput: 400, Unauthenticated: 401, Forbidden: 403, NotFound: 404, Conflict: 409,
          PreconditionFailed: 412, TooLarge: 413, UnsupportedMediaType: 415}
# The media types a JSON body may come under: JSON's own (and any +json), what a client sends that did not say
# (curl -d: a form's type; fetch() with a string: text/plain), and no Content-Type at all.
JSON_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/plain")
# Who a token or session cookie belongs to is remembered per process, for speed. Every revocation (sign-out,
# deactivation, a new token or password) moves the auth epoch in the database; each process reads it at most
# every AUTH_RECHECK_SECONDS (one tiny query) and forgets everything when it moved. So a revoked credential
# stops working at once in the process that revoked it and within AUTH_RECHECK_SECONDS in the others
# (README). An entry also lives at most a random 50-100% of TOKEN_CACHE_SECONDS, so tokens remembered together at
# start-up do not all expire in the same instant and send a herd of lookups to the database.
AUTH_RECHECK_SECONDS = 2.0
TOKEN_CACHE_SECONDS = 60.0
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
FORM_UNREAD = "the form could not be read: "  # how a malformed form's error begins (a page may say it its way)
NO_BODY_BYTES = 64 * 1024  # what an operation without a body reads of one sent anyway, to name its fields
ID_LIMIT = 2**63 - 1  # ids are 64-bit (BIGINT) on both databases
_ID = re.compile(r"[1-9][0-9]{0,18}")
error_body = middleware.error_body


@dataclass
class AppState:
    """What every request handler needs, and what this server process remembers; built once by create_app."""

    settings: Settings
    db: Database
    media_key: bytes = b""
    token_cache: dict[str, tuple[float, Principal | None]] = field(default_factory=dict)
    memory: queue.Memory = field(default_factory=queue.Memory)
    secret_key: str = ""  # the instance's secret (labeling.app.secret_key): signs sessions, keys export pseudonyms
    gate: auth.PasswordGate = field(default_factory=auth.PasswordGate)
    throttle: throttle.Throttle = field(default_factory=throttle.Throttle)
    auth_epoch: int | None = None
    auth_checked_at: float = float("-inf")
    credentials_generation: int = 0  # moves whenever remembered credentials are dropped

    def forget_credentials(self) -> None:
        """Drop every remembered token and session (one was revoked, here or in another process)."""
        self.token_cache.clear()
        self.credentials_generation += 1


def state(request: Request) -> AppState:
    """The app state of this request."""
    return request.app.state.labeling


def status_for(exc: LabelingError) -> int:
    """The HTTP status of a domain error."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


async def on_labeling_error(request: Request, exc: Exception) -> Response:
    """Domain errors become 4xx JSON."""
    assert isinstance(exc, LabelingError)
    return JSONResponse(error_body(exc), status_code=status_for(exc), headers=error_headers(exc))


def error_headers(exc: LabelingError) -> dict | None:
    """WWW-Authenticate for a 401."""
    return {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None


METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allow_header(methods: Iterable[str]) -> str:
    """An Allow header in one fixed order: Starlette joins a route's set of methods, whose order changes with each
    process's string hashing (`HEAD, GET, DELETE, PATCH` in one server process, `DELETE, HEAD, PATCH, GET` in
    the next), so the same request got different answers."""
    return ", ".join(sorted(set(methods), key=lambda m: (METHOD_ORDER.index(m) if m in METHOD_ORDER else 99, m)))


async def on_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 in the same shape."""
    code = getattr(exc, "status_code", 500)
    words = {404: ("not_found", "no such endpoint"), 405: ("method_not_allowed", "method not allowed here")}
    name, message = words.get(code, ("error", str(getattr(exc, "detail", "error"))))
    headers = dict(getattr(exc, "headers", None) or {})
    if "Allow" in headers:  # a 405's
        headers["Allow"] = allow_header(m.strip() for m in headers["Allow"].split(",") if m.strip())
    return JSONResponse({"error": {"code": name, "message": message, "field": None}}, status_code=code,
                        headers=headers or None)


async def on_client_gone(request: Request, exc: Exception) -> Response:
    """A client that went away before sending its whole body (cut off, or too slow for the server): nobody reads
    this answer, and it is no server fault, so no traceback in the log."""
    log.info("the client went away before sending the whole body of %s %s", request.method, request.url.path)
    return JSONResponse({"error": {"code": "client_disconnected", "message": "the connection closed before the "
                                   "whole request body arrived", "field": "body"}}, status_code=400)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    """Anything else is logged with its traceback and answered in words, never with a traceback."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    # Sent past the middleware (Starlette answers errors outermost): the security headers are added here.
    return JSONResponse({"error": {"code": "internal", "message": "internal server error; the server log has details",
                                   "field": None}}, status_code=500,
                        headers={name.decode(): value.decode() for name, value in middleware.SECURITY_HEADERS})


def bearer_token(request: Request) -> str | None:
    """The API token of the request's Authorization header, if it has one (principal() has checked its form)."""
    headers = request.headers.getlist("authorization")
    if len(headers) != 1:
        return None
    scheme, _, token = headers[0].partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def principal(request: Request) -> Principal:
    """The user of this request: a Bearer token, or the browser's session cookie (with CSRF for writes)."""
    headers = request.headers.getlist("authorization")
    if len(headers) > 1:  # a proxy may pass on either: who this is must not depend on which one is read
        raise Unauthenticated("send one Authorization header, not several", field="Authorization")
    header = headers[0] if headers else ""
    app = state(request)
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header must be 'Bearer <token>'", field="Authorization")
        user = await _cached(app, auth.hash_token(token.strip()),
                             lambda conn: auth.principal_for_token(conn, token.strip()))
        if user is None:
            raise Unauthenticated("the API token is not valid", field="Authorization")
        return user
    session_id = session_of(request)
    if session_id is None:
        raise Unauthenticated("sign in or send 'Authorization: Bearer <token>'", field="Authorization")
    if request.method in UNSAFE:
        check_csrf(request, request.headers.get("x-csrf-token"))
    user = await session_user(request)
    if user is None:
        raise Unauthenticated("your session has ended; sign in again", field="session")
    return user


def session_of(request: Request) -> str | None:
    """The session id the cookie carries, if any."""
    if "session" not in request.scope:
        return None
    session_id = request.session.get("sid")
    return session_id if isinstance(session_id, str) else None


async def session_user(request: Request) -> Principal | None:
    """The user of the browser's live session, or None (the cookie is cleared if its session is over)."""
    session_id = session_of(request)
    if session_id is None:
        return None
    user = await _cached(state(request), "sid:" + auth.hash_token(session_id),
                         lambda conn: auth.principal_for_session(conn, session_id))
    if user is None:
        request.session.clear()
    return user


async def _recheck_epoch(app: AppState, now: float) -> None:
    """Forget remembered credentials if another process revoked any (read at most every AUTH_RECHECK_SECONDS)."""
    if now - app.auth_checked_at < AUTH_RECHECK_SECONDS:
        return
    app.auth_checked_at = now  # first, so requests arriving meanwhile do not read it too
    async with app.db.read() as conn:
        current = await auth.epoch(conn)
    if current != app.auth_epoch:
        app.forget_credentials()
        app.auth_epoch = current


async def _cached(app: AppState, key: str, lookup: Callable[[Any], Awaitable[Principal | None]]) -> Principal | None:
    """Who a token or session is, from the process's memory or the database."""
    now = time.monotonic()
    await _recheck_epoch(app, now)
    hit = app.token_cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    generation = app.credentials_generation
    async with app.db.read() as conn:
        user = await lookup(conn)
    if generation != app.credentials_generation:
        return user  # credentials were revoked while this lookup ran: its answer may predate that, so not kept
    if len(app.token_cache) > 10_000:
        app.token_cache.clear()
    app.token_cache[key] = (now + TOKEN_CACHE_SECONDS * (0.5 + 0.5 * random.random()), user)
    return user


def csrf_token(request: Request) -> str:
    """This session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, presented: str | None) -> None:
    """Refuse a cookie-authenticated write whose CSRF token is missing or wrong."""
    expected = request.session.get("csrf")
    if not expected or not presented or not auth.same_secret(str(expected), str(presented)):
        raise Forbidden("missing or wrong CSRF token; reload the page and try again", field="csrf_token")


def limit_body(request: Request, limit: int) -> None:
    """Cap this request's body at `limit` bytes (below LABELING_MAX_BODY_BYTES), however it is read: a declared
    length above it is refused now, and middleware.BodyLimit stops the stream once it passes it."""
    declared = request.headers.get("content-length")
    if middleware.length_over(jsonio.whole_number(declared or ""), limit):
        raise middleware.too_large(limit)
    request.scope[middleware.BODY_LIMIT_KEY] = limit


def check_content_encoding(request: Request) -> None:
    """A body the server would have to decompress (Content-Encoding gzip...) is a 415 naming the header: it is
    never decoded, and read as it is it would only be "not UTF-8 text" or "not an image"."""
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaType(f"Content-Encoding {encoding[:100]} is not accepted here; send the body "
                                   "uncompressed", field="Content-Encoding")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing more than `limit` bytes without reading it all."""
    check_content_encoding(request)
    limit_body(request, limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise middleware.too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(request: Request) -> str:
    """The body's media type, lower case, without its parameters ("" when the request names none)."""
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


def check_media_type(request: Request, accepted: Iterable[str], words: str) -> str:
    """The body's media type when `accepted` holds it (or none is named; `application/json` in `accepted` takes
    every `+json` type too), else UnsupportedMediaType (a 415) saying what to send (`words`)."""
    kind, accepted = media_type(request), tuple(accepted)
    if not kind or kind in accepted or (kind.endswith("+json") and "application/json" in accepted):
        return kind
    raise UnsupportedMediaType(f"Content-Type {kind[:100]} is not accepted here; send {words}", field="Content-Type")


async def read_json(request: Request, limit: int | None = None) -> Any:
    """The body parsed as JSON both databases can store (labeling/jsonio.py), or a clear 400 naming the field
    (a 415 for a body sent as another media type: CSV, XML, a multipart form...)."""
    check_media_type(request, JSON_TYPES, "JSON (Content-Type: application/json)")
    body = await read_body(request, limit or state(request).settings.max_body_bytes)
    if not body.strip():
        raise InvalidInput("the request body is empty; send JSON", field="body")
    return jsonio.loads(body)


def has_body(request: Request) -> bool:
    """Whether the request carries a body (a length above 0, or a chunked one)."""
    declared = request.headers.get("content-length", "")
    return (jsonio.whole_number(declared) or 0) > 0 or "transfer-encoding" in request.headers


async def optional_json(request: Request, limit: int) -> Any:
    """The JSON body, or {} when the request has none or a blank one (an optional body)."""
    if not has_body(request):
        return {}
    check_media_type(request, JSON_TYPES, "JSON (Content-Type: application/json)")
    body = await read_body(request, limit)
    return jsonio.loads(body) if body.strip() else {}


def bodiless(fn: Handler) -> Handler:
    """A write that takes no body: none, a blank one or `{}` is fine; a field in it is refused by name, as every
    body's unknown fields are (schemas.parse), so a misspelt or misplaced option never passes unnoticed."""

    @functools.wraps(fn)
    async def handler(request: Request, caller: Caller) -> Response:
        if has_body(request):  # the usual call has none: nothing to read
            body = await optional_json(request, NO_BODY_BYTES)
            if not isinstance(body, dict):
                raise InvalidInput("this operation takes no body: send none, or {}", field="body")
            for name in body:
                raise InvalidInput(f"{name[:100]}: is not a known field (this operation takes no body)",
                                   field=name[:100])
        return await fn(request, caller)

    return handler


def queryless(fn: Handler) -> Handler:
    """An operation that takes no query parameters refuses one by name, as a query model refuses an unknown one
    (`DELETE /api/teams/1?confirm=x` deleted the team, the parameter unseen)."""

    @functools.wraps(fn)
    async def handler(request: Request, caller: Caller) -> Response:
        if request.scope.get("query_string"):  # the usual call has none: nothing to parse
            for name in single_params(request):
                raise InvalidInput(f"{name[:100]}: is not a known field (this operation takes no query parameters)",
                                   field=name[:100])
        return await fn(request, caller)

    return handler


async def read_form(request: Request, *, max_files: int, max_fields: int) -> FormData:
    """The form body (urlencoded or multipart); a malformed one (a bad or missing boundary, a cut-off part, too
    many fields or files) is an InvalidInput naming the body, so JSON routes and pages each answer it their way."""
    try:
        return await request.form(max_files=max_files, max_fields=max_fields)
    except (HTTPException, MultiPartException) as exc:  # Starlette's words for a malformed form (not a full disk)
        detail = str(getattr(exc, "detail", None) or getattr(exc, "message", "")).rstrip(".")
        raise InvalidInput(f"{FORM_UNREAD}{detail}", field="body") from None


def path_int(request: Request, name: str) -> int:
    """An id in the path: a positive 64-bit whole number written plainly, checked before any query; else a 404."""
    raw = request.path_params.get(name, "")
    if not isinstance(raw, str) or not _ID.fullmatch(raw) or int(raw) > ID_LIMIT:
        raise NotFound(f"no such {name.removesuffix('_id')}: {name} must be a positive whole number below 2**63, "
                       f"got {str(raw)[:40]!r}", field=name)
    return int(raw)


def query(request: Request, model: type[schemas.M], *, empty_is_none: bool = False) -> schemas.M:
    """The query parameters, checked against their model: unknown or repeated ones are refused too.
    `empty_is_none`: an empty value is no value (a page's filter form leaves unused fields empty)."""
    params = single_params(request)
    return schemas.parse(model, {k: v for k, v in params.items() if not (empty_is_none and v == "")})


def single_params(request: Request) -> dict[str, str]:
    """The query parameters by name, each given once and holding text both databases can store."""
    params = request.query_params
    # Counted in one pass: getlist() per name reads every parameter each time, quadratic in a query string of
    # thousands of names (a 64 KB URL held the server 3 s per request, before any parameter was refused).
    given = collections.Counter(name for name, _ in params.multi_items())
    for name in params:
        if given[name] > 1:
            raise InvalidInput(f"{name}: given more than once", field=name)
        jsonio.check_text(params[name], name)  # a NUL reaches PostgreSQL as a filter's parameter: its 500
    return dict(params)


def method_routes(entries: Iterable[tuple[str, str, Callable]]) -> list[Route]:
    """One Route per path for (path, method, handler) entries, in first-seen order: a method the path lacks
    gets a 405 whose Allow header lists every method it has (Starlette lists only one route's)."""
    by_path: dict[str, dict[str, Callable]] = {}
    for path, method, handler in entries:
        by_path.setdefault(path, {})[method] = handler
    return [_method_route(path, handlers) for path, handlers in by_path.items()]


def _method_route(path: str, handlers: dict[str, Callable]) -> Route:
    if len(handlers) == 1:
        [(method, handler)] = handlers.items()
        return Route(path, handler, methods=[method])

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    dispatch.__name__ = dispatch.__qualname__ = "_".join(h.__name__ for h in handlers.values())
    # each method's policy action, for the OpenAPI builder and the access matrix test
    dispatch.actions = {m: getattr(h, "action", None) for m, h in handlers.items()}  # type: ignore[attr-defined]
    return Route(path, dispatch, methods=list(handlers))


def action_of(endpoint: Callable, method: str) -> str | None:
    """The policy action a route's endpoint declares for a method."""
    return getattr(endpoint, "action", None) or getattr(endpoint, "actions", {}).get(method)


@dataclass(frozen=True)
class Caller:
    """Who is asking (None on a public route) and the action their route declares; `check` asks the policy about
    the object the handler read."""

    user: Principal | None
    action: str

    @property
    def who(self) -> Principal:
        """The authenticated user (routes whose action is not public always have one)."""
        assert self.user is not None, f"{self.action} is public: no user"
        return self.user

    def check(self, obj: policy.Object) -> None:
        """policy.authorize for this action on obj: NotFound unless it is the caller's to act on."""
        policy.authorize(self.user, self.action, obj)

    def can(self, action: str, obj: policy.Object | None = None) -> bool:
        """Whether the caller may do another action (to choose a view, e.g. project.settings)."""
        return policy.can(self.user, action, obj)


Handler = Callable[[Request, Caller], Awaitable[Response]]


def guarded(action: str, fn: Handler) -> Callable[[Request], Awaitable[Response]]:
    """The route's first gate: authenticate (unless the action is public) and let the policy check the role, then
    the handler, which reads its object and asks `caller.check(obj)`."""
    rule = policy.rule(action)  # fails at start-up for an undeclared action

    @functools.wraps(fn)
    async def handler(request: Request) -> Response:
        user = None if rule.public else await principal(request)
        policy.authorize(user, action)
        return await fn(request, Caller(user, action))

    handler.action = action  # type: ignore[attr-defined]  # read by the OpenAPI builder and the matrix test
    return handler


def route(method: str, path: str, fn: Handler, action: str) -> Route:
    """A Starlette route behind the policy gate, its action declared with it."""
    return Route(path, guarded(action, fn), methods=[method])


def routes(entries: Iterable[tuple[str, str, Handler, str]]) -> list[Route]:
    """Routes behind the policy gate for (method, path, handler, action) entries, one Route per path."""
    return method_routes((path, method, guarded(action, fn)) for method, path, fn, action in entries)


def created(request: Request, data: Any, path: str) -> JSONResponse:
    """A 201 with the new object, and its path in Location (under the app's root path, behind a proxy's prefix)."""
    return ok(data, status_code=201, headers={"Location": request.scope.get("root_path", "") + path})


def ok(data: Any, status_code: int = 200, headers: dict | None = None) -> JSONResponse:
    """A JSON response."""
    return JSONResponse(data, status_code=status_code, headers=headers)


class _QuickJSON(JSONResponse):
    """A JSONResponse rendered by orjson: the same compact UTF-8 JSON (a float may be spelled differently, 1e-05 as
    0.00001) in a twentieth of the time, for content that is JSON both databases stored: string keys, 64-bit
    integers, no NaN (labeling/jsonio.py refused them on the way in)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok_stored(data: Any, status_code: int = 200, headers: dict | None = None) -> JSONResponse:
    """`ok` for the queue's two hot responses (a lease, a stored answer): about 2.6 us less per response."""
    return _QuickJSON(data, status_code=status_code, headers=headers)
