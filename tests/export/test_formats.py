"""The pure parts of exports over plain rows: options, splits, every writer, the zip sink, the card."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from labeling.errors import InvalidInput
from labeling.export import archive, card, feedback, formats, manifest, options, tabular, vision
from labeling.export.rows import AnswerRow, TaskRow, split_of
from labeling.export.writer import Context, ImageSize

PREF_DATA = {"prompt": "Say hi", "responses": [{"id": "a", "text": "hi", "model": "m1"},
                                               {"id": "b", "text": "hello", "model": "m2"},
                                               {"id": "c", "text": "go away", "model": "m3"}]}
PREF_ANSWER = {"ranking": [["b"], ["a"], ["c"]], "scores": {"b": 1.0, "a": 0.2, "c": -1.2},
               "pair_probabilities": [{"chosen": "b", "rejected": "a", "probability": 0.7},
                                      {"chosen": "b", "rejected": "c", "probability": 0.9},
                                      {"chosen": "a", "rejected": "c", "probability": 0.8}],
               "ratings": {"a": {"mean": 4.0}, "b": {"mean": 6.0}, "c": {"mean": 1.5}}}


def ctx(task_type: str, labels: tuple[str, ...] = (), **opts: str) -> Context:
    return Context("My Project", task_type, labels, options.parse({"format": "jsonl", **opts}))


def render(writer: vision.Writer, rows: list[TaskRow]) -> str:
    sink = archive.StreamSink()
    writer.start(sink)
    for number in range(writer.passes):
        writer.begin_pass(number, sink)
        writer.page(rows, number, sink)
    writer.finish(sink)
    return sink.take().decode()


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line]


# ---- options ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("params, field", [
    ({}, "format"),
    ({"format": "jsonl", "colour": "red"}, "colour"),
    ({"format": "jsonl", "split": "train=0.8,test=0.1"}, "split"),
    ({"format": "jsonl", "split": "train=0.5,train=0.5"}, "split"),
    ({"format": "jsonl", "split": "train"}, "split"),
    ({"format": "jsonl", "split": "train=0.5,hold-out=0.5"}, "split"),  # datasets reads no dash in a split name
    ({"format": "jsonl", "split": "train=0.5,ALL=0.5"}, "split"),  # nor `all`, its word for every split
    ({"format": "jsonl", "min_confidence": "1.5"}, "min_confidence"),
    ({"format": "jsonl", "since": "yesterday"}, "since"),
    ({"format": "jsonl", "include_open": "maybe"}, "include_open"),
    ({"format": "preference", "pairs": "some"}, "pairs"),
    ({"format": "manifest", "label_attribute": "x-metadata"}, "label_attribute"),
    ({"format": "manifest", "label_attribute": "tags\n"}, "label_attribute"),  # a regex's $ took a final \n
    ({"format": "kto", "good_rating": "3", "bad_rating": "4"}, "bad_rating"),
])
def test_bad_options_name_their_field(params, field):
    with pytest.raises(InvalidInput) as exc:
        options.parse(params)
    assert exc.value.field == field and "\n" not in exc.value.message


def test_options_parse_and_formats_refuse_what_does_not_apply():
    opts = options.parse({"format": "preference", "split": "train=0.8,validation=0.1,test=0.1", "pairs": "adjacent",
                          "min_margin": "0.6", "conversational": "true", "since": "2026-01-31T12:00:00Z"})
    assert opts.split_names == ("train", "validation", "test") and opts.pairs == "adjacent"
    assert opts.conversational and opts.min_margin == 0.6 and opts.since == 1769860800.0
    fmt = formats.get("preference", "preference_ranking")
    formats.check(fmt, opts)
    with pytest.raises(InvalidInput, match="does not apply to format jsonl") as exc:
        formats.check(formats.get("jsonl", "text_classification"), options.parse({"format": "jsonl", "pairs": "all"}))
    assert exc.value.field == "pairs"
    with pytest.raises(InvalidInput, match="cannot export as coco; it exports as jsonl, csv") as exc:
        formats.get("coco", "text_classification")
    assert exc.value.field == "format"
    with pytest.raises(InvalidInput, match="unknown format 'parquet'"):
        formats.get("parquet", "text_classification")
    with pytest.raises(InvalidInput, match="does not apply to format dump"):
        formats.check(formats.get("dump", "demonstration"), options.parse({"format": "dump", "split": "a=1"}))


def test_every_declared_format_exists_and_every_format_is_declared_somewhere():
    from labeling import tasktypes

    declared = {f for spec in tasktypes.REGISTRY.values() for f in spec.formats}
    assert declared == set(formats.FORMATS)


# ---- splits ----------------------------------------------------------------------------------------------------

def test_splits_are_deterministic_proportional_and_keep_equal_prompts_together():
    splits = options.parse_split("train=0.8,validation=0.1,test=0.1")
    rows = [TaskRow(i, f"e{i}", {"prompt": f"p{i % 50}"}) for i in range(5000)]
    by_prompt: dict[str, set] = {}
    counts: dict[str, int] = {}
    for row in rows:
        split = split_of(row, splits, 0, "prompt")
        by_prompt.setdefault(row.data["prompt"], set()).add(split)
        counts[split] = counts.get(split, 0) + 1
    assert all(len(s) == 1 for s in by_prompt.values())
    plain = [split_of(row, splits, 0, None) for row in rows]
    assert plain == [split_of(row, splits, 0, None) for row in rows]
    assert abs(plain.count("train") / 5000 - 0.8) < 0.03 and abs(plain.count("test") / 5000 - 0.1) < 0.02
    assert plain != [split_of(row, splits, 7, None) for row in rows], "the seed changes the split"
    assert split_of(TaskRow(1, None, {}), splits, 0, None) == split_of(TaskRow(1, None, {}), splits, 0, None)


# ---- task rows -------------------------------------------------------------------------------------------------

def test_jsonl_and_csv_rows_rename_colliding_data_fields_and_keep_columns_stable():
    c = ctx("text_classification", ("pos", "neg"))
    rows = [TaskRow(1, "x", {"text": "a", "id": "mine", "meta": {"k": 1}}, {"label": "pos"}, 0.9, 3, 1.0),
            TaskRow(2, None, {"text": "b"})]
    out = lines(render(tabular.Jsonl(c, "f.jsonl"), rows))
    assert out[0] == {"id": 1, "external_id": "x", "text": "a", "data_id": "mine", "meta": {"k": 1}, "label": "pos",
                      "confidence": 0.9, "n_annotations": 3, "agreement": 1.0, "reviewed": False}
    assert out[1]["label"] is None and out[1]["confidence"] is None
    c = Context("p", "text_classification", ("pos",), c.options, data_keys=("text", "id", "meta"))
    text = render(tabular.Csv(c, "f.csv"), rows)
    assert text.splitlines()[0] == "id,external_id,text,data_id,meta,label,confidence,n_annotations,agreement,reviewed"
    assert text.splitlines()[1] == '1,x,a,mine,"{""k"":1}",pos,0.9,3,1.0,False'
    assert text.splitlines()[2] == "2,,b,,,,,0,,False"


def test_a_csv_row_holds_a_text_with_any_line_break():
    # csv quotes only the characters of its own line end ("\n"): a lone CR (an old Mac file's line break) went out
    # bare, and pandas, datasets and spreadsheets end a row there, so the task's row came back as two.
    import pandas

    texts = ["old\rmac", "dos\r\nline", "unix\nline", "cr at the end\r", "\rat the start", "form\ffeed\u2028ls"]
    rows = [TaskRow(i, f"e{i}", {"text": text}, {"label": "pos"}, 0.9, 3, 1.0) for i, text in enumerate(texts)]
    c = ctx("text_classification", ("pos",))
    c = Context("p", "text_classification", ("pos",), c.options, data_keys=("text",))
    out = render(tabular.Csv(c, "f.csv"), rows)
    frame = pandas.read_csv(io.StringIO(out), keep_default_na=False)
    assert list(frame["text"]) == texts and list(frame["id"]) == list(range(len(texts)))
    assert out.endswith("False\n") and "\r\n" not in out.replace('\r\nline"', "")  # rows still end with "\n"


def test_manifest_keeps_every_input_key_and_follows_the_output_manifest_shapes():
    c = ctx("image_classification", ("cat", "dog"))
    row = TaskRow(1, None, {"image": "s3://b/x.png", "camera": "front", "tags": [1]}, {"label": "dog"}, 0.8, 3,
                  updated_at=1540000000.5)
    line = lines(render(manifest.Manifest(c, "m"), [row]))[0]
    assert line["source-ref"] == "s3://b/x.png" and line["camera"] == "front" and line["tags"] == [1]
    assert line["my-project"] == 1
    meta = line["my-project-metadata"]
    assert meta == {"class-name": "dog", "confidence": 0.8, "type": "groundtruth/image-classification",
                    "job-name": "labeling-job/my-project", "human-annotated": "yes",
                    "creation-date": "2018-10-20T01:46:40.500000"}
    # an open task without a consensus (--include-open) was said to be human-annotated
    open_line = lines(render(manifest.Manifest(c, "m"), [TaskRow(2, None, {"image": "y.png"}, None, None, 0)]))[0]
    assert open_line["my-project"] is None and open_line["my-project-metadata"]["human-annotated"] == "no"
    # ... also once it has answers (its row counts them): no consensus, no label, nothing human-annotated to read
    answered = lines(render(manifest.Manifest(c, "m"), [TaskRow(3, None, {"image": "z.png"}, None, None, 2)]))[0]
    assert answered["my-project"] is None and answered["my-project-metadata"]["human-annotated"] == "no"
    c = Context("p", "text_multilabel", ("a", "b", "c"), options.parse({"format": "manifest", "label_attribute": "x"}))
    row = TaskRow(2, None, {"text": "hello"}, {"labels": ["a", "c"]}, 0.7, 3,
                  details={"probabilities": {"a": 0.9, "b": 0.1, "c": 0.6}})
    line = lines(render(manifest.Manifest(c, "m"), [row]))[0]
    assert line["source"] == "hello" and line["x"] == [0, 2]
    assert line["x-metadata"]["class-map"] == {"0": "a", "2": "c"}
    assert line["x-metadata"]["confidence-map"] == {"0": 0.9, "2": 0.6}
    assert line["x-metadata"]["type"] == "groundtruth/text-classification-multilabel"
    sizes = {"a.png": ImageSize(640, 480, 3)}
    c = Context("p", "bounding_box", ("car", "bus"), options.parse({"format": "manifest"}),
                image_size=lambda d: sizes.get(d.get("image")))
    boxes = {"boxes": [{"label": "bus", "x": 10.4, "y": 20.6, "w": 30.0, "h": 40.0}]}
    writer = manifest.Manifest(c, "m")
    out = lines(render(writer, [TaskRow(3, None, {"image": "a.png"}, boxes, 0.5, 3,
                                        details={"boxes": [{"confidence": 0.55}]}),
                                TaskRow(4, None, {"image": "http://h/b.png"}, boxes, 0.5, 3)]))
    assert out[0]["p"] == {"image_size": [{"width": 640, "height": 480, "depth": 3}],
                           "annotations": [{"class_id": 1, "left": 10, "top": 21, "width": 30, "height": 40}]}
    assert out[0]["p-metadata"]["objects"] == [{"confidence": 0.55}] and out[0]["p-metadata"]["class-map"] == {"1": "bus"}
    assert "image_size" not in out[1]["p"]
    assert writer.report.counts == {"images whose size is not known (manifest lines without image_size)": 1}


def test_manifest_boxes_keep_their_edges_to_the_pixel():
    """A consensus of two answers sits on half pixels: each edge goes to its nearest pixel (halves up, as the labeling
    page rounds), so left + width is the right edge rounded, and no box is 0 pixels wide."""
    c = Context("p", "bounding_box", ("car",), options.parse({"format": "manifest"}),
                image_size=lambda d: ImageSize(640, 480))
    boxes = [(10.5, 20.5, 2.5, 3.5), (0.2, 0.4, 7.4999, 0.2), (1.0, 2.0, 3.0, 4.0)]
    answer = {"boxes": [{"label": "car", "x": x, "y": y, "w": w, "h": h} for x, w, y, h in boxes]}
    line = lines(render(manifest.Manifest(c, "m"), [TaskRow(1, None, {"image": "a.png"}, answer, 0.5, 2)]))[0]
    got = [(a["left"], a["left"] + a["width"], a["top"], a["top"] + a["height"]) for a in line["p"]["annotations"]]
    assert got == [(11, 31, 3, 6), (0, 1, 7, 8), (1, 3, 3, 7)]


def test_spans_and_conll_report_spans_off_token_boundaries():
    c = ctx("named_entities", ("PER", "LOC"))
    text = "Ada Lovelace met Babbage in London."
    row = TaskRow(1, None, {"text": text}, {"spans": [{"start": 0, "end": 12, "label": "PER"},
                                                      {"start": 28, "end": 34, "label": "LOC"},
                                                      {"start": 2, "end": 7, "label": "LOC"}]}, 0.8, 3,
                  details={"spans": [{"confidence": 1.0}, {"confidence": 0.6}, {"confidence": 0.4}]})
    spans = lines(render(tabular.Spans(c, "s"), [row]))[0]
    assert spans["entities"][1] == {"start": 28, "end": 34, "label": "LOC", "text": "London", "confidence": 0.6}
    writer = tabular.Conll(c, "c")
    text_out = render(writer, [row, TaskRow(2, None, {"text": "Hi"}, {"spans": []})])
    assert text_out == ("Ada B-PER\nLovelace I-PER\nmet O\nBabbage O\nin O\nLondon B-LOC\n. O\n\nHi O\n\n")
    assert writer.report.counts == {"spans not on token boundaries (left out of conll)": 1}
    assert "'a Lov'" in writer.report.examples["spans not on token boundaries (left out of conll)"][0]


def test_conll_keeps_combining_marks_and_joined_emoji_inside_their_token():
    # A word with combining marks (Hindi's vowel signs and virama, an e with a combining acute) and an emoji joined
    # by ZWJ are one token each, as the labeling page snaps them: never a mark or a joiner alone on a line.
    c = ctx("named_entities", ("LANG", "PER"))
    text = "\u0939\u093f\u0928\u094d\u0926\u0940 e\u0301mile \U0001F469\u200d\U0001F52C ok."
    row = TaskRow(1, None, {"text": text}, {"spans": [{"start": 0, "end": 6, "label": "LANG"},
                                                      {"start": 7, "end": 13, "label": "PER"}]}, 0.8, 3)
    writer = tabular.Conll(c, "c")
    out = render(writer, [row])
    assert [line.rsplit(" ", 1) for line in out.splitlines() if line] == [
        [text[0:6], "B-LANG"], [text[7:13], "B-PER"], [text[14:17], "O"], ["ok", "O"], [".", "O"]]
    assert writer.report.counts == {}


def test_conll_writes_a_label_with_spaces_as_one_column_and_says_so():
    # A CoNLL line is whitespace-separated columns: "B-LOC, place" would read as the tag "B-LOC," and a third column.
    c = ctx("named_entities", ("LOC, place", "PER"))
    row = TaskRow(1, None, {"text": "S\u00e3o Paulo and Zo\u00eb"}, {"spans": [
        {"start": 0, "end": 9, "label": "LOC, place"}, {"start": 14, "end": 17, "label": "PER"}]}, 0.8, 3)
    writer = tabular.Conll(c, "c")
    out = render(writer, [row, row])
    assert [line.split() for line in out.splitlines() if line][:5] == [
        ["S\u00e3o", "B-LOC,_place"], ["Paulo", "I-LOC,_place"], ["and", "O"], ["Zo\u00eb", "B-PER"],
        ["S\u00e3o", "B-LOC,_place"]]
    reason = "labels with spaces (written with _ in conll, whose columns are separated by whitespace)"
    assert writer.report.counts == {reason: 1}
    assert writer.report.lines() == [f"1 label{reason[6:]} (e.g. 'LOC, place' as 'LOC,_place')"]


# ---- human feedback ----------------------------------------------------------------------------------------------

def test_preference_pairs_modes_ties_margins_and_conversational():
    row = TaskRow(1, None, PREF_DATA, PREF_ANSWER, 0.8, 3, 0.9)
    c = ctx("preference_ranking")
    out = lines(render(feedback.Preference(Context("p", "preference_ranking", (), options.parse(
        {"format": "preference"})), "p"), [row]))
    assert [(r["chosen"], r["rejected"], r["margin"]) for r in out] == [
        ("hello", "hi", 0.7), ("hello", "go away", 0.9), ("hi", "go away", 0.8)]
    assert out[0] == {"prompt": "Say hi", "chosen": "hello", "rejected": "hi", "chosen_model": "m2",
                      "rejected_model": "m1", "margin": 0.7, "agreement": 0.9, "n_annotators": 3, "task_id": 1}
    for mode, expected in (("adjacent", 2), ("best-worst", 1)):
        opts = options.parse({"format": "preference", "pairs": mode})
        assert len(lines(render(feedback.Preference(Context("p", "preference_ranking", (), opts), "p"), [row]))) == expected
    opts = options.parse({"format": "preference", "margin": "rating", "min_margin": "2.6", "conversational": "true"})
    writer = feedback.Preference(Context("p", "preference_ranking", (), opts), "p")
    tied = TaskRow(2, None, PREF_DATA, {"ranking": [["a", "b"], ["c"]]}, 0.6, 3)
    out = lines(render(writer, [row, tied]))
    assert [(r["chosen"][0]["content"], r["margin"]) for r in out] == [("hello", 4.5)]
    assert out[0]["prompt"] == [{"role": "user", "content": "Say hi"}]
    assert out[0]["rejected"] == [{"role": "assistant", "content": "go away"}]
    assert writer.report.counts == {"pairs below min_margin (dropped)": 2, "tied pairs (dropped)": 1,
                                    "pairs without a margin: a response without a rating (dropped)": 2}
    assert c.spec.split_field == "prompt"


def test_a_rating_margin_against_the_ranking_is_no_row():
    # The consensus ranks a above b, but their mean ratings are 1 and 7: --margin rating wrote margin -6.0, which TRL's
    # reward loss reads as "rejected may score up to 6 higher"; now dropped and counted (a zero gap stays a row).
    data = {"prompt": "Say hi", "responses": [{"id": "a", "text": "x"}, {"id": "b", "text": "y"},
                                              {"id": "c", "text": "z"}]}
    answer = {"ranking": [["a"], ["b"], ["c"]], "ratings": {"a": 1, "b": 7, "c": 1}}
    opts = options.parse({"format": "preference", "margin": "rating"})
    writer = feedback.Preference(Context("p", "preference_ranking", (), opts), "p")
    out = lines(render(writer, [TaskRow(1, None, data, answer, 0.8, 3)]))
    assert [(r["chosen"], r["rejected"], r["margin"]) for r in out] == [("x", "z", 0), ("y", "z", 6)]
    assert writer.report.counts == {feedback.CONTRADICTED: 1}


def test_kto_labels_from_ratings_or_ranks():
    row = TaskRow(1, None, PREF_DATA, PREF_ANSWER, 0.8, 3)
    out = lines(render(feedback.Kto(ctx("preference_ranking"), "k"), [row]))
    assert [(r["completion"], r["label"]) for r in out] == [("hello", True), ("go away", False)]
    opts = options.parse({"format": "kto", "kto_source": "ranks", "conversational": "true"})
    writer = feedback.Kto(Context("p", "preference_ranking", (), opts), "k")
    out = lines(render(writer, [row]))
    assert [(r["completion"][0]["content"], r["label"]) for r in out] == [("hello", True), ("go away", False)]
    assert writer.report.counts == {"responses ranked in the middle, or both best and worst (left out)": 1}


def test_responses_with_the_same_text_make_no_pair_and_no_contradicting_kto_rows():
    # Two samples of a model often say the same: the pair (chosen == rejected) was written, and as KTO rows the one
    # completion was both desirable and undesirable for the one prompt.
    data = {"prompt": "Say hi", "responses": [{"id": "a", "text": "hello", "model": "m1"},
                                              {"id": 1, "text": "hello", "model": "m2"},
                                              {"id": "c", "text": "go away"}]}
    answer = {"ranking": [["a"], ["1"], ["c"]], "pair_probabilities": [
        {"chosen": "a", "rejected": "1", "probability": 0.6}, {"chosen": "a", "rejected": "c", "probability": 0.9},
        {"chosen": "1", "rejected": "c", "probability": 0.8}]}
    row = TaskRow(1, None, data, answer, 0.8, 3)
    writer = feedback.Preference(ctx("preference_ranking"), "p")
    assert [(r["chosen_model"], r["rejected"]) for r in lines(render(writer, [row]))] == [("m1", "go away"),
                                                                                         ("m2", "go away")]
    assert writer.report.counts == {"pairs whose chosen and rejected texts are the same (dropped)": 1}
    opts = options.parse({"format": "kto", "kto_source": "ranks", "good_rank": "1", "bad_rank": "2"})
    writer = feedback.Kto(Context("p", "preference_ranking", (), opts), "k")
    assert [(r["completion"], r["label"]) for r in lines(render(writer, [row]))] == [("go away", False)]
    assert writer.report.counts == {
        "responses with the text of another response of the task labelled the other way (left out)": 2}


def test_ranking_rows_and_sft_rows():
    out = lines(render(feedback.Ranking(ctx("preference_ranking"), "r"), [TaskRow(1, "e", PREF_DATA, PREF_ANSWER, 0.8, 3)]))
    assert out[0]["order"] == ["b", "a", "c"] and out[0]["ties"] is False
    assert out[0]["scores"][0] == {"id": "b", "score": 1.0}
    answers = [AnswerRow(1, "w_1", {"text": "one"}, 1.0), AnswerRow(1, "w_2", {"text": "bad"}, 2.0, excluded=True),
               AnswerRow(1, "w_3", {"text": "three"}, 3.0)]
    row = TaskRow(1, None, {"prompt": "Write", "system": "Be brief."}, answers=answers)
    assert lines(render(feedback.Sft(ctx("demonstration"), "s"), [row])) == [
        {"prompt": "Write", "completion": "one", "task_id": 1}, {"prompt": "Write", "completion": "three", "task_id": 1}]
    opts = options.parse({"format": "sft", "conversational": "true"})
    out = lines(render(feedback.Sft(Context("p", "demonstration", (), opts), "s"), [row]))
    assert out[0]["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Write"},
                                  {"role": "assistant", "content": "one"}]


# ---- images ------------------------------------------------------------------------------------------------------

def boxes_rows() -> list[TaskRow]:
    answer = {"boxes": [{"label": "car", "x": 10.0, "y": 20.0, "w": 30.0, "h": 40.0},
                        {"label": "bus", "x": 50.0, "y": 5.0, "w": 60.0, "h": 30.0}]}
    return [TaskRow(1, None, {"image": "a.png"}, answer, 0.7, 3, details={"boxes": [{"confidence": 0.9},
                                                                                 {"confidence": 0.5}]}),
            TaskRow(2, None, {"image": "https://h/b.png"}, answer, 0.7, 3),
            TaskRow(3, None, {"image": "c.png", "width": 100, "height": 50}, {"boxes": []}, 1.0, 3)]


def test_coco_loads_in_pycocotools_with_the_consensus_boxes(tmp_path):
    from pycocotools.coco import COCO

    sizes = {"a.png": ImageSize(200, 100, 3)}
    c = Context("p", "bounding_box", ("car", "bus"), options.parse({"format": "coco"}),
                image_size=lambda d: sizes.get(d["image"]) or (ImageSize(d["width"], d["height"]) if "width" in d else None))
    writer = vision.Coco(c, "p.json")
    path = tmp_path / "p.json"
    path.write_text(render(writer, boxes_rows()))
    coco = COCO(str(path))
    assert sorted(coco.getImgIds()) == [1, 3] and coco.loadImgs(1)[0]["width"] == 200
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    assert [(a["bbox"], coco.loadCats(a["category_id"])[0]["name"], a["score"]) for a in anns] == [
        ([10.0, 20.0, 30.0, 40.0], "car", 0.9), ([50.0, 5.0, 60.0, 30.0], "bus", 0.5)]
    assert all(a["iscrowd"] == 0 and a["area"] == a["bbox"][2] * a["bbox"][3] for a in anns)
    assert writer.report.counts == {vision.NO_SIZE: 1} and writer.report.examples[vision.NO_SIZE] == ["https://h/b.png"]


def test_yolo_writes_labels_images_and_data_yaml(tmp_path):
    image = tmp_path / "a.png"
    image.write_bytes(b"png")
    c = Context("p", "bounding_box", ("car", "bus"), options.parse({"format": "yolo"}),
                image_size=lambda d: ImageSize(200, 100) if d["image"] == "a.png" else None,
                image_file=lambda d: image if d["image"] == "a.png" else None)
    sink = archive.FolderSink(tmp_path / "out")
    writer = vision.Yolo(c, "")
    writer.start(sink)
    writer.page(boxes_rows(), 0, sink)
    writer.finish(sink)
    sink.finish()
    out = tmp_path / "out"
    assert (out / "images/train/1.png").read_bytes() == b"png"
    assert (out / "labels/train/1.txt").read_text() == ("0 0.125000 0.400000 0.150000 0.400000\n"
                                                        "1 0.400000 0.200000 0.300000 0.300000\n")
    assert (out / "data.yaml").read_text().splitlines()[1:] == [
        'train: "images/train"', 'val: "images/train"', "nc: 2", "names:", '  0: "car"', '  1: "bus"']
    assert writer.report.counts == {vision.NO_SIZE: 2}


def test_yolo_names_every_image_as_trainers_read_it_and_converts_what_they_cannot(tmp_path):
    """YOLO trainers (Ultralytics) pass over files whose extension is not an image format they read, with their
    labels: a GIF upload, or a media-folder file without an extension, was copied under a name no trainer reads."""
    from PIL import Image

    files = {"anim.gif": tmp_path / "anim.gif", "shared/scan": tmp_path / "scan", "photo.JPEG": tmp_path / "p.JPEG",
             "broken.gif": tmp_path / "broken.gif"}
    frames = [Image.new("P", (20, 10), i) for i in (1, 2)]
    frames[0].save(files["anim.gif"], save_all=True, append_images=frames[1:], transparency=1)
    Image.new("RGB", (20, 10), "red").save(files["shared/scan"], "PNG")  # a PNG under a name without extension
    Image.new("RGB", (20, 10), "blue").save(files["photo.JPEG"], "JPEG")
    files["broken.gif"].write_bytes(b"GIF89a broken")
    answer = {"boxes": [{"label": "car", "x": 2.0, "y": 2.0, "w": 10.0, "h": 5.0}]}
    rows = [TaskRow(i, None, {"image": ref}, answer, 0.9, 3) for i, ref in enumerate(files, 1)]
    c = Context("p", "bounding_box", ("car",), options.parse({"format": "yolo"}),
                image_size=lambda d: ImageSize(20, 10), image_file=lambda d: files[d["image"]])
    sink = archive.FolderSink(tmp_path / "out")
    writer = vision.Yolo(c, "")
    writer.start(sink)
    writer.page(rows, 0, sink)
    writer.finish(sink)
    sink.finish()
    images = tmp_path / "out/images/train"
    assert sorted(p.name for p in images.iterdir()) == ["1.png", "2.png", "3.jpeg"]
    assert sorted(p.name for p in (tmp_path / "out/labels/train").iterdir()) == ["1.txt", "2.txt", "3.txt"]
    with Image.open(images / "1.png") as first:  # the GIF's first frame, its transparency kept
        assert first.format == "PNG" and first.mode == "RGBA" and first.size == (20, 10)
    assert (images / "2.png").read_bytes() == files["shared/scan"].read_bytes()  # named, not converted
    assert (images / "3.jpeg").read_bytes() == files["photo.JPEG"].read_bytes()
    assert {p.suffix for p in images.iterdir()} <= vision.YOLO_READS
    assert writer.report.counts == {vision.CONVERTED: 1, vision.RENAMED: 1, vision.UNREADABLE: 1}
    assert writer.report.examples[vision.UNREADABLE] == ["broken.gif"]


# ---- the zip and the card ------------------------------------------------------------------------------------------

def test_zip_sink_streams_a_valid_deterministic_archive(tmp_path):
    image = tmp_path / "i.png"
    image.write_bytes(b"\x89PNG" + bytes(range(256)) * 10)

    def make() -> bytes:
        sink = archive.ZipSink()
        chunks = []
        sink.open("train.jsonl")
        for i in range(3):
            sink.write(json.dumps({"i": i}) + "\n")
            chunks.append(sink.take())
        sink.close()
        sink.copy("images/i.png", image)
        sink.open("README.md")
        sink.write("# card\n")
        sink.finish()
        chunks.append(sink.take())
        return b"".join(chunks)

    data = make()
    assert data == make()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None and z.namelist() == ["train.jsonl", "images/i.png", "README.md"]
        assert z.read("train.jsonl").decode().splitlines()[2] == '{"i": 2}'
        assert z.read("images/i.png") == image.read_bytes()


def test_card_yaml_names_splits_and_alpha_adds_up_page_by_page():
    import numpy as np

    from labeling.consensus import agreement

    c = ctx("text_classification", ("pos", "neg"))
    votes = [["pos", "pos", "neg"], ["neg", "neg", "neg"], ["pos", "neg", "neg"], ["pos", "pos", "pos"]]
    rows = [TaskRow(i, None, {"text": "t"}, {"label": v[0]}, 0.8, 3, 0.5, method="online", updated_at=100.0 + i,
                    answers=[AnswerRow(i, f"w{j}", {"label": x}, 1.0) for j, x in enumerate(v)])
            for i, v in enumerate(votes)]
    stats = card.Stats(c)
    stats.observe(rows[:2])
    stats.observe(rows[2:])
    table = np.array([[v.count("pos"), v.count("neg")] for v in votes])
    assert stats.alpha() == round(agreement.krippendorff_alpha(table), 4)
    text = card.render(c, "jsonl", "json", {"train": ("train.jsonl", 3), "test": ("test.jsonl", 1)}, stats,
                       stats_report(), "3 answers per task")
    head = text.split("---")[1]
    assert '- split: "train"\n    path: "train.jsonl"' in head and "pretty_name: \"My Project\"" in head
    assert "annotators: 3" in text and "| pos | 3 |" in text and "online (4 tasks)" in text


def stats_report():
    from labeling.export.rows import Report

    report = Report()
    report.add("tied pairs (dropped)", "task 1", 2)
    return report


def test_archive_refuses_an_existing_target_unless_forced(tmp_path):
    target = tmp_path / "x.jsonl"
    target.write_text("keep")
    with pytest.raises(InvalidInput, match="already exists; use --force"):
        archive.check_target(target, force=False)
    archive.check_target(target, force=True)
    with pytest.raises(InvalidInput, match="no folder"):
        archive.check_target(tmp_path / "missing" / "x.jsonl", force=True)
    assert Path(target).read_text() == "keep"


def test_the_readme_documents_every_format_and_option():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Exports")[1].split("## Development")[0]
    for name in formats.FORMATS:
        assert f"`{name}`" in section, name
    for name in options.NAMES:
        assert f"--{name.replace('_', '-')}" in section, name


def test_a_report_counts_one_in_the_singular():
    from labeling.export.rows import Report

    report = Report()
    report.add("responses without a rating (left out)", "task 1")
    report.add("tied pairs (dropped)", "task 2", 2)
    report.add("boxes clipped to their image", "task 3")
    assert report.lines() == ["1 response without a rating (left out) (e.g. task 1)",
                              "2 tied pairs (dropped) (e.g. task 2)", "1 box clipped to their image (e.g. task 3)"]


@pytest.mark.parametrize("fmt, shown", [("JPEG", (30, 40)), ("PNG", (30, 40)), ("WEBP", (40, 30))])
def test_an_unrecorded_images_size_is_read_as_the_browser_shows_it(tmp_path: Path, fmt: str, shown: tuple) -> None:
    # An image without a recorded size is measured from its file as uploads are (labeling/media.py): a JPEG turned by
    # its EXIF orientation; the header's own size was taken, so COCO and YOLO sizes were in another frame than boxes.
    from PIL import Image

    from labeling.export.images import Images

    image = Image.new("RGB", (40, 30))
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(tmp_path / "turned", fmt, exif=exif)
    assert Images(tmp_path).size({"image": "turned"}) == ImageSize(*shown, 3)


def test_yolo_says_it_left_out_a_stored_box_of_no_area(tmp_path):
    # A consensus made before boxes kept a width of at least 0.01 may hold one 0 wide: yolo has no line for it,
    # and says so (it left it out without a word).
    image = tmp_path / "a.png"
    Image.new("RGB", (200, 100)).save(image)
    c = Context("p", "bounding_box", ("car",), options.parse({"format": "yolo"}),
                image_size=lambda d: ImageSize(200, 100), image_file=lambda d: image)
    row = TaskRow(7, None, {"image": "a.png"}, {"boxes": [{"label": "car", "x": 10.0, "y": 10.0, "w": 0.0, "h": 5.0},
                                                          {"label": "car", "x": 20.0, "y": 10.0, "w": 4.0, "h": 5.0}]})
    sink = archive.FolderSink(tmp_path / "out")
    writer = vision.Yolo(c, "")
    writer.start(sink)
    writer.page([row], 0, sink)
    writer.finish(sink)
    sink.finish()
    assert len((tmp_path / "out/labels/train/7.txt").read_text().splitlines()) == 1
    assert [("no area" in reason, n) for reason, n in writer.report.counts.items()] == [(True, 1)]


def test_a_folder_file_that_cannot_be_written_is_named_as_the_user_named_the_folder(tmp_path, monkeypatch):
    """A full disk under `-o DIR` was "[Errno 28] No space left on device" (an OSError, exit status 1): writing,
    closing or copying a file in, the error now names the file under the folder the user gave (not its hidden partial
    copy), as the one-file export names its file; an image that cannot be read is named as the image."""
    import errno
    import shutil

    def full(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(errno.ENOSPC, "No space left on device")

    image = tmp_path / "a.png"
    image.write_bytes(b"png")
    sink = archive.FolderSink(tmp_path / ".out.partial-1", shown=Path("out"))
    monkeypatch.setattr(shutil, "copyfile", full)
    with pytest.raises(InvalidInput, match=r"^cannot write out/images/a\.png: No space left on device$"):
        sink.copy("images/a.png", image)
    monkeypatch.undo()
    with pytest.raises(InvalidInput, match=r"^cannot read .*missing\.png: No such file or directory$"):
        sink.copy("images/b.png", tmp_path / "missing.png")
    sink.open("train.jsonl")

    class Full(io.BytesIO):
        def write(self, data):  # noqa: ANN001, ANN202
            raise OSError(errno.ENOSPC, "No space left on device")

    sink._handle = Full()
    with pytest.raises(InvalidInput, match=r"^cannot write out/train\.jsonl: No space left on device$"):
        sink.write(b"{}\n")


def test_a_folder_that_cannot_take_its_place_leaves_the_earlier_one_where_it_was(tmp_path, monkeypatch):
    """`-o DIR --force` over an earlier export: the earlier folder was moved aside, then the new one failed to take
    its name, and the earlier one stayed hidden as .DIR.old-PID (its name left empty); it is put back."""
    import os

    target, new = tmp_path / "out", tmp_path / ".out.partial-1"
    target.mkdir()
    (target / "train.jsonl").write_text("earlier\n")
    new.mkdir()
    (new / "train.jsonl").write_text("new\n")
    real = os.replace

    def failing(source, destination):  # noqa: ANN001, ANN202
        if Path(source) == new:
            raise OSError(28, "No space left on device")
        return real(source, destination)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError):
        archive.replace(new, target)
    assert (target / "train.jsonl").read_text() == "earlier\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == [".out.partial-1", "out"]
