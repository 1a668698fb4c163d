"""CPU per queue cycle through the whole app, in one process, no network: what the code costs, not the machine.

    python benchmarks/queue_cpu.py                                   # this checkout, SQLite
    python benchmarks/queue_cpu.py --database postgresql://postgres@127.0.0.1/labeling_bench
    python benchmarks/queue_cpu.py --ab /tmp/base . --rounds 8       # two checkouts alternated (ABBA)
    python benchmarks/queue_cpu.py --profile /tmp/cycle.prof         # cProfile of the measured cycles
    python benchmarks/queue_cpu.py --as-served --concurrency 64      # uvloop, the server's GIL switch and GC

The app (create_app with every middleware) is called as an ASGI application from the same event loop: users,
a text project and N tasks are set up through the API, then `--cycles` next+submit cycles run one after the
other, the workers taken in turn. The figure is the process's CPU time (every thread: the SQLite writer
included; on PostgreSQL the database server's own CPU is not in it) per cycle. The HTTP server (uvicorn) and
the socket are left out, and nothing runs concurrently, so on a shared machine this moves by a few percent
where the loopback benchmark (queue.py) moves by tens; it answers "did the code get more expensive", not
"how fast is the server". `--ab` runs each checkout in its own subprocess, alternated round by round.
`--as-served` runs the loop and the process as `labeling serve` does (uvloop, labeling.app's GIL switch
interval, the start-up objects frozen out of the collector, its GC threshold): what a thread hand-off costs
depends on the loop (a cross-thread wake-up per SQLite transaction cost far more on asyncio's own loop).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# benchmarks/queue.py would shadow the standard library's queue module (aiosqlite imports it): not on the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if "PYTHONPATH" not in os.environ:  # this checkout's labeling (with --ab, PYTHONPATH names the checkout)
    sys.path.insert(0, str(HERE.parent))
_spec = importlib.util.spec_from_file_location("bench_queue", HERE / "queue.py")
bench = importlib.util.module_from_spec(_spec)  # the loopback benchmark's labels, tasks and database reset
_spec.loader.exec_module(bench)  # type: ignore[union-attr]


class Asgi:
    """The least an ASGI client can be: one request, the whole body back."""

    def __init__(self, app) -> None:
        self.app = app

    async def request(self, method: str, path: str, headers: dict, body: bytes = b"") -> tuple[int, bytes]:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        raw.append((b"content-length", str(len(body)).encode()))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "root_path": "", "headers": raw, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
        sent = False
        status, chunks = 0, []

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)

    async def json(self, method: str, path: str, token: str, payload=None, **headers) -> tuple[int, object]:
        body = b"" if payload is None else (payload if isinstance(payload, bytes) else json.dumps(payload).encode())
        h = {"authorization": f"Bearer {token}", "content-type": "application/json", **headers}
        status, out = await self.request(method, path, h, body)
        return status, (json.loads(out) if out else None)


async def lifespan(app, events: asyncio.Queue, done: asyncio.Event) -> None:
    async def receive() -> dict:
        return await events.get()

    async def send(message: dict) -> None:
        if message["type"].endswith((".complete", ".failed")):
            done.set()

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)


async def run(args: argparse.Namespace) -> dict:
    from labeling import migrate
    from labeling.app import create_app
    from labeling.db import Database
    from labeling.settings import Settings

    data_dir = tempfile.mkdtemp(prefix="labeling-cpu-")
    admin = "lbl_cpu_" + "x" * 24
    env = {**os.environ, "LABELING_DATA_DIR": data_dir, "LABELING_ADMIN_TOKEN": admin,
           "LABELING_DATABASE_URL": "" if args.database == "sqlite" else args.database}
    settings = Settings.from_env(env)
    db = Database(settings.resolved_database_url, pool_size=2)
    await migrate.upgrade(db)  # what `labeling serve` does before it starts, the admin token included
    from labeling import auth
    if hasattr(auth, "ensure_admin_token"):
        await db.transact(lambda tx: auth.ensure_admin_token(tx, admin))
    elif not hasattr(db, "write"):  # issue 9, before issue 11
        await db.transact(lambda tx: auth.ensure_token_user(tx, admin))
    else:  # the code before issue 9
        async with db.write() as conn:
            await auth.ensure_token_user(conn, admin)
    await db.dispose()
    app = create_app(settings)
    if args.as_served:  # what labeling.app.app_from_env does after building the app
        import gc

        from labeling import app as app_module
        sys.setswitchinterval(app_module.SERVER_SWITCH_INTERVAL)
        gc.collect()
        gc.freeze()
        gc.set_threshold(app_module.GC_THRESHOLD_0, 20, 20)
    events: asyncio.Queue = asyncio.Queue()
    started = asyncio.Event()
    life = asyncio.create_task(lifespan(app, events, started))
    await events.put({"type": "lifespan.startup"})
    await started.wait()
    c = Asgi(app)
    try:
        status, r = await c.json("POST", "/api/users", admin, {"username": "cpu-requester", "role": "requester"})
        assert status == 201, (status, r)
        requester = r["token"]
        tokens = []
        for i in range(args.workers):
            _, r = await c.json("POST", "/api/users", admin, {"username": f"cpu-w{i}", "role": "worker"})
            tokens.append(r["token"])
        _, r = await c.json("POST", "/api/projects", requester, {
            "name": "cpu", "task_type": "text_classification", "labels": bench.LABELS, "redundancy": 3,
            "lease_seconds": 300})
        project = r["id"]
        lines = "\n".join(bench.task_line(i) for i in range(args.tasks))
        status, _ = await c.request("POST", f"/api/projects/{project}/tasks",
                                    {"authorization": f"Bearer {requester}",
                                     "content-type": "application/x-ndjson"}, lines.encode())
        assert status == 201, status
        rng = random.Random(1)

        async def cycles(n: int) -> int:
            if args.concurrency > 1:  # that many workers at once, the total split between them
                parts = await asyncio.gather(*(one_by_one(n // args.concurrency, k) for k in range(args.concurrency)))
                return sum(parts)
            return await one_by_one(n, 0)

        async def one_by_one(n: int, first: int) -> int:
            done = 0
            for i in range(first, first + n):
                token = tokens[i % len(tokens)]
                status, lease = await c.json("POST", f"/api/projects/{project}/next", token)
                if status != 200:
                    continue
                aid = lease["assignment_id"]
                status, _ = await c.json("POST", f"/api/assignments/{aid}/submit", token,
                                         {"answer": {"label": rng.choice(bench.LABELS)}}, **{"idempotency-key": str(aid)})
                done += status == 201
            return done

        await cycles(args.warmup)
        profiler = None
        if args.profile and args.profile.endswith(".yappi"):  # every thread, CPU clock (pip install yappi)
            import yappi
            yappi.set_clock_type("cpu")
            yappi.start()
        elif args.profile:
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        cpu0, wall0, loop0 = time.process_time(), time.perf_counter(), time.thread_time()
        done = await cycles(args.cycles)
        cpu, wall, loop = time.process_time() - cpu0, time.perf_counter() - wall0, time.thread_time() - loop0
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        elif args.profile:
            yappi.stop()
            yappi.get_func_stats().save(args.profile, type="pstat")
        return {"database": "sqlite" if args.database == "sqlite" else "postgresql", "cycles": done,
                "cpu_us_per_cycle": round(1e6 * cpu / max(done, 1), 1),
                "event_loop_cpu_us_per_cycle": round(1e6 * loop / max(done, 1), 1),
                "wall_us_per_cycle": round(1e6 * wall / max(done, 1), 1)}
    finally:
        await events.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(life, 30)


def ab(args: argparse.Namespace, passthrough: list[str]) -> None:
    checkouts = [Path(p).resolve() for p in args.ab]
    results: dict[int, list[float]] = {0: [], 1: []}
    for i in range(args.rounds):
        for which in ((0, 1) if i % 2 == 0 else (1, 0)):
            env = {**os.environ, "PYTHONPATH": str(checkouts[which])}
            out = subprocess.run([sys.executable, str(Path(__file__).resolve()), *passthrough], env=env,
                                 cwd=checkouts[which], check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            results[which].append(r["cpu_us_per_cycle"])
            print(f"round {i + 1} {'ab'[which]} ({checkouts[which]}): {r['cpu_us_per_cycle']} us CPU/cycle "
                  f"({r['event_loop_cpu_us_per_cycle']} in the event loop's thread), "
                  f"{r['wall_us_per_cycle']} us wall/cycle", flush=True)
    ratios = [b / a for a, b in zip(results[0], results[1])]
    print(json.dumps({"a": str(checkouts[0]), "b": str(checkouts[1]), "a_cpu_us_per_cycle": results[0],
                      "b_cpu_us_per_cycle": results[1], "b_over_a_per_round": [round(x, 3) for x in ratios],
                      "b_over_a_median": round(statistics.median(ratios), 3),
                      "a_throughput_equivalent_over_b": round(1 / statistics.median(ratios), 3)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database", default="sqlite", help="'sqlite' (a fresh file) or a postgresql:// URL (reset!)")
    ap.add_argument("--tasks", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=300, help="cycles before measuring")
    ap.add_argument("--cycles", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=1, help="workers cycling at once (1: one after the other)")
    ap.add_argument("--profile", help="write a cProfile of the measured cycles here")
    ap.add_argument("--as-served", action="store_true",
                    help="uvloop, the server's GIL switch interval and GC settings (as `labeling serve`)")
    ap.add_argument("--ab", nargs=2, metavar=("A", "B"), help="two checkouts, alternated")
    ap.add_argument("--rounds", type=int, default=6)
    args, _ = ap.parse_known_args()
    if args.ab:
        passthrough = [a for a in sys.argv[1:]]
        skip = {"--ab": 2, "--rounds": 1}
        cleaned, i = [], 0
        while i < len(passthrough):
            if passthrough[i] in skip:
                i += skip[passthrough[i]] + 1
                continue
            cleaned.append(passthrough[i])
            i += 1
        ab(args, cleaned)
        return
    if args.database != "sqlite":
        bench.reset_postgres(args.database)
    if args.as_served:
        import uvloop  # installed with uvicorn[standard]; the server runs on it

        print(json.dumps(uvloop.run(run(args))))
    else:
        print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
