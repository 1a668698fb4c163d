"""Project recompute speed and memory: a text classification project of N tasks x 3 answers, `labeling consensus`.

The project is built as benchmarks/export.py builds its own: this script writes a dump of it (users, the project,
N tasks, 3 assignments and 3 answers per task from WORKERS workers of known accuracy, workers' standing, a consensus
per task) and `labeling restore` loads it. Then `labeling consensus PROJECT --method M` runs in its own process; the
script prints its wall and CPU seconds, its peak resident memory (from wait4) and the accuracy of the labels it
wrote against the crowd's truth.

    python benchmarks/recompute.py --tasks 200000                                 # SQLite in a temp folder
    python benchmarks/recompute.py --tasks 200000 --pg postgresql://postgres@127.0.0.1:5432/bench
    python benchmarks/recompute.py --tasks 50000 200000 --methods majority dawid-skene --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
from pathlib import Path

from sqlalchemy import text

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from export import (WORKERS, _line, reset_pg, run, task_line, write_people, write_project,  # noqa: E402
                    write_standing)

LABELS = ("pos", "neg", "neutral")


def write_dump(path: Path, n_tasks: int, seed: int = 0) -> list[str]:
    """A dump of one text classification project; returns each task's true label (task i at index i - 1)."""
    rng = random.Random(seed)
    accuracy = [0.55 + 0.4 * rng.random() for _ in range(WORKERS)]
    truth = [rng.choice(LABELS) for _ in range(n_tasks)]
    now = 1_780_000_000.0
    with path.open("w") as out:
        write_people(out, now)
        write_project(out, now, n_tasks, "bench-classification", "text_classification", list(LABELS),
                      "Pick the sentiment.")
        for i in range(1, n_tasks + 1):
            out.write(task_line(i, now, {"text": f"Review {i}: the product did what it said, mostly."}))
        workers = [[(i * 7 + k * 13) % WORKERS for k in range(3)] for i in range(1, n_tasks + 1)]
        for table in ("assignments", "annotations"):
            for i in range(1, n_tasks + 1):
                for k, w in enumerate(workers[i - 1]):
                    ident, at = 3 * (i - 1) + k + 1, now + i * 1e-3 + k
                    if table == "assignments":
                        out.write(_line(table, {"id": ident, "project_id": 1, "task_id": i, "worker_id": w + 2,
                                                "status": 1, "is_gold": False, "created_at": at,
                                                "expires_at": at + 600, "finished_at": at + 20}))
                        continue
                    right = rng.random() < accuracy[w]
                    label = truth[i - 1] if right else rng.choice([x for x in LABELS if x != truth[i - 1]])
                    out.write(_line(table, {"id": ident, "project_id": 1, "task_id": i, "worker_id": w + 2,
                                            "assignment_id": ident, "answer": {"label": label}, "is_gold": False,
                                            "gold_score": None, "excluded": False, "idempotency_key": None,
                                            "duration_ms": 9000 + k, "created_at": at + 20}))
        write_standing(out, now)
        for i in range(1, n_tasks + 1):  # the per-task consensus a settle left, which the recompute replaces
            out.write(_line("task_results", {
                "task_id": i, "project_id": 1, "confidence": 0.5, "n_annotations": 3, "method": "majority",
                "updated_at": now + i * 1e-3 + 30, "details": {}, "answer": {"label": LABELS[i % 3]}}))
    return truth


def accuracy_of(url: str, truth: list[str]) -> float:
    """The share of tasks whose stored consensus label is the truth."""
    from labeling.db import Database

    async def read() -> list:
        db = Database(url, pool_size=1)
        async with db.engine.begin() as conn:
            rows = (await conn.execute(text("SELECT task_id, answer FROM task_results WHERE project_id = 1"))).all()
        await db.dispose()
        return rows

    rows = asyncio.run(read())
    right = sum(1 for task, answer in rows
                if (json.loads(answer) if isinstance(answer, str) else answer)["label"] == truth[task - 1])
    return right / len(truth)


def build(n: int, work: Path, pg: str | None) -> tuple[dict, list[str]]:
    """A database holding the benchmark project (made afresh); the environment for `labeling`, and the truth."""
    dump = work / f"classification-{n}.jsonl"
    truth = write_dump(dump, n)
    data_dir = work / f"data-{n}-{'pg' if pg else 'sqlite'}"
    data_dir.mkdir(exist_ok=True)
    env = {**os.environ, "LABELING_DATA_DIR": str(data_dir), "LABELING_SECRET_KEY": "bench"}
    if pg:
        reset_pg(pg)
        env["LABELING_DATABASE_URL"] = pg
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(str(data_dir / "labeling.db") + suffix).unlink(missing_ok=True)
        env["LABELING_DATABASE_URL"] = f"sqlite:///{data_dir / 'labeling.db'}"
    seconds, rss, _ = run(["restore", str(dump)], env)
    print(f"# restored {n:,} tasks and {3 * n:,} answers into {'PostgreSQL' if pg else 'SQLite'} in {seconds:.0f} s "
          f"({rss:.0f} MB)", flush=True)
    return env, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[200_000])
    parser.add_argument("--methods", nargs="+", default=["dawid-skene"])
    parser.add_argument("--pg", help="run on this PostgreSQL database instead of SQLite (its schema is dropped)")
    parser.add_argument("--rounds", type=int, default=1, help="recompute each size this many times")
    parser.add_argument("--work", help="folder for dumps and databases (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labeling-recompute-") as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(f"# load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
        print("| database | tasks | answers | method | seconds | CPU s | peak RSS (MB) | accuracy |")
        print("|---|---|---|---|---|---|---|---|")
        for n in args.tasks:
            env, truth = build(n, work, args.pg)
            for _ in range(args.rounds):
                for method in args.methods:
                    seconds, rss, cpu = run(["consensus", "1", "--method", method], env)
                    accuracy = accuracy_of(env["LABELING_DATABASE_URL"], truth)
                    print(f"| {'PostgreSQL' if args.pg else 'SQLite'} | {n:,} | {3 * n:,} | {method} | {seconds:.1f} "
                          f"| {cpu:.1f} | {rss:.0f} | {accuracy:.4f} |", flush=True)


if __name__ == "__main__":
    main()
