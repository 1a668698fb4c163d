"""Export speed and memory: a preference project of N tasks x 3 answers, exported by `labeling export`.

The project is built fast: this script writes a dump of it (users, the project, N tasks with two responses
each, 3 assignments and 3 answers per task, workers' standing, a consensus per task) and `labeling restore`
loads it. Then each format is exported by its own `labeling export` process, and the script prints task rows
per second and the peak resident memory of that process (its own, from wait4).

    python benchmarks/export.py --tasks 100000 1000000                         # SQLite files in a temp folder
    python benchmarks/export.py --tasks 100000 --pg postgresql://postgres@127.0.0.1:5432/bench
    python benchmarks/export.py --formats jsonl --rounds 3                     # repeat, alternating sizes
    python benchmarks/export.py --tasks 1000000 --sqlite-fill                  # SQLite made by SQL, in minutes

Old and new code side by side on the databases this script built: benchmarks/export_ab.py.

Targets (issue 10): >= 100,000 task rows/s to jsonl on SQLite (50,000 on PostgreSQL); peak memory under
300 MB at 1,000,000 tasks and within 1.2x of the peak at 100,000.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# This folder's queue.py would stand in for the standard library's queue module (aiosqlite imports it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import orjson
from sqlalchemy import text

WORKERS = 50
FORMATS = ("jsonl", "manifest", "annotations", "preference")
HERE = Path(__file__).resolve().parent.parent


def _line(table: str, row: dict) -> str:
    return '{"table":"' + table + '","row":' + orjson.dumps(row).decode() + "}\n"


def write_people(out: Any, now: float, workers: int = WORKERS) -> None:
    """A one-project dump's header and its people: the requester (user 1) and the workers (users 2...)."""
    out.write(json.dumps({"kind": "labeling-dump", "version": 1, "scope": "project", "projects": [1],
                          "schema": "0001"}) + "\n")
    out.write(_line("users", {"id": 1, "username": "bench-requester", "role": "requester", "is_active": True,
                              "created_at": now}))
    for w in range(workers):
        out.write(_line("users", {"id": w + 2, "username": f"bench-worker-{w}", "role": "worker",
                                  "is_active": True, "created_at": now}))


def write_standing(out: Any, now: float, workers: int = WORKERS) -> None:
    """Each worker's standing in project 1, before any recompute."""
    for w in range(workers):
        out.write(_line("project_workers", {"project_id": 1, "worker_id": w + 2, "n_claims": 0, "n_annotations": 0,
                                            "n_skips": 0, "n_gold": 0, "gold_score_sum": 0.0, "skill": None,
                                            "agreement": None, "blocked": False, "updated_at": now}))


def write_project(out: Any, now: float, n_tasks: int, name: str, task_type: str, labels: list[str],
                  instructions: str) -> None:
    """Project 1 of user 1, its n_tasks tasks complete with 3 answers each, and its counters."""
    out.write(_line("projects", {
        "id": 1, "name": name, "owner_id": 1, "task_type": task_type, "labels": labels, "instructions": instructions,
        "redundancy_min": 3, "redundancy_max": 3, "target_confidence": None, "lease_seconds": 600, "gold_first_n": 0,
        "gold_fraction": 0.0, "gold_min": 5, "gold_threshold": 0.0, "options": {}, "created_at": now,
        "updated_at": now}))
    out.write(_line("project_counters", {"project_id": 1, "n_tasks": n_tasks, "n_gold_tasks": 0,
                                         "n_complete": n_tasks, "n_annotations": 3 * n_tasks, "n_skips": 0}))


def task_line(i: int, now: float, data: dict) -> str:
    """Task i of project 1, complete with its 3 answers."""
    return _line("tasks", {"id": i, "project_id": 1, "external_id": f"ext-{i}", "is_gold": False, "priority": 0,
                           "state": 1, "needed": 3, "n_done": 3, "n_leased": 0, "created_at": now + i * 1e-3,
                           "gold": None, "predictions": None, "data": data})


def write_dump(path: Path, n_tasks: int, seed: int = 0) -> None:
    """A dump of one preference project of n_tasks tasks, each answered by 3 of WORKERS workers."""
    rng = random.Random(seed)
    now = 1_780_000_000.0
    with path.open("w") as out:
        write_people(out, now)
        write_project(out, now, n_tasks, "bench-preferences", "preference_ranking", [], "Pick the better answer.")
        for i in range(1, n_tasks + 1):
            out.write(task_line(i, now, {
                "prompt": f"Question {i}: how would you explain topic {i % 997} to a newcomer?",
                "responses": [{"id": "a", "text": f"A first answer to question {i}, short and plain.",
                               "model": "model-a"},
                              {"id": "b", "text": f"A second answer to question {i}, with an example.",
                               "model": "model-b"}]}))
        for table in ("assignments", "annotations"):
            for i in range(1, n_tasks + 1):
                for k in range(3):
                    ident = 3 * (i - 1) + k + 1
                    worker = (i * 7 + k * 13) % WORKERS + 2
                    at = now + i * 1e-3 + k
                    if table == "assignments":
                        out.write(_line(table, {"id": ident, "project_id": 1, "task_id": i, "worker_id": worker,
                                                "status": 1, "is_gold": False, "created_at": at,
                                                "expires_at": at + 600, "finished_at": at + 20}))
                    else:
                        first = "a" if rng.random() < 0.7 else "b"
                        answer: dict = {"ranking": [[first], ["b" if first == "a" else "a"]]}
                        if k == 0:
                            answer["ratings"] = {"a": rng.randint(1, 7), "b": rng.randint(1, 7)}
                        out.write(_line(table, {"id": ident, "project_id": 1, "task_id": i, "worker_id": worker,
                                                "assignment_id": ident, "answer": answer, "is_gold": False,
                                                "gold_score": None, "excluded": False, "idempotency_key": None,
                                                "duration_ms": 15000 + k, "created_at": at + 20}))
        write_standing(out, now)
        for i in range(1, n_tasks + 1):
            p = round(0.5 + rng.random() * 0.45, 6)
            out.write(_line("task_results", {
                "task_id": i, "project_id": 1, "confidence": p, "n_annotations": 3, "method": "online",
                "updated_at": now + i * 1e-3 + 30, "details": {"agreement": round(rng.random(), 6)},
                "answer": {"ranking": [["a"], ["b"]], "scores": {"a": 0.3, "b": -0.3},
                           "pair_probabilities": [{"chosen": "a", "rejected": "b", "probability": p}],
                           "ratings": {"a": {"mean": 5.0, "median": 5.0, "n": 1}, "b": {"mean": 3.0, "median": 3.0,
                                                                                        "n": 1}}}}))


def run(argv: list[str], env: dict) -> tuple[float, float, str]:
    """Run `labeling ARGV`; (seconds, peak RSS in MB of that process, CPU seconds of that process)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "labeling.cli", *argv], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=HERE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"labeling {' '.join(argv)} failed ({proc.returncode}): {err.strip()}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def calibrate() -> float:
    """Microseconds per orjson.loads of one benchmark task's data: how fast this machine is right now."""
    text = orjson.dumps({"prompt": "Question 1: how would you explain topic 1 to a newcomer?", "responses": [
        {"id": "a", "text": "A first answer to question 1, short and plain.", "model": "model-a"},
        {"id": "b", "text": "A second answer to question 1, with an example.", "model": "model-b"}]})
    started = time.process_time()
    for _ in range(100_000):
        orjson.loads(text)
    return (time.process_time() - started) * 10


def reset_pg(url: str) -> None:
    """Empty the benchmark's PostgreSQL database (`labeling restore` migrates it again)."""
    from labeling.db import Database

    async def reset() -> None:
        db = Database(url, pool_size=1)
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await db.dispose()

    asyncio.run(reset())


def holds(url: str, n: int) -> bool:
    """Whether the database already holds the benchmark project with n tasks."""
    from labeling.db import Database

    async def count() -> int:
        db = Database(url, pool_size=1)
        try:
            async with db.read() as conn:
                return int(await conn.scalar(text(
                    "SELECT count(*) FROM tasks t JOIN projects p ON p.id = t.project_id "
                    "WHERE p.name = 'bench-preferences'")) or 0)
        except Exception:
            return -1
        finally:
            await db.dispose()

    return asyncio.run(count()) == n


# The same project as write_dump's, made by PostgreSQL itself (restoring millions of rows through Python takes
# the better part of an hour on this shared machine). Used with --pg-fill.
PG_FILL = (
    "INSERT INTO users (id, username, role, password_hash, token_hash, is_active, created_at) "
    "SELECT 1, 'bench-requester', 'requester', NULL, md5('r'), true, 1780000000 UNION ALL "
    "SELECT g + 2, 'bench-worker-' || g, 'worker', NULL, md5('w' || g), true, 1780000000 "
    "FROM generate_series(0, 49) g",
    "INSERT INTO projects (id, name, owner_id, task_type, labels, instructions, redundancy_min, redundancy_max, "
    "target_confidence, lease_seconds, gold_first_n, gold_fraction, gold_min, gold_threshold, options, created_at, "
    "updated_at) VALUES (1, 'bench-preferences', 1, 'preference_ranking', '[]', 'Pick the better answer.', 3, 3, "
    "NULL, 600, 0, 0, 5, 0, '{}', 1780000000, 1780000000)",
    "INSERT INTO project_counters VALUES (1, 0, :n, 0, :n, 3 * :n, 0)",
    "INSERT INTO tasks (id, project_id, data, gold, predictions, is_gold, priority, external_id, state, needed, "
    "n_done, n_leased, created_at) SELECT i, 1, jsonb_build_object('prompt', 'Question ' || i || "
    "': how would you explain topic ' || (i % 997) || ' to a newcomer?', 'responses', jsonb_build_array("
    "jsonb_build_object('id', 'a', 'text', 'A first answer to question ' || i || ', short and plain.', "
    "'model', 'model-a'), jsonb_build_object('id', 'b', 'text', 'A second answer to question ' || i || "
    "', with an example.', 'model', 'model-b'))), NULL, NULL, false, 0, 'ext-' || i, 1, 3, 3, 0, "
    "1780000000 + i * 0.001 FROM generate_series(1, :n) i",
    "INSERT INTO assignments (id, project_id, task_id, worker_id, status, is_gold, created_at, expires_at, "
    "finished_at) SELECT 3 * (i - 1) + k + 1, 1, i, (i * 7 + k * 13) % 50 + 2, 1, false, "
    "1780000000 + i * 0.001 + k, 1780000600 + i * 0.001 + k, 1780000020 + i * 0.001 + k "
    "FROM generate_series(1, :n) i, generate_series(0, 2) k",
    "INSERT INTO annotations (id, project_id, task_id, worker_id, assignment_id, answer, is_gold, gold_score, "
    "excluded, idempotency_key, duration_ms, created_at) SELECT 3 * (i - 1) + k + 1, 1, i, "
    "(i * 7 + k * 13) % 50 + 2, 3 * (i - 1) + k + 1, CASE WHEN k = 0 THEN jsonb_build_object('ranking', "
    "'[[\"a\"], [\"b\"]]'::jsonb, 'ratings', jsonb_build_object('a', 1 + i % 7, 'b', 1 + (i * 3) % 7)) "
    "WHEN (i * 31 + k * 17) % 10 < 7 THEN '{\"ranking\": [[\"a\"], [\"b\"]]}'::jsonb "
    "ELSE '{\"ranking\": [[\"b\"], [\"a\"]]}'::jsonb END, false, NULL, false, NULL, 15000 + k, "
    "1780000020 + i * 0.001 + k FROM generate_series(1, :n) i, generate_series(0, 2) k",
    "INSERT INTO project_workers (project_id, worker_id, n_claims, n_annotations, n_skips, n_gold, gold_score_sum, "
    "skill, agreement, blocked, updated_at) SELECT 1, g + 2, 0, 0, 0, 0, 0, NULL, NULL, false, 1780000000 "
    "FROM generate_series(0, 49) g",
    "INSERT INTO task_results (task_id, project_id, answer, confidence, n_annotations, method, details, updated_at) "
    "SELECT i, 1, jsonb_build_object('ranking', '[[\"a\"], [\"b\"]]'::jsonb, 'scores', "
    "'{\"a\": 0.3, \"b\": -0.3}'::jsonb, 'pair_probabilities', jsonb_build_array(jsonb_build_object("
    "'chosen', 'a', 'rejected', 'b', 'probability', 0.5 + (i % 45) / 100.0)), 'ratings', "
    "'{\"a\": {\"mean\": 5.0, \"median\": 5.0, \"n\": 1}, \"b\": {\"mean\": 3.0, \"median\": 3.0, "
    "\"n\": 1}}'::jsonb), 0.5 + (i % 45) / 100.0, 3, 'online', jsonb_build_object('agreement', (i % 100) / 100.0), "
    "1780000030 + i * 0.001 FROM generate_series(1, :n) i",
    "SELECT setval(pg_get_serial_sequence('tasks', 'id'), :n)",
    "ANALYZE",
)


# The same project made by SQLite itself (a recursive series), with --sqlite-fill.
SERIES = "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) "
SQLITE_FILL = (
    "INSERT INTO users (id, username, role, password_hash, token_hash, is_active, created_at) "
    "SELECT 1, 'bench-requester', 'requester', NULL, 'r', 1, 1780000000 UNION ALL "
    "SELECT g + 2, 'bench-worker-' || g, 'worker', NULL, 'w' || g, 1, 1780000000 "
    "FROM (WITH RECURSIVE w(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM w WHERE g < 49) SELECT g FROM w)",
    PG_FILL[1],
    PG_FILL[2],
    SERIES + "INSERT INTO tasks (id, project_id, data, gold, predictions, is_gold, priority, external_id, state, "
    "needed, n_done, n_leased, created_at) SELECT i, 1, json_object('prompt', 'Question ' || i || "
    "': how would you explain topic ' || (i % 997) || ' to a newcomer?', 'responses', json_array("
    "json_object('id', 'a', 'text', 'A first answer to question ' || i || ', short and plain.', "
    "'model', 'model-a'), json_object('id', 'b', 'text', 'A second answer to question ' || i || "
    "', with an example.', 'model', 'model-b'))), NULL, NULL, 0, 0, 'ext-' || i, 1, 3, 3, 0, "
    "1780000000 + i * 0.001 FROM s",
    SERIES + ", k(k) AS (VALUES (0), (1), (2)) "
    "INSERT INTO assignments (id, project_id, task_id, worker_id, status, is_gold, created_at, expires_at, "
    "finished_at) SELECT 3 * (i - 1) + k + 1, 1, i, (i * 7 + k * 13) % 50 + 2, 1, 0, "
    "1780000000 + i * 0.001 + k, 1780000600 + i * 0.001 + k, 1780000020 + i * 0.001 + k FROM s, k ORDER BY 1",
    SERIES + ", k(k) AS (VALUES (0), (1), (2)) "
    "INSERT INTO annotations (id, project_id, task_id, worker_id, assignment_id, answer, is_gold, gold_score, "
    "excluded, idempotency_key, duration_ms, created_at) SELECT 3 * (i - 1) + k + 1, 1, i, "
    "(i * 7 + k * 13) % 50 + 2, 3 * (i - 1) + k + 1, CASE WHEN k = 0 THEN json_object('ranking', "
    "json('[[\"a\"], [\"b\"]]'), 'ratings', json_object('a', 1 + i % 7, 'b', 1 + (i * 3) % 7)) "
    "WHEN (i * 31 + k * 17) % 10 < 7 THEN '{\"ranking\": [[\"a\"], [\"b\"]]}' "
    "ELSE '{\"ranking\": [[\"b\"], [\"a\"]]}' END, 0, NULL, 0, NULL, 15000 + k, "
    "1780000020 + i * 0.001 + k FROM s, k ORDER BY 1",
    "INSERT INTO project_workers (project_id, worker_id, n_claims, n_annotations, n_skips, n_gold, gold_score_sum, "
    "skill, agreement, blocked, updated_at) SELECT 1, id, 0, 0, 0, 0, 0, NULL, NULL, 0, 1780000000 "
    "FROM users WHERE id > 1",
    SERIES + "INSERT INTO task_results (task_id, project_id, answer, confidence, n_annotations, method, details, "
    "updated_at) SELECT i, 1, json_object('ranking', json('[[\"a\"], [\"b\"]]'), 'scores', "
    "json('{\"a\": 0.3, \"b\": -0.3}'), 'pair_probabilities', json_array(json_object("
    "'chosen', 'a', 'rejected', 'b', 'probability', 0.5 + (i % 45) / 100.0)), 'ratings', "
    "json('{\"a\": {\"mean\": 5.0, \"median\": 5.0, \"n\": 1}, \"b\": {\"mean\": 3.0, \"median\": 3.0, "
    "\"n\": 1}}')), 0.5 + (i % 45) / 100.0, 3, 'online', json_object('agreement', (i % 100) / 100.0), "
    "1780000030 + i * 0.001 FROM s",
)


def fill_sqlite(path: Path, n: int, env: dict) -> float:
    """Make the benchmark project in SQLite with recursive series; returns the seconds it took."""
    import sqlite3

    run(["migrate"], env)
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    with conn:
        for statement in SQLITE_FILL:
            conn.execute(statement, {"n": n})
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


def fill_pg(url: str, n: int, env: dict) -> float:
    """Make the benchmark project in PostgreSQL with generate_series; returns the seconds it took."""
    from labeling.db import Database

    run(["migrate"], env)
    started = time.perf_counter()

    async def fill() -> None:
        db = Database(url, pool_size=1)
        async with db.engine.begin() as conn:
            for statement in PG_FILL[:-1]:
                await conn.execute(text(statement), {"n": n})
        async with db.engine.connect() as conn:
            await conn.execute(text("COMMIT"))
            await conn.execute(text("ANALYZE"))
        await db.dispose()

    asyncio.run(fill())
    return time.perf_counter() - started


def build(n: int, work: Path, pg: str | None, reuse: bool = False, pg_fill: bool = False,
          sqlite_fill: bool = False) -> dict:
    """A database holding the benchmark project; returns the environment for `labeling`."""
    dump = work / f"bench-{n}.jsonl"
    if not dump.exists() and not (pg_fill if pg else sqlite_fill):
        started = time.perf_counter()
        write_dump(dump, n)
        print(f"# wrote a dump of {n:,} tasks ({dump.stat().st_size / 1e6:,.0f} MB) in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    data_dir = work / f"data-{n}-{'pg' if pg else 'sqlite'}"
    data_dir.mkdir(exist_ok=True)
    env = {**os.environ, "LABELING_DATA_DIR": str(data_dir), "LABELING_SECRET_KEY": "bench"}
    url = pg or f"sqlite:///{data_dir / 'labeling.db'}"
    if reuse and holds(url, n):
        print(f"# reusing the database that holds {n:,} tasks", flush=True)
        return {**env, "LABELING_DATABASE_URL": url}
    if pg:
        reset_pg(pg)
        env["LABELING_DATABASE_URL"] = pg
        if pg_fill:
            seconds = fill_pg(pg, n, env)
            print(f"# filled PostgreSQL with {n:,} tasks and {6 * n:,} assignments and answers in {seconds:.0f} s",
                  flush=True)
            return env
    else:
        env["LABELING_DATABASE_URL"] = f"sqlite:///{data_dir / 'labeling.db'}"
        for suffix in ("", "-wal", "-shm"):
            Path(str(data_dir / "labeling.db") + suffix).unlink(missing_ok=True)
        if sqlite_fill:
            seconds = fill_sqlite(data_dir / "labeling.db", n, env)
            print(f"# filled SQLite with {n:,} tasks and {6 * n:,} assignments and answers in {seconds:.0f} s",
                  flush=True)
            return env
    seconds, rss, _ = run(["restore", str(dump)], env)  # noqa: F841
    print(f"# restored {n:,} tasks and {6 * n:,} assignments and answers into "
          f"{'PostgreSQL' if pg else 'SQLite'} in {seconds:.0f} s ({rss:.0f} MB)", flush=True)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", default=list(FORMATS))
    parser.add_argument("--pg", help="also run on this PostgreSQL database (its schema is dropped)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the exports, alternating sizes")
    parser.add_argument("--work", help="folder for dumps, databases and outputs (default: a temp folder)")
    parser.add_argument("--reuse", action="store_true", help="keep a database that already holds the project")
    parser.add_argument("--pg-fill", action="store_true", help="make PostgreSQL's project with generate_series "
                        "instead of restoring the dump (minutes instead of most of an hour here)")
    parser.add_argument("--sqlite-fill", action="store_true", help="make SQLite's project with a recursive series "
                        "instead of restoring the dump")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="labeling-export-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    backends = ([None] if not args.no_sqlite else []) + ([args.pg] if args.pg else [])
    print(f"# load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; orjson.loads of a task's data: "
          f"{calibrate():.1f} us", flush=True)
    print("| database | tasks | format | seconds | task rows/s | CPU s | task rows per CPU s | output rows | "
          "peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for pg in backends:
        envs = {n: build(n, work, pg, args.reuse, sqlite_fill=args.sqlite_fill)
                                for n in args.tasks} if not pg else None
        for n in args.tasks:
            env = envs[n] if envs else build(n, work, pg, args.reuse, args.pg_fill)
            for _ in range(args.rounds):
                for fmt in args.formats:
                    out = work / f"out-{n}-{'pg' if pg else 'sqlite'}.{fmt}"
                    seconds, rss, cpu = run(["export", "bench-preferences", "--format", fmt, "-o", str(out),
                                             "--force", "--quiet"], env)
                    with out.open("rb") as handle:
                        rows = sum(1 for _ in handle)
                    print(f"| {'PostgreSQL' if pg else 'SQLite'} | {n:,} | {fmt} | {seconds:.1f} | "
                          f"{n / seconds:,.0f} | {cpu:.1f} | {n / cpu:,.0f} | {rows:,} | {rss:.0f} |", flush=True)
                    out.unlink()


if __name__ == "__main__":
    main()
