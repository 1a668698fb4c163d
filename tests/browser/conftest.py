"""Browser tests: a real `labeling serve` on loopback, Debian's Chromium driven by Playwright.

The server and Chromium are started once for this package (package scope: Playwright's sync API keeps an
event loop running while it is open, which the rest of the suite's asyncio.run() calls must not meet).
The server is a subprocess. On PostgreSQL (LABELING_TEST_DATABASE_URL) it
shares the test database with other tests, so every test makes its own users and projects with unique
names through the JSON API, and reads back exactly what was stored from the `annotations` table.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, DESKTOP, Server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/browser is a browser test."""
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`labeling serve` as a subprocess on a free loopback port, on SQLite or the PostgreSQL test database."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    root = tmp_path_factory.mktemp("browser-server")
    database_url = os.environ.get("LABELING_TEST_DATABASE_URL") or f"sqlite:///{root / 'labeling.db'}"
    port = _free_port()
    admin_token = "lbl_test_" + secrets.token_urlsafe(24)
    env = {**os.environ, "LABELING_DATA_DIR": str(root / "data"), "LABELING_DATABASE_URL": database_url,
           "LABELING_ADMIN_TOKEN": admin_token, "LABELING_SECRET_KEY": secrets.token_urlsafe(32)}
    log_path = root / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "labeling.cli", "serve", "--port", str(port),
                                    "--no-access-log", "--log-level", "warning"],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(base_url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield Server(base_url, admin_token, database_url, root / "data")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="package")
def browser(server: Server) -> Iterator[Any]:
    """One Chromium for the browser tests (no download: Debian's binary)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any, server: Server) -> Iterator[Any]:
    """new_page(viewport=DESKTOP, **context options) -> a page in a fresh browser context; page errors fail the test."""
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    contexts, errors = [], []

    def make(viewport: dict = DESKTOP, **options: Any) -> Any:
        context = browser.new_context(viewport=viewport, base_url=server.base_url, **options)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def worker(server: Server) -> dict:
    """A fresh worker account (unique name) with a password."""
    return server.user("worker")
