"""Import benchmark: `labeling import` of N text-classification tasks from a JSON Lines file, on a fresh database.

    python benchmarks/imports.py --tasks 200000                                      # SQLite, this checkout
    python benchmarks/imports.py --tasks 200000 --no-sqlite --pg postgresql://postgres@127.0.0.1/labeling_bench
    git worktree add --detach /tmp/import-old main                                   # the code to compare with
    python benchmarks/imports.py --tasks 200000 --ab /tmp/import-old . --rounds 4 \
        --pg postgresql://postgres@127.0.0.1/labeling_bench                          # old against new, alternated

Each run: a fresh database (SQLite: a new file; PostgreSQL: the database's public schema dropped, then migrated),
one requester and one project made by the checkout's own code, then one `labeling import PROJECT FILE` process,
timed: wall seconds, CPU seconds (user + system, from wait4), peak RSS. The process's start (about 0.7 CPU s of
Python imports) is in the figures. The file's lines are `{"data": {"text": ...}, "external_id": ..., "priority":
...}`, every 50th with a gold answer (`--plain`: data only).

With `--ab OLD NEW` every round imports with both checkouts back to back (ABBA: old first in odd rounds, new first
in even ones) and the summary gives per database the median of the per-round ratios new/old of wall and CPU time:
this shared machine's speed drifts by tens of percent over minutes, so only runs side by side compare. After each
run the stored state (every task's columns but its creation time, the counters, the audit entry's details) is
digested, and the two checkouts' digests must be equal, or the run stops.

On PostgreSQL the CPU of the database server's backend is not in the CPU figure (it is another process): compare
wall times there too. Prints a table row per run, then one JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROJECT = "bench-import"
LABELS = ["pos", "neg", "neu"]

# Run by the checkout's own Python code (PYTHONPATH set to it): a requester and the project, or the digest.
HELPER = r"""
import asyncio, hashlib, json, sys
from sqlalchemy import text
from labeling import auth, projects, schemas
from labeling.db import Database

async def main(what, url):
    db = Database(url)
    try:
        if what == "project":
            def store(tx):
                user, _ = auth.create_user(tx, "bench-requester", "requester")
                projects.create(tx, auth.Principal(user["id"], "bench-requester", auth.Role.requester),
                                schemas.ProjectCreate(name=%(project)r, task_type="text_classification",
                                                      labels=%(labels)r))
            await db.transact(store)
            return
        pg = db.engine.dialect.name == "postgresql"
        as_text = (lambda c: f"CAST({c} AS text)") if pg else (lambda c: c)
        digest, count = hashlib.sha256(), 0
        async with db.read() as conn:
            rows = await conn.stream(text(
                f"SELECT id, project_id, {as_text('data')}, {as_text('gold')}, {as_text('predictions')}, is_gold, "
                "priority, external_id, source_key, state, needed, n_done, n_leased FROM tasks ORDER BY id"))
            async for row in rows:
                digest.update(repr(tuple(row)).encode())
                count += 1
            for query in ("SELECT project_id, sum(n_tasks), sum(n_gold_tasks) FROM project_counters GROUP BY project_id",
                          f"SELECT action, {as_text('details')} FROM audit_log WHERE action = 'tasks.import'",
                          "SELECT count(*) FROM project_media"):
                for row in (await conn.execute(text(query))).all():
                    digest.update(repr(tuple(row)).encode())
        print(json.dumps({"tasks": count, "digest": digest.hexdigest()[:16]}))
    finally:
        await db.dispose()

asyncio.run(main(sys.argv[1], sys.argv[2]))
""" % {"project": PROJECT, "labels": LABELS}


def write_tasks(path: Path, n: int, plain: bool) -> None:
    """N tasks of one short review each (external ids, priorities 0-2 and a gold answer every 50th, unless plain)."""
    with path.open("w") as out:
        for i in range(n):
            task: dict = {"data": {"text": f"review number {i}: it was fine I guess, nothing more to say"}}
            if not plain:
                task.update(external_id=f"review-{i}", priority=i % 3)
                if i % 50 == 0:
                    task["gold"] = {"label": LABELS[i % 3]}
            out.write(json.dumps(task) + "\n")


def reset_pg(url: str) -> None:
    """Empty the benchmark's PostgreSQL database (never one the server calls 'postgres')."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.database in (None, "postgres", "template0", "template1"):
        raise SystemExit("benchmark: give a PostgreSQL database of its own, e.g. .../labeling_bench")
    subprocess.run(["psql", "-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432), "-U",
                    parsed.username or "postgres", "-d", parsed.database, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                    "DROP SCHEMA public CASCADE; CREATE SCHEMA public"], check=True, stderr=subprocess.DEVNULL)


def child_env(checkout: Path, data: Path, url: str) -> dict:
    return {**os.environ, "PYTHONPATH": str(checkout), "LABELING_DATA_DIR": str(data), "LABELING_SECRET_KEY":
            "bench-import-secret-key-0123456789", "LABELING_DATABASE_URL": url, "OMP_NUM_THREADS": "1"}


def _run(argv: list[str], env: dict, cwd: Path) -> str:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"benchmark: {' '.join(argv[:4])} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def one_import(checkout: Path, database: str, file: Path, work: Path, n: int, profile: Path | None = None) -> dict:
    """A fresh database, the project, then one timed `labeling import` by the checkout's code; its figures."""
    data = Path(tempfile.mkdtemp(prefix="data-", dir=work))
    url = database if database != "sqlite" else f"sqlite:///{data / 'labeling.db'}"
    if database != "sqlite":
        reset_pg(database)
    env = child_env(checkout, data, url)
    _run([sys.executable, "-m", "labeling.cli", "migrate"], env, checkout)
    _run([sys.executable, "-c", HELPER, "project", url], env, checkout)
    command = [sys.executable, "-m", "labeling.cli", "import", PROJECT, str(file)]
    if profile is not None:
        command[1:1] = ["-m", "cProfile", "-o", str(profile)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0 or f"imported {n} tasks" not in out:
        raise SystemExit(f"benchmark: {checkout}: the import failed: {err.strip()[-2000:]}")
    stored = json.loads(_run([sys.executable, "-c", HELPER, "digest", url], env, checkout).strip().splitlines()[-1])
    if stored["tasks"] != n:
        raise SystemExit(f"benchmark: {checkout}: {stored['tasks']} tasks stored, not {n}")
    subprocess.run(["rm", "-rf", str(data)], check=False)
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "user_s": round(usage.ru_utime, 2), "system_s": round(usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "tasks_per_s": round(n / wall), "digest": stored["digest"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=200_000)
    ap.add_argument("--pg", help="also on this PostgreSQL database (its public schema is dropped!)")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--ab", nargs=2, type=Path, metavar=("OLD", "NEW"), help="two checkouts, alternated per round")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--plain", action="store_true", help="tasks of data only (no external ids, priorities, gold)")
    ap.add_argument("--profile", type=Path, help="cProfile the import (one checkout): write NAME-DATABASE.prof")
    ap.add_argument("--work", type=Path, help="folder for the task file and databases (default: a temporary one)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="import-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    file = work / f"tasks-{args.tasks}{'-plain' if args.plain else ''}.jsonl"
    if not file.exists():
        write_tasks(file, args.tasks, args.plain)
    databases = ([] if args.no_sqlite else [("SQLite", "sqlite")]) + ([("PostgreSQL", args.pg)] if args.pg else [])
    codes = {"old": args.ab[0].resolve(), "new": args.ab[1].resolve()} if args.ab else {"this": REPO}
    print(f"# {args.tasks:,} tasks, {file.stat().st_size / 1e6:.1f} MB; load average {os.getloadavg()[0]:.1f}; "
          + ", ".join(f"{name} {path}" for name, path in codes.items()), flush=True)
    print("| round | database | code | wall s | tasks/s | CPU s | user s | system s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    runs: dict[str, list[dict[str, dict]]] = {label: [] for label, _ in databases}
    for i in range(args.rounds):
        for label, database in databases:
            order = list(codes) if i % 2 == 0 else list(reversed(codes))
            results = {}
            for code in order:
                profile = None
                if args.profile is not None:
                    profile = args.profile.with_name(f"{args.profile.stem}-{label.lower()}.prof")
                r = results[code] = one_import(codes[code], database, file, work, args.tasks, profile)
                print(f"| {i + 1} | {label} | {code} | {r['wall_s']} | {r['tasks_per_s']:,} | {r['cpu_s']} | "
                      f"{r['user_s']} | {r['system_s']} | {r['peak_rss_mb']} |", flush=True)
            if len({r["digest"] for r in results.values()}) > 1:
                raise SystemExit(f"benchmark: the stored state differs between the checkouts on {label}: {results}")
            runs[label].append(results)
    summary: dict = {"tasks": args.tasks, "rounds": args.rounds, "plain": args.plain}
    for label, rounds in runs.items():
        per = {code: {key: [r[code][key] for r in rounds] for key in ("wall_s", "cpu_s", "peak_rss_mb")}
               for code in codes}
        entry: dict = {code: {**values, "tasks_per_s_median": round(args.tasks / statistics.median(values["wall_s"]))}
                       for code, values in per.items()}
        if args.ab:
            for key in ("wall_s", "cpu_s"):
                ratios = [r["new"][key] / r["old"][key] for r in rounds]
                entry[f"new_over_old_{key}"] = [round(x, 3) for x in ratios]
                entry[f"new_over_old_{key}_median"] = round(statistics.median(ratios), 3)
        summary[label] = entry
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
