"""`labeling serve --demo`: load every file of sample_tasks/ into its own project, in one transaction."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from pathlib import Path

from labeling import accounts, audit, auth, jsonio, media, projects, queue, schemas, tasks
from labeling.db import Database
from labeling.models import Role
from labeling.settings import Settings
from labeling.sqltx import Tx

REQUESTER, WORKER = "demo-requester", "demo-worker"


async def load(settings: Settings, db: Database, sample_dir: Path) -> dict:
    """Create the demo users and projects (those not made yet) and return fresh credentials to print.

    Everything is checked first, then stored in one transaction: a demo loads whole or not at all.
    """
    images = sample_dir / "images"
    if images.is_dir():
        shutil.copytree(images, settings.media_dir / "images", dirs_exist_ok=True)
    config = jsonio.loads((sample_dir / "projects.json").read_bytes())
    planned = []
    sizes = media.Sizes(settings.media_dir)
    for filename, project_settings in config.items():
        body = schemas.parse(schemas.ProjectCreate, {**project_settings, **_gold_mix(sample_dir / filename)}, settings)
        parsed = tasks.validate(tasks.read_items((sample_dir / filename).read_bytes(), "ndjson"),
                                body.task_type.value, schemas.label_names(body.labels), settings.media_dir, sizes=sizes,
                                max_task_bytes=settings.max_task_bytes)
        planned.append((body, parsed))
    worker_password = secrets.token_urlsafe(9)
    worker_hash = await asyncio.to_thread(auth.hash_password, worker_password)

    def store(tx: Tx) -> dict:
        requester = _user(tx, REQUESTER, Role.requester)
        worker = _user(tx, WORKER, Role.worker)
        auth.set_password(tx, worker.id, worker_hash)
        token = auth.rotate_token(tx, requester.id)
        mem = queue.Memory()
        created = []
        for body, parsed in planned:
            if tx.scalar("projects.name_taken", {"name": body.name, "project": 0}) is not None:
                continue
            project_id = projects.create(tx, requester, body, via="demo")
            tasks.import_(tx, audit.CLI, queue.load_project(tx, mem, project_id), parsed, via="demo")
            created.append(body.name)
        media.record(tx, sizes.new)
        return {"requester": REQUESTER, "requester_token": token, "worker": WORKER,
                "worker_password": worker_password, "projects": created}

    return await db.transact(store)


def _gold_mix(path: Path) -> dict:
    has_gold = any('"gold"' in line for line in path.read_text().splitlines())
    return {"gold_first_n": 1, "gold_fraction": 0.1} if has_gold else {}


def _user(tx: Tx, username: str, role: Role) -> auth.Principal:
    user_id = tx.scalar("auth.user_id_by_name", {"username": username})
    if user_id is None:
        created, _ = accounts.create(tx, audit.CLI, username, role, None)
        user_id = created["id"]
    return auth.Principal(user_id, username, role)

