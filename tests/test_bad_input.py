"""Malformed input anywhere in the API is a 4xx naming the problem, never a 500, and stores nothing."""

from __future__ import annotations

import json
import random

import pytest
from sqlalchemy import func, select

from labeling import jsonio, models
from labeling.errors import InvalidInput
from tests.conftest import bearer, text_tasks

NASTY = [None, True, 0, -1, 10**30, 1.5, float("nan"), "", "x" * 300, "<script>", [], [None], {}, {"": None},
         {"data": None}, {"answer": None}, {"answer": []}, {"answer": {"label": None}}, {"answer": {"labels": "a"}},
         {"answer": {"boxes": [{"x": "1"}]}}, {"answer": {"spans": [{"start": 5, "end": 2, "label": "pos"}]}},
         {"answer": {"ranking": [["zzz"]]}}, {"name": None, "task_type": None}, {"redundancy": {"min": "2"}},
         {"labels": [1, 2]}, {"labels": "abc"}, {"lease_seconds": "10"}, {"options": []}]


def _mutations(rng: random.Random, base: dict, n: int) -> list:
    out = list(NASTY)
    keys = list(base)
    for _ in range(n):
        body = dict(base)
        key = rng.choice(keys + ["extra"])
        body[key] = rng.choice(NASTY)
        if rng.random() < 0.3 and keys:
            body.pop(rng.choice(keys), None)
        out.append(body)
    return out


def _dump(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


async def _table_counts(db) -> dict[str, int]:
    async with db.read() as conn:
        return {t.name: await conn.scalar(select(func.count()).select_from(t)) for t in models.metadata.sorted_tables}


async def test_malformed_bodies_are_4xx_and_store_nothing(client, db, admin, requester, new_project, make_user):
    rng = random.Random(1234)
    project = await new_project(tasks=text_tasks(3), redundancy=1)
    pid = project["id"]
    _, worker = await make_user("worker", "fuzz-worker")
    lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(worker))).json()
    targets = [
        ("POST", "/api/projects", requester, {"name": "n", "task_type": "text_classification", "labels": ["a"]}),
        ("PATCH", f"/api/projects/{pid}", requester, {"instructions": "x", "redundancy": 2}),
        ("POST", f"/api/projects/{pid}/tasks", requester, {"data": {"text": "x"}, "gold": {"label": "pos"}}),
        ("POST", f"/api/assignments/{lease['assignment_id']}/submit", worker, {"answer": {"label": "pos"}}),
        ("POST", "/api/users", admin, {"username": "u", "role": "worker"}),
    ]
    before = await _table_counts(db)
    stored: dict[str, int] = {}
    for method, url, token, base in targets:
        for body in _mutations(rng, base, 60):
            payload = [body] if url.endswith("/tasks") and rng.random() < 0.5 else body
            headers = bearer(token) if token else {}
            r = await client.request(method, url, content=_dump(payload), headers=headers)
            assert r.status_code < 500, (method, url, payload, r.text)
            if r.status_code >= 400:
                error = r.json()["error"]
                assert error["code"] and error["message"]
            else:  # a mutation that is still valid input: count what it may store
                stored[url] = stored.get(url, 0) + 1
        for raw in (b"", b"{", b"\xff\xfe", b"[1,2", b"null", b'"str"', b"1e999999"):
            r = await client.request(method, url, content=raw, headers=bearer(token) if token else {})
            assert 400 <= r.status_code < 500, (url, raw, r.status_code, r.text)
    after = await _table_counts(db)
    changed = {name for name in after if after[name] != before[name]}
    # Only a body that was accepted may have stored anything: a project, tasks, a user, or the one answer.
    allowed = {"audit_log"} if stored else set()  # an accepted requester or admin action is audited
    for url, n in stored.items():
        if url == "/api/projects":
            allowed |= {"projects", "project_counters"}
        elif url.endswith("/tasks"):
            allowed |= {"tasks", "project_counters"}
        elif url == "/api/users":
            allowed |= {"users"}
        elif url.endswith("/submit"):
            allowed |= {"annotations", "assignments", "tasks", "task_results", "project_counters", "project_workers"}
        else:
            allowed |= {"projects", "tasks"}
    assert changed <= allowed, (changed - allowed, stored)
    assert after["annotations"] - before["annotations"] <= 1, "one lease: at most one answer"
    created_projects = after["projects"] - before["projects"]
    assert created_projects == stored.get("/api/projects", 0), "every accepted create made one project, no other"


async def test_wrong_path_parameters_and_methods(client, requester):
    for url in ("/api/projects/99999", "/api/projects/-1", "/api/projects/1.5", "/api/projects/%00"):
        r = await client.get(url, headers=bearer(requester))
        assert r.status_code == 404, (url, r.text)
    for url in ("/api/assignments/abc/submit", "/api/projects/x/next"):
        r = await client.post(url, json={}, headers=bearer(requester))
        assert r.status_code in (400, 404), (url, r.text)


async def test_a_repeated_key_in_a_body_is_a_400_naming_it_and_stores_nothing(client, db, requester, new_project,
                                                                              make_user):
    project = await new_project(tasks=text_tasks(2), redundancy=1)
    _, worker = await make_user("worker", "twice-worker")
    lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))).json()
    before = await _table_counts(db)
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", headers=bearer(worker),
                          content=b'{"answer": {"label": "pos", "label": "neg"}}')
    assert r.status_code == 400 and r.json()["error"]["field"] == "answer.label"
    assert "'label'" in r.json()["error"]["message"]
    r = await client.post(f"/api/projects/{project['id']}/tasks", headers=bearer(requester),
                          content=b'{"data": {"text": "a"}}\n{"data": {"text": "b"}, "data": {"text": "c"}}\n')
    assert r.status_code == 400 and r.json()["error"]["field"] == "data" and "line 2" in r.json()["error"]["message"]
    assert await _table_counts(db) == before


async def test_a_project_or_team_named_with_white_space_alone_is_a_400_and_changes_nothing(client, db, requester,
                                                                                            new_project):
    """A name of spaces was stored: an invisible link in the console's list, a name no one could type back; an empty
    one (the console's form trims) was refused in pydantic's words ("String should have at least 1 character")."""
    project = await new_project(tasks=text_tasks(1))
    before = await _table_counts(db)
    for method, url, body in [
        ("POST", "/api/projects", {"name": "   ", "task_type": "text_classification", "labels": ["a"]}),
        ("POST", "/api/projects", {"name": "\t\u3000\n", "task_type": "text_classification", "labels": ["a"]}),
        ("PATCH", f"/api/projects/{project['id']}", {"name": " "}),
        ("PATCH", f"/api/projects/{project['id']}", {"name": ""}),  # as the console's form sends it, trimmed
        ("POST", "/api/teams", {"name": ""}),
        ("POST", "/api/teams", {"name": "  "}),
    ]:
        r = await client.request(method, url, json=body, headers=bearer(requester))
        assert r.status_code == 400, (url, body, r.text)
        assert r.json()["error"] == {"code": "invalid", "message": "name: must not be blank", "field": "name"}
    assert await _table_counts(db) == before
    r = await client.get(f"/api/projects/{project['id']}", headers=bearer(requester))
    assert r.json()["name"] == project["name"]


async def _every_write(client, requester: str, worker: str, admin: str, project: dict, make_user) -> list:
    """(method, url, tokens to try, op) of every write of the API, its path filled with real ids of these users."""
    from labeling import api

    pid = project["id"]
    lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(worker))).json()
    done = (await client.post(f"/api/assignments/{lease['assignment_id']}/submit", headers=bearer(worker),
                              json={"answer": {"label": "pos"}})).json()
    held = (await client.post(f"/api/projects/{pid}/next", headers=bearer(worker))).json()
    me = (await client.get("/api/users/me", headers=bearer(worker))).json()
    team = (await client.post("/api/teams", json={"name": "t"}, headers=bearer(requester))).json()
    ids = {"project_id": pid, "task_id": done["task_id"], "assignment_id": held["assignment_id"],
           "annotation_id": done["annotation_id"], "team_id": team["id"], "user_id": me["id"], "worker_id": me["id"]}
    return [(op.method, op.path.format(**ids), (requester, worker, admin), op)
            for op in api.OPS if op.method in ("POST", "PUT", "PATCH", "DELETE")]


async def test_every_write_without_a_body_refuses_a_field_sent_anyway(client, db, admin, requester, new_project,
                                                                      make_user):
    """Every body's unknown field is a 400 naming it (schemas.parse); a write that takes no body (release, renew,
    next, accept...) ignored one, so a misplaced option (`{"lease_seconds": 60}` to renew) passed unnoticed."""
    project = await new_project(tasks=text_tasks(3), redundancy=1)
    _, worker = await make_user("worker", "nobody-worker")
    writes = [w for w in await _every_write(client, requester, worker, admin, project, make_user) if w[3].body is None]
    assert len(writes) >= 10
    before = await _table_counts(db)
    for method, url, tokens, _ in writes:
        for token in tokens:
            r = await client.request(method, url, json={"lease_seconds": 60}, headers=bearer(token))
            if r.status_code not in (401, 403):
                break
        assert r.status_code == 400, (method, url, r.status_code, r.text)
        assert r.json()["error"]["field"] == "lease_seconds" and "not a known field" in r.json()["error"]["message"]
        r = await client.request(method, url, content=b"[1]", headers=bearer(token))
        assert r.status_code == 400 and r.json()["error"]["field"] == "body", (method, url, r.text)
    assert await _table_counts(db) == before
    held = next(url for _, url, _, _ in writes if url.endswith("/renew"))
    for body in ({"json": {}}, {"content": b" "}, {}):  # nothing, blank or {}: as before
        r = await client.post(held, headers=bearer(worker), **body)
        assert r.status_code == 200, (body, r.text)


async def test_a_body_of_a_type_the_write_does_not_read_is_a_415_naming_what_it_reads(client, db, admin, requester,
                                                                                       new_project, make_user):
    """CSV posted to the tasks import was "not valid JSON"; JSON posted to the upload was "the upload has no files"."""
    project = await new_project(tasks=text_tasks(3), redundancy=1)
    _, worker = await make_user("worker", "typed-worker")
    writes = await _every_write(client, requester, worker, admin, project, make_user)
    before = await _table_counts(db)
    for method, url, tokens, op in writes:
        for kind in ("text/csv", "application/xml"):
            for token in tokens:
                r = await client.request(method, url, content=b"a,b\n1,2\n", headers={**bearer(token),
                                                                                     "Content-Type": kind})
                if r.status_code not in (401, 403):
                    break
            assert r.status_code == 415, (method, url, kind, r.status_code, r.text)
            error = r.json()["error"]
            assert error["code"] == "unsupported_media_type" and error["field"] == "Content-Type", error
            assert kind in error["message"]
            if url.endswith(f"/projects/{project['id']}/tasks") and method == "POST":
                assert all(t in error["message"] for t in ("application/json", "application/x-ndjson",
                                                          "multipart/form-data")), error
            elif url.endswith("/api/media"):
                assert "multipart/form-data" in error["message"], error
            else:
                assert "application/json" in error["message"], error
    assert await _table_counts(db) == before
    # What curl -d sends (a form's type), +json types and no type at all are still read as JSON.
    tasks_url = f"/api/projects/{project['id']}/tasks"
    for kind in ("application/x-www-form-urlencoded", "application/vnd.api+json", "text/plain", None):
        headers = {**bearer(requester), **({"Content-Type": kind} if kind else {})}
        r = await client.post(tasks_url, content=b'[{"data": {"text": "typed"}}]', headers=headers)
        assert r.status_code == 201, (kind, r.text)
    r = await client.post(tasks_url, content=b'{"data": {"text": "lines"}}\n', headers={
        **bearer(requester), "Content-Type": "application/jsonl"})
    assert r.status_code == 201, r.text


async def test_a_form_field_that_is_no_file_is_refused_by_name_and_stores_nothing(client, db, requester, new_project):
    """A multipart import or upload took `-F priority=5` (or any text field) and said nothing of it: the tasks were
    stored without what the field meant to say."""
    project = await new_project()
    lines = b'{"data": {"text": "a"}}\n'
    before = await _table_counts(db)
    for url in (f"/api/projects/{project['id']}/tasks", "/api/media"):
        r = await client.post(url, data={"priority": "5"}, files=[("file", ("t.jsonl", lines, "application/x-ndjson"))],
                              headers=bearer(requester))
        assert r.status_code == 400 and r.json()["error"]["field"] == "priority", (url, r.text)
        assert "priority: is not a known field" in r.json()["error"]["message"]
    assert await _table_counts(db) == before
    r = await client.post(f"/api/projects/{project['id']}/tasks", files=[("file", ("t.jsonl", lines, "x/y"))],
                          headers=bearer(requester))
    assert r.status_code == 201 and r.json() == {"created": 1}, r.text


@pytest.mark.parametrize("method, url, body, field, message", [
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["a"],
                               "redundancy": {"min": 1, "max": 3, "target_confidence": 2}},
     "redundancy.target_confidence", "must be at most 1"),
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["a"],
                               "redundancy": {"min": 1, "max": 3, "target_confidence": 0}},
     "redundancy.target_confidence", "must be more than 0"),
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["a"],
                               "redundancy": {"min": 6, "max": 5, "target_confidence": 0.9}},
     "redundancy", "max must be at least min"),  # the object's own check, not the whole-number branch's words
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["a"], "redundancy": "3"},
     "redundancy", "must be a whole number"),
    *[("POST", "/api/projects",
       {"name": "p", "task_type": "text_classification", "labels": ["a"], "edit_window": value},
       "edit_window", "must be 'until_final', 'off' or a whole number of minutes from 1 to 10,080")
      for value in ("sometimes", 1.5, 0, 10_081)],
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["a"], "lease_seconds": "x"},
     "lease_seconds", "must be a whole number"),
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["a"], "redundancy": 101},
     "redundancy", "must be at most 100"),
    ("POST", "/api/projects", {"name": "p" * 201, "task_type": "text_classification", "labels": ["a"]},
     "name", "must be at most 200 characters long"),
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["a"], "gold_fraction": "1"},
     "gold_fraction", "must be a number"),
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["a"], "status": "gone"},
     "status", "must be 'active', 'paused' or 'archived'"),
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": "a"},
     "labels", "must be a list"),
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["a", "b", " a"]},
     "labels[2]", "'a' repeats labels[0] (spaces around a label are not part of it)"),
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["a", {"name": "b"}, "b"]},
     "labels[2]", "'b' repeats labels[1] (spaces around a label are not part of it)"),
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification",
                               "labels": ["caf\u00e9", "x", "cafe\u0301"]},
     "labels[2]", "'cafe\u0301' looks the same as labels[0] (the same letters, composed or not, with invisible "
                  "characters or spaces between them)"),
    # Labels a worker cannot tell apart, or that break what shows or exports them, were stored as they came.
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["cat", "cat\u200b"]},
     "labels[1]", "'cat\\u200b' looks the same as labels[0] (the same letters, composed or not, with invisible "
                  "characters or spaces between them)"),
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["cat", "cat\ufe0f"]},
     "labels[1]", "'cat\ufe0f' looks the same as labels[0] (the same letters, composed or not, with invisible "
                  "characters or spaces between them)"),
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["a", "\u3164"]},
     "labels[1]", "'\u3164' has no visible character"),
    ("POST", "/api/projects", {"name": "p", "task_type": "named_entities", "labels": ["NEW YORK", "NEW  YORK"]},
     "labels[1]", "'NEW  YORK' looks the same as labels[0] (the same letters, composed or not, with invisible "
                  "characters or spaces between them)"),
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["a", "\u200b\u2060"]},
     "labels[1]", "'\\u200b\\u2060' has no visible character"),
    ("POST", "/api/projects", {"name": "p", "task_type": "named_entities", "labels": ["PER\tSON"]},
     "labels[0]", "'PER\\tSON' holds a control character (U+0009); a label is one line of text"),
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["ok", "line\nbreak"]},
     "labels[1]", "'line\\nbreak' holds a control character (U+000A); a label is one line of text"),
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["a\u202eb"]},
     "labels[0]", "'a\\u202eb' holds a bidirectional control character (U+202E), which turns the text around it"),
    ("POST", "/api/projects", {"name": "p", "task_type": "text_classification", "labels": ["a", "  "]},
     "labels[1]", "must be 1-100 characters (LABELING_MAX_LABEL_CHARS)"),
    ("POST", "/api/teams", {"name": "t", "members": "x"}, "members", "must be a list"),
    ("GET", "/api/projects?limit=0", None, "limit", "must be at least 1"),
    ("GET", "/api/projects?limit=x", None, "limit", "must be a whole number written in digits"),
])
async def test_field_errors_are_plain_words_naming_the_field(client, requester, method, url, body, field, message):
    r = await client.request(method, url, json=body, headers=bearer(requester))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["field"] == field and error["message"] == f"{field}: {message}", error


def test_every_pydantic_error_kind_reads_as_plain_words():
    from pydantic import BaseModel, ConfigDict, Field, ValidationError

    from labeling import schemas

    class Model(BaseModel):
        model_config = ConfigDict(strict=True, extra="forbid")
        n: int = Field(ge=0, le=1)
        x: float = Field(gt=0, lt=1, multiple_of=0.25)
        b: bool
        s: str = Field(min_length=2, max_length=3)
        items: list[int] = Field(min_length=1, max_length=2)
        d: dict = Field(min_length=1)

    bodies = [{"n": 5, "x": 0, "b": 1, "s": "", "items": [], "d": {}},
              {"n": -1, "x": 2, "b": "t", "s": "abcd", "items": [1, 2, 3], "d": [], "z": 1},
              {"n": 1.5, "x": 0.3, "s": 3, "items": "x"}]
    said = []
    for body in bodies:
        with pytest.raises(ValidationError) as caught:
            Model.model_validate(body)
        said += [schemas.words(e) for e in caught.value.errors()]
    assert all(w.startswith(("must ", "is ")) and "should" not in w and "Input" not in w for w in said), said
    assert {"must be at most 1", "must be at least 0", "must be more than 0", "must be less than 1",
            "must be a multiple of 0.25", "must be true or false", "must be at least 2 characters long",
            "must be at most 3 characters long", "must have at least 1 item", "must have at most 2 items",
            "must be an object", "is not a known field", "is required", "must be a whole number",
            "must be text (a string)", "must be a list", "must have at least 1 entry"} <= set(said), said


@pytest.mark.parametrize("model,body,nested", [
    ("PoolUpdate", {"all_workers": True}, None),
    ("TeamMembers", {"workers": [1]}, None),
    ("ProjectUpdate", {"labels": [{"name": "a"}]}, ("labels", 0)),
    ("ProjectUpdate", {"redundancy": {"min": 1, "max": 2, "target_confidence": 0.9}}, ("redundancy",)),
])
def test_a_body_of_unknown_keys_builds_one_error_not_one_a_key(model, body, nested):
    """pydantic reported every unknown key, and parse built the API's error from that whole list
    (ValidationError.errors(), some microseconds an error): a 1 MB body of keys took 1.4 s to answer 400, with a
    pool's 20 MiB cap half a minute. Now the first unknown key alone is an error: the work is one error whatever
    the number of keys (counted, not timed), and the answer still names that key, after any known field's own."""
    from pydantic import ValidationError

    from labeling import schemas
    keys = {f"k{i:05d}": 1 for i in range(10_000)}
    sent = json.loads(json.dumps(body))
    target = sent
    for part in nested or ():
        target = target[part]
    target.update(keys)
    with pytest.raises(ValidationError) as caught:
        getattr(schemas, model).model_validate(sent)
    assert caught.value.error_count() <= 2, caught.value.error_count()  # a union's other branch may add one
    with pytest.raises(InvalidInput) as refused:
        schemas.parse(getattr(schemas, model), sent)
    where = jsonio.format_path([*(nested or ()), "k00000"])
    assert refused.value.field == where and str(refused.value) == f"{where}: is not a known field"
    # A known field's own error is still the one said first, as pydantic orders them.
    if nested is None:
        name = next(iter(body))
        with pytest.raises(InvalidInput) as refused:
            schemas.parse(getattr(schemas, model), {"zz": 1, name: "wrong", **keys})
        assert refused.value.field.startswith(name), str(refused.value)


async def test_a_body_with_several_wrong_fields_names_each_of_them(client, db, admin):
    """The error names the first wrong field, as always, and lists every wrong one (`errors`, in the model's field
    order) so that a form shows each beside its input at once; a body with one wrong field has no list."""
    before = await _table_counts(db)
    r = await client.post("/api/users", json={"username": "no spaces", "role": "boss", "password": "short"},
                          headers=bearer(admin))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["field"] == "username" and error["message"].startswith("username: ")
    assert [e["field"] for e in error["errors"]] == ["username", "role", "password"]
    assert error["errors"][0]["message"] == error["message"]
    assert error["errors"][2]["message"] == "password: must be at least 8 characters long"
    r = await client.post("/api/users", json={"username": "fine", "role": "worker", "password": "short"},
                          headers=bearer(admin))
    assert r.status_code == 400 and "errors" not in r.json()["error"], r.text
    assert await _table_counts(db) == before


async def test_an_unknown_field_is_listed_beside_the_other_wrong_fields(client, db, admin):
    """A misspelt field name (`pasword`) beside another wrong field was left out of `errors`: the list named the
    username alone (no list at all), not the unknown key, so the next try met it.
    The unknown key is now listed too, after the known fields' own errors (the first error is still theirs); a
    known field's own error in a nested object still comes before an unknown key beside it."""
    from labeling import schemas
    before = await _table_counts(db)
    r = await client.post("/api/users", json={"username": "no spaces", "role": "worker", "pasword": "long enough"},
                          headers=bearer(admin))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["field"] == "username", error
    assert [e["field"] for e in error["errors"]] == ["username", "pasword"], error
    assert error["errors"][1]["message"] == "pasword: is not a known field"
    assert await _table_counts(db) == before
    body = {"name": "n", "task_type": "text_classification", "labels": ["a"],
            "redundancy": {"min": 2, "max": 3, "target_confidence": "x", "zz": 1}}
    with pytest.raises(InvalidInput) as refused:
        schemas.parse(schemas.ProjectCreate, body)
    assert str(refused.value) == "redundancy.target_confidence: must be a number"
