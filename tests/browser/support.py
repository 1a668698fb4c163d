"""What the browser tests share: the server handle (API helpers, stored answers), sign-in, test images."""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw
from sqlalchemy import text

from labeling.db import Database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ZOOMED = {"width": 640, "height": 400}  # a 1280x800 laptop at 200% zoom
PASSWORD = "correct horse battery"


@dataclass
class Server:
    """A running server and what the tests need to talk to it."""

    base_url: str
    admin_token: str
    database_url: str
    data_dir: Path

    def client(self, token: str | None = None) -> httpx.Client:
        """An API client, with a Bearer token when given."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def user(self, role: str = "worker", password: str | None = PASSWORD) -> dict:
        """A new user with a unique name: {id, username, role, token, password}."""
        body: dict[str, Any] = {"username": f"{role}-{uuid.uuid4().hex[:10]}", "role": role}
        if password:
            body["password"] = password
        with self.client(self.admin_token) as c:
            r = c.post("/api/users", json=body)
        assert r.status_code == 201, r.text
        return {**r.json(), "password": password}

    def project(self, task_type: str, tasks: list[dict], labels: list[str] | None = None, **settings: Any) -> dict:
        """A new project with these tasks, owned by a new requester; returns the project plus `requester`."""
        requester = self.user("requester", password=None)
        body = {"name": f"{task_type} {uuid.uuid4().hex[:8]}", "task_type": task_type, "labels": labels or [],
                "instructions": settings.pop("instructions", "Do **this** task well."), **settings}
        with self.client(requester["token"]) as c:
            r = c.post("/api/projects", json=body)
            assert r.status_code == 201, r.text
            project = r.json()
        if tasks:  # by the admin: the images a test uploaded with another account are not this requester's to name
            with self.client(self.admin_token) as c:
                r = c.post(f"/api/projects/{project['id']}/tasks", json=tasks)
                assert r.status_code == 201, r.text
        return {**project, "requester": requester}

    def upload_image(self, token: str, png: bytes, name: str = "image.png") -> str:
        """Store an image through POST /api/media; returns its media path for data.image."""
        with self.client(token) as c:
            r = c.post("/api/media", files={"file": (name, png, "image/png")})
        assert r.status_code == 201, r.text
        return r.json()["data"][0]["path"]

    def query(self, sql: str, **params: Any) -> list[dict]:
        """Rows of a read-only SQL query against the server's database."""

        async def run() -> list[dict]:
            db = Database(self.database_url, pool_size=1)
            try:
                async with db.read() as conn:
                    result = await conn.execute(text(sql), params)
                    return [dict(row._mapping) for row in result]
            finally:
                await db.dispose()

        # Playwright's sync API keeps an event loop running in this thread, so the query gets its own.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, run()).result()

    def answers(self, project_id: int) -> dict[str, Any]:
        """Stored answers of a project by task external_id (the exact JSON the server kept)."""
        rows = self.query("SELECT t.external_id, a.answer FROM annotations a JOIN tasks t ON t.id = a.task_id "
                          "WHERE a.project_id = :p ORDER BY a.id", p=project_id)
        out: dict[str, Any] = {}
        for row in rows:
            answer = row["answer"]
            if isinstance(answer, str):  # a plain text() query may hand JSON back as text
                answer = json.loads(answer)
            assert row["external_id"] not in out, f"two annotations stored for {row['external_id']}"
            out[row["external_id"]] = answer
        return out

    def assignment_statuses(self, project_id: int) -> dict[str, int]:
        """Assignment status (0 leased, 1 submitted, 2 skipped, 3 expired) by task external_id."""
        rows = self.query("SELECT t.external_id, a.status FROM assignments a JOIN tasks t ON t.id = a.task_id "
                          "WHERE a.project_id = :p", p=project_id)
        return {row["external_id"]: row["status"] for row in rows}


def sign_in(page: Any, user: dict, next_path: str = "/") -> None:
    """Sign in through the form and wait for the page it leads to."""
    from playwright.sync_api import expect

    page.goto(f"/login?next={next_path}")
    page.fill("#username", user["username"])
    page.fill("#password", user["password"])
    page.click("#sign-in")
    expect(page).not_to_have_url(re.compile(r"/login"))
    # The URL changes when the next page's response arrives; its stylesheets may still be loading, and a
    # measurement taken then (a layout forced by script) sees the page unstyled.
    page.wait_for_load_state("load")


def label_page(new_page: Any, worker: dict, project: dict, viewport: dict = DESKTOP,
               routes: dict[str, Any] | None = None, **options: Any) -> Any:
    """A signed-in page on a project's labeling page, its first task on screen (or a final state).

    options: the browser context's (has_touch=True, is_mobile=True for a phone's touch screen).
    routes: {url glob: handler} set up before the first navigation: a route added to a page that is already
    running did not always catch its next request in Chromium (CI saw a submit pass straight to the server).
    """
    from playwright.sync_api import expect

    page = new_page(viewport, **options)
    # A test presses keys at machine speed: a task just shown is submitted at once, as a worker who read it would
    # (the page's guard against a double click meant for the task before is tested on its own, with the guard on).
    page.add_init_script("window.Labeling = Object.assign(window.Labeling || {}, {freshMs: 0});")
    for pattern, handler in (routes or {}).items():
        page.route(pattern, handler)
    sign_in(page, worker, f"/projects/{project['id']}/label")
    expect(page.locator("body")).to_have_attribute("data-state", re.compile(r"^(working|empty|blocked|stopped|error)$"))
    return page


def drop_file(page: Any, name: str, text: str, mime: str) -> None:
    """Drop one file on the import page's drop zone, as a drag from the desktop does (once the page's script has
    loaded: a drop on the zone before its listener is there does nothing, as it would for a user)."""
    page.wait_for_load_state("load")
    transfer = page.evaluate_handle(
        "([name, text, mime]) => { const dt = new DataTransfer(); dt.items.add(new File([text], name, {type: mime}));"
        " return dt; }", [name, text, mime])
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})


def png(width: int, height: int, shapes: list[tuple[str, tuple[int, int, int, int], str]] = ()) -> bytes:
    """A small PNG: a light background with ("rect"|"ellipse", (x0, y0, x1, y1), colour) shapes."""
    image = Image.new("RGB", (width, height), (236, 238, 240))
    draw = ImageDraw.Draw(image)
    for kind, box, colour in shapes:
        (draw.rectangle if kind == "rect" else draw.ellipse)(box, fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


WIDER_THAN_VIEWPORT = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.right > width + 0.5 && r.width > 0) {
      wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
                (el.className && typeof el.className === "string" ? "." + el.className.trim().replace(/\\s+/g, ".") : "") +
                " right=" + Math.round(r.right));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width: width, wide: wide.slice(0, 12)};
}"""


def assert_fits_the_width(page: Any) -> None:
    """No sideways scrolling of the page; a failure names the elements that reach past the viewport's edge."""
    page.wait_for_load_state("load")  # measured before the stylesheets have loaded, any page is too wide
    found = page.evaluate(WIDER_THAN_VIEWPORT)
    assert found["scrollWidth"] <= found["width"], f"sideways scrolling: {found}"


UNCOVERED = """el => {
  const r = el.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
  if (x < 0 || y < 0 || x > innerWidth || y > innerHeight) return `outside the window, at (${Math.round(x)}, ${Math.round(y)})`;
  const hit = document.elementFromPoint(x, y);
  return el.contains(hit) ? null : "covered by " + (hit ? hit.tagName.toLowerCase() + "#" + hit.id + "." + hit.className : "nothing");
}"""


def assert_in_view(locator: Any) -> None:
    """The element's middle is in the window and nothing covers it: a click there reaches it without scrolling."""
    problem = locator.evaluate(UNCOVERED)
    assert problem is None, problem


# 50,000 characters, the last word END: a text far longer than any window.
LONG_TEXT = ("The quick brown fox jumps over the lazy dog. " * 1200)[:50_000 - 8] + " THE END"

END_IN_VIEW = """id => {
  const el = document.getElementById(id), walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  let node = null;
  while (walk.nextNode()) if (walk.currentNode.length >= 3) node = walk.currentNode;
  const range = document.createRange();
  range.setStart(node, node.length - 3);
  range.setEnd(node, node.length);
  const r = range.getBoundingClientRect();
  return r.top >= 0 && r.bottom <= innerHeight && el.contains(document.elementFromPoint(r.left + 2, r.top + r.height / 2));
}"""


def scroll_to_the_end(page: Any, text_id: str) -> None:
    """Scroll with the wheel over the text, as a worker does, until its last word is on screen."""
    box = page.locator(f"#{text_id}").bounding_box()
    page.mouse.move(box["x"] + 40, max(box["y"], 0) + 40)
    for _ in range(100):  # a phone's narrow lines make 50,000 characters some 60,000 pixels tall
        page.mouse.wheel(0, 5000)
        if page.evaluate(END_IN_VIEW, text_id):
            return
    raise AssertionError(f"the end of #{text_id} never came into view")


CONTRAST = """(el, ring) => {
  const rgb = c => c.match(/[\\d.]+/g).map(Number);
  const lum = c => c.slice(0, 3).map(v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
                               .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  // the first opaque background behind the text (the element's own) or behind the focus ring (around the element)
  let back = ring ? el.parentElement : el;
  while (back.parentElement && (rgb(getComputedStyle(back).backgroundColor)[3] ?? 1) < 1) back = back.parentElement;
  const b = rgb(getComputedStyle(back).backgroundColor), f = rgb(getComputedStyle(el)[ring ? "outlineColor" : "color"]);
  const alpha = f[3] ?? 1, seen = f.slice(0, 3).map((v, i) => v * alpha + b[i] * (1 - alpha));
  const x = lum(seen), y = lum(b);
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}"""


def contrast(locator: Any, ring: bool = False) -> float:
    """The WCAG contrast ratio, from the computed styles, of an element's text colour on its background, or with
    ring=True of its outline (its focus ring) on the background around it."""
    return locator.evaluate(CONTRAST, ring)


def focus_rings_stand_out(page: Any, selectors: tuple[str, ...]) -> None:
    """Each element, focused from the keyboard (so its :focus-visible ring shows), has a ring of at least 3:1 on
    what is around it (WCAG 1.4.11)."""
    from playwright.sync_api import expect

    for selector in selectors:
        page.locator(selector).focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        expect(page.locator(selector)).to_be_focused()
        assert contrast(page.locator(selector), ring=True) >= 3, selector


def tab_to(page: Any, selector: str) -> None:
    """Press Tab until the element matching the CSS selector has the focus (at most 30 times)."""
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


SKIPPED_HEADINGS = """() => {
  // every heading in document order, hidden ones too (a state or dialog the page shows later keeps its level)
  const found = [];
  let before = 0, last = "(the top of the page)";
  for (const h of document.querySelectorAll("h1, h2, h3, h4, h5, h6, [role=heading]")) {
    const level = h.hasAttribute("aria-level") ? Number(h.getAttribute("aria-level")) : Number(h.tagName[1]);
    const name = `h${level} "${h.textContent.trim().slice(0, 40)}"`;
    if (level > before + 1) found.push(`${name} after ${last}`);
    before = level;
    last = name;
  }
  return found;
}"""


def assert_heading_levels(page: Any) -> None:
    """The page's headings skip no level, as axe's heading-order rule checks: the first is an h1 and each one is at
    most one level deeper than the one before it (a screen reader's list of headings is the page's outline)."""
    page.wait_for_load_state("load")
    skipped = page.evaluate(SKIPPED_HEADINGS)
    assert not skipped, f"{page.url}: heading levels skipped: {skipped}"
