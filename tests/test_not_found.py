"""Unknown pages: a page in words (HTML 404) for a browser outside /api, JSON 404 under /api and for scripts."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import bearer, sign_in_form

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


def _is_html_404(r, path: str) -> bool:
    return (r.status_code == 404 and r.headers["content-type"].startswith("text/html")
            and f"There is no page at {path}" in r.text and "<h1>Not found</h1>" in r.text
            and "script-src" in r.headers["content-security-policy"])


@pytest.mark.parametrize("path", ["/no-such-page", "/projects/abc", "/projects/1/nothing-here", "/static/nope.js",
                                  "/signed-media/1/2/gone.png", "/console/nowhere/at/all"])
async def test_a_browser_gets_an_html_404_outside_the_api(client, path):
    r = await client.get(path, headers=HTML)
    assert _is_html_404(r, path), (r.status_code, r.headers.get("content-type"), r.text[:200])
    r = await client.get(path, headers=JSON)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/no-such-endpoint", "/api/projects/1/nothing", "/api/projects/abc"])
async def test_the_api_answers_json_404_even_to_a_browser(client, requester, path):
    for headers in ({**HTML, **bearer(requester)}, HTML if "projects" not in path else None):
        if headers is None:
            continue
        r = await client.get(path, headers=headers)
        assert r.status_code == 404 and r.headers["content-type"] == "application/json", (path, r.text[:200])
        assert r.json()["error"]["code"] == "not_found"


async def test_a_signed_in_browser_gets_the_page_with_its_menu(client, make_user):
    await make_user("requester", "rita", "a-long-password")
    r = await sign_in_form(client, "rita", "a-long-password")
    assert r.status_code == 303
    r = await client.get("/media/not-there.png", headers=HTML)
    assert _is_html_404(r, "/media/not-there.png") and "rita" in r.text
    r = await client.get("/media/not-there.png", headers={"Accept": "image/avif,image/webp,*/*"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("method,path,meant", [("GET", "/api/projects/", "/api/projects"),
                                               ("POST", "/api/projects/", "/api/projects"),
                                               ("GET", "/api/projects/1/tasks/", "/api/projects/1/tasks"),
                                               ("POST", "/api/projects/1/next/", "/api/projects/1/next")])
@pytest.mark.parametrize("root_path", ["", "/lab"])
async def test_an_api_path_with_a_final_slash_is_redirected_with_a_body_naming_the_endpoint(app, requester, method,
                                                                                        path, meant, root_path):
    """Starlette's 307 to the path without the '/' had an empty body: httpx and curl do not follow it (a script read
    no JSON). It stays a 307 (requests follows it with the method and body, as scripts relied on), with a body
    naming the endpoint; behind a proxy's prefix (root_path) the same."""
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        r = await client.request(method, root_path + path, headers=bearer(requester),
                                 json={"name": "x"} if method == "POST" else None)
        assert r.status_code == 307 and r.headers["location"] == f"{root_path}{meant}", r.headers
        error = r.json()["error"]
        assert error["code"] == "redirect" and f"the endpoint is {meant} " in error["message"], error
        assert (await client.get(f"{root_path}/api/projects", headers=bearer(requester))).json()["data"] == []


async def test_a_page_path_with_a_final_slash_still_redirects(client, requester):
    r = await client.get("/console/projects/", headers={**HTML, **bearer(requester)})
    assert r.status_code == 307 and r.headers["location"] == "/console/projects"


@pytest.mark.parametrize("path,meant", [("/api/projects/?limit=5", "/api/projects?limit=5"),
                                        ("/console/projects/", "/console/projects"),
                                        ("/api/projects/1/tasks/", "/api/projects/1/tasks")])
async def test_a_redirect_never_names_the_host_the_client_wrote(client, requester, path, meant):
    """Starlette built the 307's Location from the Host header: `Host: evil.example` sent a client that follows
    redirects (requests, with the method, the body and, to a host it still trusts, the token) to evil.example. The
    Location is now a path on this server, whatever the Host says."""
    for host in ("evil.example", "evil.example:8080", "testserver@evil.example"):
        r = await client.get(path, headers={**bearer(requester), "Host": host})
        assert r.status_code == 307 and r.headers["location"] == meant, (host, r.headers)
        assert "evil" not in r.text
