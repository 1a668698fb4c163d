"""The console's task page in Chromium at its limits: one named-entities task whose text has --spans words, each a
span, answered by --answers workers (each answer every span, labels differing a little), reviewed by its requester.

A real `labeling serve` on loopback (a fresh SQLite database in a temp folder) and Debian's Chromium through
Playwright. The page is loaded --loads times; each load is timed from the navigation's start to the first frame
drawn after the page's scripts ran (two animation frames), and split: the server's whole answer (responseEnd), then
the HTML parsed and the scripts run (to DOMContentLoaded); with the page's DOM size and HTML bytes. Then the first
answer's drawing is opened (what a reviewer does to look at one answer on the text) and timed the same way.

    python benchmarks/task_page.py                        # 3 answers of 20,000 spans
    python benchmarks/task_page.py --spans 2000 --loads 1 # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# This folder's queue.py would stand in for the standard library's queue module (aiosqlite imports it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import httpx

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"
LABELS = ["PER", "LOC", "ORG"]
FIRST_FRAME = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"


def start(root: Path, port: int, admin: str) -> subprocess.Popen:
    env = {**os.environ, "LABELING_DATA_DIR": str(root / "data"), "LABELING_ADMIN_TOKEN": admin,
           "LABELING_DATABASE_URL": f"sqlite:///{root / 'labeling.db'}", "LABELING_SECRET_KEY": secrets.token_hex(16)}
    process = subprocess.Popen([sys.executable, "-m", "labeling.cli", "serve", "--port", str(port), "--no-access-log",
                                "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def build(base: str, admin: str, n_spans: int, n_answers: int) -> tuple[str, str]:
    """A requester with a password and the task page's path."""
    words = [f"w{i:05d}" for i in range(n_spans)]
    text = " ".join(words)
    starts = [7 * i for i in range(n_spans)]
    with httpx.Client(base_url=base, timeout=600) as c:
        def user(role: str, password: str | None = None) -> dict:
            body = {"username": f"{role}-{secrets.token_hex(4)}", "role": role}
            if password:
                body["password"] = password
            r = c.post("/api/users", json=body, headers={"Authorization": f"Bearer {admin}"})
            r.raise_for_status()
            return r.json()
        requester = user("requester", PASSWORD)
        owner = {"Authorization": f"Bearer {requester['token']}"}
        r = c.post("/api/projects", json={"name": "task page bench", "task_type": "named_entities", "labels": LABELS,
                                          "redundancy": n_answers}, headers=owner)
        r.raise_for_status()
        project = r.json()["id"]
        c.post(f"/api/projects/{project}/tasks", json=[{"data": {"text": text}}], headers=owner).raise_for_status()
        for k in range(n_answers):
            worker = {"Authorization": f"Bearer {user('worker')['token']}"}
            lease = c.post(f"/api/projects/{project}/next", headers=worker).json()
            spans = [{"start": s, "end": s + 6, "label": LABELS[(i + (i % 10 == k)) % 3]} for i, s in enumerate(starts)]
            c.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"spans": spans}},
                   headers=worker).raise_for_status()
            task_id = lease["task"]["id"]
    return requester["username"], f"/console/projects/{project}/tasks/{task_id}"


def measure(base: str, username: str, path: str, loads: int) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(base_url=base, viewport={"width": 1280, "height": 800})
        page.goto("/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_load_state("load")
        loads_ms, open_ms, served_ms, scripts_ms = [], [], [], []
        elements = html_bytes = 0
        for _ in range(loads):
            response = page.goto(path, wait_until="load", timeout=600_000)
            html_bytes = len(response.body())
            loads_ms.append(page.evaluate(FIRST_FRAME))
            timing = page.evaluate("() => performance.getEntriesByType('navigation')[0].toJSON()")
            served_ms.append(timing["responseEnd"])  # the server's answer, whole
            scripts_ms.append(timing["domContentLoadedEventEnd"] - timing["responseEnd"])  # parsed, scripts run
            elements = page.evaluate("() => document.getElementsByTagName('*').length")
            toggle = page.locator(".answer-card summary").first
            if toggle.count():  # a folded answer: open it, as a reviewer does, and time its drawing
                began = page.evaluate("() => performance.now()")
                toggle.click()
                open_ms.append(page.evaluate(FIRST_FRAME) - began)
        browser.close()
    return {"load_ms_median": round(statistics.median(loads_ms)), "load_ms": [round(x) for x in loads_ms],
            "served_ms_median": round(statistics.median(served_ms)),
            "parse_and_scripts_ms_median": round(statistics.median(scripts_ms)),
            "open_one_answer_ms_median": round(statistics.median(open_ms)) if open_ms else None,
            "dom_elements": elements, "html_bytes": html_bytes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=20_000, help="spans in each answer (words of the text)")
    parser.add_argument("--answers", type=int, default=3)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--port", type=int, default=8680, help="the server's port (0: a free one)")
    args = parser.parse_args()
    admin = "lbl_bench_" + secrets.token_urlsafe(24)
    if not args.port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            args.port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="task-page-bench-") as folder:
        server = start(Path(folder), args.port, admin)
        try:
            base = f"http://127.0.0.1:{args.port}"
            username, path = build(base, admin, args.spans, args.answers)
            result = measure(base, username, path, args.loads)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(json.dumps({"spans": args.spans, "answers": args.answers, **result}))


if __name__ == "__main__":
    main()
