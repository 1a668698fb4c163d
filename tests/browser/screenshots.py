"""Screenshots of every demo project's labeling page at 1280x800 and 390x844 (headless Debian Chromium).

    python tests/browser/screenshots.py [OUT_DIR]       # default: screenshots/ (gitignored)

Starts `labeling serve --demo` on a fresh data dir, signs in as the demo worker, and saves one PNG per task
type and size, plus the home page, a box being drawn, the skip dialog and an earlier answer being changed.
"""

from __future__ import annotations

import os
import re
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="labeling-shots-"))
    port = free_port()
    env = {**os.environ, "LABELING_DATA_DIR": str(data), "LABELING_DATABASE_URL": f"sqlite:///{data / 'db.sqlite'}"}
    server = subprocess.Popen([sys.executable, "-m", "labeling.cli", "serve", "--demo", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base, lines, password = f"http://127.0.0.1:{port}", [], None
    try:
        for line in server.stdout:  # the demo prints the worker's password before serving
            lines.append(line)
            match = re.search(r"demo-worker / (\S+)", line)
            if match:
                password = match.group(1)
                break
        if password is None:
            raise SystemExit("the demo did not start:\n" + "".join(lines))
        for _ in range(100):
            try:
                if httpx.get(base + "/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        shoot(base, password, out)
    finally:
        server.terminate()
        server.wait(timeout=10)


def shoot(base: str, password: str, out: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for size, viewport in SIZES.items():
            page = browser.new_context(viewport=viewport, base_url=base).new_page()
            page.goto("/login")
            page.fill("#username", "demo-worker")
            page.fill("#password", password)
            page.click("#sign-in")
            expect(page).to_have_url(re.compile(r"/$"))
            page.screenshot(path=out / f"home-{size}.png")
            links = page.eval_on_selector_all("a.project-name", "els => els.map(e => [e.textContent, e.href])")
            for name, href in links:
                page.goto(href)
                expect(page.locator("body")).to_have_attribute("data-state", re.compile("working|empty"))
                task_type = page.eval_on_selector("body", "b => [...b.classList].find(c => c.startsWith('type-'))")[5:]
                page.wait_for_timeout(400)  # images decoded
                page.screenshot(path=out / f"{task_type}-{size}.png")
                if task_type == "bounding_box":
                    box = page.locator("#box-stage").bounding_box()
                    page.mouse.move(box["x"] + box["width"] * .3, box["y"] + box["height"] * .3)
                    page.mouse.down()
                    page.mouse.move(box["x"] + box["width"] * .5, box["y"] + box["height"] * .55, steps=5)
                    page.screenshot(path=out / f"{task_type}-drawing-{size}.png")
                    page.mouse.up()
                if task_type == "text_classification":
                    page.keyboard.press("1")
                    page.keyboard.press("Enter")
                    page.wait_for_timeout(300)
                    page.keyboard.press("s")
                    page.screenshot(path=out / f"skip-dialog-{size}.png")
                    page.keyboard.press("Escape")
                    page.keyboard.press("z")
                    expect(page.locator("#editbar")).to_be_visible()
                    page.screenshot(path=out / f"previous-{size}.png")
                    page.locator("#edit-back").click()
            page.goto("/no/such/page")
            page.screenshot(path=out / f"not-found-{size}.png")
            page.context.close()
        browser.close()
    print(f"screenshots in {out}/")


if __name__ == "__main__":
    main()
