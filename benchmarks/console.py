"""Console page speed: one text-classification project of N tasks x 3 answers, the console's pages timed in process.

The project is made by the database itself (a recursive CTE on SQLite, generate_series on PostgreSQL: seconds,
not the better part of an hour through Python): 50 workers, N tasks, 3 assignments and 3 answers per task, a
consensus per task with its confidence and agreement, a problem report every 1,000 tasks, a review every 500.
Then the app runs in this process (httpx over ASGI, so the time is the server's: routing, policy, queries,
template) and each page is loaded 20 times, pages alternating so the machine's noise spreads over all of them.
Every SQL statement a page sends is recorded: a page that counts rows of tasks, assignments, annotations or
results fails the run.

    python benchmarks/console.py --tasks 100000                                   # SQLite in a temp folder
    python benchmarks/console.py --tasks 1000000 --pg postgresql://postgres@127.0.0.1:5432/bench
    python benchmarks/console.py --tasks 1000000 --keep /tmp/console-bench         # reuse the database next time

Target (issue 15): under 200 ms p95 server-side for each page at 1,000,000 tasks and 3,000,000 answers.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This folder's queue.py would stand in for the standard library's queue module (aiosqlite imports it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import httpx
from sqlalchemy import event, text

from labeling import auth, migrate
from labeling.app import create_app
from labeling.db import Database
from labeling.settings import Settings

TOKEN = "lbl_bench_console_requester_token_0000000000"
WORKERS = 50
LOADS = 20
WARM = 2
BIG = ("tasks", "assignments", "annotations", "task_results")

# The same rows on both databases; {series} is the dialect's row generator of i = 1..:n (and k = 0..2).
_LABEL = "CASE (i * 7 + k * 3) % 10 WHEN 0 THEN 'neg' WHEN 1 THEN 'neu' ELSE 'pos' END"
FILL = (
    "INSERT INTO users (id, username, role, password_hash, token_hash, is_active, created_at) "
    "VALUES (1, 'bench-requester', 'requester', NULL, :token_hash, true, 1780000000)",
    "INSERT INTO users (id, username, role, password_hash, token_hash, is_active, created_at) "
    "SELECT w + 2, 'bench-worker-' || w, 'worker', NULL, 'w' || w, true, 1780000000 FROM {workers}",
    "INSERT INTO projects (id, name, owner_id, task_type, labels, instructions, redundancy_min, redundancy_max, "
    "target_confidence, lease_seconds, gold_first_n, gold_fraction, gold_min, gold_threshold, options, "
    "label_styles, edit_window, created_at, updated_at, status, pool_all) VALUES (1, 'bench-console', 1, "
    "'text_classification', '[\"pos\", \"neg\", \"neu\"]', 'Read the review; pick its sentiment.', 3, 3, NULL, "
    "600, 0, 0, 5, 0, '{{}}', '{{}}', 'until_final', 1780000000, 1780000000, 0, true)",
    "INSERT INTO project_counters (project_id, shard, n_tasks, n_gold_tasks, n_complete, n_annotations, n_skips) "
    "VALUES (1, 0, :n, 0, :n, 3 * :n, 0)",
    "INSERT INTO tasks (id, project_id, data, gold, predictions, is_gold, priority, external_id, state, needed, "
    "n_done, n_leased, created_at) SELECT i, 1, {task_data}, NULL, NULL, false, 0, 'ext-' || i, 1, 3, 3, 0, "
    "1780000000 + i * 0.001 FROM {series}",
    "INSERT INTO assignments (id, project_id, task_id, worker_id, status, is_gold, created_at, expires_at, "
    "finished_at) SELECT 3 * (i - 1) + k + 1, 1, i, (i * 7 + k * 13) % 50 + 2, 1, false, 1780000000 + i * 0.001 + k, "
    "1780000600 + i * 0.001 + k, 1780000020 + i * 0.001 + k FROM {series3}",
    "INSERT INTO annotations (id, project_id, task_id, worker_id, assignment_id, answer, is_gold, gold_score, "
    "excluded, idempotency_key, duration_ms, created_at) SELECT 3 * (i - 1) + k + 1, 1, i, (i * 7 + k * 13) % 50 + 2, "
    "3 * (i - 1) + k + 1, {answer}, false, NULL, false, NULL, 4000 + (i * 13 + k) % 9000, "
    "1780000020 + i * 0.001 + k FROM {series3}",
    "INSERT INTO project_workers (project_id, worker_id, n_claims, n_annotations, n_skips, n_gold, gold_score_sum, "
    "skill, agreement, blocked, updated_at) SELECT 1, w + 2, 0, 0, 0, 0, 0, NULL, NULL, false, 1780000000 "
    "FROM {workers}",
    "INSERT INTO task_results (task_id, project_id, answer, confidence, n_annotations, method, details, updated_at) "
    "SELECT i, 1, {result_answer}, 0.34 + ((i % 6600) * 7919 % 6600) / 10000.0, 3, 'online', {result_details}, "
    "1780000030 + i * 0.001 FROM {series}",
    "INSERT INTO task_reports (project_id, task_id, worker_id, assignment_id, text, created_at) "
    "SELECT 1, i, (i * 7) % 50 + 2, 3 * (i - 1) + 1, 'the text is cut off', 1780000040 FROM {series} "
    "WHERE i % 1000 = 0",
    "INSERT INTO reviews (project_id, task_id, reviewer_id, kind, answer, created_at) "
    "SELECT 1, i, 1, 'override', {override}, 1780000050 FROM {series} WHERE i % 500 = 0",
)
DIALECT = {
    "sqlite": {
        "series": "g", "series3": "g, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2)",
        "workers": "(WITH RECURSIVE ws(w) AS (SELECT 0 UNION ALL SELECT w + 1 FROM ws WHERE w < 49) SELECT w FROM ws)",
        "task_data": "json_object('text', 'Review ' || i || ': product ' || (i % 997) || ' arrived ' || "
                     "CASE i % 3 WHEN 0 THEN 'late but works' WHEN 1 THEN 'broken' ELSE 'on time' END || '.')",
        "answer": f"json_object('label', {_LABEL})",
        "result_answer": "json_object('label', CASE i % 10 WHEN 0 THEN 'neg' WHEN 1 THEN 'neu' ELSE 'pos' END)",
        "result_details": "json_object('percent_agreement', ((i * 37) % 3 + 1) / 3.0, 'probabilities', "
                          "json_object('pos', 0.8, 'neg', 0.1, 'neu', 0.1))",
        "override": "json_object('label', 'neu')",
    },
    "postgresql": {
        "series": "generate_series(1, :n) i", "series3": "generate_series(1, :n) i, generate_series(0, 2) k",
        "workers": "generate_series(0, 49) w",
        "task_data": "jsonb_build_object('text', 'Review ' || i || ': product ' || (i % 997) || ' arrived ' || "
                     "CASE i % 3 WHEN 0 THEN 'late but works' WHEN 1 THEN 'broken' ELSE 'on time' END || '.')",
        "answer": f"jsonb_build_object('label', {_LABEL})",
        "result_answer": "jsonb_build_object('label', CASE i % 10 WHEN 0 THEN 'neg' WHEN 1 THEN 'neu' ELSE 'pos' END)",
        "result_details": "jsonb_build_object('percent_agreement', ((i * 37) % 3 + 1) / 3.0, 'probabilities', "
                          "jsonb_build_object('pos', 0.8, 'neg', 0.1, 'neu', 0.1))",
        "override": "jsonb_build_object('label', 'neu')",
    },
}
SQLITE_SERIES = "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :n) "


async def holds(db: Database, n: int) -> bool:
    """Whether the database already holds the benchmark project with n tasks."""
    try:
        async with db.read() as conn:
            return int(await conn.scalar(text("SELECT n_tasks FROM project_counters WHERE project_id = 1")) or 0) == n
    except Exception:
        return False


async def build(db: Database, n: int) -> float:
    """The benchmark project in an empty database (migrated here); returns the seconds it took."""
    started = time.perf_counter()
    if db.is_sqlite:
        await migrate.upgrade(db)
    else:
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await migrate.upgrade(db)
    parts = DIALECT["sqlite" if db.is_sqlite else "postgresql"]
    async with db.engine.begin() as conn:
        for statement in FILL:
            sql = statement.format(**parts)
            if db.is_sqlite and "{series" in statement:
                sql = SQLITE_SERIES + sql
            await conn.execute(text(sql), {"n": n, "token_hash": auth.hash_token(TOKEN)})
    async with db.engine.connect() as conn:
        if not db.is_sqlite:
            await conn.execute(text("COMMIT"))
            for table in ("users", "projects", "tasks", "assignments", "annotations", "task_reports", "reviews"):
                await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT max(id) FROM {table}))"))
        await conn.execute(text("ANALYZE"))
        await conn.commit()
    return time.perf_counter() - started


def pages(n: int) -> dict[str, str]:
    middle = n // 2 + 17
    return {
        "projects": "/console/projects",
        "results, first page": "/console/projects/1/results",
        "results, confidence 0.50-0.52": "/console/projects/1/results?confidence_min=0.5&confidence_max=0.52",
        "results, by disagreement": "/console/projects/1/results?sort=disagreement",
        "results, problem reports": "/console/projects/1/results?reported=true&sort=id",
        "task page": f"/console/projects/1/tasks/{middle}",
        "quality (a sample of 10,000 tasks)": "/console/projects/1/quality",
    }


COUNTS = re.compile(r"\bcount\s*\(", re.I)
LIVE_LEASES = re.compile(r"assignments\.status = 0\b")  # counted on the partial index of live leases: a few rows


async def measure(db: Database, settings: Settings, n: int, loads: int) -> dict[str, dict]:
    """p50 and p95 milliseconds of each page over `loads` loads, and the statements each sent."""
    app = create_app(settings, db)
    statements: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute",
                 lambda conn, cursor, sql, params, context, many: statements.append(sql))
    times: dict[str, list[float]] = {name: [] for name in pages(n)}
    sent: dict[str, list[str]] = {}
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "text/html"}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for round_ in range(WARM + loads):
            for name, url in pages(n).items():
                statements.clear()
                started = time.perf_counter()
                r = await client.get(url, headers=headers)
                elapsed = (time.perf_counter() - started) * 1000
                if r.status_code != 200:
                    raise SystemExit(f"{url}: {r.status_code} {r.text[:300]}")
                if round_ >= WARM:
                    times[name].append(elapsed)
                sent[name] = list(statements)
    out = {}
    for name, values in times.items():
        values.sort()
        counting = [s for s in sent[name] if COUNTS.search(s) and any(re.search(rf"\b{t}\b", s) for t in BIG)
                    and not LIVE_LEASES.search(s)]
        if counting:
            raise SystemExit(f"{name} counts rows of a big table: {counting[0][:300]}")
        out[name] = {"p50": statistics.median(values), "p95": values[max(0, round(0.95 * len(values)) - 1)],
                     "statements": len(sent[name])}
    return out


async def run(n: int, pg: str | None, keep: Path | None, loads: int) -> dict[str, dict]:
    folder = keep or Path(tempfile.mkdtemp(prefix="labeling-console-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = pg or f"sqlite:///{folder / f'console-{n}.db'}"
    settings = Settings(data_dir=folder / "data", database_url=url, secret_key="bench")
    db = Database(settings.resolved_database_url, pool_size=5)
    try:
        if await holds(db, n):
            print(f"# reusing the database that holds {n:,} tasks", flush=True)
        else:
            if not pg:  # a fresh file (the connections that looked at the old one are closed first)
                await db.dispose()
                for suffix in ("", "-wal", "-shm"):
                    Path(str(folder / f"console-{n}.db") + suffix).unlink(missing_ok=True)
                db = Database(settings.resolved_database_url, pool_size=5)
            seconds = await build(db, n)
            print(f"# built {n:,} tasks, {3 * n:,} assignments and {3 * n:,} answers on "
                  f"{'PostgreSQL' if pg else 'SQLite'} in {seconds:.0f} s", flush=True)
        return await measure(db, settings, n, loads)
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--pg", help="a PostgreSQL URL (its public schema is replaced)")
    parser.add_argument("--keep", type=Path, help="a folder for the SQLite database, kept for the next run")
    parser.add_argument("--loads", type=int, default=LOADS)
    args = parser.parse_args()
    results = asyncio.run(run(args.tasks, args.pg, args.keep, args.loads))
    backend = "PostgreSQL" if args.pg else "SQLite"
    print(f"\n{backend}, {args.tasks:,} tasks, {3 * args.tasks:,} answers, {args.loads} loads per page "
          f"(server-side, in process)\n")
    print("| page | p50 ms | p95 ms | statements |\n|---|---:|---:|---:|")
    for name, figures in results.items():
        print(f"| {name} | {figures['p50']:.1f} | {figures['p95']:.1f} | {figures['statements']} |")


if __name__ == "__main__":
    main()
