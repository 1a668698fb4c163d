"""`labeling serve` under slow clients: a connection that sends nothing, or a request head a byte at a time
(slowloris), was held open for ever; now it has `--header-timeout` seconds to send the head."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.servers import ServerProcess

pytestmark = pytest.mark.slow

HEALTH = b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"
TIMEOUT = 3


def _whole_response(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    return bool(length) and len(body) >= int(length.group(1))


def _read_until_closed(sock: socket.socket, wait: float, one_response: bool = False) -> tuple[bytes, bool]:
    """What the server sends on the connection within `wait` seconds (or, with `one_response`, until a whole response
    came), and whether it closed it."""
    sock.settimeout(0.2)
    data, deadline = b"", time.monotonic() + wait
    while time.monotonic() < deadline and not (one_response and _whole_response(data)):
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        if not chunk:
            return data, True
        data += chunk
    return data, False


@pytest.fixture
def server(settings, tmp_path):
    env = {"LABELING_DATABASE_URL": settings.resolved_database_url, "LABELING_DATA_DIR": str(settings.data_dir),
           "LABELING_SECRET_KEY": "serving"}
    with ServerProcess(env, tmp_path / "serve.log", "--header-timeout", str(TIMEOUT)) as process:
        yield process


def test_a_slow_request_head_is_answered_408_and_an_idle_connection_closed(server):
    with socket.create_connection(("127.0.0.1", server.port)) as silent, \
            socket.create_connection(("127.0.0.1", server.port)) as slow:
        slow.sendall(b"GET /api/health HTTP/1.1\r\n")
        for _ in range(3):  # a byte now and then, well within the deadline: never idle, never done
            time.sleep(TIMEOUT / 10)
            slow.sendall(b"X")
        said, closed = _read_until_closed(slow, 15)
        assert closed and said.startswith(b"HTTP/1.1 408 "), said
        said, closed = _read_until_closed(silent, 15)
        assert closed and said == b""


def _post_head(length: int) -> bytes:
    return (f"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def test_a_body_sent_a_byte_at_a_time_is_cut_off(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(_post_head(100_000))
        cut = False
        for _ in range(4 * TIMEOUT):  # a slow POST: a byte every 0.3 s, 3 bytes/s against 500, past the deadline
            try:
                sock.sendall(b"a")
            except (BrokenPipeError, ConnectionResetError):
                cut = True
                break
            time.sleep(0.3)
        if not cut:  # the last bytes may have gone into the socket's buffer: the server's side is closed, or not
            try:
                _, cut = _read_until_closed(sock, 15)
            except ConnectionResetError:
                cut = True
        assert cut, "the server still waits for the body"


def test_a_large_body_on_a_slow_line_goes_through(server):
    body = b"username=nobody&password=" + b"x" * 11_975  # 12,000 bytes at 3,000 a second: longer than the deadline
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(_post_head(len(body)))
        for i in range(0, len(body), 750):
            sock.sendall(body[i:i + 750])
            time.sleep(0.25)
        said, _ = _read_until_closed(sock, 10, one_response=True)
        assert said.startswith(b"HTTP/1.1 ") and not said.startswith(b"HTTP/1.1 408"), said[:100]


def test_a_prompt_client_is_served_and_keeps_its_connection_between_requests(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        for _ in range(2):
            sock.sendall(HEALTH)
            said, closed = _read_until_closed(sock, 10, one_response=True)
            assert said.startswith(b"HTTP/1.1 200 ") and not closed
            time.sleep(TIMEOUT + 0.5)  # longer than the head's deadline, shorter than the keep-alive (5 s): idle


def test_a_pipelined_head_never_cuts_a_slow_response_short(server, settings):
    """A client that pipelines its next request (its head not whole yet) while a large response is still going out
    (the client reads it slowly) had that response cut off: the next head's deadline passed meanwhile, and the 408
    was written into the middle of the response, the connection then closed. The deadline now starts again once the
    response is done: the response comes whole, the next request is answered after it."""
    env = {**os.environ, "LABELING_DATABASE_URL": settings.resolved_database_url,
           "LABELING_DATA_DIR": str(settings.data_dir)}
    made = subprocess.run([sys.executable, "-m", "labeling.cli", "users", "add", "pipeliner", "--role", "requester"],
                          env=env, capture_output=True, text=True, timeout=60)
    token = re.search(r"lbl_\S+", made.stdout).group(0)
    auth = {"Authorization": f"Bearer {token}"}
    project = httpx.post(f"{server.url}/api/projects", headers=auth, timeout=30, json={
        "name": "large", "task_type": "text_classification", "labels": ["a", "b"]}).json()
    tasks = [{"data": {"text": "x" * 3000 + str(i)}} for i in range(3000)]  # an export of about 9 MB
    assert httpx.post(f"{server.url}/api/projects/{project['id']}/tasks", headers=auth, json=tasks,
                      timeout=60).status_code == 201
    export = (f"GET /api/projects/{project['id']}/export?format=jsonl&include_open=true HTTP/1.1\r\nHost: x\r\n"
              f"Authorization: Bearer {token}\r\n\r\n").encode()
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the response waits on the client
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(export + HEALTH[:20])
        time.sleep(TIMEOUT + 1.5)  # the next head's deadline passes while the response is still going out
        sock.sendall(HEALTH[20:])
        said, _ = _read_all(sock, 60)
    first, _, rest = said.partition(b"\r\n0\r\n\r\n")  # the export's last chunk
    assert first.startswith(b"HTTP/1.1 200 ") and b"408 Request Timeout" not in first, said[-300:]
    assert first.count(b'"external_id"') == 3000
    assert rest.startswith(b"HTTP/1.1 200 ") and _whole_response(rest), rest[:300]


def _read_all(sock: socket.socket, wait: float) -> tuple[bytes, bool]:
    """Everything the server sends within `wait` seconds, until two whole responses came or it closed."""
    sock.settimeout(0.5)
    data, deadline = b"", time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 20)
        except TimeoutError:
            _, _, rest = data.partition(b"\r\n0\r\n\r\n")
            if rest and _whole_response(rest):
                break
            continue
        except ConnectionResetError:  # closed with our request unread
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


@pytest.mark.parametrize("value", ["abc", "0", "4000"])
def test_a_bad_header_timeout_is_refused_before_anything_starts(tmp_path, value):
    env = {**os.environ, "LABELING_DATA_DIR": str(tmp_path), "LABELING_HEADER_TIMEOUT": value}
    env.pop("LABELING_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "labeling.cli", "serve", "--port", "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"labeling: error: LABELING_HEADER_TIMEOUT must be a number of seconds above 0 and "
                                   f"at most 3600, got {value!r}")
    assert not list(tmp_path.iterdir()), "nothing made"
    done = subprocess.run([sys.executable, "-m", "labeling.cli", "serve", "--header-timeout", value], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--header-timeout: the header timeout must be" in done.stderr
