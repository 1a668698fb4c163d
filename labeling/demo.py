"""`labeling serve --demo`: load every file of sample_tasks/ into its own project."""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

from sqlalchemy import select, update

from labeling import auth, models, projects, schemas, tasks
from labeling.db import Database
from labeling.models import Role
from labeling.settings import Settings

REQUESTER, WORKER = "demo-requester", "demo-worker"


async def load(settings: Settings, db: Database, sample_dir: Path) -> dict:
    """Create the demo users and projects (once) and return fresh credentials to print."""
    images = sample_dir / "images"
    if images.is_dir():
        shutil.copytree(images, settings.media_dir / "images", dirs_exist_ok=True)
    config = json.loads((sample_dir / "projects.json").read_text())
    worker_password = secrets.token_urlsafe(9)
    async with db.write() as conn:
        requester = await _user(conn, REQUESTER, Role.requester)
        worker = await _user(conn, WORKER, Role.worker)
        await conn.execute(update(models.users).where(models.users.c.id == worker.id)
                           .values(password_hash=auth.hash_password(worker_password)))
        token = await auth.rotate_token(conn, requester.id)
    created = []
    for filename, settings_ in config.items():
        name = settings_["name"]
        async with db.read() as conn:
            if await conn.scalar(select(models.projects.c.id).where(models.projects.c.name == name)) is not None:
                continue
        body = schemas.parse(schemas.ProjectCreate, {**settings_, **_gold_mix(sample_dir / filename)})
        parsed = tasks.validate(tasks.read_items((sample_dir / filename).read_bytes(), "ndjson"),
                                body.task_type.value, body.labels, settings.media_dir)
        async with db.write() as conn:
            project = await projects.create(conn, requester, body)
        row = await _load(db, project["id"])
        await db.transact(lambda tx: tasks.insert_tasks(tx, row, parsed))
        created.append(name)
    return {"requester": REQUESTER, "requester_token": token, "worker": WORKER, "worker_password": worker_password,
            "projects": created}


async def _load(db: Database, project_id: int) -> object:
    async with db.read() as conn:
        return await projects.load(conn, project_id)


def _gold_mix(path: Path) -> dict:
    has_gold = any('"gold"' in line for line in path.read_text().splitlines())
    return {"gold_first_n": 1, "gold_fraction": 0.1} if has_gold else {}


async def _user(conn: object, username: str, role: Role) -> auth.Principal:
    row = (await conn.execute(select(models.users).where(models.users.c.username == username))).first()  # type: ignore[attr-defined]
    if row is None:
        created, _ = await auth.create_user(conn, username, role)  # type: ignore[arg-type]
        return auth.Principal(created["id"], username, role)
    return auth.Principal(row.id, row.username, Role(row.role))
