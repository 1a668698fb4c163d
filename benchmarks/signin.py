"""Sign-in benchmark: does a crowd signing in slow the rest of the API down?

The real server (`labeling serve`, one process) on loopback; N clients (8 by default) sign in through the web form
as fast as they can (each attempt: GET /login for a fresh session and CSRF token, then POST /login), while one
more client asks GET /api/health every 50 ms and times it. Prints one JSON object: /api/health latency idle and
under the sign-in load (p50/p95/p99 ms), sign-in attempts per second, and the answers they got.

    python benchmarks/signin.py                          # 8 clients, wrong passwords, 15 s
    python benchmarks/signin.py --password right         # right passwords: never throttled, every one hashed
    python benchmarks/signin.py --dir /tmp/main          # another checkout's code (git archive main | tar -x)

Wrong passwords from one address are throttled after 50 a minute (then answered 429 without hashing), so the
`right` run is the one that keeps the password hashing busy the whole time: the worst case for the event loop.
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/queue.py would shadow the standard library's queue module (which httpx imports): take this folder
# off the import path first.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import collections
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import tempfile
import time

import httpx

HERE = Path(__file__).resolve().parent
PASSWORD = "the right password, long enough"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(checkout: Path, data_dir: Path, admin: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "LABELING_DATA_DIR": str(data_dir), "LABELING_ADMIN_TOKEN": admin,
           "LABELING_DATABASE_URL": ""}
    proc = subprocess.Popen([sys.executable, "-m", "labeling.cli", "serve", "--port", str(port), "--no-access-log",
                             "--log-level", "warning"], env=env, cwd=checkout, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("benchmark: the server did not start")


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))], 2)


async def sample_health(base: str, until: float, out: list[float]) -> None:
    """GET /api/health every 50 ms until `until`, recording each latency in ms."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while time.monotonic() < until:
            started = time.perf_counter()
            r = await client.get("/api/health")
            r.raise_for_status()
            out.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.05)


async def sign_in_loop(base: str, username: str, password: str, until: float, statuses: collections.Counter) -> None:
    """Sign in again and again until `until`, each time as a new browser (a fresh session and CSRF token)."""
    async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False) as client:
        while time.monotonic() < until:
            client.cookies.clear()
            form = await client.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            r = await client.post("/login", data={"csrf_token": csrf, "username": username, "password": password,
                                                  "next": "/"})
            statuses[r.status_code] += 1


async def run(args: argparse.Namespace, base: str, admin: str) -> dict:
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as c:
        r = await c.post("/api/users", json={"username": "bench-user", "role": "worker", "password": PASSWORD})
        r.raise_for_status()
        (await c.get("/login")).raise_for_status()  # the first page render builds the templates: not measured
    idle: list[float] = []
    await sample_health(base, time.monotonic() + args.idle_seconds, idle)
    loaded: list[float] = []
    statuses: collections.Counter = collections.Counter()
    password = PASSWORD if args.password == "right" else "a wrong password"
    started = time.monotonic()
    until = started + args.seconds
    await asyncio.gather(sample_health(base, until, loaded),
                         *[sign_in_loop(base, "bench-user", password, until, statuses) for _ in range(args.clients)])
    elapsed = time.monotonic() - started
    return {
        "checkout": str(args.dir), "clients": args.clients, "password": args.password, "seconds": args.seconds,
        "health_idle_ms": {"p50": pct(idle, 50), "p95": pct(idle, 95), "n": len(idle)},
        "health_loaded_ms": {"p50": pct(loaded, 50), "p95": pct(loaded, 95), "p99": pct(loaded, 99),
                             "mean": round(statistics.fmean(loaded), 2) if loaded else None, "n": len(loaded)},
        "sign_ins_per_second": round(sum(statuses.values()) / elapsed, 1),
        "answers": {str(k): v for k, v in sorted(statuses.items())},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--idle-seconds", type=float, default=3)
    ap.add_argument("--password", choices=("wrong", "right"), default="wrong")
    ap.add_argument("--dir", type=Path, default=HERE.parent, help="the checkout whose server to run")
    args = ap.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="labeling-signin-"))
    admin = "lbl_bench_" + secrets.token_urlsafe(24)
    proc, base = start_server(args.dir.resolve(), data_dir, admin)
    try:
        print(json.dumps(asyncio.run(run(args, base, admin))))
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
