"""The console's quality page of a project with many long labels: its bytes, and what parts of the page they are.

One text-classification project of --labels labels of --label-chars characters each (the most a project may have:
1,000 of 100), one task per label answered by two workers (a third of the tasks split between two labels), so every
label is in some answer. The app runs in this process (httpx over ASGI) on a fresh SQLite database; the page is
loaded once and its bytes are counted by section. It prints one JSON object.

    python benchmarks/quality_page.py                     # 1,000 labels of 100 characters
    python benchmarks/quality_page.py --labels 100        # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from pathlib import Path

# This folder's queue.py would stand in for the standard library's queue module (aiosqlite imports it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import httpx

from labeling import auth, migrate
from labeling.app import create_app
from labeling.db import Database
from labeling.settings import Settings

SECTIONS = {
    "label distribution, bars": r'<table class="console-table distribution".*?</table>',
    "label distribution, folded": r'<details class="more-labels".*?</details>',
    "labels not used": r'<details class="unused-labels".*?</details>',
    "confusion matrix": r'<table class="confusion".*?</table>',
    "most common confusions": r'<ol class="confusions".*?</ol>',
    "workers": r'<table class="console-table" id="workers">.*?</table>',
}


async def run(n_labels: int, chars: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="labeling-quality-bench-"))
    settings = Settings(data_dir=folder / "data", database_url=f"sqlite:///{folder / 'q.db'}", secret_key="bench")
    db = Database(settings.resolved_database_url, pool_size=5)
    await migrate.upgrade(db)
    labels = [(f"label {i:04d} " + "x" * chars)[:chars] for i in range(n_labels)]
    app = create_app(settings, db)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                     timeout=600) as c:
            made = iter(range(10))

            async def user(role: str) -> dict:
                name = f"{role}{next(made)}"
                _, token = await db.transact(lambda tx: auth.create_user(tx, name, role, password_hash=None))
                return {"Authorization": f"Bearer {token}"}
            owner = await user("requester")
            r = await c.post("/api/projects", json={"name": "quality bench", "task_type": "text_classification",
                                                    "labels": labels, "redundancy": 2}, headers=owner)
            r.raise_for_status()
            project = r.json()["id"]
            tasks = [{"data": {"text": f"task {i}"}} for i in range(n_labels)]
            (await c.post(f"/api/projects/{project}/tasks", json=tasks, headers=owner)).raise_for_status()
            for j in range(2):
                worker = await user("worker")
                for i in range(n_labels):
                    lease = (await c.post(f"/api/projects/{project}/next", headers=worker)).json()
                    label = labels[(i + j * (i % 3 == 0)) % n_labels]
                    (await c.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": label}},
                                  headers=worker)).raise_for_status()
            page = (await c.get(f"/console/projects/{project}/quality", headers=owner)).text
    finally:
        await db.dispose()
    sections = {name: sum(len(m.encode()) for m in re.findall(pattern, page, re.S)) for name, pattern in SECTIONS.items()}
    return {"labels": n_labels, "label_chars": chars, "page_bytes": len(page.encode()), "sections": sections}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--label-chars", type=int, default=100)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.labels, args.label_chars))))


if __name__ == "__main__":
    main()
