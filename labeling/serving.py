"""The HTTP protocol `labeling serve` runs: uvicorn's httptools protocol with a deadline for each request's head.

uvicorn times out only an idle keep-alive connection between two requests. A connection that sends nothing, or a
request head a byte at a time (slowloris), was held open for ever, each one a file descriptor and a slot, so a few
hundred slow clients left no room for anyone else. Here a connection has `LABELING_HEADER_TIMEOUT` seconds (20 by
default; `labeling serve --header-timeout`) from its opening, or from the first byte of its next request, to send a
whole request head; past that it is answered 408 (or, before any byte, closed). A body then has as long again, plus a
second for every 500 bytes it has sent (Apache's mod_reqtimeout rule, `body=20,MinRate=500`): a large upload on a slow
line goes through, a body sent a byte at a time (a slow POST) is cut off. Time the app keeps the body waiting (its
reading paused) is not counted against the client.
"""

from __future__ import annotations

import asyncio
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from labeling.errors import LabelingError

ENV = "LABELING_HEADER_TIMEOUT"
DEFAULT_SECONDS = 20.0
MIN_BODY_RATE = 500  # bytes a second a body must keep up, past the first `header_timeout()` seconds
PROTOCOL = "labeling.serving:GuardedHttpToolsProtocol"  # as uvicorn's `http` setting takes it (an import string)
_SAID = b"The request's head took too long to arrive.\n"
TIMED_OUT = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
             b"content-length: %d\r\n\r\n%s" % (len(_SAID), _SAID))


def header_timeout() -> float:
    """Seconds a request's head may take (the environment's, as `labeling serve` passes it to each process)."""
    text = os.environ.get(ENV) or ""
    if not text:
        return DEFAULT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 3600:  # noqa: PLR2004 - as --header-timeout
        raise LabelingError(f"{ENV} must be a number of seconds above 0 and at most 3600, got {text!r}")
    return seconds


_seconds: list[float] = []  # read once, at the process's first connection (`labeling serve` has set and checked it)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline from a connection's opening or a request's first byte to the end
    of the request's head."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        if not _seconds:
            _seconds.append(header_timeout())
        self._seconds = _seconds[0]
        self._deadline: asyncio.TimerHandle | None = None
        self._begun = False
        self._body_since = 0.0  # when the body's time started (moved on while the app kept its reading paused)
        self._body_bytes = 0

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self._seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self.transport is None or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head begun while an earlier response is still going out: its time starts again when
            # that response is done (on_response_complete), never a 408 written into the middle of it.
            return
        if self._begun:
            self.transport.write(TIMED_OUT)
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._begun = True
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        self._begun = False
        super().on_headers_complete()
        self._body_since, self._body_bytes = self.loop.time(), 0
        self._deadline = self.loop.call_later(self._seconds, self._body_check)

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._begun and self._deadline is None and not self.transport.is_closing():
            self._arm()  # the next request's head, begun while this response went out (_timed_out)

    def _body_check(self) -> None:
        self._deadline = None
        if self.transport is None or self.transport.is_closing():
            return
        now = self.loop.time()
        if self.flow is not None and self.flow.read_paused:  # the app's wait, not the client's
            self._body_since += 1.0
            self._deadline = self.loop.call_later(1.0, self._body_check)
            return
        allowed = self._body_since + self._seconds + self._body_bytes / MIN_BODY_RATE
        if now < allowed:
            self._deadline = self.loop.call_later(allowed - now, self._body_check)
            return
        self.transport.close()  # the app may be answering already: no 408 of ours in the middle of it
