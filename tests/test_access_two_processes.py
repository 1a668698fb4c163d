"""Two real server processes on one database: a deactivation, a rotated token and a sign-out decided in one are
honoured by the other within web.AUTH_RECHECK_SECONDS (the README's bound), although the other remembered them."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from labeling import web

# The bound, and the slack a loaded machine needs to get one request to the other process after it.
SETTLE = web.AUTH_RECHECK_SECONDS + 1.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def two_servers(settings, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """(base URL of A, base URL of B, admin token): two `labeling serve` processes sharing the test's database."""
    admin = "lbl_two_" + secrets.token_urlsafe(24)
    env = {**os.environ, "LABELING_DATA_DIR": str(settings.data_dir), "LABELING_ADMIN_TOKEN": admin,
           "LABELING_DATABASE_URL": settings.resolved_database_url, "LABELING_SECRET_KEY": "shared-" + "k" * 30}
    procs, bases = [], []
    try:
        for name in ("a", "b"):  # started together, as several machines would (both make sure the admin exists)
            port = _free_port()
            with open(tmp_path / f"{name}.log", "wb") as log:
                procs.append(subprocess.Popen([sys.executable, "-m", "labeling.cli", "serve", "--port", str(port),
                                               "--no-access-log", "--log-level", "warning"], env=env, stdout=log,
                                              stderr=subprocess.STDOUT))
            bases.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 90
        for name, proc, base in zip(("a", "b"), procs, bases):
            while True:
                assert proc.poll() is None, (tmp_path / f"{name}.log").read_text()
                try:
                    if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, (tmp_path / f"{name}.log").read_text()
                time.sleep(0.1)
        yield bases[0], bases[1], admin
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _me(base: str, token: str) -> int:
    return httpx.get(base + "/api/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code


@pytest.mark.slow
def test_a_deactivation_in_one_process_is_honoured_by_the_other_within_the_bound(two_servers):
    a, b, admin = two_servers
    with httpx.Client(headers={"Authorization": f"Bearer {admin}"}, timeout=10) as c:
        user = c.post(a + "/api/users", json={"username": "leaving", "role": "worker",
                                              "password": "a fine password"}).json()
        other = c.post(a + "/api/users", json={"username": "rotated", "role": "worker"}).json()
    with httpx.Client(base_url=b, timeout=10) as browser:  # signed in on B
        form = browser.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        assert browser.post("/login", data={"csrf_token": csrf, "username": "leaving",
                                            "password": "a fine password"}).status_code == 303
        assert browser.get("/api/users/me").status_code == 200  # B remembers the session now
        assert _me(b, user["token"]) == 200 and _me(b, other["token"]) == 200  # and both tokens

        with httpx.Client(headers={"Authorization": f"Bearer {admin}"}, timeout=10) as c:
            assert c.post(f"{a}/api/users/{user['id']}/deactivate").status_code == 200
            assert c.post(f"{a}/api/users/{other['id']}/token").status_code == 201
        assert _me(a, user["token"]) == 401 and _me(a, other["token"]) == 401  # at once where it was decided
        time.sleep(SETTLE)
        assert _me(b, user["token"]) == 401
        assert _me(b, other["token"]) == 401
        assert browser.get("/api/users/me").status_code == 401
