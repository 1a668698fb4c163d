"""Screenshots of the console's pages at 1280x800 and 390x844 (headless Debian Chromium), for looking at them.

    python tests/browser/console_screenshots.py [OUT_DIR]       # default: screenshots/ (gitignored)

Starts `labeling serve` on a fresh data dir, makes a requester with a project, tasks and a few answers through the
API, signs in and saves one PNG per page and size (projects, new project with a field error, overview, settings,
import with a bad line and the CSV mapping, export, teams and one team).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(base: str, admin: str) -> tuple[dict, int]:
    """A requester with a password, two projects (one with answers), and a worker who labelled."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}) as c:
        requester = c.post("/api/users", json={"username": "ada", "role": "requester", "password": PASSWORD}).json()
        worker = c.post("/api/users", json={"username": "wim", "role": "worker"}).json()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {requester['token']}"}) as c:
        project = c.post("/api/projects", json={
            "name": "Customer reviews: sentiment", "task_type": "text_classification",
            "labels": [{"name": "positive", "color": "#1b8a3a", "hotkey": "p"}, "negative", "mixed"],
            "instructions": "# How to label\nRead the **whole** review.\n- *positive*: would buy again\n- `mixed`: both",
            "redundancy": {"min": 2, "max": 4, "target_confidence": 0.85}}).json()
        c.post(f"/api/projects/{project['id']}/tasks", json=[{"data": {"text": f"review {i}"}} for i in range(40)])
        c.post("/api/projects", json={"name": "Street photos: boxes", "task_type": "bounding_box",
                                      "labels": ["car", "person"], "status": "paused"})
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {worker['token']}"}) as c:
        for i in range(12):
            lease = c.post(f"/api/projects/{project['id']}/next").json()
            c.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "positive"}})
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}) as c:
        c.post("/api/users", json={"username": "una", "role": "worker"})
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {requester['token']}"}) as c:
        team = c.post("/api/teams", json={"name": "Review crew", "members": ["wim", "una"]}).json()
        c.post("/api/teams", json={"name": "Night shift", "members": ["una"]})
        c.put(f"/api/projects/{project['id']}/pool", json={"all_workers": False, "teams": [team["id"]]})
    return {**requester, "password": PASSWORD}, project["id"]


def shoot(base: str, user: dict, project_id: int, out: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for size, viewport in SIZES.items():
            context = browser.new_context(viewport=viewport, base_url=base)
            page = context.new_page()
            page.on("pageerror", lambda exc: print("page error:", exc))
            page.goto("/login?next=/")
            page.fill("#username", user["username"])
            page.fill("#password", user["password"])
            page.click("#sign-in")
            page.wait_for_url("**/console/projects")
            page.screenshot(path=str(out / f"console-projects-{size}.png"), full_page=True)
            page.goto(f"/console/projects/{project_id}")
            page.screenshot(path=str(out / f"console-overview-{size}.png"), full_page=True)
            page.goto(f"/console/projects/{project_id}/settings")
            page.screenshot(path=str(out / f"console-settings-{size}.png"), full_page=True)
            page.goto("/console/projects/new")
            page.fill("#f-name", "x")
            page.click("#add-label")
            page.locator(".label-name").first.fill("yes")
            page.locator(".label-hotkey").first.fill("?")
            page.click("#save")
            expect(page.locator(".field-error").first).to_be_visible()
            page.screenshot(path=str(out / f"console-new-error-{size}.png"), full_page=True)
            page.goto(f"/console/projects/{project_id}/import")
            page.set_input_files("#file-input", {"name": "bad.jsonl", "mimeType": "application/x-ndjson",
                                                 "buffer": b'{"data": {"text": "a"}}\n{"data": {}}\n'})
            expect(page.locator(".import-error")).to_be_visible()
            page.set_input_files("#file-input", {"name": "reviews.csv", "mimeType": "text/csv",
                                                 "buffer": b"id,review,stars\nr1,Great value,5\nr2,Broke fast,1\n"})
            expect(page.locator("#csv-mapping")).to_be_visible()
            page.screenshot(path=str(out / f"console-import-{size}.png"), full_page=True)
            page.goto(f"/console/projects/{project_id}/export")
            page.check('input[name="format"][value="jsonl"]')
            page.check('input[name="card"]')
            page.fill("#o-split", "train=0.8,test=0.2")
            page.screenshot(path=str(out / f"console-export-{size}.png"), full_page=True)
            page.goto("/console/teams")
            page.screenshot(path=str(out / f"console-teams-{size}.png"), full_page=True)
            page.click("a.team-name >> text=Review crew")
            page.screenshot(path=str(out / f"console-team-{size}.png"), full_page=True)
            page.goto("/?view=worker")
            page.screenshot(path=str(out / f"console-worker-view-{size}.png"), full_page=True)
            context.close()
        browser.close()


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="labeling-console-shots-"))
    port, admin = free_port(), "lbl_shots_" + secrets.token_urlsafe(16)
    env = {**os.environ, "LABELING_DATA_DIR": str(data), "LABELING_DATABASE_URL": f"sqlite:///{data / 'db.sqlite'}",
           "LABELING_ADMIN_TOKEN": admin}
    server = subprocess.Popen([sys.executable, "-m", "labeling.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        user, project_id = seed(base, admin)
        shoot(base, user, project_id, out)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
