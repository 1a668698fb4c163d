"""A real `labeling serve` in its own process group, workers hammering it from threads, and the invariants the
database must hold afterwards (the crash, backup and restore tests share them)."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from labeling.db import Database

LABELS = ["pos", "neg"]


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """`labeling serve` as a subprocess (its own process group, so it can be killed whole, workers included)."""

    def __init__(self, database_url: str, data_dir: Path, workers: int = 1) -> None:
        self.database_url, self.data_dir, self.workers = database_url, data_dir, workers
        self.admin_token = "lbl_live_" + secrets.token_urlsafe(16)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = data_dir.parent / f"server-{self.port}.log"

    def env(self) -> dict[str, str]:
        """The environment the server and the CLI run with."""
        return {**os.environ, "LABELING_DATA_DIR": str(self.data_dir), "LABELING_DATABASE_URL": self.database_url,
                "LABELING_ADMIN_TOKEN": self.admin_token, "LABELING_SECRET_KEY": "live-test-secret"}

    def start(self) -> "LiveServer":
        """Start the server and wait until it answers."""
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "labeling.cli", "serve", "--port", str(self.port), "--workers",
                 str(self.workers), "--no-access-log", "--log-level", "warning"],
                env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.base_url + "/api/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{self.log.read_text()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL to the whole process group: no shutdown code runs anywhere."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """A polite stop (SIGTERM to the group), then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTP client, with a Bearer token when given."""
        return httpx.Client(base_url=self.base_url, timeout=30,
                            headers={"Authorization": f"Bearer {token}"} if token else {})

    def user(self, name: str, role: str) -> str:
        """A new user's token."""
        with self.client(self.admin_token) as c:
            r = c.post("/api/users", json={"username": name, "role": role})
            assert r.status_code == 201, r.text
            return r.json()["token"]


def make_projects(server: LiveServer, requester: str, n_tasks: int) -> list[int]:
    """A fixed-redundancy and an adaptive project of n_tasks text tasks each, with short leases."""
    ids = []
    with server.client(requester) as c:
        for name, redundancy in (("fixed", 2), ("adaptive", {"min": 2, "max": 3, "target_confidence": 0.99})):
            r = c.post("/api/projects", json={"name": name, "task_type": "text_classification", "labels": LABELS,
                                              "redundancy": redundancy, "lease_seconds": 2})
            assert r.status_code == 201, r.text
            pid = r.json()["id"]
            tasks = [{"data": {"text": f"{name} item {i}"}, "external_id": f"{name}-{i}"} for i in range(n_tasks)]
            assert c.post(f"/api/projects/{pid}/tasks", json=tasks).status_code == 201
            ids.append(pid)
    return ids


@dataclass
class Workload:
    """What the worker threads saw: every acknowledged submit (assignment id -> annotation id), and errors."""

    acknowledged: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, assignment_id: int, annotation_id: int) -> None:
        """Note a 201."""
        with self.lock:
            if self.acknowledged.setdefault(assignment_id, annotation_id) != annotation_id:
                self.errors.append(f"assignment {assignment_id} acknowledged as two annotations")


def work(server: LiveServer, token: str, projects: list[int], load: Workload, stop: threading.Event,
         seed: int, until_done: bool = False) -> None:
    """One worker: next then submit (10% skips), until `stop`, the server goes away, or (until_done) nothing is
    left in any project."""
    rng = random.Random(seed)
    with server.client(token) as c:
        while not stop.is_set():
            pid = rng.choice(projects)
            try:
                r = c.post(f"/api/projects/{pid}/next")
                if r.status_code == 204:
                    if until_done and all(_remaining(server, p) == 0 for p in projects):
                        return
                    time.sleep(0.1)
                    continue
                if r.status_code != 200:
                    load.errors.append(f"next {r.status_code} {r.text[:200]}")
                    return
                aid = r.json()["assignment_id"]
                if rng.random() < 0.1:
                    s = c.post(f"/api/assignments/{aid}/skip")
                    if s.status_code not in (200, 409):
                        load.errors.append(f"skip {s.status_code} {s.text[:200]}")
                    continue
                s = c.post(f"/api/assignments/{aid}/submit", json={"answer": {"label": rng.choice(LABELS)}},
                           headers={"Idempotency-Key": f"k{aid}"})
            except httpx.HTTPError:
                if until_done:
                    load.errors.append("the server stopped answering")
                return  # the server is gone (killed): what was acknowledged is what counts
            if s.status_code == 201:
                load.ack(aid, s.json()["annotation_id"])
            elif not (s.status_code == 409 and s.json()["error"]["code"] == "lease_expired"):
                load.errors.append(f"submit {s.status_code} {s.text[:200]}")


def _remaining(server: LiveServer, pid: int) -> int:
    with server.client(server.admin_token) as admin:
        return admin.get(f"/api/projects/{pid}").json()["progress"]["remaining"]


def run_workers(server: LiveServer, tokens: list[str], projects: list[int], load: Workload, *,
                until_done: bool = False) -> tuple[threading.Event, list[threading.Thread]]:
    """Start one thread per worker; returns the stop event and the threads."""
    stop = threading.Event()
    threads = [threading.Thread(target=work, args=(server, token, projects, load, stop, i, until_done), daemon=True)
               for i, token in enumerate(tokens)]
    for thread in threads:
        thread.start()
    return stop, threads


async def violations(db: Database, load: Workload | None = None, acknowledged: dict[int, int] | None = None
                     ) -> list[str]:
    """Every broken invariant (an empty list when the database is sound)."""
    out: list[str] = []

    async def rows(sql: str) -> list[Any]:
        async with db.read() as conn:
            return list((await conn.execute(text(sql))).all())

    stored = {r.assignment_id: r.id for r in await rows("SELECT id, assignment_id FROM annotations")}
    for assignment_id, annotation_id in (acknowledged if acknowledged is not None else
                                         (load.acknowledged if load else {})).items():
        if stored.get(assignment_id) != annotation_id:
            out.append(f"acknowledged submit of assignment {assignment_id} (annotation {annotation_id}) is "
                       f"{'missing' if assignment_id not in stored else 'another annotation'}")
    checks = {
        "task over redundancy": "SELECT t.id FROM tasks t WHERE t.n_done > t.needed OR (SELECT count(*) FROM "
                                "annotations a WHERE a.task_id = t.id AND NOT a.excluded) > t.needed",
        "a worker answered a task twice": "SELECT task_id FROM annotations GROUP BY task_id, worker_id "
                                          "HAVING count(*) > 1",
        "tasks.n_done differs from the counted annotations": (
            "SELECT t.id FROM tasks t WHERE t.n_done <> (SELECT count(*) FROM annotations a "
            "WHERE a.task_id = t.id AND NOT a.excluded)"),
        "tasks.n_leased differs from the leased assignments": (
            "SELECT t.id FROM tasks t WHERE t.n_leased <> (SELECT count(*) FROM assignments s "
            "WHERE s.task_id = t.id AND s.status = 0)"),
        "a complete task's result does not count its annotations": (
            "SELECT t.id FROM tasks t LEFT JOIN task_results r ON r.task_id = t.id WHERE t.state = 1 AND "
            "(r.task_id IS NULL OR r.n_annotations <> (SELECT count(*) FROM annotations a "
            "WHERE a.task_id = t.id AND NOT a.excluded))"),
        "project counters differ from the rows": (
            "SELECT p.id FROM projects p WHERE "
            "(SELECT COALESCE(sum(n_tasks), 0) FROM project_counters c WHERE c.project_id = p.id) <> "
            "(SELECT count(*) FROM tasks t WHERE t.project_id = p.id) OR "
            "(SELECT COALESCE(sum(n_complete), 0) FROM project_counters c WHERE c.project_id = p.id) <> "
            "(SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND t.state = 1) OR "
            "(SELECT COALESCE(sum(n_annotations), 0) FROM project_counters c WHERE c.project_id = p.id) <> "
            "(SELECT count(*) FROM annotations a WHERE a.project_id = p.id) OR "
            "(SELECT COALESCE(sum(n_skips), 0) FROM project_counters c WHERE c.project_id = p.id) <> "
            "(SELECT count(*) FROM assignments s WHERE s.project_id = p.id AND s.status = 2)"),
        "project_workers counts differ from the rows": (
            "SELECT w.worker_id FROM project_workers w WHERE "
            "w.n_annotations <> (SELECT count(*) FROM annotations a WHERE a.project_id = w.project_id AND "
            "a.worker_id = w.worker_id) OR "
            "w.n_skips <> (SELECT count(*) FROM assignments s WHERE s.project_id = w.project_id AND "
            "s.worker_id = w.worker_id AND s.status = 2) OR "
            "w.n_claims <> (SELECT count(*) FROM assignments s WHERE s.project_id = w.project_id AND "
            "s.worker_id = w.worker_id)"),
        "an open task has all its answers but was never settled": (
            "SELECT id FROM tasks WHERE state = 0 AND NOT is_gold AND n_done > 0 AND n_done >= needed"),
    }
    for words, sql in checks.items():
        bad = await rows(sql)
        if bad:
            out.append(f"{words}: {[tuple(r) for r in bad[:5]]}")
    return out


async def settled(db: Database, seconds: float = 30) -> list[str]:
    """The invariants once the server's start-up sweep has settled what a crash left unsettled."""
    deadline = time.monotonic() + seconds
    while True:
        found = await violations(db)
        if not any(v.startswith("an open task has all its answers") for v in found) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)
