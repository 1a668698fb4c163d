"""Exports end to end on the test's database: HTTP and CLI give the same bytes, and real readers load them."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile

import pytest
from PIL import Image

from tests.conftest import bearer, one_line
from tests.export.helpers import answer_all, project_with_answers


async def get_export(client, token: str, pid: int, **params: str):  # noqa: ANN001, ANN201
    return await client.get(f"/api/projects/{pid}/export", params=params, headers=bearer(token))


async def test_http_and_cli_give_the_same_bytes_and_datasets_loads_jsonl_and_csv(
        client, requester, new_project, make_user, run_cli, load, tmp_path):
    project = await project_with_answers(client, make_user, new_project, "text_classification")
    pid = project["id"]
    r = await get_export(client, requester, pid, format="jsonl")
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson"
    assert r.headers["content-disposition"] == 'attachment; filename="project-1-jsonl.jsonl"'
    assert "content-length" not in r.headers  # streamed (chunked), not built whole first
    out = tmp_path / "out.jsonl"
    assert await run_cli("export", str(pid), "--format", "jsonl", "-o", str(out)) == 0
    assert out.read_bytes() == r.content
    data = load("json", data_files=str(out))["train"]
    assert data.num_rows == 6 and data.column_names == [
        "id", "external_id", "text", "stars", "label", "confidence", "n_annotations", "agreement", "reviewed"]
    results = (await client.get(f"/api/projects/{pid}/results", headers=bearer(requester))).json()["data"]
    assert data["label"] == [row["answer"]["label"] for row in results]
    r = await get_export(client, requester, pid, format="csv")
    csv_path = tmp_path / "out.csv"
    assert await run_cli("export", "project 1", "--format", "csv", "-o", str(csv_path)) == 0
    assert csv_path.read_bytes() == r.content
    table = load("csv", data_files=str(csv_path))["train"]
    assert table.num_rows == 6 and table["label"] == data["label"] and table["stars"] == list(range(6))
    zipped = await get_export(client, requester, pid, format="jsonl", split="train=0.5,test=0.5")
    assert zipped.headers["content-type"] == "application/zip"
    zip_path = tmp_path / "out.zip"
    assert await run_cli("export", str(pid), "--format", "jsonl", "--split", "train=0.5,test=0.5",
                         "-o", str(zip_path)) == 0
    assert zip_path.read_bytes() == zipped.content


async def test_dataset_card_folder_loads_with_its_splits(client, requester, new_project, make_user, run_cli, load,
                                                         tmp_path):
    project = await project_with_answers(client, make_user, new_project, "preference_ranking", n=12,
                                         options={"license": "cc-by-4.0"})
    folder = tmp_path / "prefs"
    assert await run_cli("export", str(project["id"]), "--format", "preference", "--split",
                         "train=0.5,validation=0.25,test=0.25", "--seed", "3", "-o", str(folder)) == 0
    card = (folder / "README.md").read_text()
    assert 'license: "cc-by-4.0"' in card and "Krippendorff's alpha" in card and "annotators: 3" in card
    assert "Read carefully." in card
    # to the second, in UTC, as people read a time (it was the API's 2026-12-01T20:44:57.123456Z (UTC))
    assert re.search(r"^- data as of: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", card, re.M), card
    data = load(str(folder))
    prompts = {split: set(data[split]["prompt"]) for split in data}
    assert sum(data[split].num_rows for split in data) == 12 * 3
    splits = list(prompts)
    assert all(not prompts[a] & prompts[b] for a in splits for b in splits if a != b), "one prompt, one split"
    assert set(data[splits[0]].column_names) == {"prompt", "chosen", "rejected", "chosen_model", "rejected_model",
                                                 "margin", "agreement", "n_annotators", "task_id"}
    r = await get_export(client, requester, project["id"], format="preference",
                         split="train=0.5,validation=0.25,test=0.25", seed="3")
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert sorted(z.namelist()) == ["README.md", "test.jsonl", "train.jsonl", "validation.jsonl"]
        for name in z.namelist():
            assert z.read(name) == (folder / name).read_bytes()


async def test_preference_kto_and_sft_load_in_datasets(client, requester, new_project, make_user, load, tmp_path):
    ranking = await project_with_answers(client, make_user, new_project, "preference_ranking")
    demos = await project_with_answers(client, make_user, new_project, "demonstration", n=4)
    cases = [(ranking, {"format": "preference"}, 18, {"prompt": str, "chosen": str}),
             (ranking, {"format": "preference", "conversational": "true"}, 18, {"prompt": list, "chosen": list}),
             (ranking, {"format": "preference", "pairs": "best-worst", "min_margin": "0.85"}, 6, {}),
             (ranking, {"format": "kto"}, 12, {"completion": str, "label": bool}),
             (ranking, {"format": "kto", "conversational": "true"}, 12, {"completion": list}),
             (ranking, {"format": "ranking"}, 6, {"order": list}),
             (demos, {"format": "sft"}, 12, {"prompt": str, "completion": str}),
             (demos, {"format": "sft", "conversational": "true"}, 12, {"messages": list})]
    for i, (project, params, rows, types) in enumerate(cases):
        r = await get_export(client, requester, project["id"], **params)
        assert r.status_code == 200, (params, r.text)
        path = tmp_path / f"case{i}.jsonl"
        path.write_bytes(r.content)
        data = load("json", data_files=str(path))["train"]
        assert data.num_rows == rows, params
        for column, kind in types.items():
            assert isinstance(data[0][column], kind), (params, column)
    kto = [json.loads(line) for line in (tmp_path / "case3.jsonl").read_text().splitlines()]
    assert {(row["completion"][:8], row["label"]) for row in kto} == {("answer b", True), ("answer c", False)}
    sft = (tmp_path / "case7.jsonl").read_text().splitlines()
    assert json.loads(sft[0])["messages"][0] == {"role": "system", "content": "Be brief."}


async def test_annotations_show_every_answer_with_stable_pseudonyms(client, requester, new_project, make_user,
                                                                    settings):
    project = await project_with_answers(client, make_user, new_project, "preference_ranking", n=3)
    first = (await get_export(client, requester, project["id"], format="annotations")).text
    again = (await get_export(client, requester, project["id"], format="annotations")).text
    assert first == again
    rows = [json.loads(line) for line in first.splitlines()]
    assert len(rows) == 9 and len({row["worker"] for row in rows}) == 3
    assert all(row["worker"].startswith("w_") and "w0" not in row["worker"] for row in rows)
    assert rows[0]["rationale"] == "b is kind" and rows[0]["answer"]["ratings"] == {"a": 4, "b": 6, "c": 1}
    assert {"created_at", "duration_ms", "gold", "excluded", "task_id"} <= set(rows[0])


async def test_ratings_and_scores_are_listed_best_first_on_both_databases(client, requester, new_project, make_user):
    """The ratings of an answer and the scores of a consensus, stored as objects keyed by response id, are listed in
    the ranking's order: PostgreSQL's jsonb keeps keys shorter first ('a', 'Zz', 'zz'), SQLite as the worker sent
    them ('zz', 'a', 'Zz'), so the lists came in one order on each (jsonl, csv, manifest and annotations)."""
    responses = [{"id": rid, "text": f"answer {rid}"} for rid in ("a", "zz", "Zz")]
    project = await new_project(task_type="preference_ranking", labels=[], tasks=[
        {"data": {"prompt": "p", "responses": responses}, "external_id": "r"}])
    ranking = [["zz"], ["Zz"], ["a"]]
    await answer_all(client, make_user, project["id"], [
        {"ranking": ranking, "ratings": {"zz": 7, "a": 1, "Zz": 4}}], "best-first")
    rows = (await get_export(client, requester, project["id"], format="annotations")).text.splitlines()
    assert json.loads(rows[0])["ratings"] == [{"id": "zz", "rating": 7}, {"id": "Zz", "rating": 4},
                                              {"id": "a", "rating": 1}]
    consensus = json.loads((await get_export(client, requester, project["id"], format="jsonl")).text)
    assert consensus["ranking"] == ranking and [s["id"] for s in consensus["scores"]] == ["zz", "Zz", "a"]


async def test_stored_objects_keep_one_key_order_on_both_databases(client, requester, new_project, make_user):
    """Task data and answers come back with their keys in one order on both databases: PostgreSQL's jsonb order
    (shorter keys first, then by their bytes), which SQLite now stores too; it stored them as sent, so the API and
    every export gave another order on each database."""
    data = {"stars": 4, "text": "fine", "Ünï": {"zz": 1, "b": 2, "aa": 3}}
    project = await new_project(tasks=[{"data": data, "external_id": "k"}], labels=["pos", "neg"])
    await answer_all(client, make_user, project["id"], [{"label": "pos"}], "keys")
    task = (await client.get(f"/api/projects/{project['id']}/tasks", headers=bearer(requester))).json()["data"][0]
    assert list(task["data"]) == ["text", "stars", "Ünï"] and list(task["data"]["Ünï"]) == ["b", "aa", "zz"]
    line = (await get_export(client, requester, project["id"], format="jsonl")).text
    assert line.startswith('{"id":') and '"external_id":"k","text":"fine","stars":4,"Ünï":{"b":2,"aa":3,"zz":1}' in line


async def test_coco_from_stored_images_equals_the_consensus_boxes(client, requester, new_project, make_user,
                                                                  settings, tmp_path):
    from pycocotools.coco import COCO

    media = settings.media_dir / "shared"  # files the operator shares with every requester
    (media / "shots").mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (320 + i, 240)).save(media / "shots" / f"{i}.png")
    tasks = [{"data": {"image": f"shared/shots/{i}.png"}} for i in range(3)] + [{"data": {"image": "https://h/x.png"}}]
    project = await new_project(task_type="bounding_box", labels=["car", "bus"], redundancy=2, tasks=tasks)
    box = {"boxes": [{"label": "car", "x": 10, "y": 20, "w": 30, "h": 40}, {"label": "bus", "x": 100, "y": 50,
                                                                            "w": 60, "h": 30}]}
    await answer_all(client, make_user, project["id"], [box, box], "coco")
    r = await get_export(client, requester, project["id"], format="coco")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    path = tmp_path / "coco.json"
    path.write_bytes(r.content)
    coco = COCO(str(path))
    results = {row["task_id"]: row["answer"]["boxes"] for row in
               (await client.get(f"/api/projects/{project['id']}/results", headers=bearer(requester))).json()["data"]}
    assert len(coco.getImgIds()) == 3 and coco.loadImgs(coco.getImgIds()[1])[0]["width"] == 321
    for image_id in coco.getImgIds():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        assert [(a["bbox"], coco.loadCats(a["category_id"])[0]["name"]) for a in anns] == [
            ([b["x"], b["y"], b["w"], b["h"]], b["label"]) for b in results[image_id]]
    r = await get_export(client, requester, project["id"], format="coco", copy_images="true")
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        names = z.namelist()
        assert "annotations/instances_train.json" in names and "images/train/1.png" in names
        assert "1 image whose size is not known" in z.read("README.md").decode()
    r = await get_export(client, requester, project["id"], format="yolo")
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert "data.yaml" in z.namelist() and "labels/train/1.txt" in z.namelist()
        assert len(z.read("labels/train/1.txt").decode().splitlines()) == 2


async def test_coco_with_its_images_names_only_images_it_holds(client, requester, new_project, make_user, settings,
                                                                tmp_path):
    from pycocotools.coco import COCO

    (settings.media_dir / "shared").mkdir(parents=True)
    Image.new("RGB", (50, 40)).save(settings.media_dir / "shared" / "a.png")
    tasks = [{"data": {"image": "shared/a.png"}},  # an http image with its size: in COCO, but not copied
             {"data": {"image": "https://example.org/b.jpg", "width": 60, "height": 30}}]
    project = await new_project(task_type="bounding_box", labels=["x"], redundancy=1, tasks=tasks)
    await answer_all(client, make_user, project["id"], [{"boxes": [{"label": "x", "x": 1, "y": 2, "w": 3, "h": 4}]}],
                     "cocoimg")
    r = await get_export(client, requester, project["id"], format="coco", copy_images="true")
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        z.extractall(tmp_path / "out")
    coco = COCO(str(tmp_path / "out" / "annotations" / "instances_train.json"))
    held = sorted(p.name for p in (tmp_path / "out" / "images" / "train").iterdir())
    assert sorted(image["file_name"] for image in coco.loadImgs(coco.getImgIds())) == held == ["1.png"]
    assert [a["image_id"] for a in coco.loadAnns(coco.getAnnIds())] == [1]
    assert "1 image not in the media folder, so not copied (left out)" in (tmp_path / "out" / "README.md").read_text()


async def test_filters_gold_open_confidence_and_since(client, requester, new_project, make_user):
    tasks = [{"data": {"text": f"t{i}"}} for i in range(4)] + [{"data": {"text": "gold"}, "gold": {"label": "pos"}}]
    project = await new_project(task_type="text_classification", labels=["pos", "neg"], redundancy=2, tasks=tasks)
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"label": "pos"}], "filters")  # one answer each: nothing complete
    assert (await get_export(client, requester, pid, format="jsonl")).text == ""
    opened = (await get_export(client, requester, pid, format="jsonl", include_open="true")).text.splitlines()
    assert len(opened) == 4 and json.loads(opened[0])["label"] is None
    assert json.loads(opened[0])["n_annotations"] == 1  # its one answer so far (it said 0)
    await answer_all(client, make_user, pid, [{"label": "neg"}], "filters2")
    rows = [json.loads(x) for x in (await get_export(client, requester, pid, format="jsonl")).text.splitlines()]
    assert len(rows) == 4
    with_gold = (await get_export(client, requester, pid, format="jsonl", include_gold="true")).text.splitlines()
    assert json.loads(with_gold[-1])["label"] == "pos" and json.loads(with_gold[-1])["confidence"] == 1.0
    assert (await get_export(client, requester, pid, format="jsonl", min_confidence="0.99")).text == ""
    # An override exports with confidence 1, so it passes any confidence floor.
    r = await client.post(f"/api/projects/{pid}/tasks/{rows[0]['id']}/override", json={"answer": {"label": "neg"}},
                          headers=bearer(requester))
    assert r.status_code == 200, r.text
    kept = [json.loads(x) for x in (await get_export(client, requester, pid, format="jsonl",
                                                     min_confidence="0.99")).text.splitlines()]
    assert [(x["id"], x["label"], x["confidence"]) for x in kept] == [(rows[0]["id"], "neg", 1.0)]
    assert (await get_export(client, requester, pid, format="jsonl", since="2999-01-01T00:00:00Z")).text == ""
    assert len((await get_export(client, requester, pid, format="jsonl", since="0")).text.splitlines()) == 4


async def test_an_incremental_pull_learns_which_tasks_were_deleted_since_its_cursor(
        client, requester, new_project, make_user, run_cli, tmp_path, capsys):
    # A deleted task leaves no row for --since to find: a pipeline pulling increments kept it for ever.
    import pandas

    project = await project_with_answers(client, make_user, new_project, "text_classification", n=4)
    pid = project["id"]
    listed = (await client.get(f"/api/projects/{pid}/tasks", headers=bearer(requester))).json()["data"]
    ids = {t["external_id"]: t["id"] for t in listed}

    async def delete(body: dict) -> None:
        r = await client.request("DELETE", f"/api/projects/{pid}/tasks", json={**body, "confirm": True},
                                 headers=bearer(requester))
        assert r.status_code == 200, r.text

    await delete({"external_ids": ["t0"]})
    pulled = {json.loads(x)["id"] for x in (await get_export(client, requester, pid, format="jsonl")).text.splitlines()}
    assert pulled == {ids["t1"], ids["t2"], ids["t3"]}
    first = await get_export(client, requester, pid, format="deletions", since="0")
    assert first.status_code == 200 and [json.loads(x)["id"] for x in first.text.splitlines()] == [ids["t0"]]
    since = repr(time.time())  # the next pull's cursor (the server's clock: in process, this one)
    await delete({"external_ids": ["t1"]})
    await delete({"task_ids": [ids["t2"]]})
    r = await get_export(client, requester, pid, format="deletions", since=since)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    (tmp_path / "api.jsonl").write_bytes(r.content)
    table = pandas.read_json(tmp_path / "api.jsonl", lines=True, dtype=False)
    assert list(table.columns) == ["id", "external_id", "deleted_at"]
    assert sorted(zip(table["id"], table["external_id"])) == sorted([(ids["t1"], "t1"), (ids["t2"], "t2")])
    everything = (await get_export(client, requester, pid, format="deletions")).text.splitlines()
    assert sorted(json.loads(x)["external_id"] for x in everything) == ["t0", "t1", "t2"]
    for row in map(json.loads, everything):  # deleted_at reads back as a cursor
        assert (await get_export(client, requester, pid, format="deletions", since=row["deleted_at"])).status_code == 200
    assert await run_cli("export", str(pid), "--format", "deletions", "--since", since, "-o",
                         str(tmp_path / "cli.jsonl"), "--quiet") == 0
    assert (tmp_path / "cli.jsonl").read_bytes() == r.content
    capsys.readouterr()
    assert await run_cli("export", str(pid), "--format", "deletions", "--since", "2999-01-01", "-o",
                         str(tmp_path / "none.jsonl"), "--quiet") == 0
    assert "no records: no task was deleted or left out after --since" in capsys.readouterr().err
    r = await get_export(client, requester, pid, format="deletions", split="train=0.5,test=0.5")
    assert r.status_code == 400 and r.json()["error"]["field"] == "split"
    r = await get_export(client, requester, pid, format="deletions", card="true")
    assert r.status_code == 400 and r.json()["error"]["field"] == "card"


@pytest.mark.parametrize(("task_type", "answer"), [
    ("bounding_box", {"boxes": [{"label": "car", "x": 81.57, "y": 203.76, "w": 126.9, "h": 240.4}]}),
    ("named_entities", {"spans": [{"label": "PER", "start": 0, "end": 3}, {"label": "PER", "start": 8, "end": 11}]}),
])
async def test_a_task_every_worker_agreed_on_has_confidence_1_and_passes_min_confidence_1(
        client, requester, new_project, make_user, task_type, answer):
    # Three identical boxes averaged had an IoU of 0.9999999999999998 with their mean, and spans weighted by the
    # workers' skills a support of 1.0000000000000002: `min_confidence=1` left out tasks every worker agreed on.
    field = "image" if task_type == "bounding_box" else "text"
    value = "https://img.example/a.png" if task_type == "bounding_box" else "Ada met Bob ."
    tasks = [{"data": {field: value, "n": i}} for i in range(3)] + [{"data": {field: value}, "gold": answer}]
    project = await new_project(task_type=task_type, labels=["car"] if task_type == "bounding_box" else ["PER"],
                                redundancy=3, tasks=tasks)
    await answer_all(client, make_user, project["id"], [answer] * 3, f"agreed-{task_type}")
    rows = [json.loads(x) for x in (await get_export(client, requester, project["id"], format="jsonl")).text.splitlines()]
    assert [x["confidence"] for x in rows] == [1.0] * 3
    kept = (await get_export(client, requester, project["id"], format="jsonl", min_confidence="1")).text.splitlines()
    assert len(kept) == 3


async def test_an_export_with_gold_tasks_says_which_rows_are_gold(client, requester, new_project, make_user):
    # A gold answer exports with confidence 1, as an override does: without a column saying so, a gold task could not
    # be held out of training. A data field named gold is then written as data_gold.
    tasks = [{"data": {"text": "t0", "gold": "no"}}, {"data": {"text": "g"}, "gold": {"label": "pos"}}]
    project = await new_project(task_type="text_classification", labels=["pos", "neg"], redundancy=1, tasks=tasks)
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"label": "neg"}], "goldcol")
    for extra in ({}, {"split": "train=1"}):  # rows made straight from the database, and through task rows
        text = (await get_export(client, requester, pid, format="jsonl", include_gold="true", **extra)).content
        if extra:
            with zipfile.ZipFile(io.BytesIO(text)) as z:
                text = z.read("train.jsonl")
        rows = [json.loads(x) for x in text.decode().splitlines()]
        assert [(r["text"], r.get("data_gold"), r["gold"]) for r in rows] == [("t0", "no", False), ("g", None, True)]
    table = (await get_export(client, requester, pid, format="csv", include_gold="true")).text.splitlines()
    assert table[0].endswith(",reviewed,gold") and table[1].endswith(",False") and table[2].endswith(",True")
    plain = json.loads((await get_export(client, requester, pid, format="jsonl")).text.splitlines()[0])
    assert plain["gold"] == "no" and "data_gold" not in plain  # no gold column without gold tasks: the data's own


async def test_bad_requests_get_one_clear_error_and_nothing_is_written(
        client, requester, new_project, make_user, run_cli, tmp_path, capsys):
    project = await project_with_answers(client, make_user, new_project, "text_classification", n=2)
    pid = project["id"]
    cases = [({"format": "parquet"}, 400, "format"), ({"format": "jsonl", "colour": "red"}, 400, "colour"),
             ({"format": "jsonl", "split": "train=0.8,test=0.1"}, 400, "split"), ({}, 400, "format"),
             ({"format": "coco"}, 400, "format"), ({"format": "jsonl", "pairs": "all"}, 400, "pairs")]
    for params, status, field in cases:
        r = await get_export(client, requester, pid, **params)
        assert r.status_code == status and r.json()["error"]["field"] == field, (params, r.text)
    r = await get_export(client, requester, pid, format="coco")
    assert "it exports as jsonl, csv, manifest, annotations, dump" in r.json()["error"]["message"]
    _, other = await make_user("requester", "someone-else")
    assert (await get_export(client, other, pid, format="jsonl")).status_code == 404
    assert (await get_export(client, other, 999, format="jsonl")).status_code == 404
    _, worker = await make_user("worker", "nosy")
    assert (await get_export(client, worker, pid, format="jsonl")).status_code == 403
    admin = (await make_user("admin", "boss"))[1]
    assert (await get_export(client, admin, pid, format="jsonl")).status_code == 200
    existing = tmp_path / "existing.jsonl"
    existing.write_text("keep me")
    capsys.readouterr()
    assert await run_cli("export", str(pid), "--format", "jsonl", "-o", str(existing)) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "already exists; use --force" in err and existing.read_text() == "keep me"
    for argv in (["--format", "jsonl", "--split", "a=0.5"], ["--format", "coco"], ["--format", "jsonl", "--pairs", "all"]):
        target = tmp_path / "never.jsonl"
        assert await run_cli("export", str(pid), *argv, "-o", str(target)) == 2
        assert one_line(capsys.readouterr().err) and not target.exists()
    assert await run_cli("export", "no-such-project", "--format", "jsonl", "-o", str(tmp_path / "n.jsonl")) == 2
    assert "no-such-project" in capsys.readouterr().err and not list(tmp_path.glob("*.partial*"))
    assert await run_cli("export", str(pid), "--format", "jsonl", "-o", str(existing), "--force", "--quiet") == 0
    assert existing.read_text().count("\n") == 2


async def test_an_export_never_replaces_a_device_a_pipe_or_standard_output(
        client, requester, new_project, make_user, run_cli, tmp_path, capsys):
    """`-o /dev/null --force` renamed the export over the device (as root, /dev/null became a regular file for every
    program), and `-o /dev/stdout --force` replaced that link with a file: neither is a file to replace."""
    import os
    import stat

    project = await project_with_answers(client, make_user, new_project, "text_classification", n=2)
    pipe, stdout = tmp_path / "pipe", tmp_path / "stdout"
    os.mkfifo(pipe)
    stdout.symlink_to("/proc/self/fd/1")  # what /dev/stdout is
    capsys.readouterr()
    for target in (pipe, stdout):
        for force in (["--force"], []):  # without it, "use --force" would be no help
            assert await run_cli("export", str(project["id"]), "--format", "jsonl", "-o", str(target), *force) == 2
            err = capsys.readouterr().err
            assert one_line(err) and "is a device, a pipe or a socket, not a file" in err, err
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode) and os.readlink(stdout) == "/proc/self/fd/1"
    assert not [p.name for p in tmp_path.iterdir() if "partial" in p.name]


async def test_odd_option_values_and_repeated_options_are_400_naming_the_option(
        client, requester, new_project, make_user, run_cli, tmp_path, capsys):
    project = await project_with_answers(client, make_user, new_project, "text_classification", n=2)
    pid = project["id"]
    cases = [("since=nan", "since"), ("since=inf", "since"), ("since=-Infinity", "since"), ("since=1e999", "since"),
             ("seed=%D9%A3", "seed"), ("seed=1_0", "seed"), ("seed=18446744073709551616", "seed"),
             ("seed=" + "9" * 5000, "seed"), ("min_confidence=%D9%A0.5", "min_confidence"),
             ("format=csv&format=jsonl", "format"), ("since=0&since=1", "since"), ("seed=1&seed=1", "seed"),
             ("label_attribute=a%00", "label_attribute"),
             # switches take true or false, as every boolean of the API and as the OpenAPI document says
             ("card=", "card"), ("include_open=1", "include_open"), ("include_gold=yes", "include_gold"),
             ("conversational=TRUE", "conversational"), ("copy_images=%20true", "copy_images")]
    for query, field in cases:
        r = await client.get(f"/api/projects/{pid}/export?format=jsonl&{query}".replace("format=jsonl&format=",
                                                                                          "format="),
                             headers=bearer(requester))
        assert r.status_code == 400 and r.json()["error"]["field"] == field, (query, r.status_code, r.text[:300])
    for argv in (["--since", "nan"], ["--seed", "١"], ["--since", "inf"]):
        target = tmp_path / "never.jsonl"
        assert await run_cli("export", str(pid), "--format", "jsonl", *argv, "-o", str(target)) == 2
        assert one_line(capsys.readouterr().err) and not target.exists()
    assert (await get_export(client, requester, pid, format="jsonl", since="1e9", seed="9223372036854775807")
            ).status_code == 200


async def test_cli_standard_output_folders_default_names_and_progress(client, requester, new_project, make_user,
                                                                      run_cli, tmp_path, capsysbinary, monkeypatch):
    from labeling.export.cli import Progress

    project = await project_with_answers(client, make_user, new_project, "text_classification", n=3)
    pid = project["id"]
    http = (await get_export(client, requester, pid, format="jsonl")).content
    capsysbinary.readouterr()
    assert await run_cli("export", str(pid), "--format", "jsonl", "-o", "-") == 0
    assert capsysbinary.readouterr().out == http
    folder = tmp_path / "reviews"
    folder.mkdir()
    assert await run_cli("export", str(pid), "--format", "jsonl", "-o", str(folder), "--force") == 0
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "train.jsonl"]
    assert (folder / "train.jsonl").read_bytes() == http
    monkeypatch.chdir(tmp_path)
    assert await run_cli("export", str(pid), "--format", "csv") == 0
    assert (tmp_path / "project-1-csv.csv").exists()
    assert await run_cli("export", str(pid), "--format", "jsonl", "--card") == 0
    assert (tmp_path / "project-1-jsonl" / "README.md").exists()
    screen = io.StringIO()
    progress = Progress(1000, screen)
    progress.shown -= 1
    progress(250)
    progress.done(1000)
    assert "250 of 1,000 rows" in screen.getvalue() and "rows/s" in screen.getvalue() and "s left" in screen.getvalue()
    assert "1,000 rows in" in screen.getvalue()


async def test_a_folder_export_is_on_disk_before_it_takes_its_name(client, make_user, new_project, run_cli, tmp_path,
                                                                   monkeypatch):
    # A one-file export was flushed and fsynced before its rename; a folder's files were only closed, so a power
    # cut soon after the rename could leave the folder's name on empty or cut files.
    import os as os_module

    from labeling.export import archive

    synced: list[str] = []
    real_fsync = os_module.fsync

    def fsync(fd: int) -> None:
        synced.append(os_module.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os_module, "fsync", fsync)
    project = await project_with_answers(client, make_user, new_project, "text_classification", n=3)
    folder = tmp_path / "out"
    assert await run_cli("export", str(project["id"]), "--format", "jsonl", "--card", "-o", str(folder)) == 0
    partial = [p for p in synced if "/.out.partial-" in p]
    assert sorted(p.rsplit("/", 1)[1] for p in partial if not p.endswith(tuple("0123456789"))) == [
        "README.md", "train.jsonl"]  # each file, then the folder itself
    assert any(p.rsplit("/", 1)[1].startswith(".out.partial-") for p in partial)
    assert synced[-1] == str(tmp_path)  # the rename, last
    # Nested folders too, deepest first (coco's annotations/, images/)
    synced.clear()
    sink = archive.FolderSink(tmp_path / "nested")
    (tmp_path / "nested").mkdir()
    sink.open("annotations/instances_train.json")
    sink.write("{}")
    source = tmp_path / "picture.png"
    source.write_bytes(b"png")
    sink.copy("images/a/picture.png", source)
    sink.finish()
    assert synced == [str(tmp_path / "nested/annotations/instances_train.json"),
                      str(tmp_path / "nested/images/a/picture.png"), str(tmp_path / "nested/images/a"),
                      str(tmp_path / "nested/annotations"), str(tmp_path / "nested/images"),
                      str(tmp_path / "nested")]


async def test_a_manifest_line_comes_back_with_every_input_key(client, requester, new_project, make_user):
    lines = [{"source-ref": "https://img.example/a.jpg", "camera": "north", "taken": {"day": 3, "tags": ["wet"]},
              "score": 0.25, "note": "çà 日本"},
             {"source-ref": "https://img.example/b.jpg", "camera": "south", "extra-key": None}]
    project = await new_project(task_type="image_classification", labels=["cat", "dog"], redundancy=1, tasks=lines)
    await answer_all(client, make_user, project["id"], [{"label": "dog"}], "mani")
    out = [json.loads(x) for x in (await get_export(client, requester, project["id"], format="manifest",
                                                   label_attribute="animal")).text.splitlines()]
    assert len(out) == 2
    for line, got in zip(lines, out):
        assert list(got)[0] == "source-ref"
        assert {k: v for k, v in got.items() if not k.startswith("animal")} == line
        assert got["animal-metadata"]["class-name"] == "dog" and got["animal"] == 1
    texts = [{"source": "a review", "lang": "en", "stars": 4}]
    project = await new_project(task_type="text_classification", labels=["pos", "neg"], redundancy=1, tasks=texts)
    await answer_all(client, make_user, project["id"], [{"label": "pos"}], "manit")
    got = json.loads((await get_export(client, requester, project["id"], format="manifest")).text)
    assert {k: v for k, v in got.items() if k in texts[0]} == texts[0] and list(got)[0] == "source"


@pytest.mark.parametrize("task_type, lines", [
    ("text_classification", [{"source-ref": "s3://bucket/review-1.txt", "lang": "en"},
                             {"source": "inline text", "source-ref": "s3://bucket/copy.txt", "stars": 4},
                             {"source": "plain", "n": "007"}]),
    ("named_entities", [{"source-ref": "Ada met Bob .", "doc": 7}]),
    ("image_classification", [{"source": "https://img.example/a.jpg", "camera": "north"},
                              {"source-ref": "https://img.example/b.jpg", "source": "scanner 2"},
                              {"source-ref": "https://img.example/c.jpg", "taken": {"day": 3}}]),
    ("bounding_box", [{"source": "https://img.example/d.jpg", "width": 10, "height": 20}]),
])
async def test_a_manifest_line_comes_back_under_the_key_it_came_under(client, requester, new_project, make_user,
                                                                     task_type, lines):
    # A text under source-ref (or an image under source) is given back under that key, not the type's usual one;
    # a line with both keys gives a text its source and an image its source-ref, the other kept as it was.
    labels = ["PER"] if task_type == "named_entities" else ["cat", "dog"]
    project = await new_project(task_type=task_type, labels=labels, redundancy=1, tasks=lines)
    await answer_all(client, make_user, project["id"], [{"label": "dog"} if "classification" in task_type
                                                        else {"spans": []} if task_type == "named_entities"
                                                        else {"boxes": []}], "keys-" + task_type[:6])
    out = [json.loads(x) for x in (await get_export(client, requester, project["id"], format="manifest",
                                                   label_attribute="attr")).text.splitlines()]
    assert [{k: v for k, v in got.items() if not k.startswith("attr")} for got in out] == lines
    field = "image" if task_type in ("image_classification", "bounding_box") else "text"
    tasks = (await client.get(f"/api/projects/{project['id']}/tasks", headers=bearer(requester))).json()["data"]
    keys = ("source-ref", "source") if field == "image" else ("source", "source-ref")
    assert [t["data"][field] for t in tasks] == [next(line[k] for k in keys if k in line) for line in lines]


async def test_a_data_field_named_like_the_manifest_key_does_not_take_the_text_s_place(client, requester, new_project,
                                                                                     make_user):
    # A text task's data may have a field `source` of its own (where the review came from): the manifest line's
    # `source` is still the text, and that field is kept as data_source (as jsonl keeps a `label` field).
    tasks = [{"data": {"text": "Great value", "source": "amazon", "n": "007"}},
             {"data": {"image": "https://img.example/a.jpg", "source-ref": "s3://old/a.jpg"}}]
    project = await new_project(task_type="text_classification", labels=["pos", "neg"], redundancy=1,
                                tasks=tasks[:1])
    await answer_all(client, make_user, project["id"], [{"label": "pos"}], "msrc")
    r = await get_export(client, requester, project["id"], format="manifest", label_attribute="sentiment")
    got = json.loads(r.text)
    assert {k: v for k, v in got.items() if not k.startswith("sentiment")} == {
        "source": "Great value", "data_source": "amazon", "n": "007"}
    images = await new_project(task_type="image_classification", labels=["cat"], redundancy=1, tasks=tasks[1:])
    await answer_all(client, make_user, images["id"], [{"label": "cat"}], "msrci")
    got = json.loads((await get_export(client, requester, images["id"], format="manifest")).text)
    assert got["source-ref"] == "https://img.example/a.jpg" and got["data_source-ref"] == "s3://old/a.jpg"


async def test_image_sizes_come_from_the_upload_as_a_browser_shows_the_image(client, requester, new_project,
                                                                             make_user, tmp_path):
    # 300 x 200 pixels stored, EXIF orientation 6: shown (and boxed) as 200 x 300.
    image = Image.new("RGB", (300, 200))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    r = await client.post("/api/media", files={"file": ("turned.jpg", buffer.getvalue(), "image/jpeg")},
                          headers=bearer(requester))
    assert r.status_code == 201, r.text
    stored = r.json()["data"][0]
    assert (stored["width"], stored["height"]) == (200, 300)
    project = await new_project(task_type="bounding_box", labels=["car"], redundancy=1,
                                tasks=[{"data": {"image": stored["path"]}}])
    box = {"boxes": [{"label": "car", "x": 10, "y": 250, "w": 100, "h": 40}]}  # only fits the shown size
    await answer_all(client, make_user, project["id"], [box], "turned")
    line = json.loads((await get_export(client, requester, project["id"], format="manifest")).text)
    value = next(v for k, v in line.items() if k != "source-ref" and not k.endswith("-metadata"))
    assert value["image_size"] == [{"width": 200, "height": 300}]
    coco = json.loads((await get_export(client, requester, project["id"], format="coco")).content)
    assert (coco["images"][0]["width"], coco["images"][0]["height"]) == (200, 300)


def _oriented(fmt: str, orientation: int) -> bytes:
    """A 40 x 30 red picture with a blue 10 x 10 mark at its (raw) top left and an EXIF orientation."""
    image = Image.new("RGB", (40, 30), (220, 0, 0))
    image.paste((0, 0, 220), (0, 0, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, fmt, exif=exif, **({"lossless": True} if fmt == "WEBP" else {"quality": 95}))
    return buffer.getvalue()


@pytest.mark.parametrize("fmt, orientation, mark", [
    ("JPEG", 6, (20, 0)),  # turned a quarter clockwise: shown 30 x 40, the mark at the top right
    ("PNG", 8, (0, 30)),  # a quarter the other way: shown 30 x 40, the mark at the bottom left
    ("JPEG", 2, (30, 0)),  # mirrored: shown 40 x 30, the mark at the top right
    ("WEBP", 6, (0, 0)),  # browsers show a WebP unturned: 40 x 30, the mark where it is
])
async def test_a_copied_image_is_the_picture_its_size_and_boxes_were_made_on_to_every_reader(
        client, requester, new_project, make_user, tmp_path, fmt, orientation, mark):
    # A photo with an EXIF orientation is shown turned by the labeling page (a WebP is not), and its size and boxes
    # are that picture's; coco --copy-images and yolo copied the file as it was: a reader of raw pixels (Pillow's
    # Image.open, torchvision) saw another size than COCO's and the boxes off their objects, and one applying the tag
    # (Ultralytics' exif_size) turned a WebP the page had shown unturned. The copies are now the page's picture,
    # with no orientation left to apply, so both kinds of reader see it.
    from PIL import ImageOps
    from pycocotools.coco import COCO

    r = await client.post("/api/media", files={"file": (f"photo.{fmt.lower()}", _oriented(fmt, orientation), "image/*")},
                          headers=bearer(requester))
    assert r.status_code == 201, r.text
    stored = r.json()["data"][0]
    project = await new_project(task_type="bounding_box", labels=["mark"], redundancy=1,
                                tasks=[{"data": {"image": stored["path"]}}])
    box = {"label": "mark", "x": mark[0], "y": mark[1], "w": 10, "h": 10}  # drawn on the mark as the page shows it
    await answer_all(client, make_user, project["id"], [{"boxes": [box]}], f"oriented{fmt}{orientation}")

    def seen(content: bytes) -> list[Image.Image]:  # the picture as a raw reader and as a tag-applying reader see it
        raw = Image.open(io.BytesIO(content))
        assert raw.getexif().get(0x0112) in (None, 1)  # no orientation left for a reader to apply, or not
        return [raw.convert("RGB"), ImageOps.exif_transpose(Image.open(io.BytesIO(content))).convert("RGB")]

    def blue_inside(image: Image.Image, x: float, y: float, w: float, h: float) -> bool:
        red, _, blue = image.getpixel((int(x + w / 2), int(y + h / 2)))
        return blue > 150 and red < 100

    r = await get_export(client, requester, project["id"], format="coco", copy_images="true", card="true")
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        z.extractall(tmp_path / "coco")
        said = z.read("README.md").decode()
    coco = COCO(str(tmp_path / "coco" / "annotations" / "instances_train.json"))
    image = coco.loadImgs(coco.getImgIds())[0]
    (bbox,) = [a["bbox"] for a in coco.loadAnns(coco.getAnnIds())]
    for picture in seen((tmp_path / "coco" / "images" / "train" / image["file_name"]).read_bytes()):
        assert picture.size == (image["width"], image["height"])
        assert blue_inside(picture, *bbox)
    assert ("turned upright" if fmt != "WEBP" else "orientation was removed") in said
    r = await get_export(client, requester, project["id"], format="yolo")
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        (name,) = [n for n in z.namelist() if n.startswith("images/")]
        _, cx, cy, w, h = map(float, z.read(f"labels/train/{name.rsplit('/', 1)[1].split('.')[0]}.txt").split())
        for picture in seen(z.read(name)):
            width, height = picture.size
            assert blue_inside(picture, (cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height)


async def test_jsonl_and_csv_made_from_database_rows_equal_those_made_from_task_rows(
        client, requester, new_project, make_user, monkeypatch):
    # jsonl and csv are written from records made straight from the database rows (exporter._records); every other
    # path makes task rows first (exporter._row, tabular.task_record). Both must give the same bytes: overrides,
    # accepted reviews, gold and open tasks, data fields named like our columns, text beyond ASCII, a large integer.
    tasks = [{"data": {"text": f"review {i} çà 日本", "stars": i, "id": f"their-{i}", "confidence": "high",
                       "big": 2**62 if i == 1 else i}, "external_id": f"t{i}"} for i in range(4)]
    tasks.append({"data": {"text": "gold", "stars": 9}, "gold": {"label": "neg"}, "external_id": "g"})
    project = await new_project(task_type="text_classification", labels=["pos", "neg"], redundancy=2, tasks=tasks)
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"label": "pos"}, lambda d: {"label": "neg" if d["stars"] else "pos"}],
                     "direct")
    await client.post(f"/api/projects/{pid}/tasks", json=[{"data": {"text": "open"}, "external_id": "open"}],
                      headers=bearer(requester))
    r = await client.get(f"/api/projects/{pid}/results", params={"limit": 10}, headers=bearer(requester))
    done = sorted(row["task_id"] for row in r.json()["data"])
    assert len(done) == 4
    r = await client.post(f"/api/projects/{pid}/tasks/{done[0]}/override", json={"answer": {"label": "neg"}},
                          headers=bearer(requester))
    assert r.status_code in (200, 201), r.text
    r = await client.post(f"/api/projects/{pid}/tasks/{done[1]}/accept", headers=bearer(requester))
    assert r.status_code in (200, 201), r.text
    cases = [{"format": "jsonl"}, {"format": "csv"}, {"format": "jsonl", "include_open": "true", "include_gold": "true"},
             {"format": "csv", "include_open": "true", "include_gold": "true"}, {"format": "jsonl", "min_confidence": "0.5"}]
    direct = [(await get_export(client, requester, pid, **params)).content for params in cases]
    from labeling.export.writer import Writer
    from labeling.export import tabular
    monkeypatch.setattr(tabular.Jsonl, "takes_records", False)
    monkeypatch.setattr(tabular.Csv, "takes_records", False)
    assert not tabular.Jsonl.takes_records and Writer.takes_records is False
    rows = [(await get_export(client, requester, pid, **params)).content for params in cases]
    assert direct == rows
    lines = [json.loads(line) for line in direct[2].decode().splitlines()]
    assert len(lines) == 6 and lines[0]["data_id"] == "their-0" and lines[0]["data_confidence"] == "high"
    assert lines[0]["label"] == "neg" and lines[0]["reviewed"] is True and lines[0]["confidence"] == 1.0
    assert lines[1]["reviewed"] is True and lines[1]["big"] == 2**62 and "日本" in lines[1]["text"]
    assert [line["external_id"] for line in lines] == ["t0", "t1", "t2", "t3", "g", "open"]
    assert lines[4]["label"] == "neg" and lines[4]["confidence"] == 1.0 and lines[5]["label"] is None


async def test_a_data_field_named_like_a_consensus_column_keeps_its_value_under_its_own_name(
        client, requester, new_project, make_user, load, tmp_path):
    # A task whose data already has a `label` (a model's guess, say) and a `scores` list: in jsonl and csv they are
    # data_label / data_scores beside the consensus columns, never overwritten by them nor a second CSV column.
    # A field already named data_... is renamed too (data_data_label), in every row alike, so `label` and
    # `data_label` in one task stay two columns.
    tasks = [{"data": {"text": f"review {i}", "label": "model-guess", "stars": i,
                       **({"data_label": "theirs"} if i == 1 else {})}, "external_id": f"t{i}"} for i in range(3)]
    project = await new_project(task_type="text_classification", labels=["pos", "neg"], redundancy=1, tasks=tasks)
    await answer_all(client, make_user, project["id"], [{"label": "pos"}], "cols")
    lines = [json.loads(x) for x in (await get_export(client, requester, project["id"], format="jsonl")).text.splitlines()]
    assert [(x["data_label"], x["label"]) for x in lines] == [("model-guess", "pos")] * 3
    assert [x.get("data_data_label") for x in lines] == [None, "theirs", None]
    r = await get_export(client, requester, project["id"], format="csv")
    header = r.text.splitlines()[0].split(",")
    assert len(header) == len(set(header)) and {"data_label", "label", "data_data_label"} <= set(header)
    path = tmp_path / "t.csv"
    path.write_bytes(r.content)
    table = load("csv", data_files=str(path))["train"]
    assert table["data_label"] == ["model-guess"] * 3 and table["label"] == ["pos"] * 3
    assert table["data_data_label"] == [None, "theirs", None]
    ranking = await project_with_answers(client, make_user, new_project, "preference_ranking", n=2)
    r = await client.post(f"/api/projects/{ranking['id']}/tasks", headers=bearer(requester), json=[
        {"data": {"prompt": "p", "responses": [{"id": "a", "text": "x"}, {"id": "b", "text": "y"}],
                  "scores": "theirs"}, "external_id": "with-scores"}])
    assert r.status_code == 201, r.text
    got = [json.loads(x) for x in (await get_export(client, requester, ranking["id"], format="jsonl",
                                                    include_open="true")).text.splitlines()]
    assert got[-1]["data_scores"] == "theirs" and got[-1]["scores"] is None


async def test_force_never_replaces_a_folder_holding_what_the_export_does_not_write(
        client, requester, new_project, make_user, run_cli, tmp_path, capsys, monkeypatch):
    """`labeling export P --format jsonl -o labeling-data --force` replaced the data directory, its database and
    media with the export's README.md and train.jsonl (the command then failed, its database gone)."""
    project = await project_with_answers(client, make_user, new_project, "text_classification", n=2)
    pid = project["id"]
    data = tmp_path / "labeling-data"
    (data / "media" / "uploads").mkdir(parents=True)
    (data / "labeling.db").write_bytes(b"precious")
    (data / "media" / "uploads" / "a.png").write_bytes(b"png")
    capsys.readouterr()
    for target in (data, tmp_path / "labeling-data/"):
        assert await run_cli("export", str(pid), "--format", "jsonl", "-o", str(target), "--force", "--quiet") == 2
        err = capsys.readouterr().err
        assert one_line(err) and "does not write (labeling.db, media, media/uploads and 1 more)" in err, err
    monkeypatch.chdir(data)  # `-o .` is the folder by its name (it was "ValueError: PosixPath('.') has an empty name")
    assert await run_cli("export", str(pid), "--format", "jsonl", "--card", "-o", ".", "--force", "--quiet") == 2
    assert "labeling-data holds what this export does not write" in capsys.readouterr().err
    assert await run_cli("export", str(pid), "--format", "jsonl", "-o", "/", "--force", "--quiet") == 2
    assert "/ cannot be replaced by an export; give a file or folder name" in capsys.readouterr().err
    (tmp_path / "a-file").write_text("x")  # was "[Errno 20] Not a directory: 'a-file/.x.jsonl.partial-PID'"
    assert await run_cli("export", str(pid), "--format", "jsonl", "-o", str(tmp_path / "a-file" / "x.jsonl")) == 2
    assert capsys.readouterr().err.endswith(f"labeling: error: no folder {tmp_path / 'a-file'} to write x.jsonl into\n")
    assert (data / "labeling.db").read_bytes() == b"precious" and (data / "media/uploads/a.png").read_bytes() == b"png"
    assert sorted(p.name for p in data.iterdir()) == ["labeling.db", "media"]
    assert not list(tmp_path.glob(".*partial*")) and not list(tmp_path.glob(".*old*"))
    zipped = tmp_path / "odd.zip"
    zipped.mkdir()
    (zipped / "keep.txt").write_text("mine")
    assert await run_cli("export", str(pid), "--format", "jsonl", "--card", "-o", str(zipped), "--force") == 2
    assert "keep.txt" in capsys.readouterr().err and (zipped / "keep.txt").read_text() == "mine"
    again = tmp_path / "again"
    for _ in range(2):  # an earlier export of the same shape is replaced
        assert await run_cli("export", str(pid), "--format", "jsonl", "--split", "train=0.5,test=0.5", "-o",
                             str(again), "--force", "--quiet") == 0
    assert sorted(p.name for p in again.iterdir()) == ["README.md", "test.jsonl", "train.jsonl"]


async def test_a_dump_into_an_existing_folder_goes_inside_it_never_in_its_place(
        client, requester, new_project, make_user, run_cli, tmp_path, capsys):
    """`export P --format dump -o EMPTY_DIR --force` replaced the empty folder with the dump file: a one-file
    format with no folder form is written into the folder -o names, under its own file name."""
    project = await project_with_answers(client, make_user, new_project, "text_classification", n=2)
    pid = project["id"]
    http = (await get_export(client, requester, pid, format="dump")).content
    folder = tmp_path / "dumps"
    folder.mkdir()
    assert await run_cli("export", str(pid), "--format", "dump", "-o", str(folder), "--quiet") == 0  # no --force
    assert await run_cli("export", str(pid), "--format", "dump", "-o", str(folder), "--force", "--quiet") == 0
    capsys.readouterr()
    assert folder.is_dir() and [p.name for p in folder.iterdir()] == [f"project-{pid}-dump.jsonl"]
    assert (folder / f"project-{pid}-dump.jsonl").read_bytes() == http
    assert await run_cli("export", str(pid), "--format", "dump", "-o", str(folder), "--quiet") == 2
    err = capsys.readouterr().err  # the file in it is refused without --force, as any existing output is
    assert one_line(err) and f"project-{pid}-dump.jsonl already exists; use --force" in err, err
    everything = tmp_path / "all"
    everything.mkdir()
    assert await run_cli("export", "--all", "--format", "dump", "-o", str(everything) + "/", "--force", "--quiet") == 0
    assert [p.name for p in everything.iterdir()] == ["labeling-dump.jsonl"]
    assert await run_cli("export", str(pid), "--format", "dump", "-o", str(tmp_path / "missing") + "/") == 2
    err = capsys.readouterr().err
    assert one_line(err) and f"no folder {tmp_path / 'missing'} to write" in err, err
    assert not (tmp_path / "missing").exists() and not list(tmp_path.glob(".*partial*"))


async def test_force_never_replaces_an_sqlite_database_or_its_journal(client, requester, new_project, make_user,
                                                                      run_cli, tmp_path, capsys):
    """`export --all --format dump -o labeling-data/labeling.db --force` put the dump in place of the database."""
    import sqlite3

    project = await project_with_answers(client, make_user, new_project, "text_classification", n=2)
    (tmp_path / "other-data").mkdir()
    database = tmp_path / "other-data" / "labeling.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE keep (x)")
    wal = database.with_name("labeling.db-wal")
    wal.write_bytes(b"\x37\x7f\x06\x82" + bytes(28))
    shm = database.with_name("labeling.db-shm")
    shm.write_bytes(bytes(32))
    before = {p: p.read_bytes() for p in (database, wal, shm)}
    capsys.readouterr()
    for target in before:
        assert await run_cli("export", str(project["id"]), "--format", "jsonl", "-o", str(target), "--force") == 2
        err = capsys.readouterr().err
        assert one_line(err) and "is an SQLite database (or its journal), not an earlier export" in err, err
    assert {p: p.read_bytes() for p in before} == before
    plain = tmp_path / "old.jsonl"
    plain.write_text("an earlier export")
    assert await run_cli("export", str(project["id"]), "--format", "jsonl", "-o", str(plain), "--force") == 0


async def test_the_card_of_a_project_without_consensus_says_so_without_a_time_zone(client, requester, new_project,
                                                                                    run_cli, tmp_path):
    project = await new_project(tasks=[{"data": {"text": "ünïcode"}}])
    folder = tmp_path / "with space" / "card"
    folder.parent.mkdir()
    assert await run_cli("export", str(project["id"]), "--format", "jsonl", "--include-open", "--card",
                         "-o", str(folder)) == 0
    card = (folder / "README.md").read_text()
    assert "- data as of: no consensus yet\n" in card  # it was "no consensus yet (UTC)"


async def test_a_folder_export_forced_over_a_file_is_one_line_and_leaves_it(client, requester, new_project, run_cli,
                                                                             tmp_path, capsys, monkeypatch):
    project = await new_project(tasks=[{"data": {"text": "a"}}])
    target = tmp_path / "out"
    target.write_text("keep")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert await run_cli("export", str(project["id"]), "--format", "jsonl", "--include-open", "--split",
                         "train=0.5,test=0.5", "-o", "out", "--force") == 2
    err = capsys.readouterr().err
    assert one_line(err) and "out is a file and this export is a folder" in err, err  # was "[Errno 20] Not a dir"
    assert target.read_text() == "keep" and not [p for p in tmp_path.iterdir() if "partial" in p.name]


async def test_a_one_file_export_is_not_written_under_a_zip_name(client, requester, new_project, run_cli, tmp_path,
                                                                 capsys):
    project = await new_project(tasks=[{"data": {"text": "a"}}])
    for argv, words in [(["--format", "jsonl"], "one .jsonl file; name it .jsonl, or add --card"),
                        (["--format", "dump"], "one .jsonl file; name it .jsonl\n")]:
        capsys.readouterr()
        assert await run_cli("export", str(project["id"]), *argv, "--include-open" if "jsonl" in argv else "--quiet",
                             "-o", str(tmp_path / "x.zip")) == 2  # it wrote JSON Lines named x.zip
        err = capsys.readouterr().err
        assert one_line(err) and words in err and not (tmp_path / "x.zip").exists(), err
    assert await run_cli("export", str(project["id"]), "--format", "jsonl", "--include-open", "--card",
                         "-o", str(tmp_path / "x.zip")) == 0
    assert zipfile.is_zipfile(tmp_path / "x.zip")


async def test_an_empty_export_says_so(client, requester, new_project, make_user, run_cli, tmp_path, capsys):
    waiting = await new_project(tasks=[{"data": {"text": "no answers yet"}}])
    assert await run_cli("export", str(waiting["id"]), "--format", "jsonl", "-o", str(tmp_path / "e.jsonl")) == 0
    assert (tmp_path / "e.jsonl").read_bytes() == b""
    assert "labeling: note: no records: the export is empty" in capsys.readouterr().err
    done = await project_with_answers(client, make_user, new_project, "text_classification", n=2)
    assert await run_cli("export", str(done["id"]), "--format", "jsonl", "-o", str(tmp_path / "d.jsonl")) == 0
    assert "no records" not in capsys.readouterr().err


# `labeling export` in its own process, stopped by SIGTERM once its first bytes are out: while the event loop waits
# (a page being read), or while its own code runs.
STOPPED_EXPORT = """
import asyncio, os, signal, sys, threading
from labeling import cli
from labeling.export import exporter

written = exporter.Export._write

async def stopped(self, *args):
    async for chunk in written(self, *args):
        yield chunk
        if sys.argv[1] == "waiting":
            threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
            await asyncio.sleep(30)
        os.kill(os.getpid(), signal.SIGTERM)

exporter.Export._write = stopped
sys.exit(cli.main(sys.argv[2:]))
"""


@pytest.mark.parametrize("when", ["waiting", "running"])
async def test_an_export_stopped_by_sigterm_leaves_no_partial_file(client, requester, new_project, settings, tmp_path,
                                                                   when):
    import asyncio
    import os
    import subprocess
    import sys

    project = await new_project(tasks=[{"data": {"text": f"t{i}"}} for i in range(3)])
    env = {**os.environ, "LABELING_DATA_DIR": str(settings.data_dir), "LABELING_SECRET_KEY": "s",
           "LABELING_DATABASE_URL": settings.resolved_database_url}
    env.pop("LABELING_ADMIN_TOKEN", None)
    out = tmp_path / "out"
    out.mkdir()
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", STOPPED_EXPORT, when, "export", str(project["id"]), "--format", "jsonl",
                         "--include-open", "--split", "a=0.5,b=0.5", "-o", str(out / "x.zip")],
        env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert list(out.iterdir()) == []  # neither x.zip nor its hidden partial copy


async def test_an_export_file_is_on_disk_before_it_takes_its_name(client, requester, new_project, run_cli, tmp_path,
                                                                 monkeypatch):
    import os

    project = await new_project(tasks=[{"data": {"text": "a"}}])
    synced = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append((os.readlink(f"/proc/self/fd/{fd}"), os.path.getsize(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    for name in ("x.jsonl", "x.zip"):
        argv = ["--card"] if name.endswith(".zip") else []
        assert await run_cli("export", str(project["id"]), "--format", "jsonl", "--include-open", *argv,
                             "-o", str(tmp_path / name)) == 0
        ours = [(path, size) for path, size in synced if f".{name}.partial-" in path]
        assert ours == [(ours[0][0], (tmp_path / name).stat().st_size)], synced  # the whole file, under its partial name


@pytest.mark.parametrize("params", [{"format": "yolo"}, {"format": "coco", "copy_images": "true"}])
async def test_a_zip_of_images_streams_one_image_at_a_time(client, requester, new_project, make_user, settings, db,
                                                            params):
    import os

    from sqlalchemy import select

    from labeling import models
    from labeling.export import exporter, options

    (settings.media_dir / "shared").mkdir(parents=True)
    for i in range(4):  # noise: as large in a zip as on disk
        Image.frombytes("RGB", (100, 100), os.urandom(100 * 100 * 3)).save(settings.media_dir / "shared" / f"{i}.png")
    size = (settings.media_dir / "shared" / "0.png").stat().st_size
    project = await new_project(task_type="bounding_box", labels=["car"], redundancy=1,
                                tasks=[{"data": {"image": f"shared/{i}.png"}} for i in range(4)])
    await answer_all(client, make_user, project["id"], [{"boxes": [{"label": "car", "x": 1, "y": 1, "w": 5, "h": 5}]}],
                     "zipstream")
    async with db.read() as conn:
        row = (await conn.execute(select(models.projects).where(models.projects.c.id == project["id"]))).first()
    job = exporter.Export(db, row, options.parse(params), media_dir=settings.media_dir, secret="s")
    chunks = [chunk async for chunk in job.chunks()]
    # A page of 2,000 photos was held whole (gigabytes) before its first byte went out.
    assert max(map(len, chunks)) < 1.5 * size < sum(map(len, chunks)) / 2
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as z:
        assert len([name for name in z.namelist() if name.startswith("images/")]) == 4


async def test_pages_of_long_tasks_hold_fewer_tasks(client, requester, new_project, db, settings, monkeypatch, load,
                                                    tmp_path):
    from sqlalchemy import select

    from labeling import models
    from labeling.export import exporter, options, raw

    texts = ["x" * 500] * 40 + ["short"] * 100
    project = await new_project(tasks=[{"data": {"text": t}} for t in texts])
    async with db.read() as conn:
        row = (await conn.execute(select(models.projects).where(models.projects.c.id == project["id"]))).first()

    async def export() -> tuple[bytes, list[int]]:
        job = exporter.Export(db, row, options.parse({"format": "jsonl", "include_open": "true"}),
                              media_dir=settings.media_dir, secret="s")
        seen: list[int] = []
        job.on_rows = seen.append
        data = b"".join([chunk async for chunk in job.chunks()])
        return data, [b - a for a, b in zip([0, *seen], seen)]

    whole, _ = await export()
    monkeypatch.setattr(raw, "PAGE_CHARS", 2000)  # three long tasks a page (with their JSON)
    paged, pages = await export()
    assert paged == whole and sum(pages) == len(texts)
    # 16 first, then 3 long tasks a page, then pages growing 8-fold at most once the short tasks come.
    assert pages[:3] == [16, 3, 3] and all(b <= 8 * a for a, b in zip(pages, pages[1:])) and max(pages) > 24, pages
    path = tmp_path / "paged.jsonl"
    path.write_bytes(paged)
    assert load("json", data_files=str(path))["train"]["text"] == texts


async def test_a_head_of_an_export_answers_its_headers_without_exporting(client, requester, new_project, make_user,
                                                                        monkeypatch):
    """A script checking an export's URL with HEAD gets the GET's headers (or its 400), but no export is made and
    none is recorded in the audit log (the whole export ran, and was logged, for a body nobody gets)."""
    from labeling.export import exporter

    project = await project_with_answers(client, make_user, new_project, "text_classification")
    pid = project["id"]
    get = await get_export(client, requester, pid, format="jsonl")

    def audit_exports() -> list[dict]:
        return [e for e in every_entry if e["action"] == "project.export"]

    every_entry = (await client.get("/api/audit", params={"limit": 1000}, headers=bearer(requester))).json()["data"]
    exports_before = len(audit_exports())
    made = []
    monkeypatch.setattr(exporter.Export, "chunks", lambda self: made.append(self) or iter(()))
    r = await client.head(f"/api/projects/{pid}/export", params={"format": "jsonl"}, headers=bearer(requester))
    assert r.status_code == 200 and r.content == b""
    for name in ("content-type", "content-disposition", "cache-control"):
        assert r.headers[name] == get.headers[name], name
    assert "content-length" not in r.headers
    assert made == []
    every_entry = (await client.get("/api/audit", params={"limit": 1000}, headers=bearer(requester))).json()["data"]
    assert len(audit_exports()) == exports_before
    bad = await client.head(f"/api/projects/{pid}/export", params={"format": "coco"}, headers=bearer(requester))
    assert bad.status_code == 400
