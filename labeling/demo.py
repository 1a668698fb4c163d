"""`labeling serve --demo`: load every file of sample_tasks/ into its own project, and seed a few answers from
three demo workers through the queue (next, then submit, as the API does), all in one transaction."""

from __future__ import annotations

import asyncio
import random
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labeling import accounts, annotations, audit, auth, files, jsonio, media, projects, queue, schemas, tasks
from labeling.consensus import runner
from labeling.db import Database
from labeling.models import Role
from labeling.settings import Settings
from labeling.sqltx import Tx

REQUESTER, WORKER = "demo-requester", "demo-worker"
# The workers whose answers the demo seeds (the printed worker login has none, so every project has work left).
SEEDERS = ("demo-ana", "demo-ben", "demo-cleo")
ANSWERS_FILE = "demo_answers.json"
CREDENTIALS_FILE = "demo-logins.env"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class _Planned:
    body: schemas.ProjectCreate
    parsed: Any
    n_tasks: int


async def load(settings: Settings, db: Database, sample_dir: Path) -> dict:
    """Create the demo users and projects (those not made yet), seed answers in the new projects, and return
    fresh credentials to print: a password and an API token for the requester and for the worker.

    Everything is checked first, then stored in one transaction: a demo loads whole or not at all.
    """
    images = sample_dir / "images"
    if images.is_dir():
        shutil.copytree(images, settings.media_dir / "images", dirs_exist_ok=True)
    config = jsonio.loads((sample_dir / "projects.json").read_bytes())
    key = _answer_key(sample_dir)
    planned = []
    sizes = media.Sizes(settings.media_dir)
    for filename, project_settings in config.items():
        body = schemas.parse(schemas.ProjectCreate, {**project_settings, **_gold_mix(sample_dir / filename)}, settings)
        items = tasks.read_items((sample_dir / filename).read_bytes(), "ndjson")
        parsed = tasks.validate(items, body.task_type.value, schemas.label_names(body.labels), settings.media_dir,
                                sizes=sizes, max_task_bytes=settings.max_task_bytes)
        planned.append(_Planned(body, parsed, len(items)))
    passwords = {REQUESTER: secrets.token_urlsafe(9), WORKER: secrets.token_urlsafe(9)}
    hashes = {name: await asyncio.to_thread(auth.hash_password, pw) for name, pw in passwords.items()}

    def store(tx: Tx) -> dict:
        people = {REQUESTER: _user(tx, REQUESTER, Role.requester), WORKER: _user(tx, WORKER, Role.worker)}
        tokens = {}
        for name, principal in people.items():
            auth.set_password(tx, principal.id, hashes[name])
            tokens[name] = auth.rotate_token(tx, principal.id)
        seeders = [_user(tx, name, Role.worker) for name in SEEDERS]
        mem = queue.Memory()
        created, seeded = [], 0
        for plan in planned:
            if tx.scalar("projects.name_taken", {"name": plan.body.name, "owner": people[REQUESTER].id,
                                                 "project": 0}) is not None:
                continue
            project_id = projects.create(tx, people[REQUESTER], plan.body, via="demo")
            tasks.import_(tx, audit.CLI, queue.load_project(tx, mem, project_id), plan.parsed, via="demo")
            created.append(plan.body.name)
            seeded += _seed(tx, mem, project_id, plan, seeders, key, settings.max_leases_per_worker)
        media.record(tx, sizes.new)
        return {"requester": REQUESTER, "requester_id": people[REQUESTER].id,
                "requester_password": passwords[REQUESTER],
                "requester_token": tokens[REQUESTER], "worker": WORKER, "worker_password": passwords[WORKER],
                "worker_token": tokens[WORKER], "projects": created, "seeded_answers": seeded}

    info = await db.transact(store)
    # Worker standing (agreement with consensus, skills) and the consensus of every answered task, as a requester's
    # "Recompute" gives them, so the console's project list and quality pages show figures from the first look.
    for name in info["projects"]:
        async with db.read() as conn:
            project = await projects.find(conn, name, owner_id=info["requester_id"])
        await runner.recompute_project(db, project, actor=audit.CLI)
    return info


def _seed(tx: Tx, mem: queue.Memory, project_id: int, plan: _Planned, seeders: list[auth.Principal], key: dict,
          max_leases: int) -> int:
    """Each seeder asks for work and answers it, like a worker through the API, until it has answered its share:
    about half of the answers the project needs (gold answers aside), so some tasks are done and some are left for the demo worker.
    A task the key has no answer for is skipped ("unclear")."""
    redundancy = plan.body.redundancy
    needed = redundancy if isinstance(redundancy, int) else redundancy.min
    share = max(1, plan.n_tasks * needed // (2 * len(seeders)))
    answered = 0
    rng = random.Random(project_id)  # which claims take gold: the same demo on every start and on both databases
    for rank, seeder in enumerate(seeders):
        instead = key["instead"].get(seeder.username, {})
        counted = 0
        for n in range(plan.n_tasks):
            if counted >= share:
                break
            lease = queue.claim_next(tx, mem, project_id, seeder, max_leases, rng=rng)
            if lease is None:
                break
            row = tx.one("demo.task_for_seed", {"task": lease.task_id})
            counted += not row.is_gold
            answer = (instead.get(row.external_id) or row.gold
                      or key["answers"].get(row.external_id)
                      or row.predictions)
            if answer is None:
                queue.skip(tx, mem, lease.assignment_id, seeder, "unclear", None)
                continue
            duration = 3000 + (lease.task_id * 7919 + rank * 104729 + n * 1553) % 20000
            annotations.submit(tx, mem, lease.assignment_id, seeder, answer, f"demo-{lease.assignment_id}",
                               duration, _meta(lease.data, rank, duration))
            answered += 1
    return answered


def _meta(data: dict, rank: int, duration: int) -> dict:
    """What the worker UI stores with an answer: the time on task, and for responses to rank the order they were
    shown in (each seeder sees them rotated) and their letters."""
    meta: dict = {"time_on_task_ms": duration, "hidden_ms": 0, "viewport": {"width": 1280, "height": 800}}
    responses = data.get("responses")
    if isinstance(responses, list) and responses:
        ids = [r["id"] for r in responses]
        shown = ids[rank % len(ids):] + ids[:rank % len(ids)]
        meta["shown_order"] = shown
        meta["letters"] = {rid: LETTERS[i] for i, rid in enumerate(shown)}
    return meta


def _answer_key(sample_dir: Path) -> dict:
    path = sample_dir / ANSWERS_FILE
    key = jsonio.loads(path.read_bytes()) if path.is_file() else {}
    return {"answers": key.get("answers", {}), "instead": key.get("instead", {})}


def write_credentials(settings: Settings, info: dict, admin_token: str | None, api_url: str) -> Path:
    """The demo's logins as shell variables (`. labeling-data/demo-logins.env`), readable by its owner only."""
    lines = [f"# written by `labeling serve --demo`; source it: . {CREDENTIALS_FILE}",
             f"API={api_url}",
             f"TOKEN={info['requester_token']}        # {info['requester']}, the requester",
             f"REQUESTER_PASSWORD={info['requester_password']}",
             f"WORKER={info['worker_token']}       # {info['worker']}, a worker",
             f"WORKER_PASSWORD={info['worker_password']}"]
    if admin_token:
        lines.append(f"ADMIN={admin_token}        # the admin")
    path = settings.data_dir / CREDENTIALS_FILE
    files.write(path, "\n".join(lines) + "\n", 0o600)  # whole, and never readable by others while written
    return path


def _gold_mix(path: Path) -> dict:
    has_gold = any('"gold"' in line for line in path.read_text().splitlines())
    return {"gold_first_n": 1, "gold_fraction": 0.1} if has_gold else {}


def _user(tx: Tx, username: str, role: Role) -> auth.Principal:
    user_id = tx.scalar("auth.user_id_by_name", {"username": username})
    if user_id is None:
        created, _ = accounts.create(tx, audit.CLI, username, role, None)
        user_id = created["id"]
    return auth.Principal(user_id, username, role)
