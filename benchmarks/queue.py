"""Queue benchmark: the real server on loopback, K simulated workers doing next+submit over HTTP.

    python benchmarks/queue.py                                  # SQLite, 100,000 tasks, 64 workers, flat out
    python benchmarks/queue.py --tasks 1000000 --seconds 30
    python benchmarks/queue.py --rate 500                       # paced: an offered 500 cycles/s (open loop)
    python benchmarks/queue.py --database postgresql://postgres@127.0.0.1/labeling_bench --server-workers 2

Prints one JSON object: cycles per second, p50/p95/p99 of next, submit and the whole cycle (ms), errors.
The client runs in its own processes (aiohttp), so the server, not the client, is what is measured.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named queue.py, like the standard library's queue module that multiprocessing imports:
# take the script's own folder off the import path before anything imports `queue`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import aiohttp

REPO = Path(__file__).resolve().parent.parent
LABELS = ["pos", "neg", "neu"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reset_postgres(url: str) -> None:
    """Drop and recreate the benchmark database (never the one the URL's server calls 'postgres')."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.database in (None, "postgres", "template0", "template1"):
        raise SystemExit("benchmark: give a PostgreSQL database of its own, e.g. .../labeling_bench")
    admin = ["psql", "-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres",
             "-d", "postgres", "-q", "-c"]
    subprocess.run(admin + [f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'], check=True)
    subprocess.run(admin + [f'CREATE DATABASE "{parsed.database}"'], check=True)


def start_server(args: argparse.Namespace, data_dir: Path, admin_token: str) -> tuple[subprocess.Popen, str]:
    port = args.port or free_port()
    env = {**os.environ, "LABELING_DATA_DIR": str(data_dir), "LABELING_ADMIN_TOKEN": admin_token,
           "LABELING_DATABASE_URL": args.database if args.database != "sqlite" else ""}
    cmd = [sys.executable, "-m", "labeling.cli", "serve", "--port", str(port), "--workers", str(args.server_workers),
           "--no-access-log", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL if not args.verbose else None)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    import urllib.request

    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=1) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("benchmark: the server did not start")


def task_line(i: int) -> str:
    """One benchmark task: a short review, priorities 0-2 mixed."""
    return json.dumps({"data": {"text": f"review number {i}: it was fine I guess"}, "priority": i % 3})


async def setup(base: str, admin: str, args: argparse.Namespace) -> tuple[int, list[str], dict]:
    """Users, a project and N tasks (imported over the API, 100,000 per request, unless --preload)."""
    h = {"Authorization": f"Bearer {admin}"}
    async with aiohttp.ClientSession(base) as s:
        async with s.post("/api/users", json={"username": "bench-requester", "role": "requester"}, headers=h) as r:
            requester = (await r.json())["token"]
        tokens = []
        for i in range(args.workers):
            async with s.post("/api/users", json={"username": f"bench-w{i}", "role": "worker"}, headers=h) as r:
                tokens.append((await r.json())["token"])
        rh = {"Authorization": f"Bearer {requester}"}
        async with s.post("/api/projects", json={"name": "bench", "task_type": "text_classification",
                                                 "labels": LABELS, "redundancy": args.redundancy,
                                                 "lease_seconds": 300}, headers=rh) as r:
            project = (await r.json())["id"]
        if args.pool != "all":  # the workers listed in the pool, directly or as one team
            names = [f"bench-w{i}" for i in range(args.workers)]
            pool: dict = {"all_workers": False, "workers": names}
            if args.pool == "team":
                async with s.post("/api/teams", json={"name": "bench", "members": names}, headers=rh) as r:
                    pool = {"all_workers": False, "teams": [(await r.json())["id"]]}
            async with s.put(f"/api/projects/{project}/pool", json=pool, headers=rh) as r:
                if r.status != 200:
                    raise SystemExit(f"benchmark: setting the pool failed: {r.status} {await r.text()}")
        started = time.perf_counter()
        done = args.tasks if args.preload else 0
        if args.preload:  # the tasks go in through `labeling import` while the server runs
            path = Path(tempfile.mkstemp(suffix=".jsonl")[1])
            path.write_text("\n".join(task_line(i) for i in range(args.tasks)))
            env = {**os.environ, "LABELING_DATA_DIR": str(args.data_dir),
                   "LABELING_DATABASE_URL": args.database if args.database != "sqlite" else ""}
            subprocess.run([sys.executable, "-m", "labeling.cli", "import", str(project), str(path)], check=True,
                           env=env, cwd=REPO, stdout=subprocess.DEVNULL)
            path.unlink()
        while done < args.tasks:
            n = min(100_000, args.tasks - done)
            body = "\n".join(task_line(done + i) for i in range(n))
            async with s.post(f"/api/projects/{project}/tasks", data=body.encode(),
                              headers={**rh, "Content-Type": "application/x-ndjson"}) as r:
                if r.status != 201:
                    raise SystemExit(f"benchmark: import failed: {r.status} {await r.text()}")
            done += n
        import_seconds = time.perf_counter() - started
    return project, tokens, {"import_seconds": round(import_seconds, 2),
                             "import_tasks_per_second": round(args.tasks / import_seconds)}


class RawConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, the least a client can do per request (the default load generator).

    On this 2-core machine the client shares the cores with the server and the database, so every
    microsecond it spends is taken from what is measured: aiohttp costs about twice as much per request.
    Responses must carry Content-Length (uvicorn's do); anything else fails loudly rather than misparse.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and not self.waiter.done():
            response = self._response()
            if response is not None:
                self.waiter.set_result(response)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("the server closed the connection"))

    def _response(self) -> tuple[int, bytes] | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buffer[:end]).lower()
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                raise SystemExit("benchmark: the raw client does not read chunked responses; use --client aiohttp")
        if len(self.buffer) < end + 4 + length:
            return None
        body = bytes(self.buffer[end + 4:end + 4 + length])
        del self.buffer[:end + 4 + length]
        return int(head[9:12]), body

    async def request(self, path: str, headers: bytes, body: bytes = b"") -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(b"POST %s HTTP/1.1\r\nHost: bench\r\n%sContent-Length: %d\r\n\r\n%s"
                             % (path.encode(), headers, len(body), body))
        return await self.waiter


class RawClient:
    """Keep-alive connections to the server, reused (a worker that overlaps cycles gets another one)."""

    def __init__(self, base: str) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.idle: list[RawConnection] = []

    async def post(self, path: str, headers: dict, body: bytes = b"") -> tuple[int, bytes]:
        conn = self.idle.pop() if self.idle else (await asyncio.get_running_loop().create_connection(
            RawConnection, self.host, self.port))[1]
        head = b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in headers.items())
        if body:
            head += b"Content-Type: application/json\r\n"
        status, data = await conn.request(path, head, body)
        self.idle.append(conn)
        return status, data

    async def close(self) -> None:
        for conn in self.idle:
            if conn.transport is not None:
                conn.transport.close()


class AiohttpClient:
    """The same calls through aiohttp (`--client aiohttp`)."""

    def __init__(self, base: str) -> None:
        self.session = aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=0))

    async def post(self, path: str, headers: dict, body: bytes = b"") -> tuple[int, bytes]:
        if body:
            headers = {**headers, "Content-Type": "application/json"}
        async with self.session.post(path, data=body or None, headers=headers) as r:
            return r.status, await r.read()

    async def close(self) -> None:
        await self.session.close()


async def client_loop(base: str, project: int, tokens: list[str], seconds: float, warmup: float, rate: float,
                      seed: int, client_kind: str) -> dict:
    """Closed loop (rate 0) or open loop at `rate` cycles/s spread over these workers."""
    nexts, submits, cycles, errors, empty = [], [], [], [], 0
    t_end = time.monotonic() + warmup + seconds
    t_measure = time.monotonic() + warmup
    rng = random.Random(seed)
    clients = {token: (RawClient(base) if client_kind == "raw" else AiohttpClient(base)) for token in tokens}

    async def cycle(token: str, h: dict) -> None:
        nonlocal empty
        client = clients[token]
        t0 = time.perf_counter()
        status, body = await client.post(f"/api/projects/{project}/next", h)
        t1 = time.perf_counter()
        if status == 204:
            empty += 1
            return
        if status != 200:
            errors.append(f"next {status}")
            return
        aid = json.loads(body)["assignment_id"]
        answer = json.dumps({"answer": {"label": rng.choice(LABELS)}}).encode()
        status, _ = await client.post(f"/api/assignments/{aid}/submit", {**h, "Idempotency-Key": str(aid)}, answer)
        t2 = time.perf_counter()
        if status != 201:
            errors.append(f"submit {status}")
            return
        if time.monotonic() >= t_measure:
            nexts.append(t1 - t0)
            submits.append(t2 - t1)
            cycles.append(t2 - t0)

    async def worker(token: str) -> None:
        h = {"Authorization": f"Bearer {token}"}
        if rate <= 0:
            while time.monotonic() < t_end:
                await cycle(token, h)
            return
        interval = len(tokens) / rate  # each worker offers rate/len(tokens) cycles per second, on a schedule
        next_at = time.monotonic() + rng.random() * interval
        pending = set()
        while next_at < t_end:
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.ensure_future(cycle(token, h))
            pending.add(task)
            task.add_done_callback(pending.discard)
            next_at += interval
        if pending:
            await asyncio.gather(*pending)

    try:
        await asyncio.gather(*(worker(t) for t in tokens))
    finally:
        for client in clients.values():
            await client.close()
    return {"next": nexts, "submit": submits, "cycle": cycles, "errors": errors, "empty": empty}


def _client_process(args: tuple) -> dict:
    # The load generator is not what is measured: no collector pauses in it, so they cannot pass for the
    # server's latency (its memory is bounded by the run's length).
    import gc

    gc.disable()
    try:
        import uvloop  # installed with uvicorn[standard]; the server runs on it too
    except ImportError:
        return asyncio.run(client_loop(*args))
    return uvloop.run(client_loop(*args))


def tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU seconds of a process and all its descendants so far (Linux /proc)."""
    parents, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in cpu:
        p = pid
        while p > 1 and p != root_pid:
            p = parents.get(p, 0)
        if p == root_pid:
            total += cpu[pid]
    return total


def sample_server_cpu(pid: int, start_after: float, seconds: float, out: dict) -> None:
    """The server's CPU seconds over a window inside the clients' measured one (for CPU per cycle)."""
    time.sleep(start_after)
    t0, c0 = time.monotonic(), tree_cpu_seconds(pid)
    time.sleep(seconds)
    out["cpu_seconds"], out["window_seconds"] = tree_cpu_seconds(pid) - c0, time.monotonic() - t0


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(1000 * values[min(len(values) - 1, int(p / 100 * len(values)))], 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database", default="sqlite", help="'sqlite' (a fresh file) or a postgresql:// URL (reset!)")
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=64, help="simulated workers (each its own account)")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--rate", type=float, default=0, help="offered cycles per second (0: flat out, closed loop)")
    ap.add_argument("--redundancy", type=int, default=3)
    ap.add_argument("--server-workers", type=int, default=1)
    ap.add_argument("--pool", choices=("all", "listed", "team"), default="all",
                    help="the project's pool: every worker (default), the workers listed, or one team of them")
    ap.add_argument("--client-processes", type=int, default=2)
    ap.add_argument("--client", choices=("raw", "aiohttp"), default="raw",
                    help="load generator: a minimal keep-alive HTTP/1.1 client (default) or aiohttp")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--preload", action="store_true",
                    help="import the tasks with `labeling import` (one file) instead of over the API")
    ap.add_argument("--keep", action="store_true", help="keep the data dir")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    data_dir = args.data_dir = Path(tempfile.mkdtemp(prefix="labeling-bench-"))
    if args.database != "sqlite":
        reset_postgres(args.database)
    admin = "lbl_bench_" + secrets.token_urlsafe(16)
    proc, base = start_server(args, data_dir, admin)
    try:
        project, tokens, setup_info = asyncio.run(setup(base, admin, args))
        n = max(1, args.client_processes)
        chunks = [tokens[i::n] for i in range(n)]
        rate_each = args.rate / n if args.rate else 0
        cpu: dict = {}
        sampler = threading.Thread(target=sample_server_cpu,
                                   args=(proc.pid, args.warmup + 1.5, max(1.0, args.seconds - 2.5), cpu))
        sampler.start()
        with mp.get_context("spawn").Pool(n) as pool:
            parts = pool.map(_client_process, [(base, project, chunk, args.seconds, args.warmup, rate_each, i,
                                                args.client) for i, chunk in enumerate(chunks)])
        sampler.join()
        merged = {k: sum((p[k] for p in parts), []) for k in ("next", "submit", "cycle", "errors")}
        result = {
            "database": "sqlite" if args.database == "sqlite" else "postgresql",
            "server_workers": args.server_workers, "client": args.client, "tasks": args.tasks, "pool": args.pool,
            "workers": args.workers,
            "redundancy": args.redundancy, "seconds": args.seconds,
            "mode": "paced" if args.rate else "flat-out", "offered_cycles_per_second": args.rate or None,
            "cycles": len(merged["cycle"]), "cycles_per_second": round(len(merged["cycle"]) / args.seconds, 1),
            "errors": len(merged["errors"]), "error_kinds": sorted(set(merged["errors"]))[:5],
            "empty_nexts": sum(p["empty"] for p in parts),
            **{f"{k}_ms": {"p50": pct(merged[k], 50), "p95": pct(merged[k], 95), "p99": pct(merged[k], 99)}
               for k in ("next", "submit", "cycle")},
            **setup_info,
        }
        if not merged["cycle"]:
            result["note"] = "no cycle in the measured window: the queue ran out during the warm-up (give more --tasks)"
        elif cpu.get("window_seconds"):  # server CPU milliseconds per cycle, robust to other load on the machine
            result["server_cpu_ms_per_cycle"] = round(
                1000 * cpu["cpu_seconds"] / (result["cycles_per_second"] * cpu["window_seconds"]), 3)
        print(json.dumps(result))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
