"""Exports keep their bytes: every format of a project of every task type, restored from a fixed dump
(golden/instance.jsonl: ids and times fixed), equals the output recorded in golden/exports.json by the code
before the exporter was rewritten for speed, on SQLite and on PostgreSQL.

LABELING_GOLDEN=write rebuilds the dump (through the API, its times then fixed) and the outputs,
LABELING_GOLDEN=write-sqlite or write-postgresql the outputs only (the same file: both databases must write the same
bytes); only when a format's output is meant to change, and read the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from labeling import models
from labeling.export import dump, exporter, options
from labeling.export.archive import Sink
from tests.conftest import bearer, raw_writes
from tests.export.helpers import answer_all, project_with_answers

GOLDEN = Path(__file__).parent / "golden"
WRITE = os.environ.get("LABELING_GOLDEN") == "write"
SECRET = "golden-secret"
EPOCH = 1_767_225_600.0  # 2026-01-01: the fixed dump's times count from here


class FolderSink:
    """A folder export's files, kept in memory by name (the dataset card left out: it carries today's date)."""

    def __init__(self) -> None:
        self.files: dict[str, list[bytes]] = {}
        self.name: str | None = None

    def open(self, name: str) -> None:
        self.name = name
        self.files[name] = []

    def write(self, text: str | bytes) -> None:
        assert self.name is not None
        self.files[self.name].append(text.encode() if isinstance(text, str) else text)

    def close(self) -> None:
        self.name = None

    def copy(self, name: str, path: Path) -> None:
        self.files[name] = [b"copy of " + path.name.encode()]

    def take(self) -> bytes:
        return b""

    def finish(self) -> None:
        pass

    def text(self) -> dict[str, str]:
        return {name: b"".join(parts).decode() for name, parts in sorted(self.files.items()) if name != "README.md"}


_: type[Sink] = FolderSink  # it is a Sink

# (name, task type, export options) for every format of every task type, with the options that change rows.
CASES: list[tuple[str, dict[str, str]]] = []
for _type in ("image_classification", "image_multilabel", "bounding_box", "text_classification", "text_multilabel",
              "named_entities", "preference_ranking", "demonstration"):
    CASES += [(_type, {"format": "jsonl"}), (_type, {"format": "jsonl", "include_open": "true", "include_gold": "true"}),
              (_type, {"format": "csv", "include_open": "true", "include_gold": "true"}),
              (_type, {"format": "manifest", "include_gold": "true"}), (_type, {"format": "annotations"}),
              (_type, {"format": "annotations", "include_open": "true", "include_gold": "true"}),
              (_type, {"format": "dump"}), (_type, {"format": "jsonl", "split": "train=0.5,test=0.5", "seed": "3"}),
              *([(_type, {"format": "jsonl", "min_confidence": "0.6"})] if _type != "demonstration" else [])]
CASES += [("image_multilabel", {"format": "manifest", "label_attribute": "tags"}),
          ("bounding_box", {"format": "coco"}), ("bounding_box", {"format": "coco", "include_gold": "true"}),
          ("bounding_box", {"format": "yolo"}),
          ("named_entities", {"format": "spans", "include_gold": "true"}), ("named_entities", {"format": "conll"}),
          ("demonstration", {"format": "sft"}), ("demonstration", {"format": "sft", "conversational": "true"})]
for _opts in ({}, {"pairs": "adjacent"}, {"pairs": "best-worst"}, {"conversational": "true"}, {"margin": "rating"},
              {"min_margin": "0.6"}, {"include_open": "true", "include_gold": "true"}):
    CASES.append(("preference_ranking", {"format": "preference", **_opts}))
for _opts in ({}, {"kto_source": "ranks"}, {"kto_source": "ratings", "good_rating": "4", "bad_rating": "2"},
              {"conversational": "true"}):
    CASES.append(("preference_ranking", {"format": "kto", **_opts}))
CASES.append(("preference_ranking", {"format": "ranking", "include_gold": "true"}))


def case_name(task_type: str, params: dict[str, str]) -> str:
    return task_type + " " + " ".join(f"{k}={v}" for k, v in params.items())


async def build(client: Any, make_user: Any, new_project: Any) -> None:
    """One project of every task type through the API: answered, partly answered and open tasks, a gold task,
    data fields besides the main ones."""
    images = [{"data": {"image": f"https://img.example/{i}.jpg", "width": 640, "height": 480 + i, "camera": "x"},
               "external_id": f"img{i}"} for i in range(4)]
    images.append({"data": {"image": "https://img.example/unsized.jpg"}, "external_id": "unsized"})
    gold = {"data": {"image": "https://img.example/gold.jpg", "width": 10, "height": 10}, "external_id": "g"}
    p = await new_project(task_type="image_classification", labels=["cat", "dog"], redundancy=3,
                          tasks=images + [{**gold, "gold": {"label": "cat"}}])
    await answer_all(client, make_user, p["id"], [lambda d: {"label": "cat" if d.get("height", 0) % 2 else "dog"},
                                                  {"label": "cat"}, {"label": "dog"}], "ic")
    p = await new_project(task_type="image_multilabel", labels=["red", "blue", "green"], redundancy=3,
                          tasks=images + [{**gold, "gold": {"labels": ["red"]}}])
    await answer_all(client, make_user, p["id"], [{"labels": ["red", "blue"]}, {"labels": ["red"]},
                                                  lambda d: {"labels": ["green"] if d.get("height") == 481 else []}],
                     "iml")
    p = await new_project(task_type="bounding_box", labels=["car", "bus"], redundancy=3,
                          tasks=images + [{**gold, "gold": {"boxes": [{"label": "bus", "x": 1, "y": 1, "w": 2,
                                                                       "h": 3}]}}])
    box = [{"label": "car", "x": 10.4, "y": 20, "w": 30, "h": 40}, {"label": "bus", "x": 100, "y": 50, "w": 60,
                                                                    "h": 30.6}]
    await answer_all(client, make_user, p["id"], [{"boxes": box}, {"boxes": box[:1]},
                                                  {"boxes": [{**box[0], "x": 12}, box[1]]}], "bb")
    p = await project_with_answers(client, make_user, new_project, "text_classification", n=5)
    await _extra(client, p, {"text": "more", "stars": 9}, {"label": "pos"})
    p = await new_project(task_type="text_multilabel", labels=["a", "b", "c"], redundancy=3,
                          tasks=[{"data": {"text": f"doc {i}", "lang": "en"}} for i in range(4)] + [
                              {"data": {"text": "gold doc"}, "gold": {"labels": ["c"]}}])
    await answer_all(client, make_user, p["id"], [{"labels": ["a"]}, {"labels": ["a", "b"]}, {"labels": ["c"]}],
                     "tml")
    for task_type, data, gold_answer in (
            ("named_entities", {"text": "Ada met Bob ."}, {"spans": [{"start": 0, "end": 3, "label": "PER"}]}),
            ("preference_ranking", {"prompt": "gold prompt", "responses": [{"id": "a", "text": "x"},
                                                                           {"id": "b", "text": "y"}]},
             {"ranking": [["a"], ["b"]]}),
            ("demonstration", {"prompt": "gold prompt"}, {"text": "gold text"})):
        p = await project_with_answers(client, make_user, new_project, task_type, n=5)
        await _extra(client, p, data, gold_answer)


async def _extra(client: Any, project: dict, data: dict, gold_answer: dict) -> None:
    """A gold task and an open task more."""
    requester = project["_requester"]
    r = await client.post(f"/api/projects/{project['id']}/tasks", headers=bearer(requester),
                          json=[{"data": data, "gold": gold_answer, "external_id": "gold-1"},
                                {"data": data, "external_id": "open-1"}])
    assert r.status_code == 201, r.text


def fix_times(whole: bytes) -> bytes:
    """The dump with every time replaced by a fixed one (EPOCH + the row's position)."""
    lines = whole.decode().splitlines()
    out = [lines[0]]
    for n, line in enumerate(lines[1:], start=1):
        record = json.loads(line)
        row = record["row"]
        for key in list(row):
            if key.endswith("_at") and isinstance(row[key], (int, float)):
                row[key] = EPOCH + n * 60.5 + (3600.0 if key == "expires_at" else 0.0)
        out.append(orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode())
    return ("\n".join(out) + "\n").encode()


async def export_case(db: Any, project: Any, params: dict[str, str], media_dir: Path) -> Any:
    job = exporter.Export(db, project, options.parse(params), media_dir=media_dir, secret=SECRET)
    if job.folder:
        sink = FolderSink()
        async for _chunk in job.chunks(sink):
            pass
        return sink.text()
    return b"".join([chunk async for chunk in job.chunks()]).decode()


async def test_every_format_keeps_its_bytes(client, requester, new_project, make_user, db, tmp_path):
    path = GOLDEN / "instance.jsonl"
    if WRITE:
        async def tagged(**kw: Any) -> dict:
            return {**await new_project(**kw), "_requester": requester}
        await build(client, make_user, tagged)
        async with db.read(snapshot=True) as conn:
            whole = b"".join([chunk async for chunk in dump.instance_chunks(conn, lambda n: None)])
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(fix_times(whole))
    async with raw_writes(db) as conn:  # only the dump's rows (the fixtures' users too are restored from it)
        for table in reversed(models.metadata.sorted_tables):
            await conn.execute(table.delete())
    await dump.restore(db, path)
    async with db.read() as conn:
        projects = {row.task_type: row for row in (await conn.execute(select(models.projects))).all()}
    got = {}
    for task_type, params in CASES:
        got[case_name(task_type, params)] = await export_case(db, projects[task_type], params, tmp_path)
    # One file for both databases: every format writes the same bytes on SQLite and on PostgreSQL (SQLite stores JSON
    # objects with their keys in jsonb's order, labeling/sqltx.py); first recorded by the code before the rewrite.
    golden = GOLDEN / "exports.json"
    if WRITE or os.environ.get("LABELING_GOLDEN") == "write-" + db.dialect:
        golden.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    expected = json.loads(golden.read_text())
    assert sorted(got) == sorted(expected)
    for name in expected:  # a dump names the schema revision it was made at: a new migration is no change of bytes
        assert _any_revision(got[name]) == _any_revision(expected[name]), name


def _any_revision(text: Any) -> Any:
    return re.sub(r'"schema": ?"\d{4}"', '"schema": "REVISION"', text) if isinstance(text, str) else text
