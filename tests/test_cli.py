"""The `labeling` command: users, import, consensus, one-line errors, and `serve --demo` end to end."""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import one_line

from labeling import cli, settings as settings_mod

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(monkeypatch, settings):
    monkeypatch.setenv("LABELING_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LABELING_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.delenv("LABELING_ADMIN_TOKEN", raising=False)
    return {**os.environ}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the CLI; stderr without the line that says where the data directory is (checked once, below)."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, "".join(line for line in err.splitlines(keepends=True)
                              if not line.startswith("labeling: data directory "))


def test_users_add_prints_a_working_token(env, capsys):
    code, out, _ = run(capsys, "users", "add", "alice", "--role", "requester")
    assert code == 0 and "requester alice" in out
    token = re.search(r"(lbl_\S+)", out).group(1)
    code, _, err = run(capsys, "users", "add", "alice", "--role", "worker")
    assert code == 2 and err.strip() == "labeling: error: a user named 'alice' already exists"
    assert token


def test_users_add_rejects_bad_input_in_one_line(env, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["users", "add", "bob", "--role", "boss"])
    assert exc.value.code == 2 and "invalid choice: 'boss'" in capsys.readouterr().err
    code, _, err = run(capsys, "users", "add", "bad name!", "--role", "worker")
    assert code == 2 and one_line(err) and "username" in err
    # A regex's $ matches before a final line break: "bob\n" was created as an account beside "bob".
    code, out, err = run(capsys, "users", "add", "bob\n", "--role", "requester")
    assert code == 2 and not out and one_line(err) and "username" in err
    # The API takes passwords of 8 to 1,000 characters; the command took any length above 8. Said naming the flag
    # (it said the API's field: "password must be ...").
    for password in ("short", "x" * 1001):
        code, out, err = run(capsys, "users", "add", "carol", "--role", "worker", "--password", password)
        assert code == 2 and not out and one_line(err) and "error: --password must be 8 to 1,000 characters" in err
    code, out, _ = run(capsys, "users", "add", "carol", "--role", "worker", "--password", "y" * 1000)
    assert code == 0 and "worker carol" in out


def test_users_add_refuses_a_password_no_api_call_could_give(env, capsys, monkeypatch):
    """A byte that is not UTF-8 (read from an argument or standard input as a lone surrogate) was a UnicodeEncodeError
    from the hash, exit status 1; a NUL made a password no sign-in form can send. The API refuses both."""
    import io

    for password, words in (("abcdefgh\udcff", "lone surrogate"), ("abc\x00defghij", "NUL character")):
        code, out, err = run(capsys, "users", "add", "dave", "--role", "worker", "--password", password)
        assert code == 2 and not out and one_line(err) and f"error: --password contains a {words}" in err, err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xff\xfeabcdefgh\n"), encoding="utf-8"))
    code, out, err = run(capsys, "users", "add", "dave", "--role", "worker", "--password", "-")
    assert code == 2 and not out and one_line(err) and "error: --password -: standard input must be UTF-8" in err, err
    assert _count_rows(env, "users", "count(*)") == 0


@pytest.mark.parametrize("flag, value, says", [
    ("--port", "99999", "the port must be from 1 to 65535, got 99999"),
    ("--port", "-1", "the port must be from 1 to 65535, got -1"),
    ("--port", "http", "the port must be a whole number, got 'http'"),
    ("--workers", "0", "the number of server processes must be from 1 to 1024, got 0"),
    ("--workers", "-3", "the number of server processes must be from 1 to 1024, got -3"),
])
def test_serve_refuses_a_port_or_process_count_it_cannot_use_before_touching_the_database(
        flag, value, says, env, capsys, monkeypatch, tmp_path):
    """`serve --port 99999` or `--workers 0` once started a server (migrating first); now a usage error."""
    monkeypatch.setenv("LABELING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LABELING_DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'x.db'}")
    import uvicorn

    def started(*args, **kwargs):
        raise AssertionError("the server was started")

    monkeypatch.setattr(uvicorn, "run", started)
    with pytest.raises(SystemExit) as exc:
        cli.main(["serve", flag, value])
    assert exc.value.code == 2 and says in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def _project(env, capsys, tmp_path) -> str:
    from labeling import auth, projects, schemas
    from labeling.db import Database
    import asyncio

    async def make() -> None:
        db = Database(env["LABELING_DATABASE_URL"])

        def store(tx) -> None:
            user, _ = auth.create_user(tx, "owner", "requester")
            projects.create(tx, auth.Principal(user["id"], "owner", auth.Role.requester),
                            schemas.ProjectCreate(name="reviews", task_type="text_classification", labels=["pos", "neg"]))

        await db.transact(store)
        await db.dispose()

    asyncio.run(make())
    return "reviews"


def test_import_file_and_errors(env, capsys, tmp_path):
    name = _project(env, capsys, tmp_path)
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(json.dumps({"data": {"text": f"t{i}"}}) for i in range(7)))
    code, out, _ = run(capsys, "import", name, str(good))
    assert code == 0 and "imported 7 tasks" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"data": {"text": "ok"}}\n{"data": {"text": "x"}, "gold": {"label": "meh"}}\n')
    code, _, err = run(capsys, "import", name, str(bad))
    assert code == 2 and "line 2" in err and one_line(err)
    code, _, err = run(capsys, "import", "no-such-project", str(good))
    assert code == 2 and "no-such-project" in err
    code, _, err = run(capsys, "import", name, str(tmp_path / "missing.jsonl"))
    assert code == 2 and "missing.jsonl" in err
    array = tmp_path / "array.json"
    array.write_text(json.dumps([{"data": {"text": "a"}}, {"data": {"text": "b"}}]))
    assert run(capsys, "import", name, str(array))[0] == 0
    code, out, _ = run(capsys, "consensus", name)
    assert code == 0 and json.loads(out)["tasks"] == 0


def test_every_setting_is_documented_in_the_readme():
    readme = (REPO / "README.md").read_text()
    for name in (d.env for d in settings_mod.DECLARED):
        assert name in readme, f"{name} is not in the README"


def _options(parser: argparse.ArgumentParser, command: str = "labeling") -> list[tuple[str, str]]:
    """(command, --flag) of every option of a parser and its subcommands, --help left out."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                out += _options(child, f"{command} {name}")
        out += [(command, flag) for flag in action.option_strings if flag.startswith("--") and flag != "--help"]
    return out


def test_every_cli_option_is_documented_in_the_readme():
    readme = (REPO / "README.md").read_text()
    missing = sorted({(command, flag) for command, flag in _options(cli.parser()) if flag not in readme})
    assert not missing, f"options the README does not name: {missing}"


def test_serve_help_gives_the_defaults_the_readme_names(capsys):
    readme = (REPO / "README.md").read_text()
    assert "labeling serve [--host 127.0.0.1] [--port 8000]" in readme
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["serve", "--help"])
    words = " ".join(capsys.readouterr().out.split())
    for default in ("(default 127.0.0.1)", "(default 8000)", "(default 1)", "(default info)"):
        assert default in words, default


def test_settings_from_env_and_bad_values():
    from labeling.errors import InvalidInput
    from labeling.settings import Settings

    s = Settings.from_env({"LABELING_DATA_DIR": "/x", "LABELING_MAX_LEASES_PER_WORKER": "3"})
    assert str(s.data_dir) == "/x" and s.max_leases_per_worker == 3
    assert s.resolved_database_url == "sqlite:////x/labeling.db"
    with pytest.raises(InvalidInput) as exc:
        Settings.from_env({"LABELING_MAX_BODY_BYTES": "lots"})
    assert exc.value.field == "LABELING_MAX_BODY_BYTES"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_demo_end_to_end(env, tmp_path):
    """The README's first command: serve the demo, then use the printed token over HTTP."""
    port = _free_port()
    url = env.pop("LABELING_DATABASE_URL")  # given as --database instead
    proc = subprocess.Popen([sys.executable, "-m", "labeling.cli", "serve", "--demo", "--port", str(port),
                             "--database", url, "--no-access-log"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Serving on"):
                break
        output = "".join(lines)
        token = re.search(r"Requester token: (\S+)", output).group(1)
        requester_password = re.search(r"Requester login: demo-requester / (\S+)", output).group(1)
        worker_token = re.search(r"Worker token: +(\S+)", output).group(1)
        assert re.search(r"Worker login: +demo-worker / \S+", output), output
        assert "admin account" in output and re.search(r"Seeded \d+ answers", output), output
        logins = Path(env["LABELING_DATA_DIR"]) / "demo-logins.env"
        assert f". {logins.resolve()}" in output and oct(logins.stat().st_mode & 0o777) == "0o600"
        variables = dict(line.split("#")[0].strip().split("=", 1) for line in logins.read_text().splitlines()
                         if line and not line.startswith("#"))
        assert variables["TOKEN"] == token and variables["WORKER"] == worker_token
        assert variables["API"] == f"http://127.0.0.1:{port}/api" and variables["ADMIN"].startswith("lbl_")
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}"}
        listed = httpx.get(f"{base}/api/projects", headers=headers).json()["data"]
        assert len(listed) == 8 and {p["task_type"] for p in listed} >= {"bounding_box", "preference_ranking"}
        r = httpx.post(f"{base}/api/projects", headers=headers,
                       json={"name": "from readme", "task_type": "text_classification", "labels": ["a", "b"]})
        assert r.status_code == 201, r.text
        r = httpx.post(f"{base}/api/projects/{r.json()['id']}/tasks", headers=headers,
                       json=[{"data": {"text": "hello"}}, {"data": {"text": "world"}}])
        assert r.status_code == 201 and r.json() == {"created": 2}
        image_project = [p for p in listed if p["task_type"] == "image_classification"][0]
        task = httpx.get(f"{base}/api/projects/{image_project['id']}/tasks", headers=headers).json()["data"][0]
        image = httpx.get(f"{base}/media/{task['data']['image']}", headers=headers)
        assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
        assert httpx.get(f"{base}/api/projects/{image_project['id']}/results", headers=headers).json()["data"]
        with httpx.Client(base_url=base) as browser:
            form = browser.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            signed_in = browser.post("/login", data={"csrf_token": csrf, "username": "demo-requester",
                                                     "password": requester_password, "next": "/"})
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_file_import_is_one_transaction_reading_the_file_once(env, capsys, tmp_path, monkeypatch):
    from labeling import queue
    from labeling import tasks as tasks_mod

    monkeypatch.setattr(queue, "INSERT_CHUNK", 7)  # stored in several statements before the bad line is read
    monkeypatch.setattr(tasks_mod, "ID_CHECK_CHUNK", 5)
    monkeypatch.setattr(tasks_mod, "MAX_TASKS_PER_IMPORT", 10)  # the per-request limit does not apply to files
    reads = []
    real_items = tasks_mod.file_items
    monkeypatch.setattr(tasks_mod, "file_items", lambda path: reads.append(path) or real_items(path))
    name = _project(env, capsys, tmp_path)
    bad = tmp_path / "late-bad.jsonl"
    bad.write_text("\n".join([json.dumps({"data": {"text": f"t{i}"}}) for i in range(30)] + ['{"data": {}}']))
    code, _, err = run(capsys, "import", name, str(bad))
    assert code == 2 and "line 31" in err
    assert len(reads) == 1
    assert _count_rows(env, "tasks") == 0 and _count_rows(env, "project_counters", "sum(n_tasks)") == 0
    good = tmp_path / "big.jsonl"
    good.write_text("\n".join(json.dumps({"data": {"text": f"t{i}"}, "external_id": f"e{i}"}) for i in range(30)))
    code, out, _ = run(capsys, "import", name, str(good))
    assert code == 0 and "imported 30 tasks" in out, out
    assert len(reads) == 2 and _count_rows(env, "tasks") == 30
    code, _, err = run(capsys, "import", name, str(good))
    assert code == 2 and "already in the project" in err and "line 1" in err
    code, out, _ = run(capsys, "consensus", name)
    assert code == 0


def _count_rows(env, table: str, what: str = "count(*)") -> int:
    from sqlalchemy import text

    from labeling.db import Database
    import asyncio

    async def count() -> int:
        db = Database(env["LABELING_DATABASE_URL"])
        async with db.read() as conn:
            value = await conn.scalar(text(f"SELECT {what} FROM {table}"))
        await db.dispose()
        return int(value or 0)

    return asyncio.run(count())


def test_every_command_says_where_its_data_is_and_refuses_a_new_empty_database(env, capsys, tmp_path, monkeypatch):
    code = cli.main(["users", "add", "carol", "--role", "worker"])
    err = capsys.readouterr().err
    assert code == 0 and f"labeling: data directory {Path(env['LABELING_DATA_DIR']).resolve()}" in err
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("LABELING_DATA_DIR", str(elsewhere))
    monkeypatch.delenv("LABELING_DATABASE_URL")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "users", "add", "dave", "--role", "worker")
    assert code == 2 and one_line(err) and "no labeling database at" in err and "--new-database" in err
    assert not (elsewhere / "labeling.db").exists(), "nothing made"
    code, out, _ = run(capsys, "--new-database", "users", "add", "dave", "--role", "worker")
    assert code == 0 and "worker dave" in out and (elsewhere / "labeling.db").is_file()
    monkeypatch.setenv("LABELING_DATA_DIR", "relative-data")
    code, _, err = run(capsys, "migrate")
    assert code == 0 and (tmp_path / "relative-data" / "labeling.db").is_file()


@pytest.mark.parametrize("argv", [
    ["import", "p", "tasks.jsonl"], ["consensus", "p"], ["users", "add", "erin", "--role", "worker"],
    ["export", "p", "--format", "jsonl", "-o", "out.jsonl"], ["export", "--all", "--format", "dump", "-o", "all.jsonl"],
    ["backup", "copy.bak"]])
def test_each_command_prints_its_absolute_data_directory_and_makes_no_database(argv, env, capsys, tmp_path,
                                                                             monkeypatch):
    work = tmp_path / "another-folder"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "tasks.jsonl").write_text('{"data": {"text": "a"}}\n')
    monkeypatch.delenv("LABELING_DATA_DIR")  # the default, ./labeling-data
    monkeypatch.delenv("LABELING_DATABASE_URL")
    code = cli.main(argv)
    err = capsys.readouterr().err
    data_dir = work / "labeling-data"
    assert code == 2 and f"labeling: data directory {data_dir} (database {data_dir / 'labeling.db'})" in err, err
    assert "no labeling database at" in err or "no SQLite database at" in err, err
    assert sorted(p.name for p in work.iterdir()) == ["tasks.jsonl"], "nothing made"


def test_new_database_may_follow_the_command_and_aggregate_needs_no_database(env, capsys, tmp_path, monkeypatch):
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LABELING_DATA_DIR", "fresh")
    monkeypatch.delenv("LABELING_DATABASE_URL")
    code = cli.main(["users", "add", "erin", "--role", "worker", "--new-database"])
    out, err = capsys.readouterr()
    assert code == 0 and "worker erin" in out and (tmp_path / "fresh" / "labeling.db").is_file()
    assert f"labeling: data directory {tmp_path / 'fresh'}" in err
    answers = tmp_path / "answers.csv"
    answers.write_text("task,worker,label\n1,a,x\n1,b,x\n")
    code = cli.main(["aggregate", "classification", str(answers), "-o", str(tmp_path / "out.csv")])
    assert code == 0 and "data directory" not in capsys.readouterr().err
    monkeypatch.setenv("LABELING_DATABASE_URL", "sqlite:///relative.db")
    code = cli.main(["migrate"])
    assert code == 0 and f"(database {tmp_path / 'relative.db'})" in capsys.readouterr().err
    assert (tmp_path / "relative.db").is_file()


def test_an_archived_project_takes_no_import_and_no_recompute_from_the_cli(env, capsys, tmp_path):
    from sqlalchemy import text

    from labeling.db import Database
    import asyncio

    name = _project(env, capsys, tmp_path)

    async def archive() -> None:
        db = Database(env["LABELING_DATABASE_URL"])
        async with db.engine.begin() as conn:
            await conn.execute(text("UPDATE projects SET status = 2 WHERE name = :n"), {"n": name})
        await db.dispose()

    asyncio.run(archive())
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"data": {"text": "late"}}) + "\n")
    for argv in (("import", name, str(good)), ("consensus", name)):
        code, out, err = run(capsys, *argv)
        assert code == 2 and one_line(err) and "set its status back to active or paused first" in err, (argv, err)
    assert _count_rows(env, "tasks") == 0


def test_import_reads_gzip_and_arrays_whatever_the_file_is_called(env, capsys, tmp_path):
    import gzip

    name = _project(env, capsys, tmp_path)
    lines = b"".join(json.dumps({"data": {"text": f"t{i}"}}).encode() + b"\n" for i in range(200))
    (tmp_path / "tasks.jsonl.gz").write_bytes(gzip.compress(lines))
    (tmp_path / "packed.jsonl").write_bytes(gzip.compress(lines[:100]))  # gzip under a plain name
    (tmp_path / "TASKS.JSON").write_text('[\n  {"data": {"text": "a"}}\n]\n')  # upper-case .json
    (tmp_path / "pretty.jsonl").write_text('\ufeff\n[\n  {"data": {"text": "b"}},\n  {"data": {"text": "c"}}\n]\n')
    (tmp_path / "array.json.gz").write_bytes(gzip.compress(b'[{"data": {"text": "d"}}]'))
    expected = {"tasks.jsonl.gz": 200, "packed.jsonl": lines[:100].count(b"\n"), "TASKS.JSON": 1,
                "pretty.jsonl": 2, "array.json.gz": 1}
    for file, n in expected.items():
        code, out, err = run(capsys, "import", name, str(tmp_path / file))
        assert code == 0 and f"imported {n} tasks" in out, (file, err)
    assert _count_rows(env, "tasks") == sum(expected.values())


def test_a_damaged_gzip_or_a_table_is_one_line_and_stores_nothing(env, capsys, tmp_path):
    import gzip

    name = _project(env, capsys, tmp_path)
    packed = gzip.compress(b"".join(json.dumps({"data": {"text": f"t{i}"}}).encode() + b"\n" for i in range(5000)))
    (tmp_path / "cut.jsonl.gz").write_bytes(packed[:len(packed) // 2])
    code, _, err = run(capsys, "import", name, str(tmp_path / "cut.jsonl.gz"))
    assert code == 2 and one_line(err) and "the gzip file is damaged or cut short" in err and "line " in err, err
    (tmp_path / "tasks.csv").write_text("text\nhello\n")
    code, _, err = run(capsys, "import", name, str(tmp_path / "tasks.csv"))
    assert code == 2 and one_line(err) and "not CSV" in err, err
    assert _count_rows(env, "tasks") == 0 and _count_rows(env, "project_counters", "sum(n_tasks)") == 0


def test_a_reader_that_leaves_early_gets_no_error_message(tmp_path):
    rows = "".join(f"t{i},w{i % 7},{'xy'[i % 2]}\n" for i in range(50_000))
    (tmp_path / "a.csv").write_text("task,worker,label\n" + rows)
    proc = subprocess.Popen([sys.executable, "-m", "labeling.cli", "aggregate", "classification",
                             str(tmp_path / "a.csv"), "--method", "majority"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    assert proc.stdout.read(10)  # `| head -c 10`
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 141 and "Broken pipe" not in err and "error" not in err, err


def test_an_unknown_consensus_method_is_refused_before_anything_is_recorded(env, capsys, tmp_path):
    name = _project(env, capsys, tmp_path)
    for tasks in (0, 3):  # an empty project said "method": "glad"; one with tasks audited the recompute, then failed
        if tasks:
            (tmp_path / "t.jsonl").write_text("".join(json.dumps({"data": {"text": f"t{i}"}}) + "\n"
                                                      for i in range(tasks)))
            assert run(capsys, "import", name, str(tmp_path / "t.jsonl"))[0] == 0
        code, out, err = run(capsys, "consensus", name, "--method", "glad")
        assert code == 2 and out == "" and one_line(err) and "--method 'glad' is unknown" in err, err
    assert _count_rows(env, "audit_log", "count(*) FILTER (WHERE action = 'project.recompute')") == 0


def test_a_database_error_is_said_in_the_database_s_own_words():
    from sqlalchemy.exc import DBAPIError

    wrapped = DBAPIError("SELECT 1", {}, Exception(
        "<class 'asyncpg.exceptions.InvalidCatalogNameError'>: database \"nosuchdb\" does not exist\nHINT: ..."))
    assert cli._said(wrapped) == 'the database says: database "nosuchdb" does not exist'
    assert cli._said(RuntimeError("first line\nsecond")) == "RuntimeError: first line"


@pytest.mark.parametrize("url,words", [
    ("sqlite://", "names no database file"),
    ("postgresql://u@127.0.0.1:1/x?sslmode=bogus", "sslmode='bogus' is not an SSL mode"),
    ("postgresql://u@127.0.0.1:1/x?sslmode=require&sslmode=disable", "gives ssl more than once"),
    ("postgresql://u@127.0.0.1:1/x?connect_timeout=3", "parameter 'connect_timeout' is not supported"),
    # was "ValueError: invalid literal for int() with base 10: 'x'", exit status 1
    ("postgresql://u:secret@:x/db", "LABELING_DATABASE_URL is not a database URL (its port must be a whole number)")])
def test_a_database_url_the_driver_cannot_take_is_one_line_naming_the_setting(url, words, monkeypatch, tmp_path,
                                                                                capsys):
    """`?sslmode=require`, libpq's usual way, was a TypeError from asyncpg at the first connection, and `sqlite://`
    one from SQLAlchemy's pool: a class name, exit status 1."""
    monkeypatch.setenv("LABELING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LABELING_DATABASE_URL", url)
    code, _, err = run(capsys, "migrate")
    assert code == 2 and one_line(err) and words in err and "Error" not in err and "secret" not in err, err


def test_libpq_s_sslmode_reaches_asyncpg_as_its_ssl():
    from labeling.db import async_url

    assert async_url("postgresql://u@h/d?sslmode=verify-full") == "postgresql+asyncpg://u@h/d?ssl=verify-full"
    several = async_url("postgresql://u@/d?host=h1:5432&host=h2:5433&sslmode=prefer")  # SQLAlchemy's several hosts
    assert several == "postgresql+asyncpg://u@/d?host=h1%3A5432&host=h2%3A5433&ssl=prefer"


@pytest.mark.parametrize("argv", [["nosuch"], ["export"], ["export", "1", "--format"], ["users"], ["users", "add"],
                                  ["aggregate"], ["aggregate", "classification"], ["aggregate", "pairwise", "x", "--reg",
                                                                                   "soft"],
                                  ["leaderboard"], ["consensus"], ["serve", "--port", "http"],
                                  ["import"], ["restore"], ["--no-such-flag"]])
def test_a_usage_error_is_one_line_naming_its_command_and_where_help_is(argv, capsys):
    """argparse printed its usage text (up to 12 lines for export) before the error; an error is one line."""
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1, err
    assert re.match(r"labeling( [a-z]+)*: error: .+ \(see labeling( [a-z]+)* --help\)\n$", err), err


CTRL_C_DRIVER = """
import os, signal, sys, threading
from labeling import cli, queue, tasks
from labeling.db import Database

queue.INSERT_CHUNK = 7  # tasks are written before the interrupt, and after it
tasks.READ_AHEAD_CHUNK = 5  # PostgreSQL reads the file in a thread of its own: handed over 5 at a time
# Ctrl+C as a terminal's command takes it: a command started in the background of a script (as `cmd &`) inherits
# SIGINT ignored, and so did this one when the test suite ran that way (it ended with 0, every task stored).
signal.signal(signal.SIGINT, signal.default_int_handler)
interrupted, stopping = threading.Event(), threading.Event()
real_dispose = Database.dispose


async def dispose(self):  # the interrupted command closes its database: the interrupt has been taken
    if interrupted.is_set():  # not a database the command opened and closed before the import (its checks)
        stopping.set()
    await real_dispose(self)


def items(path):
    for i in range(40):
        if i == 20:
            interrupted.set()
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl+C: to the main thread, which runs the event loop
            if threading.current_thread() is not threading.main_thread():
                stopping.wait(60)  # SQLite's writer, PostgreSQL's reading thread: on once the interrupt is taken
        yield f"line {i + 1}", {"data": {"text": f"t{i}"}}


Database.dispose = dispose
tasks.file_items = items
sys.exit(cli.main(sys.argv[1:]))
"""


def test_ctrl_c_during_an_import_stores_none_of_it(env, capsys, tmp_path):
    """Ctrl+C in the middle of `labeling import`: exit status 130 and not one task stored, on both databases. On
    SQLite the import went on in the writer thread after the command had been interrupted, and committed all of it
    (exit status 130, every task stored); PostgreSQL rolled it back. The command runs in a process of its own, as a
    user's does, with SIGINT taken as a terminal's command takes it (a test suite started in the background of a
    script inherits SIGINT ignored: the import ended with 0)."""
    name = _project(env, capsys, tmp_path)
    driver = tmp_path / "driver.py"
    driver.write_text(CTRL_C_DRIVER)
    file = tmp_path / "tasks.jsonl"
    file.write_text('{"data": {"text": "unused: file_items is replaced"}}\n')
    done = subprocess.run([sys.executable, str(driver), "import", name, str(file)], env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 130 and not done.stdout and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.endswith("\nlabeling: interrupted: nothing was imported\n"), done.stderr  # it said nothing
    assert _count_rows(env, "tasks") == 0 and _count_rows(env, "project_counters", "sum(n_tasks)") == 0
    imports = _count_rows(env, "audit_log", "sum(CASE WHEN action = 'tasks.import' THEN 1 ELSE 0 END)")
    assert imports == 0


@pytest.mark.parametrize("argv", [["reviews", "--format", "jsonl", "--include-open"],
                                  ["reviews", "--format", "csv", "--include-open"],
                                  ["--all", "--format", "dump"]])
def test_an_export_whose_reader_leaves_early_gets_no_traceback(argv, env, capsys, tmp_path):
    """`labeling export ... -o - | head`: exit status 141 and not a word on standard error. The export's generator
    was left for asyncio.run to close, together with the database read inside it, and the clash was printed:
    "an error occurred during closing of asynchronous generator" and two tracebacks."""
    name = _project(env, capsys, tmp_path)
    file = tmp_path / "many.jsonl"
    file.write_text("".join(json.dumps({"data": {"text": f"review {i} " + "words " * 30}}) + "\n" for i in range(4000)))
    assert run(capsys, "import", name, str(file))[0] == 0
    proc = subprocess.Popen([sys.executable, "-m", "labeling.cli", "export", *argv, "-o", "-"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    assert proc.stdout.read(10)  # `| head -c 10`
    proc.stdout.close()
    err = "".join(line for line in proc.stderr.read().decode().splitlines(keepends=True)
                  if not line.startswith("labeling: data directory "))
    assert proc.wait() == 141 and not err, err


def _without_root_s_bypass() -> list[str]:
    """A prefix that runs a command without root's right to read and write any file (as a user would be)."""
    if os.geteuid() != 0:
        return []
    import shutil

    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a read-only file is writable")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def test_a_sqlite_file_that_cannot_be_opened_or_written_is_named_before_anything_is_done(env, capsys, tmp_path,
                                                                                       monkeypatch):
    """SQLite's "unable to open database file" (exit status 1) named no file; a read-only file let an export write
    its whole output and then fail, exit status 1, on the audit entry ("attempt to write a readonly database")."""
    monkeypatch.setenv("LABELING_DATABASE_URL", f"sqlite:///{tmp_path / 'no' / 'such' / 'labeling.db'}")
    code, out, err = run(capsys, "migrate")
    assert code == 2 and not out and one_line(err) and f"no folder {tmp_path / 'no' / 'such'}" in err
    (tmp_path / "folder.db").mkdir()
    monkeypatch.setenv("LABELING_DATABASE_URL", f"sqlite:///{tmp_path / 'folder.db'}")
    code, out, err = run(capsys, "migrate")
    assert code == 2 and not out and one_line(err) and "folder.db is a folder" in err

    database = tmp_path / "readonly.db"
    monkeypatch.setenv("LABELING_DATABASE_URL", f"sqlite:///{database}")
    assert run(capsys, "migrate")[0] == 0
    _project({**env, "LABELING_DATABASE_URL": f"sqlite:///{database}"}, capsys, tmp_path)
    database.chmod(0o444)
    for name in ("readonly.db-wal", "readonly.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    output = tmp_path / "out.jsonl"
    done = subprocess.run([*_without_root_s_bypass(), sys.executable, "-m", "labeling.cli", "export", "reviews",
                           "--format", "dump", "-o", str(output)], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ})
    err = "".join(line for line in done.stderr.splitlines(keepends=True) if "data directory" not in line)
    assert done.returncode == 2 and one_line(err) and f"{database} is read-only" in err, done.stderr
    assert not output.exists()
    backup = subprocess.run([*_without_root_s_bypass(), sys.executable, "-m", "labeling.cli", "backup",
                             str(tmp_path / "copy.db")], capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ})
    assert backup.returncode == 0, backup.stderr  # a backup only reads the database, as a dump of it all does
    dump = subprocess.run([*_without_root_s_bypass(), sys.executable, "-m", "labeling.cli", "export", "--all",
                           "--format", "dump", "-o", str(output)], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ})
    assert dump.returncode == 0 and output.is_file(), dump.stderr


def test_ctrl_c_while_the_command_loads_is_exit_130_without_a_traceback(monkeypatch, capsys):
    """Ctrl+C in the first second of `labeling export ...` (the modules still loading) printed a traceback of
    pydantic's schema building, ending in KeyboardInterrupt."""
    import importlib.abc

    from labeling import entry

    class Interrupted(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):  # noqa: ANN001, ANN201
            if name == "labeling.cli":
                raise KeyboardInterrupt
            return None

    import labeling

    monkeypatch.delitem(sys.modules, "labeling.cli")
    monkeypatch.delattr(labeling, "cli")
    monkeypatch.setattr(sys, "meta_path", [Interrupted(), *sys.meta_path])
    with pytest.raises(SystemExit) as stopped:
        entry.main()
    assert stopped.value.code == 130 and capsys.readouterr() == ("", "")
    lines = (REPO / "pyproject.toml").read_text().splitlines()
    assert 'labeling = "labeling.entry:main"' in lines


@pytest.mark.parametrize("argv", [["export", "reviews", "--format", "jsonl", "-o", ""],
                                  ["leaderboard", "reviews", "-o", ""],
                                  ["aggregate", "classification", "answers.csv", "-o", ""],
                                  ["import", "reviews", ""], ["backup", ""], ["restore", ""]])
def test_an_empty_path_is_a_usage_error_not_the_default(argv, capsys, tmp_path, monkeypatch):
    """`-o ""` (an unset shell variable) was taken as no -o: the export wrote review-...-jsonl.jsonl in the current
    folder, the aggregate wrote to standard output, the leaderboard no files; `backup ""` said ". is a folder"."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and one_line(err) and "an empty path" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("argv", [["import", "reviews", "{}"], ["restore", "{}"], ["aggregate", "classification", "{}"],
                                  ["aggregate", "classification", "{answers}", "--gold", "{}"],
                                  ["aggregate", "pairwise", "{}"], ["aggregate", "boxes", "{}"]])
def test_a_file_argument_the_command_cannot_read_is_a_usage_error_naming_what_it_is(argv, env, capsys, tmp_path):
    """One rule for every file argument: none there, a folder, a device or an unreadable file is one line naming
    it, exit status 2 (the usage errors' status). An unreadable import file was "[Errno 13] Permission denied",
    exit status 1, where a missing one was 2; a folder was "no file DIR", /dev/null "no file /dev/null"."""
    _project(env, capsys, tmp_path)
    answers = tmp_path / "answers.csv"
    answers.write_text("task,worker,label\nt1,a,x\n")
    (tmp_path / "folder").mkdir()
    locked = tmp_path / "locked.csv"
    locked.write_text("task,worker,label\nt1,a,x\n")
    locked.chmod(0o000)
    # A command that reads standard input for - says so to a pipe (`<(zcat tasks.jsonl.gz)`), which it cannot read
    dash = {"import": "; give - to read standard input (... | labeling import PROJECT -)",
            "aggregate": "; give - to read standard input (... | labeling aggregate KIND -)"}.get(argv[0], "")
    for path, words in ((tmp_path / "missing.csv", f"no file {tmp_path / 'missing.csv'}"),
                        (tmp_path / "folder", f"{tmp_path / 'folder'} is a folder, not a file"),
                        ("/dev/null", "/dev/null is a device, a pipe or a socket, not a file" + dash),
                        ("/proc/no-such-file", "no file /proc/no-such-file")):
        code, out, err = run(capsys, *[part.format(path, answers=answers) for part in argv])
        assert code == 2 and not out and one_line(err) and err == f"labeling: error: {words}\n", (path, err)
    done = subprocess.run([*_without_root_s_bypass(), sys.executable, "-m", "labeling.cli",
                           *[part.format(locked, answers=answers) for part in argv]],
                          capture_output=True, text=True, cwd=tmp_path, env=env)
    err = "".join(line for line in done.stderr.splitlines(keepends=True) if "data directory" not in line)
    assert done.returncode == 2 and err == f"labeling: error: cannot read {locked}: Permission denied\n", done.stderr


def test_an_output_under_proc_that_is_not_there_is_no_device(env, capsys, tmp_path):
    """`-o /proc/no-such` was called "a device, a pipe or a socket": nothing is there, and /proc takes no new file."""
    name = _project(env, capsys, tmp_path)
    answers = tmp_path / "answers.csv"
    answers.write_text("task,worker,label\nt1,a,x\n")
    for argv in (["export", name, "--format", "jsonl", "-o", "/proc/no-such"], ["backup", "/proc/no-such"],
                 ["aggregate", "classification", str(answers), "-o", "/proc/no-such"]):
        code, _, err = run(capsys, *argv)
        err = "".join(line for line in err.splitlines(keepends=True) if not line.startswith("method: "))
        assert code == 2 and one_line(err) and "device" not in err and "/proc" in err, (argv, err)
    code, _, err = run(capsys, "export", name, "--format", "jsonl", "-o", "/proc/self/fd/1")
    assert code == 2 and "/proc/self/fd/1 is a device, a pipe or a socket" in err


def test_export_options_are_named_as_the_command_line_spells_them(env, capsys, tmp_path):
    """`--include-gold` and friends were named by their HTTP query form in errors (include_gold, bad_rating)."""
    name = _project(env, capsys, tmp_path)
    for argv, words in ((["--format", "jsonl", "--pairs", "all"],
                         "option --pairs does not apply to format jsonl (its options: --card, --include-gold, "
                         "--include-open, --min-confidence, --seed, --since, --split)"),
                        (["--format", "jsonl", "--csv-escape-formulas"], "option --csv-escape-formulas does not apply"),
                        (["--format", "jsonl", "--seed", "x"], "--seed must be a whole number, got 'x'"),
                        (["--format", "jsonl", "--min-confidence", "2"], "--min-confidence must be a number from 0 "
                                                                         "to 1, got '2'"),
                        (["--format", "jsonl", "--split", "a=0.5"], "--split shares must add up to 1"),
                        (["--format", "jsonl", "--label-attribute", "a b"], "--label-attribute must be letters"),
                        (["--format", "preference", "--good-rating", "2"], "--bad-rating must be below --good-rating"),
                        (["--format", ""], "--format is required (e.g. --format jsonl)")):
        code, out, err = run(capsys, "export", name, *argv, "-o", "-")
        assert code == 2 and not out and one_line(err) and words in err, (argv, err)
        assert "_" not in err.split("error: ", 1)[1].split(" got ")[0], err
    from labeling.export import options

    with pytest.raises(options.InvalidInput, match="^include_gold must be true or false"):  # the API's words stay
        options.parse({"format": "jsonl", "include_gold": "yes"})


CTRL_C_WRITING_DRIVER = """
import os, signal, sys
from labeling import cli
from labeling.consensus import csvio
from labeling.export import cli as export_cli

signal.signal(signal.SIGINT, signal.default_int_handler)  # as a terminal's command takes it (see CTRL_C_DRIVER)


def interrupting(real):
    def write(self, row):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl+C once the output is being written
        real(self, row)
    return write


export_cli._Written.write = interrupting(export_cli._Written.write)
csvio.RowWriter.writerow = interrupting(csvio.RowWriter.writerow)
sys.exit(cli.main(sys.argv[1:]))
"""


def test_ctrl_c_while_an_output_is_written_says_what_it_left(env, capsys, tmp_path):
    """Ctrl+C in `labeling export` or `labeling aggregate` ended it with exit status 130 and not a word; it says in
    one line that the -o file was not written (nor is it, nor a partial copy), or only that it was interrupted."""
    name = _project(env, capsys, tmp_path)
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({"data": {"text": f"t{i}"}}) + "\n" for i in range(5)))
    assert run(capsys, "import", name, str(tasks))[0] == 0
    answers = tmp_path / "answers.csv"
    answers.write_text("task,worker,label\nt1,a,x\nt1,b,x\n")
    driver = tmp_path / "driver.py"
    driver.write_text(CTRL_C_WRITING_DRIVER)
    for argv, words in ((["export", name, "--format", "jsonl", "--include-open", "-o", "out.jsonl"],
                         "interrupted: nothing was written"),
                        (["aggregate", "classification", str(answers), "-o", "out.csv"],
                         "interrupted: nothing was written"),
                        (["aggregate", "classification", str(answers)], "interrupted")):
        done = subprocess.run([sys.executable, str(driver), *argv], env=env, capture_output=True, text=True,
                              cwd=tmp_path, timeout=180)
        assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.endswith(f"\nlabeling: {words}\n"), (argv, done.stderr)
        assert not [path.name for path in tmp_path.iterdir() if path.name.startswith(("out", ".out"))], argv


def test_an_export_file_that_cannot_be_written_to_the_end_is_named_exit_status_2(env, capsys, tmp_path, monkeypatch):
    """A full disk under `export -o FILE` was "[Errno 28] No space left on device: '.FILE.partial-123'", exit status
    1, where the aggregate's and the leaderboard's -o said "cannot write FILE", exit status 2: one rule for files."""
    import errno
    import io

    name = _project(env, capsys, tmp_path)
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({"data": {"text": f"t{i}"}}) + "\n" for i in range(5)))
    assert run(capsys, "import", name, str(tasks))[0] == 0

    class Full(io.BytesIO):
        def write(self, data):  # noqa: ANN001, ANN202
            raise OSError(errno.ENOSPC, "No space left on device")

    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *args, **kwargs: (
        Full() if self.name.startswith(".out.jsonl.partial") else real_open(self, *args, **kwargs)))
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "export", name, "--format", "jsonl", "--include-open", "-o", "out.jsonl")
    assert code == 2 and one_line(err) and err == "labeling: error: cannot write out.jsonl: No space left on device\n"
    assert not [path for path in tmp_path.iterdir() if "out.jsonl" in path.name]


def test_a_data_directory_that_is_a_file_or_cannot_be_made_is_one_line_exit_status_2(capsys, tmp_path, monkeypatch):
    """LABELING_DATA_DIR naming a file was "no folder FILE"; one that cannot be made (under /proc) was "[Errno 2] No
    such file or directory: '/proc/...'", exit status 1, where every other setting the command cannot use is 2."""
    monkeypatch.delenv("LABELING_DATABASE_URL", raising=False)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    for data_dir, words in ((a_file, f"{a_file} is a file, not a folder for the SQLite database labeling.db"),
                            ("/proc/no-such-folder", "cannot make the data directory /proc/no-such-folder: ")):
        monkeypatch.setenv("LABELING_DATA_DIR", str(data_dir))
        code, out, err = run(capsys, "migrate")
        assert code == 2 and not out and one_line(err) and words in err, err


def test_import_reads_standard_input_for_a_dash(env, capsys, tmp_path, monkeypatch):
    """`labeling import PROJECT -` reads the tasks from standard input (it was "no file -"), told apart as a file's
    content is: JSON Lines, a JSON array over many lines, gzip-compressed or not; a bad line is named as in a file,
    and what is neither JSON Lines nor an array (a CSV table, which a file's name would have said) in one line."""
    import gzip
    import io

    name = _project(env, capsys, tmp_path)

    def piped(data: bytes) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
        return run(capsys, "import", name, "-")

    lines = b"".join(json.dumps({"data": {"text": f"t{i}"}}).encode() + b"\n" for i in range(30))
    for data, n in ((lines, 30), (gzip.compress(b"".join(lines.splitlines(keepends=True)[:2])), 2),
                    (b'\xef\xbb\xbf\n\n  [\n{"data": {"text": "a"}},\n {"data": {"text": "b"}}]\n', 2)):
        code, out, err = piped(data)
        assert code == 0 and out == f"imported {n} tasks into project {name}\n", err
    stored = _count_rows(env, "tasks")
    code, out, err = piped(b'{"data": {"text": "ok"}}\n\n{"data": {"text": 5}}\n')
    assert code == 2 and not out and one_line(err) and "line 3: data.text must be a string" in err, err
    code, out, err = piped(b"text,label\nhello,pos\n")
    assert code == 2 and one_line(err) and "standard input: line 1 starts with 'text,label'" in err, err
    assert "CSV" in err
    code, out, err = piped(b"")
    assert code == 2 and one_line(err) and "no tasks given" in err, err
    assert _count_rows(env, "tasks") == stored == 30 + 2 + 2


CTRL_C_STDIN_DRIVER = """
import signal, sys
from labeling import cli, tasks

signal.signal(signal.SIGINT, signal.default_int_handler)  # as a terminal's command takes it (see CTRL_C_DRIVER)
real = tasks.stream_items


def stream_items(raw, *args):
    for n, item in enumerate(real(raw, *args)):
        yield item
        if n == 0:  # the first task is read: the import now waits for the next line
            print("read one", file=sys.stderr, flush=True)


tasks.stream_items = stream_items
sys.exit(cli.main(sys.argv[1:]))
"""


def test_ctrl_c_while_an_import_waits_for_standard_input_ends_it_storing_nothing(env, capsys, tmp_path):
    """Ctrl+C while `labeling import P -` waits for its next line (typed at a terminal, a pipe still open): the
    command hung until the other end closed (SQLite: the writer thread stayed blocked in the read), or aborted with
    "Fatal Python error: could not acquire lock for <stdin>" (PostgreSQL: its reading thread held the stream's lock)."""
    import signal

    name = _project(env, capsys, tmp_path)
    driver = tmp_path / "driver.py"
    driver.write_text(CTRL_C_STDIN_DRIVER)
    command = subprocess.Popen([sys.executable, str(driver), "import", name, "-"], env=env, stdin=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        command.stdin.write('{"data": {"text": "first"}}\n{"data": {"text": "second"}}\n')
        command.stdin.flush()
        seen = []
        while "read one" not in seen[-1:]:
            seen.append(command.stderr.readline().strip())
            assert seen[-1] or command.poll() is None, seen
        command.send_signal(signal.SIGINT)
        assert command.wait(timeout=120) == 130
        err = command.stderr.read()
    finally:
        if command.poll() is None:
            command.kill()
        command.stdin.close()
    assert err == "labeling: interrupted: nothing was imported\n", err
    assert _count_rows(env, "tasks") == 0


def test_a_folder_export_that_cannot_be_written_to_the_end_is_named_exit_status_2(env, capsys, tmp_path, monkeypatch):
    """A full disk under `export -o DIR` (splits, a card, yolo, coco --copy-images) was "[Errno 28] No space left on
    device", exit status 1, where `-o FILE` names its file, exit status 2. Now one line naming the file under DIR;
    no partial folder is left, and an earlier export in DIR (--force) is kept whole."""
    import errno
    import io

    name = _project(env, capsys, tmp_path)
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({"data": {"text": f"t{i}"}}) + "\n" for i in range(20)))
    assert run(capsys, "import", name, str(tasks))[0] == 0

    class Full(io.BytesIO):
        def write(self, data):  # noqa: ANN001, ANN202
            raise OSError(errno.ENOSPC, "No space left on device")

    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *args, **kwargs: (
        Full() if self.parent.name.startswith(".out.partial") and "w" in (args or ("r",))[0]
        else real_open(self, *args, **kwargs)))
    monkeypatch.chdir(tmp_path)
    argv = ["export", name, "--format", "jsonl", "--include-open", "--split", "train=0.5,test=0.5", "-o", "out"]
    code, out, err = run(capsys, *argv)
    assert code == 2 and not out and one_line(err), err
    assert err in ("labeling: error: cannot write out/train.jsonl: No space left on device\n",
                   "labeling: error: cannot write out/test.jsonl: No space left on device\n"), err
    assert not [path for path in tmp_path.iterdir() if "out" in path.name]
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "train.jsonl").write_text("earlier\n")
    code, out, err = run(capsys, *argv, "--force")
    assert code == 2 and one_line(err) and "No space left on device" in err, err
    assert [path.name for path in tmp_path.iterdir() if "out" in path.name] == ["out"]
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["train.jsonl"]
    assert (tmp_path / "out" / "train.jsonl").read_text() == "earlier\n"


def test_a_consensus_method_error_names_the_flag(env, capsys, tmp_path):
    """`labeling consensus --method` errors said the API's words ("unknown method 'glad'", "method must be auto"):
    the command line's flag is named, as every other option's error names its flag."""
    import asyncio

    from labeling import auth, projects, schemas
    from labeling.db import Database

    async def make() -> None:
        db = Database(env["LABELING_DATABASE_URL"])

        def store(tx) -> None:
            user, _ = auth.create_user(tx, "owner", "requester")
            projects.create(tx, auth.Principal(user["id"], "owner", auth.Role.requester),
                            schemas.ProjectCreate(name="shapes", task_type="bounding_box", labels=["cat", "dog"]))

        await db.transact(store)
        await db.dispose()

    asyncio.run(make())
    code, out, err = run(capsys, "consensus", "shapes", "--method", "glad")
    assert code == 2 and not out and one_line(err) and err.startswith("labeling: error: --method 'glad' is unknown; ")
    code, out, err = run(capsys, "consensus", "shapes", "--method", "majority")
    assert code == 2 and not out and one_line(err) and err.startswith(
        "labeling: error: --method must be auto, not 'majority': a bounding_box project has one consensus method"), err
    answers = tmp_path / "answers.csv"
    answers.write_text("task,worker,label\nt1,a,x\n")
    code, out, err = run(capsys, "aggregate", "classification", str(answers), "--method", "glad")
    assert code == 2 and not out and err.startswith("labeling: error: --method 'glad' is unknown; "), err


@pytest.mark.parametrize("command", [["migrate"], ["consensus", "reviews"], ["backup", "x.backup"],
                                     ["export", "reviews", "--format", "jsonl", "-o", "-"]])
def test_a_database_file_that_is_not_sqlite_is_named_exit_status_2(command, capsys, tmp_path, monkeypatch):
    """LABELING_DATABASE_URL naming a file that is no SQLite database (a text file, a database of another kind) was
    "the database says: file is not a database" (backup: "DatabaseError: file is not a database"), exit status 1 as
    a failure of the database: it is the setting that names the wrong file, said by its path, exit status 2."""
    other = tmp_path / "notes.db"
    other.write_text("my notes, not a database\n")
    monkeypatch.setenv("LABELING_DATABASE_URL", f"sqlite:///{other}")
    monkeypatch.setenv("LABELING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *command)
    assert code == 2 and not out and err == f"labeling: error: {other} is not a SQLite database file\n", err
    assert other.read_text() == "my notes, not a database\n" and not (tmp_path / "x.backup").exists()


def test_a_dash_where_a_command_reads_or_writes_no_stream_is_refused_in_one_line(env, capsys, tmp_path, monkeypatch):
    """`restore -` said "no file -", and `leaderboard -o -` wrote its report into a folder named "-": each says in one
    line that it takes no standard input or output (as `backup -` does), and makes nothing."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "restore", "-")
    assert code == 2 and not out and one_line(err) and "restore reads a file (a backup or a dump), not standard " \
                                                          "input" in err, err
    code, out, err = run(capsys, "leaderboard", "any", "-o", "-")
    assert code == 2 and not out and one_line(err) and "-o names a folder for the report's files" in err, err
    assert not (tmp_path / "-").exists()
