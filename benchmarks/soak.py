"""Soak: the real server under 64 workers for a long while (default 10 minutes), minute by minute.

    python benchmarks/soak.py                                   # SQLite, 10 minutes
    python benchmarks/soak.py --minutes 2
    python benchmarks/soak.py --database postgresql://postgres@127.0.0.1/test_hardening_bench

Every worker loops next -> submit (an Idempotency-Key each) over keep-alive HTTP/1.1 (the raw client of
benchmarks/queue.py, in two client processes of their own). A requester keeps the queue topped up with
imports while they work. Prints one line per minute: cycles, cycles per second, errors (any answer but
200/201/204, or a broken connection) and the server's resident memory at the minute's end; then the targets:
0 errors, the last minute's throughput at least 90% of the first's, RSS growth under 10% after the first minute.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import importlib.util
import json
import multiprocessing as mp
import os
import random
import secrets
import shutil
import tempfile
import threading
import time

import aiohttp

_spec = importlib.util.spec_from_file_location("bench_queue", Path(__file__).resolve().parent / "queue.py")
bench = importlib.util.module_from_spec(_spec)  # the queue benchmark's server, setup and raw client
_spec.loader.exec_module(bench)  # type: ignore[union-attr]

TOP_UP_BELOW = 30_000
TOP_UP_TASKS = 10_000
HOT_TABLES = "tasks, assignments, project_workers, project_counters"  # updated on every claim and submit


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children (uvicorn's workers), from /proc."""
    total = 0
    for candidate in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found + [g for c in found for g in _children(c)]


async def client_loop(base: str, project: int, tokens: list[str], started: float, seconds: float, seed: int
                      ) -> dict:
    """Closed loop: per-minute cycles and errors (by kind) of these workers."""
    cycles: dict[int, int] = {}
    errors: dict[int, list[str]] = {}
    rng = random.Random(seed)
    end = started + seconds

    async def worker(token: str) -> None:
        client = bench.RawClient(base)
        h = {"Authorization": f"Bearer {token}"}
        try:
            while time.time() < end:
                minute = int((time.time() - started) // 60)
                try:
                    status, body = await client.post(f"/api/projects/{project}/next", h)
                    if status == 204:
                        await asyncio.sleep(0.05)
                        continue
                    if status != 200:
                        errors.setdefault(minute, []).append(f"next {status} {body[:100]!r}")
                        continue
                    aid = json.loads(body)["assignment_id"]
                    answer = json.dumps({"answer": {"label": rng.choice(bench.LABELS)}}).encode()
                    status, body = await client.post(f"/api/assignments/{aid}/submit",
                                                     {**h, "Idempotency-Key": str(aid)}, answer)
                except (ConnectionError, OSError) as exc:
                    errors.setdefault(minute, []).append(f"connection {type(exc).__name__}")
                    client = bench.RawClient(base)
                    continue
                if status != 201:
                    errors.setdefault(minute, []).append(f"submit {status} {body[:100]!r}")
                    continue
                cycles[minute] = cycles.get(minute, 0) + 1
        finally:
            await client.close()

    await asyncio.gather(*(worker(t) for t in tokens))
    return {"cycles": cycles, "errors": errors}


def _client_process(args: tuple) -> dict:
    import gc

    gc.disable()  # the load generator must not pause; its memory is bounded by the run
    try:
        import uvloop
    except ImportError:
        return asyncio.run(client_loop(*args))
    return uvloop.run(client_loop(*args))


def top_up(base: str, token: str, project: int, stop: threading.Event, first: int, log: list[str]) -> None:
    """Keep the queue from running dry: import TOP_UP_TASKS more whenever fewer than TOP_UP_BELOW remain."""
    import urllib.request

    h = {"Authorization": f"Bearer {token}"}
    imported = first
    while not stop.wait(5):
        try:
            with urllib.request.urlopen(urllib.request.Request(f"{base}/api/projects/{project}", headers=h)) as r:
                remaining = json.loads(r.read())["progress"]["remaining"]
            if remaining >= TOP_UP_BELOW:
                continue
            body = "\n".join(bench.task_line(imported + i) for i in range(TOP_UP_TASKS)).encode()
            request = urllib.request.Request(f"{base}/api/projects/{project}/tasks", data=body, method="POST",
                                             headers={**h, "Content-Type": "application/x-ndjson"})
            with urllib.request.urlopen(request) as r:
                assert r.status == 201
            imported += TOP_UP_TASKS
        except Exception as exc:  # noqa: BLE001 - reported, the soak goes on
            log.append(f"top-up: {type(exc).__name__}: {exc}")


def psql(url: str, sql: str) -> str:
    """Run one statement with psql on the benchmark database; its output."""
    import subprocess

    from sqlalchemy.engine import make_url

    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(["psql", "-At", "-q", "-c", sql, libpq], check=True, capture_output=True,
                          text=True).stdout.strip()


def vacuum(url: str, every: float, stop: threading.Event, log: list[str]) -> None:
    """Stand in for autovacuum where the server has it off: VACUUM (ANALYZE) the hot tables every `every` s."""
    while not stop.wait(every):
        try:
            psql(url, f"VACUUM (ANALYZE) {HOT_TABLES}")
        except Exception as exc:  # noqa: BLE001 - reported, the soak goes on
            log.append(f"vacuum: {type(exc).__name__}: {exc}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database", default="sqlite", help="'sqlite' (a fresh file) or a postgresql:// URL (reset!)")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--workers", type=int, default=64)
    ap.add_argument("--tasks", type=int, default=100_000, help="tasks imported before the start (topped up later)")
    ap.add_argument("--redundancy", type=int, default=3)
    ap.add_argument("--server-workers", type=int, default=1)
    ap.add_argument("--client-processes", type=int, default=2)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--vacuum-every", type=float, default=None,
                    help="PostgreSQL: VACUUM (ANALYZE) the hot tables every N seconds (default: 60 when the "
                         "server's autovacuum is off, else never)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    args.preload, args.keep, args.pool = False, False, "all"  # what benchmarks/queue.py's setup reads

    data_dir = args.data_dir = Path(tempfile.mkdtemp(prefix="labeling-soak-"))
    if args.database != "sqlite":
        bench.reset_postgres(args.database)
    admin = "lbl_soak_" + secrets.token_urlsafe(16)
    proc, base = bench.start_server(args, data_dir, admin)
    stop = threading.Event()
    notes: list[str] = []
    try:
        project, tokens, setup_info = asyncio.run(bench.setup(base, admin, args))
        feeder_token = asyncio.run(_feeder_token(base, admin))
        feeder = threading.Thread(target=top_up, args=(base, feeder_token, project, stop, args.tasks, notes),
                                  daemon=True)
        feeder.start()
        if args.database != "sqlite":
            autovacuum = psql(args.database, "SHOW autovacuum")
            if args.vacuum_every is None:
                args.vacuum_every = 60.0 if autovacuum == "off" else 0.0
            notes.append(f"server autovacuum {autovacuum}; VACUUM every {args.vacuum_every:g} s by the soak")
            if args.vacuum_every:
                threading.Thread(target=vacuum, args=(args.database, args.vacuum_every, stop, notes),
                                 daemon=True).start()
        seconds = args.minutes * 60
        started = time.time()
        rss: dict[int, int] = {}
        disk: dict[int, int] = {}
        files = [data_dir / "labeling.db", data_dir / "labeling.db-wal"] if args.database == "sqlite" else []

        def sample() -> None:
            while not stop.wait(1):  # the last sample of each minute
                minute = int((time.time() - started) // 60)
                rss[minute] = rss_bytes(proc.pid)
                disk[minute] = sum(f.stat().st_size for f in files if f.exists())

        threading.Thread(target=sample, daemon=True).start()
        n = max(1, args.client_processes)
        with mp.get_context("spawn").Pool(n) as pool:
            parts = pool.map(_client_process, [(base, project, tokens[i::n], started, seconds, i) for i in range(n)])
        stop.set()
        report(parts, rss, disk, args, setup_info, notes)
    finally:
        stop.set()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except Exception:  # noqa: BLE001
            proc.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


async def _feeder_token(base: str, admin: str) -> str:
    """A token for the top-ups: an admin of its own (admins may import into any project)."""
    async with aiohttp.ClientSession(base) as s:
        async with s.post("/api/users", json={"username": "soak-feeder", "role": "admin"},
                          headers={"Authorization": f"Bearer {admin}"}) as r:
            return (await r.json())["token"]


def report(parts: list[dict], rss: dict[int, int], disk: dict[int, int], args: argparse.Namespace,
           setup_info: dict, notes: list[str]) -> None:
    minutes = int(args.minutes + 0.999)
    cycles = [sum(p["cycles"].get(m, 0) for p in parts) for m in range(minutes)]
    errors = [sum(len(p["errors"].get(m, [])) for p in parts) for m in range(minutes)]
    kinds = sorted({e for p in parts for es in p["errors"].values() for e in es})[:5]
    load = os.getloadavg()
    print(f"soak: {'sqlite' if args.database == 'sqlite' else 'postgresql'}, {args.workers} workers, "
          f"{args.minutes:g} min, redundancy {args.redundancy}, {args.server_workers} server process(es); "
          f"load average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print("| minute | cycles | cycles/s | errors | server RSS MB | SQLite file + WAL MB |")
    print("|---|---|---|---|---|---|")
    for m in range(minutes):
        size = f"{disk[m] / 2**20:.0f}" if disk.get(m) else "-"
        print(f"| {m + 1} | {cycles[m]:,} | {cycles[m] / 60:.0f} | {errors[m]} | {rss.get(m, 0) / 2**20:.0f} | {size} |")
    first, last = cycles[0], cycles[-1]
    base_rss = rss.get(0, 0)
    end_rss = rss.get(minutes - 1, 0)
    growth = (end_rss - base_rss) / base_rss if base_rss else 0.0
    summary = {"errors": sum(errors), "error_kinds": kinds, "first_minute_cycles": first, "last_minute_cycles": last,
               "last_over_first": round(last / first, 3) if first else None,
               "rss_growth_after_first_minute": round(growth, 3), "notes": notes[:5], **setup_info}
    print(json.dumps(summary))
    print(f"targets: 0 errors {'met' if not sum(errors) else 'NOT met'}; last minute >= 90% of the first "
          f"{'met' if first and last >= 0.9 * first else 'NOT met'}; RSS growth < 10% after the first minute "
          f"{'met' if growth < 0.10 else 'NOT met'}")


if __name__ == "__main__":
    main()
