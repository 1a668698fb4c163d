"""Exports of hostile text (astral characters, controls, line breaks, formulas, numeric-looking text) loaded as
training code loads them: datasets, pandas, the csv module, PyYAML, pycocotools; the same on both databases."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import re
import zipfile
from pathlib import Path

import pytest
import yaml
from PIL import Image
from sqlalchemy import update

from labeling import models
from labeling.errors import InvalidInput
from labeling.export import formats, tabular
from tests.conftest import bearer, one_line, raw_writes
from tests.export.helpers import answer_all

README = Path(__file__).resolve().parents[2] / "README.md"
# Text a CSV reader, a YAML reader or a spreadsheet may take for something else.
HOSTILE = ["😀 astral 𝔘𝔫𝔦", "e\u0301 combining", "שלום RTL مرحبا \u202e", "👨\u200d👩\u200d👧 zwj",
           "ctrl \x01\x1b\x7f\x85 \u2028 \u2029 \x0b\x0c", "cr\rlf\ncrlf\r\n", "tab\t", 'quote " \' \\ \\n', "=1+2",
           "+cmd", "-3", "@SUM(A1)", "", "007", "1e5", "NaN", "null", "NA", "true", " padded ", "long " + "x" * 100_000]
# Labels and a project name a YAML reader refuses (DEL, C1 controls) or changes (U+2028 and NEL are line breaks).
YAML_HOSTILE = ["car 😀", "a,b: c", "line\u2028sep", "del\x7f", "nel\x85x", "c1\x9b", "tab\tx", "q\"'\\", "# hash",
                "- dash", "nl\nx"]


async def get_export(client, token: str, pid: int, **params: str):  # noqa: ANN001, ANN201
    r = await client.get(f"/api/projects/{pid}/export", params=params, headers=bearer(token))
    assert r.status_code == 200, r.text
    return r


async def test_csv_and_jsonl_give_back_every_hostile_text_with_the_readers_the_readme_names(
        client, requester, new_project, make_user, run_cli, load, tmp_path):
    tasks = [{"data": {"text": t or "(empty)", "meta": t}, "external_id": f"{i}:{t[:20]}"}
             for i, t in enumerate(HOSTILE)]
    project = await new_project(task_type="text_classification", labels=["a b", "=x"], tasks=tasks)
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"label": "=x"}], f"h{pid}")
    path = tmp_path / "out.csv"
    assert await run_cli("export", str(pid), "--format", "csv", "-o", str(path)) == 0
    assert path.read_bytes() == (await get_export(client, requester, pid, format="csv")).content
    import pandas

    # The README's recipe: every text comes back as it was (the formulas too: the data is never altered).
    table = pandas.read_csv(path, dtype=str, keep_default_na=False)
    assert "keep_default_na=False" in README.read_text()
    assert len(table) == len(HOSTILE) and sorted(table["meta"]) == sorted(HOSTILE)
    assert sorted(table["external_id"]) == sorted(t["external_id"] for t in tasks)
    assert set(table["label"]) == {"=x"}
    with path.open(encoding="utf-8", newline="") as handle:  # as the csv module's documentation opens a file
        rows = list(csv.DictReader(handle))
    assert sorted(r["meta"] for r in rows) == sorted(HOSTILE)
    import datasets

    columns = datasets.Features({name: datasets.Value("string") for name in table.columns})
    data = load("csv", data_files=str(path), features=columns, keep_default_na=False)["train"]
    assert sorted(data["meta"]) == sorted(HOSTILE)
    jsonl = tmp_path / "out.jsonl"
    assert await run_cli("export", str(pid), "--format", "jsonl", "-o", str(jsonl)) == 0
    data = load("json", data_files=str(jsonl))["train"]
    assert sorted(data["meta"]) == sorted(HOSTILE) and sorted(data["external_id"]) == sorted(table["external_id"])
    card = await get_export(client, requester, pid, format="csv", card="true")
    with zipfile.ZipFile(io.BytesIO(card.content)) as z:
        assert "CSV injection" in z.read("README.md").decode()


async def store_labels(db, project_id: int, labels: list[str]) -> None:  # noqa: ANN001
    """Labels with control characters are refused now; a project of an earlier release may still have them."""
    async with raw_writes(db) as conn:
        await conn.execute(update(models.projects).where(models.projects.c.id == project_id).values(
            labels=labels, updated_at=models.projects.c.updated_at + 1))


async def test_yolo_data_yaml_and_the_card_header_read_back_every_label_and_the_name(
        client, requester, new_project, make_user, settings, load, tmp_path, db):
    (settings.media_dir / "shared" / "shots").mkdir(parents=True)
    Image.new("RGB", (100, 50)).save(settings.media_dir / "shared" / "shots" / "0.png")
    name = "Boxes\nnames: [x]\u2028evil: 1 \x7f\x85 # 😀"
    project = await new_project(task_type="bounding_box", labels=[f"label {i}" for i in range(len(YAML_HOSTILE))],
                                name=name, tasks=[{"data": {"image": "shared/shots/0.png"}}])
    pid = project["id"]
    await store_labels(db, pid, YAML_HOSTILE)
    # a box on each edge of the image (clipped to nothing by none of them)
    edges = [(0, 0, 100, 50), (99, 49, 1, 1), (0, 49, 1, 1), (99, 0, 1, 1)]
    boxes = [{"label": YAML_HOSTILE[i], "x": x, "y": y, "w": w, "h": h} for i, (x, y, w, h) in enumerate(edges)]
    await answer_all(client, make_user, pid, [{"boxes": boxes}], f"y{pid}")
    r = await get_export(client, requester, pid, format="yolo")
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        text = z.read("data.yaml").decode()
        labels = z.read("labels/train/1.txt").decode().splitlines()
    data = yaml.safe_load(text)
    assert data == {"train": "images/train", "val": "images/train", "nc": len(YAML_HOSTILE),
                    "names": dict(enumerate(YAML_HOSTILE))}
    assert sorted(labels) == ["0 0.500000 0.500000 1.000000 1.000000", "1 0.995000 0.990000 0.010000 0.020000",
                      "2 0.005000 0.990000 0.010000 0.020000", "3 0.995000 0.010000 0.010000 0.020000"]
    r = await get_export(client, requester, pid, format="jsonl", card="true")
    folder = tmp_path / "card"
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        z.extractall(folder)
    header = (folder / "README.md").read_text(encoding="utf-8").split("---\n")[1]
    assert yaml.safe_load(header)["pretty_name"] == name
    assert load(str(folder))["train"].num_rows == 1


async def test_the_requester_s_answer_has_its_boxes_and_spans_at_confidence_1_in_every_format(
        client, requester, new_project, make_user, settings, tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    (settings.media_dir / "shared" / "shots").mkdir(parents=True)
    for i in range(2):
        Image.new("RGB", (100, 50)).save(settings.media_dir / "shared" / "shots" / f"{i}.png")
    project = await new_project(task_type="bounding_box", labels=["car"], gold_first_n=0, tasks=[
        {"data": {"image": "shared/shots/0.png"}}, {"data": {"image": "shared/shots/1.png"}, "gold": {"boxes": [
            {"label": "car", "x": 0, "y": 0, "w": 100, "h": 50}]}}])
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"boxes": [{"label": "car", "x": 1, "y": 1, "w": 5, "h": 5}]}], f"o{pid}")
    tasks = (await client.get(f"/api/projects/{pid}/tasks", headers=bearer(requester))).json()["data"]
    regular = next(t["id"] for t in tasks if t["data"]["image"] == "shared/shots/0.png")
    r = await client.post(f"/api/projects/{pid}/tasks/{regular}/override", headers=bearer(requester),
                          json={"answer": {"boxes": [{"label": "car", "x": 2, "y": 2, "w": 5, "h": 5}]}})
    assert r.status_code == 200, r.text
    coco = await get_export(client, requester, pid, format="coco", include_gold="true")
    assert [a["score"] for a in coco.json()["annotations"]] == [1.0, 1.0]
    path = tmp_path / "coco.json"
    path.write_bytes(coco.content)
    truth = COCO(str(path))  # the export as detections too (scored against itself): every score must be a number
    evaluation = COCOeval(truth, truth.loadRes([dict(a) for a in coco.json()["annotations"]]), "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == 1.0
    rows = [json.loads(line) for line in (await get_export(client, requester, pid, format="jsonl",
                                                           include_gold="true")).text.splitlines()]
    assert [box["confidence"] for row in rows for box in row["boxes"]] == [1.0, 1.0]
    manifest = [json.loads(line) for line in (await get_export(client, requester, pid, format="manifest",
                                                               include_gold="true")).text.splitlines()]
    assert [o["confidence"] for line in manifest for o in line["project-1-metadata"]["objects"]] == [1.0, 1.0]

    spans = await new_project(task_type="named_entities", labels=["P"], tasks=[{"data": {"text": "Ada met Bob"}}])
    await answer_all(client, make_user, spans["id"], [{"spans": [{"start": 0, "end": 3, "label": "P"}]}], f"s{pid}")
    task = (await client.get(f"/api/projects/{spans['id']}/tasks", headers=bearer(requester))).json()["data"][0]
    r = await client.post(f"/api/projects/{spans['id']}/tasks/{task['id']}/override", headers=bearer(requester),
                          json={"answer": {"spans": [{"start": 8, "end": 11, "label": "P"}]}})
    assert r.status_code == 200, r.text
    for fmt, key in (("jsonl", "spans"), ("spans", "entities")):
        row = (await get_export(client, requester, spans["id"], format=fmt)).json()
        assert [s["confidence"] for s in row[key]] == [1.0], fmt


async def test_a_score_rounded_to_negative_zero_exports_as_0_on_both_databases(client, requester, new_project,
                                                                              make_user, load, tmp_path):
    responses = [{"id": i, "text": f"answer {i}"} for i in "abc"]
    project = await new_project(task_type="preference_ranking", labels=[],
                                tasks=[{"data": {"prompt": "p", "responses": responses}}])
    await answer_all(client, make_user, project["id"], [{"ranking": [["a"], ["b"], ["c"]]}], f"z{project['id']}")
    r = await get_export(client, requester, project["id"], format="ranking")
    # the middle of three has a fitted score of a tiny negative, rounded to -0.0: PostgreSQL's jsonb stores 0.0
    assert b"-0.0" not in r.content
    (tmp_path / "r.jsonl").write_bytes(r.content)
    scores = load("json", data_files=str(tmp_path / "r.jsonl"))["train"]["scores"][0]
    assert [math.copysign(1, s["score"]) for s in scores] == [1, 1, -1]


async def test_min_confidence_is_refused_where_tasks_have_no_confidence(client, requester, new_project, make_user,
                                                                         run_cli, tmp_path, capsys):
    project = await new_project(task_type="demonstration", labels=[], tasks=[{"data": {"prompt": "p"}}])
    await answer_all(client, make_user, project["id"], [{"text": "t"}], f"m{project['id']}")
    for fmt in ("jsonl", "sft", "annotations"):
        r = await client.get(f"/api/projects/{project['id']}/export", params={"format": fmt, "min_confidence": "0"},
                             headers=bearer(requester))
        assert r.status_code == 400 and r.json()["error"]["field"] == "min_confidence", r.text
    capsys.readouterr()
    target = tmp_path / "sft.jsonl"
    assert await run_cli("export", str(project["id"]), "--format", "sft", "--min-confidence", "0", "-o",
                         str(target)) == 2
    assert one_line(capsys.readouterr().err) and not target.exists()
    assert await run_cli("export", str(project["id"]), "--format", "sft", "-o", str(target)) == 0
    assert len(target.read_text().splitlines()) == 1


def test_every_format_refuses_an_output_named_as_another_kind_of_file():
    for fmt in formats.FORMATS.values():
        if fmt.writer is not None and fmt.name == "yolo":
            formats.check_output_name(fmt, "boxes.zip", folder=True)
            with pytest.raises(InvalidInput, match="several files"):
                formats.check_output_name(fmt, "boxes.json", folder=True)
            continue
        for name in (f"out{fmt.suffixes[0]}", "out.txt", "out", f"OUT{fmt.suffixes[0].upper()}"):
            formats.check_output_name(fmt, name, folder=False)
        for wrong in {".csv", ".jsonl", ".json", ".conll", ".parquet", ".gz"} - set(fmt.suffixes):
            with pytest.raises(InvalidInput, match=f"is named as a {wrong} file") as error:
                formats.check_output_name(fmt, f"out{wrong}", folder=False)
            assert error.value.field == "output" and fmt.suffixes[0] in str(error.value)
        with pytest.raises(InvalidInput, match="several files"):
            formats.check_output_name(fmt, f"out{fmt.suffixes[0]}", folder=True)


def test_an_output_name_ending_in_a_dot_or_a_space_is_refused_for_every_format():
    # -o "x.csv." passed the check that refuses -o x.csv for a JSON Lines export: its extension was "" (and Windows
    # saves it as x.csv). Any name ending so hides its extension; an upper-case or doubled one is still seen.
    for fmt in formats.FORMATS.values():
        folder, own = fmt.name == "yolo", (fmt.suffixes or (".zip",))[0]
        for name in (f"out{own}.", f"out{own} ", "out.csv.", "out.csv. .", "out.", "out "):
            with pytest.raises(InvalidInput, match="hides its extension") as error:
                formats.check_output_name(fmt, name, folder=folder)
            assert error.value.field == "output" and repr(name.rstrip(". ")) in str(error.value)
        for wrong in (".CSV", ".Jsonl", ".csv.gz", ".jsonl.gz", ".json.zst"):
            if wrong.lower() not in fmt.suffixes:
                with pytest.raises(InvalidInput, match="is named as a"):
                    formats.check_output_name(fmt, f"out{wrong}", folder=folder)
    assert [formats.name_suffix(n) for n in ("a.CSV", "a.csv.", "a.csv .", "a.tar.GZ", "a", ".csv")] == [
        ".csv", ".csv", ".csv", ".gz", "", ""]


async def test_the_cli_reads_an_outputs_extension_in_any_case_and_past_trailing_dots(
        client, requester, new_project, make_user, run_cli, tmp_path, capsys):
    project = await new_project(tasks=[{"data": {"text": "x"}}])
    await answer_all(client, make_user, project["id"], [{"label": "pos"}], f"e{project['id']}")
    pid, out = str(project["id"]), tmp_path / "out"
    out.mkdir()
    capsys.readouterr()
    for argv, name in ((["--format", "jsonl"], "x.csv."), (["--format", "csv"], "x.csv "),
                       (["--format", "jsonl", "--card"], "x.zip."), (["--format", "jsonl"], "x.ZIP")):
        assert await run_cli("export", pid, *argv, "-o", str(out / name)) == 2, argv
        err = capsys.readouterr().err
        assert one_line(err) and ("hides its extension" in err or "would not be a zip" in err), err
        assert not list(out.iterdir())
    # A folder export named FILE.ZIP is a zip, as FILE.zip is (it was written as a folder named FILE.ZIP).
    assert await run_cli("export", pid, "--format", "jsonl", "--card", "-o", str(out / "X.ZIP"), "--quiet") == 0
    assert zipfile.is_zipfile(out / "X.ZIP")


async def test_the_cli_refuses_an_output_whose_name_disagrees_with_the_format(client, requester, new_project,
                                                                              make_user, run_cli, tmp_path, capsys):
    project = await new_project(tasks=[{"data": {"text": "x"}}])
    await answer_all(client, make_user, project["id"], [{"label": "pos"}], f"n{project['id']}")
    pid = str(project["id"])
    capsys.readouterr()
    for argv, name in ((["--format", "annotations"], "x.csv"), (["--format", "csv"], "x.jsonl"),
                       (["--format", "jsonl", "--card"], "x.csv"), (["--format", "dump"], "x.csv")):
        assert await run_cli("export", pid, *argv, "-o", str(tmp_path / name)) == 2, argv
        err = capsys.readouterr().err
        assert one_line(err) and f"{name} is named as a" in err, err
        assert not (tmp_path / name).exists() and not list(tmp_path.glob(".x.*"))
    for argv, name in ((["--format", "annotations"], "x.ndjson"), (["--format", "csv"], "x.txt"),
                       (["--format", "jsonl", "--card"], "x.zip"), (["--format", "manifest"], "x.manifest")):
        assert await run_cli("export", pid, *argv, "-o", str(tmp_path / name), "--quiet") == 0, argv
        assert (tmp_path / name).exists()


async def test_a_data_field_only_late_tasks_have_loads_as_the_readme_says(client, requester, new_project, load,
                                                                         tmp_path):
    import datasets

    tasks = [{"data": {"text": f"{i} " + "x" * 100_000}} for i in range(110)]
    tasks.append({"data": {"text": "late", "note": "n"}})
    project = await new_project(tasks=tasks)
    path = tmp_path / "late.jsonl"
    path.write_bytes((await get_export(client, requester, project["id"], format="jsonl", include_open="true")).content)
    assert path.stat().st_size > 10 << 20
    with pytest.raises(datasets.exceptions.DatasetGenerationError):  # the first 10 MB fixed the columns
        load("json", data_files=str(path))
    assert "chunksize=1 << 30" in README.read_text()
    data = load("json", data_files=str(path), chunksize=1 << 30)["train"]
    assert data.num_rows == 111 and data["note"][-1] == "n" and data["note"][0] is None


@pytest.mark.parametrize(("name", "attribute"), [
    ("Source", "source-labels"), ("Source Ref", "source-ref-labels"), ("Photo Ref", "photo-ref-labels"),
    ("Run metadata", "run-metadata-labels"), ("x" * 200, "x" * 120)])
async def test_the_default_label_attribute_never_takes_the_text_s_key_nor_a_reserved_ending(
        client, requester, new_project, make_user, load, tmp_path, name, attribute):
    project = await new_project(name=name, labels=["a"], tasks=[{"data": {"text": "hello"}}])
    await answer_all(client, make_user, project["id"], [{"label": "a"}], f"l{project['id']}")
    path = tmp_path / "out.manifest"
    path.write_bytes((await get_export(client, requester, project["id"], format="manifest")).content)
    line = load("json", data_files=str(path))["train"][0]
    assert line["source"] == "hello" and line[attribute] == 0 and line[f"{attribute}-metadata"]["class-name"] == "a"


async def test_an_override_is_the_requester_s_certain_answer_in_preference_pairs_and_sft(
        client, requester, new_project, make_user, load, tmp_path):
    responses = [{"id": i, "text": f"answer {i}"} for i in "abc"]
    ranked = await new_project(task_type="preference_ranking", labels=[],
                               tasks=[{"data": {"prompt": "p", "responses": responses}}])
    await answer_all(client, make_user, ranked["id"], [{"ranking": [["a"], ["b"], ["c"]]}], f"r{ranked['id']}")
    task = (await client.get(f"/api/projects/{ranked['id']}/tasks", headers=bearer(requester))).json()["data"][0]
    r = await client.post(f"/api/projects/{ranked['id']}/tasks/{task['id']}/override", headers=bearer(requester),
                          json={"answer": {"ranking": [["c"], ["a", "b"]]}})
    assert r.status_code == 200, r.text
    path = tmp_path / "pairs.jsonl"
    path.write_bytes((await get_export(client, requester, ranked["id"], format="preference", min_margin="0.5")).content)
    pairs = load("json", data_files=str(path))["train"]  # TRL's columns: the requester's pairs, none dropped
    assert [(p["chosen"], p["rejected"], p["margin"]) for p in pairs] == [("answer c", "answer a", 1.0),
                                                                            ("answer c", "answer b", 1.0)]

    written = await new_project(task_type="demonstration", labels=[], redundancy=2,
                                tasks=[{"data": {"prompt": "p"}}, {"data": {"prompt": "q"}}])
    await answer_all(client, make_user, written["id"], [{"text": "one"}, {"text": "two"}], f"d{written['id']}")
    first = (await client.get(f"/api/projects/{written['id']}/tasks", headers=bearer(requester))).json()["data"][0]
    r = await client.post(f"/api/projects/{written['id']}/tasks/{first['id']}/override", headers=bearer(requester),
                          json={"answer": {"text": "the requester's"}})
    assert r.status_code == 200, r.text
    path = tmp_path / "sft.jsonl"
    path.write_bytes((await get_export(client, requester, written["id"], format="sft")).content)
    rows = load("json", data_files=str(path))["train"]
    assert sorted(zip(rows["prompt"], rows["completion"])) == [("p", "the requester's"), ("q", "one"), ("q", "two")]


async def test_a_demonstration_manifest_line_has_the_requester_s_text(client, requester, new_project, make_user,
                                                                       load, tmp_path):
    project = await new_project(task_type="demonstration", labels=[], tasks=[
        {"data": {"prompt": "p"}}, {"data": {"prompt": "q"}}, {"data": {"prompt": "g"}, "gold": {"text": "gold's"}}])
    await answer_all(client, make_user, project["id"], [{"text": "worker's"}], f"m{project['id']}")
    tasks = (await client.get(f"/api/projects/{project['id']}/tasks", headers=bearer(requester))).json()["data"]
    first = next(t["id"] for t in tasks if t["data"]["prompt"] == "p")
    r = await client.post(f"/api/projects/{project['id']}/tasks/{first}/override", headers=bearer(requester),
                          json={"answer": {"text": "the requester's"}})
    assert r.status_code == 200, r.text
    path = tmp_path / "out.manifest"
    path.write_bytes((await get_export(client, requester, project["id"], format="manifest",
                                       include_gold="true")).content)
    lines = load("json", data_files=str(path))["train"]
    assert {line["prompt"]: line["project-1"] for line in lines} == {
        "p": {"text": "the requester's"}, "q": None, "g": {"text": "gold's"}}


async def test_the_card_keeps_its_headings_and_tables_whole_whatever_the_labels_and_name(
        client, requester, new_project, make_user, tmp_path, db):
    labels = ["a|b", "two\nlines", "back\\slash", "sep\u2028x"]
    project = await new_project(name="My\nproject | one", labels=["a|b", "two", "back\\slash", "sep\u2028x"], tasks=[
        {"data": {"text": f"t{i}"}} for i in range(4)])
    await store_labels(db, project["id"], labels)
    await answer_all(client, make_user, project["id"], [lambda d: {"label": labels[int(d["text"][1])]}],
                     f"c{project['id']}")
    r = await get_export(client, requester, project["id"], format="jsonl", card="true")
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        card = z.read("README.md").decode()
    body = card.split("---\n", 2)[2]
    assert "\n# My project \\| one\n" in body
    table = body.split("## Labels\n\n")[1].split("\n\n")[0].splitlines()
    assert len(table) == 2 + len(labels)
    assert all(len(re.findall(r"(?<!\\)\|", line)) == 3 for line in table)  # unescaped bars: the cell borders
    assert "| a\\|b | 1 |" in table and "| back\\\\slash | 1 |" in table and "| two lines | 1 |" in table


async def test_conll_reads_back_one_document_a_task_and_says_which_labels_become_one_tag(
        client, requester, new_project, make_user, run_cli, load, read_conll, tmp_path, capsys):
    texts = ["😀 Ada\u2028Lovelace\x85met\x0bBob\x0c.\x1cEnd", "a\u00a0b\u200bc \u200f\u202eRTL ש", "x\r\ny\rz\n\nw",
             "👨\u200d👩\u200d👧 fam e\u0301\u0301 Z", "tab\tsep \"q\" \\ =1 -2 +3 @4", "𝔘𝔫𝔦 𝔘"]
    labels = ["A B", "A_B", "ünï 😀"]
    project = await new_project(task_type="named_entities", labels=labels, options={"span_unit": "character"},
                                tasks=[{"data": {"text": t}} for t in texts])

    def spans(data: dict) -> dict:  # the first and the last word of the text, at its very start and end
        words = [m.span() for m in re.finditer(r"\S+", data["text"])]
        return {"spans": [{"start": words[0][0], "end": words[0][1], "label": "A B"},
                          {"start": words[-1][0], "end": words[-1][1], "label": "A_B"}]}
    await answer_all(client, make_user, project["id"], [spans], f"c{project['id']}")
    path = tmp_path / "out.conll"
    capsys.readouterr()
    assert await run_cli("export", str(project["id"]), "--format", "conll", "-o", str(path)) == 0
    assert "2 labels that conll writes as one tag" in capsys.readouterr().err
    documents = read_conll(path)  # nltk's reader: a sentence (a task) ends at a blank line
    assert len(documents) == len(texts)
    for document, text in zip(documents, texts):
        assert [token for token, _ in document] == [text[s:e] for s, e in tabular.tokens(text)]
        assert "".join(token for token, _ in document) == re.sub(r"\s", "", text)
        assert document[0][1] == "B-A_B" and document[-1][1] in ("B-A_B", "I-A_B")
    path = tmp_path / "spans.jsonl"  # offsets in code points: Python's slices give each span's text back
    path.write_bytes((await get_export(client, requester, project["id"], format="spans")).content)
    rows = load("json", data_files=str(path))["train"]
    for row, text in zip(rows, texts):
        words = re.findall(r"\S+", text)
        assert row["text"] == text and [e["text"] for e in row["entities"]] == [words[0], words[-1]]
        assert all(text[e["start"]:e["end"]] == e["text"] for e in row["entities"])


async def test_include_open_never_makes_an_unlabeled_task_a_negative_example(
        client, requester, new_project, make_user, settings, load, read_conll, tmp_path):
    from pycocotools.coco import COCO

    (settings.media_dir / "shared" / "shots").mkdir(parents=True)
    for i in range(2):
        Image.new("RGB", (100, 50)).save(settings.media_dir / "shared" / "shots" / f"{i}.png")
    boxes = await new_project(task_type="bounding_box", labels=["car"], redundancy=2,
                              tasks=[{"data": {"image": f"shared/shots/{i}.png"}} for i in range(2)])
    box = {"boxes": [{"label": "car", "x": 1, "y": 1, "w": 5, "h": 5}]}
    await answer_all(client, make_user, boxes["id"], [box, box], f"b{boxes['id']}")
    _, late = await make_user("worker", f"late{boxes['id']}")  # a third task, answered by one worker of two
    r = await client.post(f"/api/projects/{boxes['id']}/tasks", json=[{"data": {"image": "shared/shots/0.png"}}],
                          headers=bearer(requester))
    assert r.status_code == 201
    lease = (await client.post(f"/api/projects/{boxes['id']}/next", headers=bearer(late))).json()
    await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": box}, headers=bearer(late))
    path = tmp_path / "coco.json"
    path.write_bytes((await get_export(client, requester, boxes["id"], format="coco", include_open="true")).content)
    assert len(COCO(str(path)).getImgIds()) == 2  # the open task is no image without objects
    r = await get_export(client, requester, boxes["id"], format="yolo", include_open="true")
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert len([n for n in z.namelist() if n.startswith("labels/")]) == 2
        assert "1 task without a consensus yet" in z.read("README.md").decode()

    spans = await new_project(task_type="named_entities", labels=["P"], redundancy=2,
                              tasks=[{"data": {"text": "Ada met Bob"}}, {"data": {"text": "Nobody here"}}])
    lease = (await client.post(f"/api/projects/{spans['id']}/next", headers=bearer(late))).json()
    await client.post(f"/api/assignments/{lease['assignment_id']}/submit", headers=bearer(late),
                      json={"answer": {"spans": []}})
    assert not (await get_export(client, requester, spans["id"], format="conll", include_open="true")).content
    await answer_all(client, make_user, spans["id"], [{"spans": []}] * 2, f"s{spans['id']}")
    conll = await get_export(client, requester, spans["id"], format="conll", include_open="true")
    (tmp_path / "negatives.conll").write_bytes(conll.content)
    assert read_conll(tmp_path / "negatives.conll") == [  # labeled with no entities: now they are negatives
        [("Ada", "O"), ("met", "O"), ("Bob", "O")], [("Nobody", "O"), ("here", "O")]]


async def test_every_preference_pair_has_a_margin_as_trl_s_reward_trainer_reads_it(
        client, requester, new_project, make_user, run_cli, load, tmp_path, capsys):
    responses = [{"id": i, "text": f"answer {i}"} for i in "abc"]
    project = await new_project(task_type="preference_ranking", labels=[], tasks=[
        {"data": {"prompt": p, "responses": responses}} for p in ("rated", "unrated")])
    answers = {"rated": {"ranking": [["a"], ["b"], ["c"]], "ratings": {"a": 7, "b": 4, "c": 1}},
               "unrated": {"ranking": [["a"], ["b"], ["c"]], "ratings": {"a": 6}}}
    await answer_all(client, make_user, project["id"], [lambda d: answers[d["prompt"]]], f"p{project['id']}")
    path = tmp_path / "pairs.jsonl"
    capsys.readouterr()
    assert await run_cli("export", str(project["id"]), "--format", "preference", "--margin", "rating",
                         "-o", str(path)) == 0
    assert "3 pairs without a margin" in capsys.readouterr().err
    pairs = load("json", data_files=str(path))["train"]
    # TRL's reward trainer makes a float tensor of a `margin` column: a null one stops it
    assert pairs["prompt"] == ["rated"] * 3 and pairs["margin"] == [3.0, 6.0, 3.0]


async def test_a_folder_named_with_a_file_s_extension_is_still_a_folder(client, requester, new_project, make_user,
                                                                         run_cli, tmp_path, capsys):
    """-o x.jsonl/ (or an existing folder x.jsonl) asks for a folder with a card: the name check took it for a file
    ("x.jsonl is named as a .jsonl file, but this export is several files") and refused it."""
    project = await new_project(tasks=[{"data": {"text": "x"}}])
    await answer_all(client, make_user, project["id"], [{"label": "pos"}], f"n{project['id']}")
    pid = str(project["id"])
    (tmp_path / "there.csv").mkdir()
    for argv, output in ((["--format", "jsonl"], f"{tmp_path / 'out.jsonl'}/"),
                         (["--format", "jsonl", "--force"], str(tmp_path / "there.csv")),
                         (["--format", "csv", "--split", "train=0.5,test=0.5"], f"{tmp_path / 'split.csv'}/")):
        capsys.readouterr()
        assert await run_cli("export", pid, *argv, "-o", output, "--quiet") == 0, capsys.readouterr().err
        assert (Path(output) / "README.md").is_file(), output
    capsys.readouterr()
    assert await run_cli("export", pid, "--format", "jsonl", "--split", "train=0.5,test=0.5", "-o",
                         str(tmp_path / "file.csv")) == 2  # no folder named: a name for a file of another kind
    assert "is named as a .csv file" in capsys.readouterr().err and not (tmp_path / "file.csv").exists()


async def test_every_split_name_the_export_takes_loads_from_the_card_and_the_others_are_refused(
        client, requester, new_project, make_user, load, tmp_path):
    project = await new_project(task_type="text_classification", labels=["pos"], redundancy=1,
                                tasks=[{"data": {"text": f"t{i}"}} for i in range(30)])
    await answer_all(client, make_user, project["id"], [{"label": "pos"}], "splitnames")
    r = await get_export(client, requester, project["id"], format="jsonl", split="Train_1=0.5,dev2=0.3,x=0.2")
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        z.extractall(tmp_path / "card")
    loaded = load(str(tmp_path / "card"))
    assert {name: split.num_rows for name, split in loaded.items()} == {
        name: len((tmp_path / "card" / f"{name}.jsonl").read_text().splitlines()) for name in ("Train_1", "dev2", "x")}
    assert sum(split.num_rows for split in loaded.values()) == 30
    for bad in ("hold-out", "all", "ALL"):  # datasets refuses a dash in a split name, and `all` (every split)
        r = await client.get(f"/api/projects/{project['id']}/export", params={"format": "jsonl",
                             "split": f"train=0.5,{bad}=0.5"}, headers=bearer(requester))
        assert r.status_code == 400 and r.json()["error"]["field"] == "split" and bad in r.json()["error"]["message"]


async def test_box_coordinates_have_one_type_in_every_row_as_datasets_types_a_column_by_its_first_rows(
        client, requester, new_project, make_user, load, tmp_path):
    gold = {"boxes": [{"label": "car", "x": 1, "y": 2, "w": 3, "h": 4}]}  # the requester's whole pixels: integers
    tasks = [{"data": {"image": "https://img.example/g.jpg", "width": 64, "height": 48}, "gold": gold},
             *({"data": {"image": f"https://img.example/{i}.jpg", "width": 64, "height": 48}} for i in range(3))]
    project = await new_project(task_type="bounding_box", labels=["car"], redundancy=2, tasks=tasks, gold_first_n=0,
                                gold_fraction=0)
    await answer_all(client, make_user, project["id"], [
        {"boxes": [{"label": "car", "x": 10, "y": 20, "w": 5, "h": 6}]},
        {"boxes": [{"label": "car", "x": 11, "y": 20, "w": 5, "h": 7}]}], "boxtypes")  # a consensus of x 10.5
    r = await client.post(f"/api/projects/{project['id']}/tasks/2/override", json={"answer": gold},
                          headers=bearer(requester))
    assert r.status_code == 200, r.text
    rows = (await get_export(client, requester, project["id"], format="jsonl", include_gold="true")).text.splitlines()
    path = tmp_path / "boxes.jsonl"  # the boxes column alone (json keeps 1 and 1.0 apart), read one row a part: the
    path.write_text("".join(json.dumps({"boxes": json.loads(row)["boxes"]}) + "\n" for row in rows))  # first part,
    boxes = load("json", data_files=str(path), chunksize=64)["train"]["boxes"]  # gold's, typed x as an integer
    assert [[(b["x"], b["y"], b["w"], b["h"]) for b in task] for task in boxes] == [
        [(1.0, 2.0, 3.0, 4.0)], [(1.0, 2.0, 3.0, 4.0)], [(10.5, 20.0, 5.0, 6.5)], [(10.5, 20.0, 5.0, 6.5)]]
    # Every answer's boxes too: the labeling page's whole pixels, then a script's fraction.
    pid = project["id"]
    _, token = await make_user("worker", "boxtypes-script")
    await client.post(f"/api/projects/{pid}/tasks/4/more-answers", headers=bearer(requester))
    lease = (await client.post(f"/api/projects/{pid}/next", headers=bearer(token))).json()
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", headers=bearer(token),
                          json={"answer": {"boxes": [{"label": "car", "x": 10.25, "y": 20, "w": 5, "h": 6}]}})
    assert r.status_code == 201, r.text
    rows = (await get_export(client, requester, pid, format="annotations", include_open="true")).text.splitlines()
    path.write_text("".join(json.dumps({"boxes": json.loads(row)["boxes"]}) + "\n" for row in rows))
    boxes = load("json", data_files=str(path), chunksize=64)["train"]["boxes"]
    assert [task[0]["x"] for task in boxes] == [10.0, 11.0, 10.0, 11.0, 10.0, 11.0, 10.25]


def check_yolo_yaml(data: dict, names: list[str]) -> None:
    """What Ultralytics' check_det_dataset asks of a data.yaml: train and val (or validation) keys, names and nc
    agreeing."""
    for key in ("train", "val"):
        assert key in data or (key == "val" and "validation" in data), f"'{key}:' key missing"
    assert data["nc"] == len(data["names"]) and [data["names"][i] for i in range(len(names))] == names


@pytest.mark.parametrize("split", ["train=0.5,val=0.5", "dev=0.5,holdout=0.5", "test=0.5,validation=0.5"])
async def test_a_yolo_data_yaml_has_the_train_and_val_keys_yolo_trainers_require_whatever_the_splits(
        client, requester, new_project, make_user, settings, split):
    (settings.media_dir / "shared").mkdir(parents=True)
    Image.new("RGB", (20, 10)).save(settings.media_dir / "shared" / "0.png")
    project = await new_project(task_type="bounding_box", labels=["car"], redundancy=1,
                                tasks=[{"data": {"image": "shared/0.png"}, "external_id": f"e{i}"} for i in range(8)])
    await answer_all(client, make_user, project["id"], [{"boxes": [{"label": "car", "x": 0, "y": 0, "w": 5, "h": 5}]}],
                     "yolosplits")
    r = await get_export(client, requester, project["id"], format="yolo", split=split)
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        data = yaml.safe_load(z.read("data.yaml"))
        folders = {name.rsplit("/", 1)[0] for name in z.namelist() if name.startswith("images/")}
    check_yolo_yaml(data, ["car"])
    assert {data["train"], data.get("val", data.get("validation"))} <= folders


async def test_yolo_images_are_of_a_format_yolo_trainers_read_by_name_and_by_content(client, requester, new_project,
                                                                                    make_user, settings):
    # Ultralytics picks images by extension, then refuses one whose content is another format (its IMG_FORMATS).
    img_formats = {"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic"}
    shared = settings.media_dir / "shared"
    shared.mkdir(parents=True)
    Image.new("P", (30, 20)).save(shared / "gif-named.png", "GIF")  # an operator's file, misnamed
    Image.new("RGB", (30, 20)).save(shared / "jpeg-named.png", "JPEG")  # misnamed, but of a format it reads
    Image.new("RGB", (30, 20)).save(shared / "plain.png")
    names = ["gif-named.png", "jpeg-named.png", "plain.png"]
    project = await new_project(task_type="bounding_box", labels=["car"], redundancy=1,
                                tasks=[{"data": {"image": f"shared/{name}"}} for name in names])
    await answer_all(client, make_user, project["id"], [{"boxes": [{"label": "car", "x": 1, "y": 1, "w": 5, "h": 5}]}],
                     "yoloformats")
    r = await get_export(client, requester, project["id"], format="yolo")
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        images = sorted(name for name in z.namelist() if name.startswith("images/"))
        assert len(images) == 3 and all(z.read(f"labels/train/{Path(n).stem}.txt") for n in images)
        for name in images:
            with Image.open(io.BytesIO(z.read(name))) as image:
                assert Path(name).suffix[1:] in img_formats and image.format.lower() in img_formats, (name, image.format)
        assert "1 image converted to PNG" in z.read("README.md").decode()


async def test_a_box_smaller_than_the_rounding_step_stays_a_box_that_cocoeval_and_yolo_read(
        client, requester, new_project, make_user, settings, tmp_path):
    # A script's box of 0.004 pixels: the consensus rounds to the hundredth, and once made it 0 wide and 0 high,
    # which COCOeval matches to nothing (the export scored against itself: AP under 1) and yolo left out unsaid.
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    (settings.media_dir / "shared").mkdir(parents=True)
    Image.new("RGB", (100, 50)).save(settings.media_dir / "shared" / "tiny.png")
    project = await new_project(task_type="bounding_box", labels=["dot", "car"], redundancy=2,
                                tasks=[{"data": {"image": "shared/tiny.png"}}])
    boxes = [{"label": "dot", "x": 10, "y": 10, "w": 0.004, "h": 0.004}, {"label": "car", "x": 50, "y": 20, "w": 30,
                                                                        "h": 20}]
    await answer_all(client, make_user, project["id"], [{"boxes": boxes}] * 2, "tinybox")
    coco = json.loads((await get_export(client, requester, project["id"], format="coco")).content)
    assert sorted(a["bbox"] for a in coco["annotations"]) == [[10.0, 10.0, 0.01, 0.01], [50.0, 20.0, 30.0, 20.0]]
    (tmp_path / "gt.json").write_text(json.dumps(coco))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(tmp_path / "gt.json"))
        evaluation = COCOeval(gt, gt.loadRes(coco["annotations"]), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)  # every box found where it is
    with zipfile.ZipFile(io.BytesIO((await get_export(client, requester, project["id"], format="yolo")).content)) as z:
        lines = z.read("labels/train/1.txt").decode().splitlines()
    assert [line.split()[0] for line in lines] == ["0", "1"]
    assert all(float(v) > 0 for line in lines for v in line.split()[3:])


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_a_card_folder_loads_a_column_that_has_a_value_only_past_the_first_part_datasets_reads(
        client, requester, new_project, load, tmp_path, fmt):
    # datasets types each column by the first 10 MB of JSON Lines or 10,000 CSV rows; `load_dataset(DIR)` of a card
    # folder whose data field only the last task has (no value before) stopped with "Couldn't cast".
    tasks = [{"data": {"text": f"{i} " + "x" * 100_000}} for i in range(110)]
    tasks += [{"data": {"text": f"short {i}"}} for i in range(9_990)]
    tasks.append({"data": {"text": "late", "note": "n"}})
    project = await new_project(tasks=tasks)
    r = await get_export(client, requester, project["id"], format=fmt, include_open="true", card="true")
    folder = tmp_path / "card"
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        z.extractall(folder)
    data = load(str(folder))["train"]
    assert data.num_rows == 10_101 and data[-1]["note"] == "n" and data[0]["note"] in (None, "")


@pytest.mark.parametrize("fmt", ["preference", "kto", "sft"])
async def test_a_system_prompt_a_text_prompt_leaves_out_is_said(client, requester, new_project, make_user, load,
                                                               tmp_path, fmt):
    # TRL's standard rows have a text prompt and no place for a system prompt: it was left out without a word.
    if fmt == "sft":
        tasks = [{"data": {"prompt": "Hi", "system": "Answer in French."}}, {"data": {"prompt": "Bye"}}]
        project = await new_project(task_type="demonstration", labels=[], redundancy=1, tasks=tasks)
        answers = [lambda d: {"text": d["prompt"] + "!"}]
    else:
        tasks = [{"data": {"prompt": p, "responses": [{"id": "a", "text": f"{p} a"}, {"id": "b", "text": f"{p} b"}],
                           **extra}} for p, extra in (("Hi", {"system": "Answer in French."}), ("Bye", {}))]
        project = await new_project(task_type="preference_ranking", labels=[], redundancy=1, tasks=tasks)
        answers = [{"ranking": [["a"], ["b"]], "ratings": {"a": 7, "b": 1}}]
    await answer_all(client, make_user, project["id"], answers, f"system{fmt}")
    r = await get_export(client, requester, project["id"], format=fmt, card="true")
    folder = tmp_path / "card"
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        z.extractall(folder)
    assert "Hi" in load(str(folder))["train"]["prompt"]
    assert "1 system prompt left out (--conversational writes them as the first message) (e.g. task 1)" in (
        folder / "README.md").read_text()
    r = await get_export(client, requester, project["id"], format=fmt, card="true", conversational="true")
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert "system prompt" not in z.read("README.md").decode()


async def test_labels_that_look_like_numbers_come_back_from_jsonl_with_the_pandas_call_the_readme_names(
        client, requester, new_project, make_user, tmp_path):
    # pandas.read_json guesses a column's type: labels "1", "1.0" and "007" read back as 1.0, 1.0 and 7.0.
    import pandas

    labels = ["1", "1.0", "007", "1e5", "true", "null"]
    tasks = [{"data": {"text": f"t{i}"}, "external_id": label} for i, label in enumerate(labels)]
    project = await new_project(labels=labels, redundancy=1, tasks=tasks)
    await answer_all(client, make_user, project["id"], [lambda d: {"label": labels[int(d["text"][1:])]}], "numlike")
    path = tmp_path / "labels.jsonl"
    path.write_bytes((await get_export(client, requester, project["id"], format="jsonl")).content)
    assert "`dtype=False` keeps them as written" in README.read_text()
    table = pandas.read_json(path, lines=True, dtype=False)
    assert list(table["label"]) == labels and list(table["external_id"]) == labels


async def test_a_manifest_box_at_the_image_s_far_edge_stays_inside_the_image(client, requester, new_project,
                                                                            make_user, settings, load, tmp_path):
    # Whole pixels, each edge to its nearest: a box in the last pixel (x 99.6, w 0.4 of 100) began at 100, a box
    # wholly outside the image, which a detector reading the manifest refuses or drops.
    (settings.media_dir / "shared").mkdir(parents=True)
    Image.new("RGB", (100, 50)).save(settings.media_dir / "shared" / "edge.png")
    project = await new_project(task_type="bounding_box", labels=["dot"], redundancy=1,
                                tasks=[{"data": {"image": "shared/edge.png"}}])
    boxes = [{"label": "dot", "x": 99.6, "y": 49.6, "w": 0.4, "h": 0.4},  # the last pixel
             {"label": "dot", "x": 99.5, "y": 0, "w": 1.4, "h": 50.9}]  # past the edge, within the 1 pixel allowed
    await answer_all(client, make_user, project["id"], [{"boxes": boxes}], "edgebox")
    path = tmp_path / "edge.manifest"
    path.write_bytes((await get_export(client, requester, project["id"], format="manifest")).content)
    row = load("json", data_files=str(path))["train"][0]
    attribute = next(key for key in row if isinstance(row[key], dict) and "annotations" in row[key])
    placed = [(a["left"], a["top"], a["width"], a["height"]) for a in row[attribute]["annotations"]]
    assert sorted(placed) == [(99, 0, 1, 50), (99, 49, 1, 1)]


@pytest.mark.parametrize("fmt", ["jsonl", "manifest", "annotations"])
async def test_a_json_line_holding_unicode_line_breaks_is_one_line_to_every_line_reader(
        client, requester, new_project, make_user, load, tmp_path, fmt):
    # NEL, U+2028 and U+2029 are text to JSON but line ends to str.splitlines() and the readers built on it (codecs'
    # StreamReader, nltk's corpus readers): written as they are, a row read that way was cut in two.
    import codecs

    texts = ["a\x85b", "c\u2028d", "e\u2029f", "plain"]
    project = await new_project(redundancy=1, tasks=[{"data": {"text": t}} for t in texts])
    await answer_all(client, make_user, project["id"], [{"label": "pos"}], f"breaks{fmt}")
    path = tmp_path / "breaks.jsonl"
    path.write_bytes((await get_export(client, requester, project["id"], format=fmt)).content)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    with codecs.open(str(path), encoding="utf-8") as handle:
        assert [json.loads(line) for line in handle] == rows
    assert len(rows) == len(texts)
    if fmt != "annotations":
        assert sorted(row.get("text", row.get("source")) for row in rows) == sorted(texts)
        assert sorted(load("json", data_files=str(path))["train"]["text" if fmt == "jsonl" else "source"]) == sorted(
            texts)


async def test_conll_keeps_a_span_the_labeling_page_s_words_end_at_an_underscore(client, requester, new_project,
                                                                                 make_user, read_conll, tmp_path):
    # The labeling page's words end at `_` (connector punctuation, not a letter), so a worker may mark `john` of
    # `john_doe`; conll made `john_doe` one token and left the span out as off its token boundaries.
    text = "Ask john_doe about __init__"
    project = await new_project(task_type="named_entities", labels=["PER", "CODE"], redundancy=1,
                                tasks=[{"data": {"text": text}}])
    spans = [{"start": 4, "end": 8, "label": "PER"}, {"start": 21, "end": 25, "label": "CODE"}]  # john, init
    await answer_all(client, make_user, project["id"], [{"spans": spans}], "underscore")
    path = tmp_path / "under.conll"
    path.write_bytes((await get_export(client, requester, project["id"], format="conll")).content)
    [sentence] = read_conll(path)
    assert "".join(token for token, _ in sentence) == text.replace(" ", "")
    assert [(token, tag) for token, tag in sentence if tag != "O"] == [("john", "B-PER"), ("init", "B-CODE")]


async def test_every_box_format_holds_boxes_to_their_image_and_says_what_it_clipped_or_left_out(
        client, requester, new_project, make_user, settings, tmp_path):
    # A stored box may reach past its image: by the pixel a page may round past the edge, or anywhere on an http
    # image whose size (in its data) the server could not check the answer against. yolo clipped it; coco wrote it as
    # it was (a box past the image's width, or wholly outside it) and the manifest made a box wholly outside a pixel
    # at the edge, both without a word.
    from pycocotools.coco import COCO

    (settings.media_dir / "shared").mkdir(parents=True)
    Image.new("RGB", (100, 50)).save(settings.media_dir / "shared" / "local.png")
    tasks = [{"data": {"image": "https://example.org/remote.png", "width": 100, "height": 50}, "external_id": "url"},
             {"data": {"image": "shared/local.png"}, "external_id": "local"}]
    project = await new_project(task_type="bounding_box", labels=["car"], redundancy=1, tasks=tasks)
    boxes = {"https://example.org/remote.png": [{"label": "car", "x": 10, "y": 10, "w": 20, "h": 20},  # inside
                                                {"label": "car", "x": 80, "y": 30, "w": 40, "h": 40},  # past 2 edges
                                                {"label": "car", "x": 120, "y": 10, "w": 10, "h": 10}],  # outside
             "shared/local.png": [{"label": "car", "x": 99.5, "y": 0, "w": 1.4, "h": 50.9}]}  # the pixel allowed
    await answer_all(client, make_user, project["id"], [lambda d: {"boxes": boxes[d["image"]]}], "clipbox")
    ids = {t["external_id"]: t["id"] for t in (await client.get(f"/api/projects/{project['id']}/tasks",
                                                                headers=bearer(requester))).json()["data"]}
    expected = {ids["url"]: [[10.0, 10.0, 20.0, 20.0], [80.0, 30.0, 20.0, 20.0]],
                ids["local"]: [[99.5, 0.0, 0.5, 50.0]]}
    card = zipfile.ZipFile(io.BytesIO((await get_export(client, requester, project["id"], format="coco",
                                                         card="true")).content))
    (tmp_path / "coco.json").write_bytes(next(card.read(n) for n in card.namelist() if n.endswith(".json")))
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(tmp_path / "coco.json"))
    for image_id, wanted in expected.items():
        image = coco.loadImgs(image_id)[0]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        assert [a["bbox"] for a in anns] == wanted and [a["area"] for a in anns] == [w * h for _, _, w, h in wanted]
        assert all(x >= 0 and y >= 0 and x + w <= image["width"] and y + h <= image["height"]
                   for x, y, w, h in (a["bbox"] for a in anns))
    said = card.read("README.md").decode()
    assert "2 boxes clipped to their image" in said and "1 box with no area inside their image (left out)" in said
    manifest = [json.loads(line) for line in (await get_export(client, requester, project["id"],
                                                               format="manifest")).text.splitlines()]
    placed = {row["source-ref"]: [(a["left"], a["top"], a["width"], a["height"])
                                  for a in row[next(k for k in row if k.endswith("-metadata"))[:-9]]["annotations"]]
              for row in manifest}
    assert placed == {"https://example.org/remote.png": [(10, 10, 20, 20), (80, 30, 20, 20)],
                      "shared/local.png": [(99, 0, 1, 50)]}
    assert all(len(row[k]["objects"]) == len(placed[row["source-ref"]]) for row in manifest for k in row
               if k.endswith("-metadata"))
    with zipfile.ZipFile(io.BytesIO((await get_export(client, requester, project["id"], format="yolo",
                                                       card="true")).content)) as z:
        assert z.read(f"labels/train/{ids['local']}.txt").decode() == "0 0.997500 0.500000 0.005000 1.000000\n"
        assert "1 box clipped to their image" in z.read("README.md").decode()


async def test_a_data_field_without_a_name_is_refused_at_import_and_a_stored_one_keeps_a_readable_column(
        client, requester, new_project, make_user, run_cli, capsys, db, tmp_path):
    # A data field named "" (a table's column without a header, made into JSON) was imported, and the CSV export's
    # header cell for it was empty: pandas and datasets read its column as `Unnamed: N`, a name the export never
    # gave, which moves with the columns before it.
    import pandas

    project = await new_project(tasks=[{"data": {"text": "kept"}, "external_id": "a"}])
    pid = project["id"]
    r = await client.post(f"/api/projects/{pid}/tasks", headers=bearer(requester),
                          json=[{"data": {"text": "fine"}}, {"data": {"text": "no name", "": "x"}}])
    assert r.status_code == 400 and r.json()["error"]["field"] == "data", r.text
    assert r.json()["error"]["message"].startswith("tasks[1]: ") and '""' in r.json()["error"]["message"]
    (tmp_path / "t.jsonl").write_text('{"data": {"text": "fine"}}\n{"text": "bare", "": 1}\n')
    capsys.readouterr()
    assert await run_cli("import", project["name"], str(tmp_path / "t.jsonl")) != 0
    err = capsys.readouterr().err
    assert one_line(err) and "line 2" in err and '""' in err
    listed = (await client.get(f"/api/projects/{pid}/tasks", headers=bearer(requester))).json()["data"]
    assert [t["data"] for t in listed] == [{"text": "kept"}]  # nothing stored
    async with raw_writes(db) as conn:  # one stored before imports refused it
        await conn.execute(update(models.tasks).where(models.tasks.c.project_id == pid).values(
            data={"text": "kept", "": "no name", "data_": "named data_"}))
    await answer_all(client, make_user, pid, [{"label": "pos"}] * 3, "noname")
    for fmt in ("csv", "jsonl"):
        path = tmp_path / f"out.{fmt}"
        path.write_bytes((await get_export(client, requester, pid, format=fmt)).content)
        table = (pandas.read_csv(path, dtype=str, keep_default_na=False) if fmt == "csv" else
                 pandas.read_json(path, lines=True, dtype=False))
        assert not [c for c in table.columns if str(c).startswith("Unnamed")], list(table.columns)
        assert table["data_"][0] == "no name" and table["data_data_"][0] == "named data_" and table["text"][0] == "kept"


async def test_csv_escape_formulas_makes_every_formula_cell_text_to_a_spreadsheet_and_nothing_else(
        client, requester, new_project, make_user, run_cli, tmp_path):
    # Opt-in (cells are the data as stored by default): a text a spreadsheet runs as a formula (=cmd|' /C calc'!A0,
    # +, -, @, a tab or a carriage return first) begins with ' (OWASP), in the cells and the header alike.
    import pandas

    formulas = ["=cmd|' /C calc'!A0", "+cmd", "-3", "@SUM(A1)", "\tx", "\rx", "=1+2"]
    plain = ["plain", "", " =spaced", "'quoted", "a=b"]
    tasks = [{"data": {"text": t or "(empty)", "meta": t, "stars": -i, "=head": "x"}, "external_id": f"e{i}"}
             for i, t in enumerate(formulas + plain)]
    project = await new_project(task_type="text_classification", labels=["=x", "ok"], tasks=tasks)
    pid = project["id"]
    await answer_all(client, make_user, pid, [{"label": "=x"}], f"f{pid}")
    path = tmp_path / "escaped.csv"
    assert await run_cli("export", str(pid), "--format", "csv", "--csv-escape-formulas", "-o", str(path),
                         "--quiet") == 0
    assert path.read_bytes() == (await get_export(client, requester, pid, format="csv",
                                                  csv_escape_formulas="true")).content
    table = pandas.read_csv(path, dtype=str, keep_default_na=False)
    assert "'=head" in table.columns and "=head" not in table.columns
    by_id = dict(zip(table["external_id"], table["meta"]))
    assert [by_id[f"e{i}"] for i in range(len(formulas))] == ["'" + t for t in formulas]
    assert [by_id[f"e{i}"] for i in range(len(formulas), len(tasks))] == plain  # nothing else altered
    assert set(table["label"]) == {"'=x"} and sorted(table["stars"], key=int) == [str(-i) for i in
                                                                                  reversed(range(len(tasks)))]
    (tmp_path / "plain.csv").write_bytes((await get_export(client, requester, pid, format="csv")).content)
    as_stored = pandas.read_csv(tmp_path / "plain.csv", dtype=str, keep_default_na=False)
    assert sorted(as_stored["meta"]) == sorted(formulas + plain)  # without the option: as stored, as before
    card = await get_export(client, requester, pid, format="csv", card="true", csv_escape_formulas="true")
    with zipfile.ZipFile(io.BytesIO(card.content)) as z:
        assert "--csv-escape-formulas" in z.read("README.md").decode()
    r = await client.get(f"/api/projects/{pid}/export", params={"format": "jsonl", "csv_escape_formulas": "true"},
                         headers=bearer(requester))
    assert r.status_code == 400 and r.json()["error"]["field"] == "csv_escape_formulas"
