"""The HTML pages themselves: headers, no inline script, error pages in words; the pure helpers."""

from __future__ import annotations

import re

import httpx

from labeling.worker_ui import markup
from labeling.worker_ui.routes import safe_next
from tests.browser.support import sign_in


def test_pages_send_a_strict_policy_and_carry_no_inline_script(server, worker):
    project = server.project("bounding_box", [], labels=["a"])
    with httpx.Client(base_url=server.base_url) as c:
        login = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
        r = c.post("/login", data={"csrf_token": token, "username": worker["username"],
                                   "password": worker["password"], "next": "//evil.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/"
        pages = [login, c.get("/"), c.get(f"/projects/{project['id']}/label")]
        missing = c.get("/projects/999999999/label")
    for page in pages + [missing]:
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "object-src 'none'" in csp
        assert page.headers["x-frame-options"] == "DENY"
        scripts = re.findall(r"<script([^>]*)>", page.text)
        assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts), scripts
        assert " style=" not in page.text and "<style" not in page.text
        assert "https://" not in re.sub(r"<p class=\"hint\">.*?</p>", "", page.text)  # nothing fetched from elsewhere
    assert missing.status_code == 404 and "no project 999999999" in missing.text
    assert "text/html" in missing.headers["content-type"]


def test_a_missing_project_is_a_page_in_words(server, worker, new_page):
    page = new_page()
    sign_in(page, worker)
    response = page.goto("/projects/999999999/label")
    assert response.status == 404
    assert page.locator("h1").text_content() == "Not found"


def test_instructions_markup_is_escaped_first():
    html = markup.render("# Title\n**bold** and `<code>` <script>x</script>\n\n- [ok](https://e.com/a?b=1&c=2)\n"
                         "- [bad](javascript:alert(1))\n1. one\n2. two")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<h3 class="md-h1">Title</h3>' in html and "<strong>bold</strong>" in html and "<code>&lt;code&gt;</code>" in html
    assert '<a href="https://e.com/a?b=1&amp;c=2" rel="noopener noreferrer" target="_blank">ok</a>' in html
    assert "javascript:" in html and 'href="javascript' not in html
    assert "<ol><li>one</li><li>two</li></ol>" in html


def test_instructions_emphasis_stays_out_of_link_addresses():
    """A ** or _ pair in a link's address became a <strong> or <em> tag inside its href."""
    html = markup.render("See [the **guide** and `run`](https://e.com/**x**/_y_) and *this*.")
    assert ('<a href="https://e.com/**x**/_y_" rel="noopener noreferrer" target="_blank">the <strong>guide</strong> '
            "and <code>run</code></a>") in html and "<em>this</em>" in html
    assert "\ufffd" in markup.render("a NUL \x00 and \x000\x00 are no kept span")


def test_sign_in_only_returns_to_local_pages():
    assert safe_next("/projects/3/label?x=1") == "/projects/3/label?x=1"
    for bad in (None, "", "https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)",
                "/ok\r\nSet-Cookie: x"):
        assert safe_next(bad) == "/"
