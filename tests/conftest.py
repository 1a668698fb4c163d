"""Fixtures: a real database (SQLite always; PostgreSQL when LABELING_TEST_DATABASE_URL is set), the app in process."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import httpx
import pytest
from sqlalchemy import text

from labeling import auth, migrate, models
from labeling.app import create_app
from labeling.db import Database
from labeling.settings import Settings

PG_URL = os.environ.get("LABELING_TEST_DATABASE_URL")


def backend_name() -> str:
    """Which database this run tests."""
    return "postgresql" if PG_URL else "sqlite"


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per session: a SQLite template file to copy, or the PostgreSQL test database itself."""
    if PG_URL:
        async def reset() -> None:
            db = Database(PG_URL, pool_size=1)
            async with db.engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await migrate.upgrade(db)
            await db.dispose()

        asyncio.run(reset())
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        db = Database(f"sqlite:///{path}", pool_size=1)
        await migrate.upgrade(db)
        await db.dispose()

    asyncio.run(build())
    return str(path)


@pytest.fixture
def database_url(_template: str, tmp_path: Path) -> str:
    """A fresh, migrated, empty database for one test."""
    return fresh_database(_template, tmp_path)


def fresh_database(template: str, tmp_path: Path) -> str:
    """A migrated, empty database: the PostgreSQL test database truncated, or a copy of the SQLite template."""
    if PG_URL:
        async def truncate() -> None:
            db = Database(PG_URL, pool_size=1)
            async with db.engine.begin() as conn:
                names = ", ".join(t.name for t in models.metadata.sorted_tables)
                await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            await db.dispose()

        asyncio.run(truncate())
        return PG_URL
    target = tmp_path / "labeling.db"
    shutil.copy(template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings for a test: its own data dir and database."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url, secret_key="test-secret")


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    """The test's database."""
    database = Database(settings.resolved_database_url, pool_size=30)
    yield database
    await database.dispose()


@pytest.fixture
async def app(settings: Settings, db: Database):  # noqa: ANN201
    """The app, in process."""
    return create_app(settings, db)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    """An httpx client talking to the app in process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def make_user(db: Database) -> Callable:
    """make_user(role, name=None, password=None) -> (user dict, token)."""
    counter = {"n": 0}

    async def make(role: str, name: str | None = None, password: str | None = None) -> tuple[dict, str]:
        counter["n"] += 1
        hashed = auth.password_hash(password)
        return await db.transact(lambda tx: auth.create_user(tx, name or f"{role}{counter['n']}", role,
                                                             password_hash=hashed))

    return make


def raw_writes(db: Database):  # noqa: ANN201
    """A transaction around the write path, for tests that put the database into a state to start from."""
    return db.engine.begin()


async def sign_in_form(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """Sign in through the web form (GET /login for its CSRF token, then POST /login)."""
    import re

    form = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return await client.post("/login", data={"csrf_token": csrf, "username": username, "password": password,
                                             "next": "/"})


def bearer(token: str) -> dict:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


async def every_page(client: Any, url: str, token: str, limit: int) -> list[dict]:
    """The rows of every page of a keyset-paged list, following `next` from the first page."""
    rows, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        r = await client.get(url, params=params, headers=bearer(token))
        assert r.status_code == 200, r.text
        rows += r.json()["data"]
        cursor = r.json()["next"]
        if not cursor:
            return rows


@pytest.fixture
async def admin(make_user: Callable) -> str:
    """An admin's token."""
    return (await make_user("admin", "root"))[1]


@pytest.fixture
async def requester(make_user: Callable) -> str:
    """A requester's token."""
    return (await make_user("requester", "req"))[1]


@pytest.fixture
def new_project(client: httpx.AsyncClient, requester: str) -> Callable:
    """new_project(**settings) -> project dict (a text_classification project unless told otherwise)."""
    counter = {"n": 0}

    async def make(tasks: list | None = None, **overrides: object) -> dict:
        counter["n"] += 1
        body = {"name": f"project {counter['n']}", "task_type": "text_classification",
                "labels": ["pos", "neg", "neu"], **overrides}
        response = await client.post("/api/projects", json=body, headers=bearer(requester))
        assert response.status_code == 201, response.text
        project = response.json()
        if tasks:
            r = await client.post(f"/api/projects/{project['id']}/tasks", json=tasks, headers=bearer(requester))
            assert r.status_code == 201, r.text
        return project

    return make


def text_tasks(n: int, **extra: object) -> list[dict]:
    """n text_classification tasks."""
    return [{"data": {"text": f"item {i}"}, "external_id": f"t{i}", **extra} for i in range(n)]


def one_line(err: str) -> bool:
    """The CLI said exactly one line on standard error, besides where its data directory is."""
    return len([line for line in err.splitlines() if not line.startswith("labeling: data directory ")]) == 1
