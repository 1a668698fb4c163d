"""ASGI middleware every response and request body passes: the body cap as the body streams in, and the
headers every response carries."""

from __future__ import annotations

import json
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labeling import jsonio
from labeling.errors import LabelingError, TooLarge

# A handler that wants a smaller cap than LABELING_MAX_BODY_BYTES for its body puts it here (web.limit_body).
BODY_LIMIT_KEY = "labeling.body_limit"
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"),)


def error_body(exc: LabelingError) -> dict:
    """The contract's error shape."""
    return {"error": {"code": exc.code, "message": exc.message, "field": exc.field, **exc.extra}}


def too_large(limit: int) -> TooLarge:
    """The error of a body over `limit` bytes."""
    return TooLarge(f"the request body is larger than {limit:,} bytes", field="body")


class BodyLimit:
    """Every request body counted against the cap as it arrives, chunked or multipart alike.

    A declared Content-Length above the cap is answered 413 before the app runs; a body that grows past the
    cap (or past a smaller one a handler set in the scope under BODY_LIMIT_KEY) makes the app's next read
    raise TooLarge, which the app answers 413, so no reader (Starlette's form parser included) ever holds
    more than the cap. The server discards what the client still sends.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if declared_too_large(scope, self.max_bytes):
            await _send_error(send, 413, too_large(self.max_bytes))
            return
        await self.app(scope, counted_receive(scope, receive, self.max_bytes), send)


def declared_too_large(scope: Scope, max_bytes: int) -> bool:
    """Whether the request declares a Content-Length above the cap (answered 413 before anything reads it)."""
    return length_over(_content_length(scope), max_bytes)


def length_over(declared: int | None, max_bytes: int) -> bool:
    """Whether a declared Content-Length (None: none, or not a number) is above the cap."""
    return declared is not None and declared > max_bytes


def content_length(value: bytes) -> int | None:
    """A Content-Length header's value as a number (None unless it is plain digits; 5,000 leading zeros too)."""
    return jsonio.whole_number(value)


def counted_receive(scope: Scope, receive: Receive, max_bytes: int) -> Receive:
    """`receive`, raising TooLarge as soon as the body read so far passes the cap (or a handler's smaller one)."""
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            limit = min(max_bytes, scope.get(BODY_LIMIT_KEY, max_bytes))
            if received > limit:
                raise too_large(limit)
        return message

    return counted


class SecurityHeaders:
    """`X-Content-Type-Options: nosniff` on every response (API, pages, errors, static files, media)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [header for header in SECURITY_HEADERS if header[0] not in present]
                if extra:
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return content_length(value)
    return None


async def _send_error(send: Send, status: int, exc: LabelingError) -> None:
    body = json.dumps(error_body(exc)).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
