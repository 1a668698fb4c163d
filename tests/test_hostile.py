"""Hostile input on every route: non-finite numbers, deep nesting, huge and odd ids, wrong types, NUL and lone
surrogates, oversized and chunked bodies. Each answer is a 4xx naming the problem, and nothing is stored (the
whole database compared before and after), with the same status on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import hashlib
import json
from typing import Any, AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from labeling import api, models
from labeling.app import create_app
from tests.conftest import bearer, text_tasks, one_line

DEEP = "[" * 20_000 + "]" * 20_000  # far past the parser's recursion limit, inside every route's body cap
# Raw JSON tokens put where a valid value was (or as a key's value), each refused with a 400.
HOSTILE_VALUES = {
    "nan": "NaN", "infinity": "Infinity", "minus infinity": "-Infinity", "overflowing float": "1e999",
    "deep nesting": DEEP, "nul": '"a\\u0000b"', "lone high surrogate": '"\\ud800"', "lone low surrogate": '"x\\udfff"',
    "65-bit integer": "36893488147419103232", "30-digit integer": "1" + "0" * 29,
}
# Tokens of the wrong type for a field whose valid value has this Python type.
WRONG_TYPES: dict[type, list[str]] = {
    int: ["true", "1.5", '"1"', "null", "[]"], bool: ["1", '"true"', "null"], float: ["true", '"0.5"', "null"],
    str: ["1", "true", "null", "[]"], list: ['"a"', "{}", "null"], dict: ["[]", '"a"', "null"],
}
BAD_IDS = ["99999999999999999999999", "9223372036854775808", "0", "-1", "1.5", "+1", "%201", "1_0", "%00", "0x1",
           "%D9%A3", "1e3", "%ED%A0%80", "abc"]


async def snapshot(db) -> str:
    """A digest of every row of every table: equal digests, nothing stored."""
    digest = hashlib.sha256()
    async with db.read() as conn:
        for table in models.metadata.sorted_tables:
            rows = (await conn.execute(select(table))).all()
            digest.update(table.name.encode())
            digest.update(repr(sorted(repr(tuple(r)) for r in rows)).encode())
    return digest.hexdigest()


@pytest.fixture
async def world(client, db, admin, requester, make_user, new_project) -> dict:
    """A project with tasks, a worker holding a lease in it, a box project, and every token."""
    project = await new_project(tasks=text_tasks(3), redundancy=2)
    _, worker = await make_user("worker", "hostile-worker")
    lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))).json()
    return {"project": project["id"], "assignment": lease["assignment_id"], "admin": admin, "requester": requester,
            "worker": worker}


def _bodies(world: dict) -> list[tuple[str, str, str, Any]]:
    """(method, url, token, a valid body) for every route that reads a JSON body."""
    pid, aid = world["project"], world["assignment"]
    return [
        ("POST", "/api/projects", world["requester"],
         {"name": "n", "task_type": "text_classification", "labels": ["a"], "redundancy": 2, "gold_fraction": 0.5,
          "options": {"k": "v"}}),
        ("PATCH", f"/api/projects/{pid}", world["requester"],
         {"instructions": "x", "redundancy": 2, "labels": ["pos", "neg", "neu"], "gold_threshold": 0.5,
          "options": {"k": ["v"]}}),
        ("POST", f"/api/projects/{pid}/tasks", world["requester"],
         [{"data": {"text": "x", "meta": {"k": 1}}, "gold": {"label": "pos"}, "priority": 1, "external_id": "e"}]),
        ("POST", f"/api/assignments/{aid}/submit", world["worker"], {"answer": {"label": "pos"}, "duration_ms": 5}),
        ("POST", "/api/users", world["admin"], {"username": "u1", "role": "worker", "password": "long-enough"}),
        ("POST", f"/api/projects/{pid}/consensus", world["requester"], {"method": "auto"}),
    ]


def _leaves(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """Every place in a JSON value, with the value there."""
    out = [(path, value)] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _leaves(item, (*path, index))
    return out


def _with_token(body: Any, path: tuple, token: str) -> bytes:
    """The body as JSON text with the value at `path` replaced by a raw token (which json.dumps cannot write)."""
    marker = "\x01HOSTILE\x01"

    def put(value: Any, rest: tuple) -> Any:
        if not rest:
            return marker
        copy = dict(value) if isinstance(value, dict) else list(value)
        copy[rest[0]] = put(value[rest[0]], rest[1:])
        return copy

    return json.dumps(put(body, path)).replace(json.dumps(marker), token).encode()


async def _expect_refused(client, db, method: str, url: str, token: str | None, content: bytes, status: int = 400,
                          headers: dict | None = None, check_stored: bool = True) -> dict:
    before = await snapshot(db) if check_stored else None
    r = await client.request(method, url, content=content, headers={**(bearer(token) if token else {}),
                                                                   **(headers or {})})
    assert r.status_code == status, (method, url, content[:200], r.status_code, r.text[:300])
    error = r.json()["error"]
    assert error["code"] and error["message"] and error["field"], error
    if check_stored:
        assert await snapshot(db) == before, f"{method} {url} stored something for {content[:200]!r}"
    return error


def _free_form(path: tuple) -> bool:
    """Values any JSON may take (project options, a task's own metadata), and gold's null (no gold)."""
    return any(part in ("options", "meta") for part in path if isinstance(part, str))


async def test_hostile_values_anywhere_in_every_body_are_refused_and_store_nothing(client, db, world):
    for method, url, token, body in _bodies(world):
        before = await snapshot(db)
        for path, value in _leaves(body):
            tokens = dict(HOSTILE_VALUES)
            if not _free_form(path):
                tokens.update({f"wrong type {t}": t for t in WRONG_TYPES.get(type(value), [])
                               if not (t == "null" and path[-1] in ("gold", "external_id", "duration_ms", "password"))})
            for name, raw in tokens.items():
                error = await _expect_refused(client, db, method, url, token, _with_token(body, path, raw),
                                              check_stored=False)
                if name in ("nan", "nul", "lone high surrogate", "65-bit integer"):
                    where = [p for p in path if not (url.endswith("/tasks") and p == 0)]
                    expected = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where).lstrip(".")
                    assert error["field"] == (expected or "task"), (url, path, name, error)
        assert await snapshot(db) == before, f"{method} {url} stored something"


async def test_keys_no_database_can_store_are_refused(client, db, world):
    for method, url, token, body in _bodies(world):
        for key in ("a\\u0000", "\\udc80"):
            raw = json.dumps(body)
            # one more key in the outermost object (or in the first task of an import)
            bad = raw.replace("{", '{"' + key + '": 1, ', 1).encode()
            error = await _expect_refused(client, db, method, url, token, bad)
            assert "\\u" in error["field"] and "key" in error["message"], error


async def test_not_utf8_and_not_json_are_400(client, db, world):
    for method, url, token, _ in _bodies(world):
        for raw in (b'{"a": "\xed\xa0\x80"}', b"\xff\xfe{}", b"{", b"[1,", b'{"a":1}x', b"[" * 5000):
            await _expect_refused(client, db, method, url, token, raw)


async def test_patch_null_and_booleans_for_numbers(client, db, world, requester):
    url = f"/api/projects/{world['project']}"
    for body, field in [({"labels": None}, "labels"), ({"redundancy": True}, "redundancy"),
                        ({"redundancy": None}, "redundancy"), ({"lease_seconds": 30.0}, "lease_seconds"),
                        ({"name": None}, "name"), ({"options": None}, "options"),
                        ({"gold_fraction": True}, "gold_fraction"),
                        ({"redundancy": {"min": 2, "max": 3, "target_confidence": True}},
                         "redundancy.target_confidence"),
                        ({"labels": ["pos", "neg", "neu", 7]}, "labels[3]")]:
        error = await _expect_refused(client, db, "PATCH", url, requester, json.dumps(body).encode())
        assert error["field"] == field, (body, error)
    r = await client.get(url, headers=bearer(requester))
    assert r.json()["redundancy"] == 2 and r.json()["labels"] == ["pos", "neg", "neu"]


async def test_import_errors_name_the_task_and_the_field(client, db, world, requester):
    url = f"/api/projects/{world['project']}/tasks"
    array = b'[{"data": {"text": "fine"}}, {"data": {"text": "x", "score": NaN}}]'
    error = await _expect_refused(client, db, "POST", url, requester, array)
    assert error["index"] == 1 and error["field"] == "data.score", error
    lines = b'{"data": {"text": "fine"}}\n{"data": {"text": "a\\u0000"}}\n'
    error = await _expect_refused(client, db, "POST", url, requester, lines,
                                  headers={"Content-Type": "application/x-ndjson"})
    assert error["line"] == 2 and error["field"] == "data.text", error
    deep = b'{"data": {"text": "fine"}}\n{"data": {"text": "x", "m": ' + DEEP.encode() + b"}}\n"
    error = await _expect_refused(client, db, "POST", url, requester, deep,
                                  headers={"Content-Type": "application/x-ndjson"})
    assert error["line"] == 2 and "nested deeper" in error["message"], error
    upload = [("file", ("tasks.jsonl", b'{"data": {"text": "\\ud800"}}\n', "application/x-ndjson"))]
    before = await snapshot(db)
    r = await client.post(url, files=upload, headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["line"] == 1, r.text
    assert await snapshot(db) == before


@pytest.mark.parametrize("raw", BAD_IDS)
async def test_ids_in_paths_are_64_bit_positive_numbers_else_404(client, db, world, raw):
    tokens = {"project_id": world["requester"], "assignment_id": world["worker"], "annotation_id": world["worker"],
              "task_id": world["requester"], "user_id": world["admin"], "team_id": world["requester"],
              "worker_id": world["requester"]}
    before = await snapshot(db)
    for op in api.OPS:
        names = re.findall(r"{(\w+)}", op.path)
        if not names:
            continue
        url = op.path
        for name in names:
            url = url.replace("{" + name + "}", raw)
        r = await client.request(op.method, url, content=b"{}", headers=bearer(tokens[names[0]]))
        assert r.status_code == 404, (op.method, url, r.status_code, r.text)
        assert r.json()["error"]["field"] in names
    r = await client.get(f"/projects/{raw}/label", headers=bearer(world["worker"]))
    assert r.status_code in (303, 404), r.text  # the page: not signed in with a cookie, so the sign-in page
    assert await snapshot(db) == before


async def test_the_label_page_refuses_bad_ids_with_a_404_page(app, client, make_user):
    await make_user("worker", "page-worker", password="page-password")
    login = await client.get("/login")
    csrf = login.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = await client.post("/login", data={"username": "page-worker", "password": "page-password", "csrf_token": csrf,
                                          "next": "/"})
    assert r.status_code == 303, r.text
    for raw in BAD_IDS:
        r = await client.get(f"/projects/{raw}/label")
        assert r.status_code == 404 and "text/html" in r.headers["content-type"], (raw, r.status_code)


@pytest.mark.parametrize("query,field", [
    ("limit=%205", "limit"), ("limit=%2B5", "limit"), ("limit=5.0", "limit"), ("limit=1_0", "limit"),
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=-1", "limit"), ("limit=%D9%A5", "limit"),
    ("limit=99999999999999999999999", "limit"), ("limit=1&limit=2", "limit"), ("colour=red", "colour"),
    ("cursor=", "cursor"), ("cursor=%00", "cursor"),
    ("cursor=eyJhZnRlciI6IDEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDB9", "cursor"),
    ("cursor=eyJhZnRlciI6IE5hTn0", "cursor"), ("state=done", "state"), ("gold=1", "gold"), ("gold=yes", "gold"),
    ("state=%00", "state"),
])
async def test_query_parameters_are_strict(client, world, query, field):
    pid = world["project"]
    for url in (f"/api/projects/{pid}/tasks", f"/api/projects/{pid}/results", "/api/projects"):
        if field in ("state", "gold") and not url.endswith("/tasks"):
            continue
        r = await client.get(f"{url}?{query}", headers=bearer(world["requester"]))
        assert r.status_code == 400, (url, query, r.text)
        assert r.json()["error"]["field"] == field, (url, query, r.text)


async def test_a_query_string_of_thousands_of_names_is_read_once(client, world, monkeypatch):
    """Each name's values were looked up by a pass over every parameter (getlist): quadratic, so any signed-in user's
    64 KB URL of 8,000 names held the server's event loop 3 s before the first unknown name was refused."""
    from starlette.datastructures import ImmutableMultiDict

    reads = {"n": 0}
    real = ImmutableMultiDict.getlist

    def counted(self, key):  # noqa: ANN001, ANN202
        reads["n"] += 1
        return real(self, key)

    monkeypatch.setattr(ImmutableMultiDict, "getlist", counted)
    query = "&".join(f"p{i}=1" for i in range(8000))
    for url in ("/api/projects", f"/api/projects/{world['project']}/tasks", "/api/audit"):
        r = await client.get(f"{url}?{query}&p7999=2", headers=bearer(world["requester"]))
        assert r.status_code == 400 and r.json()["error"]["field"] == "p7999", (url, r.text)  # repeated, at the end
        r = await client.get(f"{url}?{query}", headers=bearer(world["requester"]))
        assert r.status_code == 400 and r.json()["error"]["field"] == "p0", (url, r.text)
    assert reads["n"] < 100, reads["n"]  # not one pass per name


@pytest.mark.parametrize("query", ["action=%00", "action=audit%00x", "project_id=1&action=%00"])
async def test_a_nul_in_a_free_text_query_parameter_is_a_400_on_both_databases(client, world, query):
    r = await client.get(f"/api/audit?{query}", headers=bearer(world["requester"]))
    assert r.status_code == 400, (query, r.status_code, r.text)
    assert r.json()["error"]["field"] == "action"


async def test_a_nul_in_a_console_filter_is_a_400_page_on_both_databases(client, make_user):
    from tests.conftest import sign_in_form

    _, token = await make_user("requester", "filterer", "a-long-password")
    project = await client.post("/api/projects", json={"name": "f", "task_type": "text_classification",
                                                       "labels": ["a", "b"]}, headers=bearer(token))
    await sign_in_form(client, "filterer", "a-long-password")
    for query, field in (("label=%00", "label"), ("worker=w%00", "worker"), ("label=a&worker=%00", "worker")):
        r = await client.get(f"/console/projects/{project.json()['id']}/results?{query}")
        assert r.status_code == 400 and "text/html" in r.headers["content-type"], (query, r.status_code, r.text[:300])
        assert field in r.text


async def test_lists_still_read_on_with_their_cursor(client, world):
    pid = world["project"]
    first = (await client.get(f"/api/projects/{pid}/tasks?limit=2&state=open&gold=false",
                              headers=bearer(world["requester"]))).json()
    rest = (await client.get(f"/api/projects/{pid}/tasks?limit=2&cursor={first['next']}",
                             headers=bearer(world["requester"]))).json()
    assert len(first["data"]) == 2 and len(rest["data"]) == 1 and rest["next"] is None


async def test_a_nul_username_at_sign_in_is_a_400_on_both_databases(client, db):
    page = await client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    before = await snapshot(db)
    r = await client.post("/login", data={"username": "ad\x00min", "password": "whatever-it-is", "csrf_token": csrf})
    assert r.status_code == 400 and "username" in r.text
    assert await snapshot(db) == before


async def test_idempotency_keys_and_upload_names_are_checked(client, db, world):
    url = f"/api/assignments/{world['assignment']}/submit"
    await _expect_refused(client, db, "POST", url, world["worker"], b'{"answer": {"label": "pos"}}',
                          headers={"Idempotency-Key": "k" * 201})
    r = await client.post("/api/media", files=[("file", ("a\x00.png", b"x", "image/png"))],
                          headers=bearer(world["requester"]))
    assert r.status_code == 400 and r.json()["error"]["field"] == "file", r.text


async def test_media_paths_with_nul_or_surrogates_are_404(client, world):
    for path in ("a%00b.png", "%ED%A0%80.png", "uploads/%00"):
        r = await client.get(f"/media/{path}", headers=bearer(world["worker"]))
        assert r.status_code == 404, (path, r.status_code, r.text)


# ---- bodies over the cap ----------------------------------------------------------------------------------------

SMALL_CAP = 64 * 1024


@pytest.fixture
async def capped(settings, db) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app with LABELING_MAX_BODY_BYTES at 64 KiB."""
    import dataclasses

    app = create_app(dataclasses.replace(settings, max_body_bytes=SMALL_CAP), db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


class Chunks:
    """A chunked body (no Content-Length): `head`, then `chunk` until `total` bytes; counts what was read."""

    def __init__(self, total: int, chunk: bytes, head: bytes = b"") -> None:
        self.total, self.chunk, self.head, self.sent = total, chunk, head, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.head:
            self.sent += len(self.head)
            yield self.head
        while self.sent < self.total:
            self.sent += len(self.chunk)
            yield self.chunk


def _multipart_chunks(total: int) -> tuple[Chunks, dict]:
    boundary = "hostileboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    return Chunks(total, b"\x89PNG" * 4096, head), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def test_chunked_bodies_past_the_cap_are_413_without_being_read_whole(capped, db, world):
    pid, aid = world["project"], world["assignment"]
    json_body = ("application/json", b"[" + b" " * 16383)
    form = ("application/x-www-form-urlencoded", b"username=" + b"a" * 16375)
    targets = [("POST", "/api/projects", world["requester"], json_body),
               ("PATCH", f"/api/projects/{pid}", world["requester"], json_body),
               ("POST", f"/api/projects/{pid}/tasks", world["requester"], json_body),
               ("POST", f"/api/projects/{pid}/tasks", world["requester"], ("application/x-ndjson", json_body[1])),
               ("POST", f"/api/projects/{pid}/tasks", world["requester"], None),
               ("POST", f"/api/assignments/{aid}/submit", world["worker"], json_body),
               ("POST", "/api/users", world["admin"], json_body),
               ("POST", f"/api/projects/{pid}/consensus", world["requester"], json_body),
               ("POST", "/api/media", world["requester"], None), ("POST", "/login", None, form)]
    for method, url, token, kind in targets:
        before = await snapshot(db)
        if kind is None:  # multipart: a file that never ends
            body, headers = _multipart_chunks(4 * 1024 * 1024)
        else:
            body, headers = Chunks(4 * 1024 * 1024, kind[1]), {"Content-Type": kind[0]}
        if token:
            headers = {**headers, **bearer(token)}
        r = await capped.request(method, url, content=body, headers=headers)
        assert r.status_code == 413, (method, url, kind, r.status_code, r.text[:300])
        assert body.sent <= SMALL_CAP + 2 * 16384, f"{url} read {body.sent:,} bytes of a body over the cap"
        assert await snapshot(db) == before


async def test_a_declared_length_past_the_cap_is_413_before_reading(capped, world):
    for url in ("/api/media", f"/api/projects/{world['project']}/tasks"):
        r = await capped.post(url, content=b"x" * (SMALL_CAP + 1), headers={
            **bearer(world["requester"]), "Content-Type": "multipart/form-data; boundary=x"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text


async def test_size_caps_on_options_instructions_labels_answers(client, db, world, settings):
    url = f"/api/projects/{world['project']}"
    for body, field in [({"options": {"blob": "x" * (settings.max_options_bytes + 1)}}, "options"),
                        ({"instructions": "x" * (settings.max_instructions_chars + 1)}, "instructions"),
                        ({"labels": ["pos", "neg", "neu", "x" * (settings.max_label_chars + 1)]}, "labels[3]"),
                        ({"labels": [f"l{i}" for i in range(settings.max_labels + 1)]}, "labels")]:
        error = await _expect_refused(client, db, "PATCH", url, world["requester"], json.dumps(body).encode())
        assert error["field"] == field
    submit = f"/api/assignments/{world['assignment']}/submit"
    big = {"answer": {"label": "pos", "note": "x" * settings.max_answer_bytes}}
    error = await _expect_refused(client, db, "POST", submit, world["worker"], json.dumps(big).encode())
    assert error["field"] == "answer"
    huge = json.dumps({"answer": {"label": "x" * (settings.max_answer_bytes + 100_000)}}).encode()
    await _expect_refused(client, db, "POST", submit, world["worker"], huge, status=413)
    tasks = f"/api/projects/{world['project']}/tasks"
    fat = json.dumps([{"data": {"text": "x", "blob": "y" * settings.max_task_bytes}}]).encode()
    error = await _expect_refused(client, db, "POST", tasks, world["requester"], fat)
    assert error["index"] == 0 and error["field"] == "data"


async def test_json_lines_end_at_newlines_only(client, world):
    """A JSON string may hold U+2028 or U+0085 as they are; str.splitlines would cut the line there."""
    url = f"/api/projects/{world['project']}/tasks"
    texts = ["one\u2028two", "three\x85four", "five\x1cix"]
    body = "\r\n".join(json.dumps({"data": {"text": t}}, ensure_ascii=False) for t in texts).encode()
    r = await client.post(url, content=body, headers={**bearer(world["requester"]),
                                                      "Content-Type": "application/x-ndjson"})
    assert r.status_code == 201, r.text
    page = (await client.get(f"{url}?limit=100", headers=bearer(world["requester"]))).json()["data"]
    assert [t["data"]["text"] for t in page[-3:]] == texts


async def test_project_bodies_are_capped_before_parsing(client, world, settings):
    from labeling import schemas

    blob = b'{"instructions": "' + b"x" * schemas.project_body_limit(settings) + b'"}'
    r = await client.patch(f"/api/projects/{world['project']}", content=blob, headers=bearer(world["requester"]))
    assert r.status_code == 413, r.text


async def test_every_json_body_read_on_the_event_loop_is_capped_below_the_server_wide_cap(client, db, world, settings):
    """A pool, a team, its members, an override and a password were read under LABELING_MAX_BODY_BYTES alone (256
    MiB), parsed on the event loop: one requester's body of 300,000 unknown keys (3 MB) held every request 5 s, and
    256 MB held them for minutes. Each is now capped as its kind of body needs (a list of refs, an answer), a
    body over it refused with a 413 before it is read, and nothing stored."""
    from labeling import schemas
    from labeling.api import users, work

    pid, requester = world["project"], world["requester"]
    team = (await client.post("/api/teams", json={"name": "capped"}, headers=bearer(requester))).json()["id"]
    task = (await client.get(f"/api/projects/{pid}/tasks", headers=bearer(requester))).json()["data"][0]["id"]
    user = (await client.get("/api/users/me", headers=bearer(requester))).json()["id"]
    refs, answer = schemas.REFS_BODY_BYTES, settings.max_answer_bytes + work.SUBMIT_OVERHEAD_BYTES
    for method, url, token, body, limit in [
            ("PUT", f"/api/projects/{pid}/pool", requester, b'{"all_workers": false}', 2 * refs),
            ("POST", "/api/teams", requester, b'{"name": "too big"}', refs),
            ("POST", f"/api/teams/{team}/members", requester, b'{"workers": ["hostile-worker"]}', refs),
            ("POST", f"/api/projects/{pid}/tasks/{task}/override", requester, b'{"answer": {"label": "neg"}}', answer),
            ("POST", f"/api/users/{user}/password", world["admin"], b'{"password": "a-new-password"}',
             users.USER_BODY_BYTES)]:
        assert limit < settings.max_body_bytes
        r = await client.request(method, url, content=body + b" " * limit, headers=bearer(token))
        assert r.status_code == 413 and r.json()["error"]["field"] == "body", (url, r.text)
    assert (await client.get(f"/api/projects/{pid}/pool", headers=bearer(requester))).json()["all_workers"] is True
    assert [t["name"] for t in (await client.get("/api/teams", headers=bearer(requester))).json()["data"]] == ["capped"]
    assert (await client.get(f"/api/teams/{team}/members", headers=bearer(requester))).json()["data"] == []
    detail = (await client.get(f"/api/projects/{pid}/tasks/{task}", headers=bearer(requester))).json()
    assert detail["review"] is None


def test_the_page_size_helper_is_as_strict_as_the_query_models():
    from labeling import paging
    from labeling.errors import InvalidInput

    assert paging.limit("25") == 25 and paging.limit(None) == paging.DEFAULT_LIMIT
    for raw in (" 5", "+5", "5.0", "1_0", "\u0665", "0", "1001", True):
        with pytest.raises(InvalidInput):
            paging.limit(raw)


def test_labeling_import_refuses_hostile_files_in_one_line(settings, tmp_path, monkeypatch, capsys):
    import asyncio

    from labeling import auth, cli, projects, schemas
    from labeling.db import Database

    async def make() -> None:
        db = Database(settings.resolved_database_url)

        def store(tx) -> None:
            user, _ = auth.create_user(tx, "cli-owner", "requester")
            projects.create(tx, auth.Principal(user["id"], "cli-owner", auth.Role.requester),
                            schemas.ProjectCreate(name="cli", task_type="text_classification", labels=["pos"]))

        await db.transact(store)
        await db.dispose()

    asyncio.run(make())
    monkeypatch.setenv("LABELING_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LABELING_DATABASE_URL", settings.resolved_database_url)
    good = '{"data": {"text": "fine"}}\n'
    for name, content, words in [
            ("nan.jsonl", good + '{"data": {"text": "x", "n": NaN}}\n', "line 2: data.n: NaN"),
            ("deep.jsonl", good + '{"data": {"text": "x", "m": ' + DEEP + "}}\n", "line 2: nested deeper"),
            ("nul.json", '[{"data": {"text": "a\\u0000"}}]', "tasks[0]: data.text: contains a NUL"),
            ("big.project", good, None)]:
        path = tmp_path / name
        path.write_text(content)
        ref = "99999999999999999999999" if name == "big.project" else "cli"
        code = cli.main(["import", ref, str(path)])
        err = capsys.readouterr().err
        assert code == 2 and one_line(err), (name, err)
        assert words is None or words in err, (name, err)

    async def count() -> int:
        db = Database(settings.resolved_database_url)
        async with db.read() as conn:
            found = await conn.scalar(select(func.count()).select_from(models.tasks))
        await db.dispose()
        return found

    assert asyncio.run(count()) == 0
