"""`labeling aggregate` through register() and argparse, on temporary files."""

from __future__ import annotations

import argparse
import itertools
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labeling.consensus import cli, csvio
from labeling.errors import InvalidInput


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="labeling")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.func(args)


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


ANSWERS = "task,worker,label\nt1,a,x\nt1,b,x\nt1,c,y\nt2,a,y\nt2,b,y\nt2,c,y\nt3,a,x\nt3,b,y\nt3,c,x\n"


@pytest.mark.parametrize("method", ["majority", "dawid-skene", "one-coin"])
def test_classification_to_file(tmp_path: Path, method: str) -> None:
    out = tmp_path / "out.csv"
    assert run("aggregate", "classification", write(tmp_path / "a.csv", ANSWERS), "--method", method, "-o", str(out)) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["task"], r["label"]) for r in rows] == [("t1", "x"), ("t2", "y"), ("t3", "x")]
    assert all(0.0 < float(r["confidence"]) <= 1.0 for r in rows)


def test_a_task_named_with_a_lone_cr_comes_back_whole(tmp_path: Path) -> None:
    # The output's rows end with "\n", and csv quoted only that: a task or label holding a bare CR went out unquoted,
    # and a reader (pandas, a spreadsheet) ended the row there. (A label holding one is refused: check_names.)
    import pandas

    answers = tmp_path / "a.csv"
    answers.write_bytes(b'task,worker,label\n"t\r1",a,"x y"\n"t\r1",b,"x y"\nt2,a,z\n')
    out = tmp_path / "out.csv"
    assert run("aggregate", "classification", str(answers), "-o", str(out)) == 0
    frame = pandas.read_csv(out, keep_default_na=False)
    assert [(r.task, r.label) for r in frame.itertuples()] == [("t\r1", "x y"), ("t2", "z")]


def test_classification_to_stdout_with_gold_and_quoted_fields(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    answers = write(tmp_path / "a.csv", 'task,worker,label\n"t,1",a,x\n"t,1",b,y\nt2,a,y\n')
    gold = write(tmp_path / "g.csv", "task,label\n\"t,1\",y\n")
    assert run("aggregate", "classification", answers, "--gold", gold) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "task,label,confidence"
    assert lines[1] == '"t,1",y,1.000000'


def test_pairwise(tmp_path: Path) -> None:
    rows = ["worker,left,right,label"]
    for i in range(3):
        rows += [f"w{i},A,B,A", f"w{i},B,C,B", f"w{i},A,C,A"]
    out = tmp_path / "out.csv"
    assert run("aggregate", "pairwise", write(tmp_path / "p.csv", "\n".join(rows) + "\n"), "-o", str(out)) == 0
    result = list(csv.DictReader(out.open()))
    assert [(r["item"], r["rank"]) for r in result] == [("A", "1"), ("B", "2"), ("C", "3")]
    assert float(result[0]["score"]) > float(result[2]["score"])


def test_pairwise_winner_must_be_one_side(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="line 2"):
        run("aggregate", "pairwise", write(tmp_path / "p.csv", "worker,left,right,label\nw,A,B,C\n"))


def test_boxes(tmp_path: Path) -> None:
    text = "task,worker,x,y,w,h,label\ni1,a,0,0,10,10,car\ni1,b,2,0,10,10,car\ni1,b,50,50,5,5,dog\n"
    out = tmp_path / "out.csv"
    assert run("aggregate", "boxes", write(tmp_path / "b.csv", text), "-o", str(out)) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2
    assert rows[0]["x"] == "1.0" and rows[0]["label"] == "car" and float(rows[0]["confidence"]) > 0.7
    assert rows[1]["label"] == "dog" and float(rows[1]["confidence"]) == pytest.approx(0.5)


@pytest.mark.parametrize("text, message, field", [
    ("task,worker\nt,w\n", "missing column 'label'", "label"),
    ("", "empty", "file"),
    ("task,worker,label\n", "no rows", "file"),
    ("task,worker,label\nt,w\n", "line 2", "label"),
])
def test_classification_errors(tmp_path: Path, text: str, message: str, field: str) -> None:
    with pytest.raises(InvalidInput, match=message) as err:
        run("aggregate", "classification", write(tmp_path / "a.csv", text))
    assert err.value.field == field


def test_missing_file_and_unknown_method(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no file "):
        run("aggregate", "classification", str(tmp_path / "missing.csv"))
    with pytest.raises(InvalidInput, match="^--method .glad. is unknown; use one of auto, "):
        run("aggregate", "classification", write(tmp_path / "a.csv", ANSWERS), "--method", "glad")


@pytest.mark.parametrize("raw", [ANSWERS.encode("utf-16"), ANSWERS.encode() + "t4,a,caf\u00e9\n".encode("latin-1"),
                                 b"task,worker,label\n" + b"t,w,x\n" * 50_000 + b"t,w,\xff\n"])
def test_a_file_not_in_utf8_is_one_clear_error(tmp_path: Path, raw: bytes) -> None:
    (tmp_path / "a.csv").write_bytes(raw)
    with pytest.raises(InvalidInput, match="not UTF-8") as err:
        run("aggregate", "classification", str(tmp_path / "a.csv"))
    assert err.value.field == "file"


def test_box_coordinates_must_be_numbers(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="line 2") as err:
        run("aggregate", "boxes", write(tmp_path / "b.csv", "task,worker,x,y,w,h\ni,a,left,0,1,1\n"))
    assert err.value.field == "x"


def test_csv_blocks_fast_and_quoted_paths_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from labeling.consensus import csvio

    lines = [f"t{i},w{i % 3},{'x' if i % 2 else 'y'}" for i in range(40)]
    lines[30] = '"t,30",w0,x'  # a quoted field only in a later block
    path = write(tmp_path / "a.csv", "task,worker,label\n\n" + "\n".join(lines) + "\n\n")
    monkeypatch.setattr(csvio, "BLOCK_CHARS", 64)
    cols = csvio.read_columns(path, ("task", "worker", "label"))
    assert cols["task"] == [line.split(",")[0] if not line.startswith('"') else "t,30" for line in lines]
    assert cols["label"] == [line.rsplit(",", 1)[1] for line in lines]
    with pytest.raises(InvalidInput, match="line 5"):
        bad = write(tmp_path / "b.csv", 'task,worker,label\nt,w,x\nt2,w,x\n"t3",w,x\nt4,w\n')
        csvio.read_columns(bad, ("task", "worker", "label"))


def test_pairwise_ties_and_both_methods(tmp_path: Path) -> None:
    rows = ["worker,left,right,label"]
    for i in range(4):
        rows += [f"w{i},A,B,A", f"w{i},B,C,B", f"w{i},A,C,A", f"w{i},B,D,tie", f"w{i},C,D,TIE"]
    src = write(tmp_path / "p.csv", "\n".join(rows) + "\n")
    for method in ("noisy-bt", "bt"):
        out = tmp_path / f"{method}.csv"
        assert run("aggregate", "pairwise", src, "--method", method, "-o", str(out)) == 0
        result = {r["item"]: r for r in csv.DictReader(out.open())}
        assert result["A"]["rank"] == "1"
        assert float(result["B"]["score"]) > float(result["D"]["score"]) > float(result["C"]["score"]) - 1.0
    with pytest.raises(InvalidInput, match="neither left, right nor tie"):
        run("aggregate", "pairwise", write(tmp_path / "bad.csv", "worker,left,right,label\nw,A,B,draw\n"))


def test_auto_says_which_method_it_picked(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out.csv"
    assert run("aggregate", "classification", write(tmp_path / "a.csv", ANSWERS), "--method", "auto", "-o", str(out)) == 0
    message = capsys.readouterr().err
    assert message.startswith("method: ") and "auto, by held-out answers" in message
    assert "confidence calibrated on the crowd alone (a task's n answers count as n / (1 + (n - 1) x " in message
    picked = message.split()[1]
    assert picked in ("majority", "dawid-skene", "one-coin")
    assert run("aggregate", "classification", str(tmp_path / "a.csv"), "--uncalibrated", "-o", str(out), "--force") == 0
    assert "the raw posterior" in capsys.readouterr().err


QUOTED = 'worker,left,right,label\nw,"A\nfirst line break",B,B\n\nw,"C\n\nmore",D,D\nw,E,F,G\n'


@pytest.mark.parametrize("block", [64, 1 << 24])
def test_pairwise_error_names_the_line_where_the_row_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            block: int) -> None:
    # Rows 1-2 hold quoted line breaks and a blank line sits between them: the bad row is row 3, on line 8.
    from labeling.consensus import csvio

    monkeypatch.setattr(csvio, "BLOCK_CHARS", block)
    with pytest.raises(InvalidInput, match="line 8: label 'G'") as err:
        run("aggregate", "pairwise", write(tmp_path / "p.csv", QUOTED))
    assert err.value.extra["line"] == 8


def test_boxes_error_line_after_blank_lines_and_quoted_breaks(tmp_path: Path) -> None:
    text = 'task,worker,x,y,w,h,label\n\ni,"two\nlines",0,0,1,1,car\n\r\ni,b,0,0,1,1,car\ni,c,0,zero,1,1,car\n'
    with pytest.raises(InvalidInput, match="line 7: y must be a number") as err:
        run("aggregate", "boxes", write(tmp_path / "b.csv", text))
    assert err.value.field == "y"
    fast = 'task,worker,x,y,w,h\n\n\ni,a,0,0,1,1\n\ni,b,0,0,1,1\ni,c,0,no,1,1\n'
    with pytest.raises(InvalidInput, match="line 7: y must be a number"):
        run("aggregate", "boxes", write(tmp_path / "f.csv", fast))


@pytest.mark.parametrize("block", [16, 64, 1 << 24])
def test_every_row_knows_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    from labeling.consensus import csvio

    monkeypatch.setattr(csvio, "BLOCK_CHARS", block)
    lines = ["task,worker,label"]
    for i in range(60):
        if i % 7 == 3:
            lines.append("")
        lines.append(f'"t\n{i}",w,x' if i % 11 == 5 else f"t{i},w,x")
    text = "\n".join(lines) + "\n"
    cols = csvio.read_columns(write(tmp_path / "a.csv", text), ("task", "worker", "label"))
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    starts, start = [], 2
    for row in reader:
        if row:
            starts.append(start)
        start = reader.line_num + 1
    assert [cols.line(i) for i in range(len(cols["task"]))] == starts


def test_a_field_holding_a_form_feed_is_not_a_line_break(tmp_path: Path) -> None:
    from labeling.consensus import csvio

    cols = csvio.read_columns(write(tmp_path / "a.csv", "task,worker,label\na,b,c\x0cd\n"), ("task", "worker"))
    assert cols["task"] == ["a"] and cols["worker"] == ["b"]


def test_an_aggregate_that_fails_half_way_leaves_the_old_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from labeling.consensus import boxes

    text = "task,worker,x,y,w,h\ni1,a,0,0,10,10\ni2,a,0,0,10,10\n"
    out = tmp_path / "out.csv"
    out.write_text("an older result\n")
    real, calls = boxes.aggregate_boxes, []

    def second_fails(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError("out of memory half-way")
        return real(*args, **kwargs)

    monkeypatch.setattr(boxes, "aggregate_boxes", second_fails)
    with pytest.raises(MemoryError):
        run("aggregate", "boxes", write(tmp_path / "b.csv", text), "-o", str(out), "--force")
    assert out.read_text() == "an older result\n" and sorted(p.name for p in tmp_path.iterdir()) == ["b.csv",
                                                                                                      "out.csv"]
    with pytest.raises(InvalidInput, match="no folder .*no-such-folder to write o.csv into"):
        run("aggregate", "boxes", str(tmp_path / "b.csv"), "-o", str(tmp_path / "no-such-folder" / "o.csv"))


def test_an_aggregate_never_replaces_a_pipe(tmp_path: Path) -> None:
    import os
    import stat

    pipe = tmp_path / "out.csv"
    os.mkfifo(pipe)
    text = "task,worker,x,y,w,h\ni1,a,0,0,10,10\n"
    with pytest.raises(InvalidInput, match="cannot write .*out.csv: a device, a pipe or a socket"):
        run("aggregate", "boxes", write(tmp_path / "b.csv", text), "-o", str(pipe))
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode) and sorted(p.name for p in tmp_path.iterdir()) == ["b.csv", "out.csv"]


def test_a_header_name_holding_a_line_break_is_one_header_line(tmp_path: Path) -> None:
    text = 'worker,left,right,"label\n(winner)",label\nw,A,B,x,A\nw,A,B,x,Z\n'
    with pytest.raises(InvalidInput, match="line 4: label 'Z'"):
        run("aggregate", "pairwise", write(tmp_path / "p.csv", text))


# Held-out shapes of crowd files: each was read without a word before (a wrong answer, or a traceback).


def test_an_empty_gold_label_is_refused_and_never_becomes_every_tasks_gold(tmp_path: Path) -> None:
    from labeling.consensus import csvio

    with pytest.raises(InvalidInput, match="g.csv: line 2: label is empty") as err:
        run("aggregate", "classification", write(tmp_path / "a.csv", ANSWERS), "--gold",
            write(tmp_path / "g.csv", "task,label\nt1,\n"))
    assert err.value.field == "label" and err.value.extra["line"] == 2
    # A task without gold is unknown (-1), also when "" is a label: it was looked up as the gold label "".
    assert csvio.gold_array({"t1": "x"}, ["t1", "t2"], ["", "x"]).tolist() == [1, -1]


def test_a_task_given_two_gold_labels_is_refused(tmp_path: Path) -> None:
    gold = write(tmp_path / "g.csv", "task,label\nt1,x\nt2,y\nt1,x\nt1,y\n")
    with pytest.raises(InvalidInput, match="line 5: task 't1' has gold label 'y', but line 2 gave it 'x'"):
        run("aggregate", "classification", write(tmp_path / "a.csv", ANSWERS), "--gold", gold)


def test_gold_tasks_missing_from_the_answers_are_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gold = write(tmp_path / "g.csv", "task,label\nT1,x\nt2,y\n")
    assert run("aggregate", "classification", write(tmp_path / "a.csv", ANSWERS), "--gold", gold) == 0
    assert "1 of 2 gold tasks are not in" in capsys.readouterr().err


@pytest.mark.parametrize("text, line, field", [
    ("task,worker,label\nt1,w1,x\nt1,w2,\nt2,,y\n,w1,x\n", 3, "label"),
    ("task,worker,label\nt1,w1,x\nt2, ,y\n", 3, "worker"),
    ('task,worker,label\n"t\n1",w1,x\n"",w2,y\n', 4, "task"),
])
def test_an_empty_task_worker_or_label_is_refused(tmp_path: Path, text: str, line: int, field: str) -> None:
    with pytest.raises(InvalidInput, match=f"line {line}: {field} is empty") as err:
        run("aggregate", "classification", write(tmp_path / "a.csv", text))
    assert err.value.field == field


def test_a_row_wider_than_the_header_is_refused(tmp_path: Path) -> None:
    # An unquoted comma in a label used to cut it ("cats, dogs" read as "cats") without a word.
    with pytest.raises(InvalidInput, match="line 3 has 4 fields, the header 3"):
        run("aggregate", "classification", write(tmp_path / "a.csv", "task,worker,label\nt0,w,x\nt1,w,cats, dogs\n"))


def test_a_column_named_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="names column 'label' 2 times") as err:
        run("aggregate", "classification", write(tmp_path / "a.csv", "task,worker,label,label\nt,w,x,y\n"))
    assert err.value.field == "label"


def test_tab_separated_files_with_a_bom_and_crlf_are_read(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    text = "\ufefftask\tworker\tlabel\r\n" + ANSWERS.split("\n", 1)[1].replace(",", "\t").replace("\n", "\r\n")
    (tmp_path / "a.txt").write_text(text, encoding="utf-8", newline="")
    assert run("aggregate", "classification", str(tmp_path / "a.txt"), "--method", "majority", "-o", str(out)) == 0
    assert [r["label"] for r in csv.DictReader(out.open())] == ["x", "y", "x"]
    with pytest.raises(InvalidInput, match="line 3 has 4 fields, the header 3 \\(quote a value that holds a tab"):
        run("aggregate", "classification", write(tmp_path / "b.tsv", "task\tworker\tlabel\nt\tw\tx\nt\tw\tx\ty\n"))


def test_a_folder_is_not_a_csv_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="is a folder, not a file"):
        run("aggregate", "classification", str(tmp_path))


def test_pairwise_refuses_self_comparisons_and_an_item_named_tie(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="line 3: 'A' is compared with itself"):
        run("aggregate", "pairwise", write(tmp_path / "p.csv", "worker,left,right,label\nw,A,B,A\nw,A,A,A\n"))
    with pytest.raises(InvalidInput, match="line 2: label 'Tie' names an item and a tie alike"):
        run("aggregate", "pairwise", write(tmp_path / "q.csv", "worker,left,right,label\nw,Tie,B,Tie\n"))


@pytest.mark.parametrize("reg", ["nan", "inf", "0", "-1"])
def test_pairwise_reg_must_be_a_positive_number(tmp_path: Path, reg: str) -> None:
    """Said naming the flag (it was "reg must be a positive number", inf too), before the file is read (none here)."""
    with pytest.raises(InvalidInput, match="^--reg must be a finite number above 0, got ") as err:
        run("aggregate", "pairwise", str(tmp_path / "none.csv"), "--reg", reg)
    assert err.value.field == "reg"


def test_pairwise_items_with_equal_scores_share_a_rank(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    src = write(tmp_path / "t.csv", "worker,left,right,label\nw,A,B,tie\nv,B,A,tie\n")
    assert run("aggregate", "pairwise", src, "-o", str(out)) == 0
    assert [(r["item"], r["rank"]) for r in csv.DictReader(out.open())] == [("A", "1"), ("B", "1")]


@pytest.mark.parametrize("value, key", [("nan", "x"), ("inf", "y"), ("1e400", "x"), ("1_0", "x"), ("-3", "w"),
                                        ("0", "h")])
def test_box_coordinates_must_be_finite_and_sizes_positive(tmp_path: Path, value: str, key: str) -> None:
    row = {"x": "0", "y": "0", "w": "5", "h": "5", key: value}
    text = f"task,worker,x,y,w,h\ni,a,0,0,5,5\ni,b,{row['x']},{row['y']},{row['w']},{row['h']}\n"
    out = tmp_path / "out.csv"
    with pytest.raises(InvalidInput, match=f"line 3: {key} must be") as err:
        run("aggregate", "boxes", write(tmp_path / "b.csv", text), "-o", str(out))
    assert err.value.field == key and not out.exists()


@pytest.mark.parametrize("iou", ["0", "1.5", "nan", "-1"])
def test_box_iou_must_be_above_0_and_at_most_1(tmp_path: Path, iou: str) -> None:
    with pytest.raises(InvalidInput, match="^--iou must be") as err:  # the flag, as the CLI names its own
        run("aggregate", "boxes", write(tmp_path / "b.csv", "task,worker,x,y,w,h\ni,a,0,0,5,5\n"), "--iou", iou)
    assert err.value.field == "iou"


def test_spaces_around_a_value_are_not_part_of_it(tmp_path: Path) -> None:
    # "t1, w2, x" (a space after each comma) named a second worker " w2" and a third label " x"; the header's names
    # were stripped already, and a project's labels are too.
    out = tmp_path / "out.csv"
    text = "task, worker, label\nt1,w1,x\nt1, w2, x\nt1,w3 ,y\nt2, w1,y\n"
    assert run("aggregate", "classification", write(tmp_path / "a.csv", text), "--method", "majority",
               "-o", str(out)) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["task"], r["label"]) for r in rows] == [("t1", "x"), ("t2", "y")]
    assert float(rows[0]["confidence"]) > 0.5


TIED = "task,worker,label\nt1,a,x\nt1,b,y\nt2,a,y\nt2,b,x\nt3,a,x\nt3,b,x\n"


def test_labels_set_the_order_ties_break_in_and_may_name_a_label_no_one_chose(tmp_path: Path) -> None:
    answers = write(tmp_path / "a.csv", TIED)
    picked = {}
    for order in ("x,y", "y,x", " y , x ,z"):
        out = tmp_path / "out.csv"
        assert run("aggregate", "classification", answers, "--method", "majority", "--labels", order,
                   "-o", str(out), "--force") == 0
        picked[order] = [(r["task"], r["label"], r["confidence"]) for r in csv.DictReader(out.open())]
    # a tie is broken by seeded noise over the label columns: the order of the columns decides it
    assert picked["x,y"] != picked["y,x"]
    assert [label for _, label, _ in picked["x,y"]][2] == "x"
    # a third label no one chose is a class of its own: the unanimous task's confidence is not the 2-class one
    assert picked[" y , x ,z"][2][2] != picked["y,x"][2][2]


@pytest.mark.parametrize("labels, answers, gold, message", [
    ("x", TIED, None, r"a\.csv: line 3: label 'y' is not one of --labels"),
    ("x,y", TIED, "task,label\nt1,x\nt2,q\n", r"g\.csv: line 3: gold label 'q' is not one of --labels"),
    ("x,,y", TIED, None, "a label name is empty"),
    ("x,y,x", TIED, None, "'x' is named twice"),
    ("", TIED, None, "a label name is empty"),
    ('x,"y', TIED, None, "not one CSV line"),
])
def test_labels_refuse_what_falls_outside_them(tmp_path: Path, labels: str, answers: str, gold: str | None,
                                               message: str) -> None:
    argv = ["aggregate", "classification", write(tmp_path / "a.csv", answers), "--labels", labels]
    if gold is not None:
        argv += ["--gold", write(tmp_path / "g.csv", gold)]
    with pytest.raises(InvalidInput, match=message):
        run(*argv)


def test_labels_may_hold_a_comma_written_as_a_quoted_csv_field(tmp_path: Path) -> None:
    """A project's label may hold a comma ("red, dark"): --labels reads one CSV line, so such a label is given
    quoted, as the answers file gives it; it split in two before (and every answer with it was refused)."""
    answers = write(tmp_path / "a.csv", 'task,worker,label\nt1,a,"red, dark"\nt1,b,"red, dark"\nt2,a,blue\n')
    out = tmp_path / "out.csv"
    assert run("aggregate", "classification", answers, "--method", "majority", "--labels", ' "red, dark", blue ,x',
               "-o", str(out)) == 0
    assert [(r["task"], r["label"]) for r in csv.DictReader(out.open())] == [("t1", "red, dark"), ("t2", "blue")]
    from labeling.consensus import csvio

    assert csvio.parse_labels('a,"b ""c"", d",e') == ["a", 'b "c", d', "e"]


@pytest.mark.parametrize("name", ["out.jsonl", "out.json", "out.csv.", "out.csv ", "out.csv.gz"])
def test_an_output_named_as_another_kind_of_file_than_csv_is_refused(tmp_path: Path, name: str) -> None:
    # The aggregate writes CSV whatever -o says: -o out.jsonl was a CSV file named as JSON Lines (the export refuses
    # such names; the aggregate did not check them).
    with pytest.raises(InvalidInput) as error:
        run("aggregate", "classification", write(tmp_path / "a.csv", ANSWERS), "-o", str(tmp_path / name))
    message = str(error.value)
    assert error.value.field == "output" and ("the aggregate's output is CSV" in message or "hides its" in message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]
    assert run("aggregate", "classification", str(tmp_path / "a.csv"), "-o", str(tmp_path / "OUT.CSV")) == 0


def test_equal_numbers_written_differently_keep_one_order_in_every_run() -> None:
    """`1`, `1.0` and `01` are three labels of one value: sorted by value alone, their order was a set's, which
    changes with the interpreter's hash seed, and so did the label a tie between them went to (the same file and
    --seed gave t1 -> 1 in one run, 1.0 in the next)."""
    # A set iterates in an order its hash seed sets: every order the labels may come in gives one.
    seen = {(tuple(csvio.label_order(numbers)), tuple(csvio.label_order(with_nan)))
            for numbers in itertools.permutations(['1.0', '2', '1', '01', '-1'])
            for with_nan in itertools.permutations(['NaN', '2', '10', '1', 'inf'])}
    assert seen == {(("-1", "01", "1", "1.0", "2"), ("1", "10", "2", "NaN", "inf"))}


def test_an_aggregate_output_that_is_a_folder_is_named_and_left_as_it_is(tmp_path: Path) -> None:
    """`-o DIR` said "[Errno 21] Is a directory: '/.../.DIR._x1y2.part' -> 'DIR'" (its hidden partial file's name,
    exit status 1) once the aggregate was done."""
    folder = tmp_path / "results"
    folder.mkdir()
    with pytest.raises(InvalidInput, match="results is a folder; -o names the output file"):
        run("aggregate", "classification", write(tmp_path / "a.csv", ANSWERS), "-o", str(folder))
    assert not list(folder.iterdir()) and sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "results"]


@pytest.mark.parametrize("header, column", [("task,task,label", "task"), ("task,worker,worker", "worker"),
                                            ("worker,task,worker,label", "worker")])
def test_a_column_named_twice_is_said_so_even_when_another_is_then_missing(tmp_path: Path, header: str,
                                                                           column: str) -> None:
    """`task,task,label` (task written where worker was meant) was "missing column 'worker'", not naming the column
    the header names twice."""
    with pytest.raises(InvalidInput, match=f"the header names column '{column}' 2 times") as error:
        run("aggregate", "classification", write(tmp_path / "a.csv", header + "\nt1,a,x\n"))
    assert error.value.field == column


@pytest.mark.parametrize("argv, text, words", [
    (["classification", "{}"], "task,worker,label\nt1,a,x\nt2,a,x\x00y\n", r"line 3: label 'x\\x00y' holds a control "
                                                                          r"character \(U\+0000\)"),
    (["classification", "{}"], 'task,worker,label\nt1,a,x\n\nt2,a,"x\ny"\n', r"line 4: label 'x\\ny' holds a control"),
    (["classification", "{a}", "--gold", "{}"], "task,label\nt1,x\x00\n", r"g\.csv: line 2: label 'x\\x00' holds"),
    (["boxes", "{}"], "task,worker,x,y,w,h,label\ni,a,0,0,1,1,car\x00\n", r"line 2: label 'car\\x00' holds"),
    (["classification", "{a}", "--labels", "x,y\x00"], None, r"--labels: label 'y\\x00' holds a control character"),
])
def test_a_label_holding_a_control_character_is_refused_naming_its_line(tmp_path: Path, argv: list[str],
                                                                        text: str | None, words: str) -> None:
    """A NUL in a label was aggregated as a label of its own and written out: a project refuses such a label."""
    answers = write(tmp_path / "a.csv", "task,worker,label\nt1,a,x\n")
    given = write(tmp_path / "g.csv", text) if text is not None else ""
    with pytest.raises(InvalidInput, match=words) as error:
        run("aggregate", *[part.format(given, a=answers) for part in argv])
    assert error.value.field in ("label", "labels")


@pytest.mark.parametrize("argv, text, field, words", [
    (["classification", "{}"], "task,worker,label\nt1,a,cat\nt1,b,cat\u200b\n", "label",
     r"a\.csv: line 3: label 'cat\\u200b' holds an invisible character \(U\+200B\), which makes it look like another"),
    (["classification", "{}"], "task,worker,label\nt1,a,cat\nt1,b,cat\ufe0f\n", "label", r"line 3: label .* \(U\+FE0F\)"),
    (["classification", "{}"], "task,worker,label\nt1,a,cafe\u0301\n", "label", r"line 2: label .* decomposed"),
    (["classification", "{}"], "task,worker,label\nt1,a,New  York\n", "label", r"line 2: label .* a run of spaces"),
    (["classification", "{}"], "task,worker,label\nt1,a,x\nt1,a\u2060,y\n", "worker", r"line 3: worker 'a\\u2060'"),
    (["classification", "{}"], "task,worker,label\nt1,a,x\nt1\u00ad,b,y\n", "task", r"line 3: task 't1\\xad'"),
    (["classification", "{a}", "--gold", "{}"], "task,label\nt1,x\u200d\n", "label", r"g\.csv: line 2: label"),
    (["pairwise", "{}"], "worker,left,right,label\nw,gpt-4,gpt-4\ufe0f,gpt-4\n", "right", r"line 2: right "),
    (["pairwise", "{}"], "worker,left,right,label\nw,a,b,a\nw\u3164,a,b,b\n", "worker", r"line 3: worker "),
    (["boxes", "{}"], "task,worker,x,y,w,h,label\ni,a,0,0,1,1,car\u200b\n", "label", r"line 2: label 'car\\u200b'"),
    (["classification", "{a}", "--labels", "x,y\u200b"], None, "labels", r"--labels: label 'y\\u200b' holds an invisible"),
])
def test_a_name_that_looks_like_another_is_refused_naming_its_line_and_column(
        tmp_path: Path, argv: list[str], text: str | None, field: str, words: str) -> None:
    """`cat` and `cat` + a zero-width space were aggregated as two labels, each with part of the votes (and a worker
    or task id with one as two workers or tasks): the rule of a model's name (invisible characters, letters written
    decomposed, runs of spaces) is the rule of the names aggregate reads, said naming the line and the column."""
    answers = write(tmp_path / "a.csv", "task,worker,label\nt1,a,x\n")
    given = write(tmp_path / ("g.csv" if "--gold" in argv else "a.csv"), text) if text is not None else ""
    with pytest.raises(InvalidInput, match=words) as error:
        run("aggregate", *[part.format(given, a=answers) for part in argv])
    assert error.value.field == field


def test_a_dash_reads_the_input_from_standard_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture) -> None:
    """`... | labeling aggregate classification -` was "-: no such file"; `-o -` writes standard output."""
    for kind, text in (("classification", "\ufefftask,worker,label\r\nt1,a,x\r\nt1,b,x\r\n"),
                       ("pairwise", "worker\tleft\tright\tlabel\nw,A,B,A\n".replace(",", "\t")),
                       ("boxes", "task,worker,x,y,w,h\ni,a,0,0,1,1\n")):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode()), encoding="utf-8"))
        assert run("aggregate", kind, "-", "-o", "-") == 0
        out = capsys.readouterr().out.splitlines()
        assert len(out) == 2 + (kind == "pairwise"), (kind, out)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"task,worker,label\nt1,a,\n"), encoding="utf-8"))
    with pytest.raises(InvalidInput, match="^standard input: line 2: label is empty"):
        run("aggregate", "classification", "-")
    # The gold from standard input too read it all first: the answers were "standard input: the file is empty".
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"task,worker,label\nt1,a,x\n"), encoding="utf-8"))
    with pytest.raises(InvalidInput, match="^--gold -: standard input is read once, for the answers") as refused:
        run("aggregate", "classification", "-", "--gold", "-")
    assert refused.value.field == "gold"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"task,label\nt1,x\n"), encoding="utf-8"))
    answers = write(tmp_path / "a.csv", "task,worker,label\nt1,a,x\nt1,b,y\n")
    assert run("aggregate", "classification", answers, "--gold", "-", "-o", "-") == 0  # one input from it: fine
    assert capsys.readouterr().out.splitlines()[1].startswith("t1,x,")


def test_an_existing_output_is_replaced_only_with_force_and_checked_before_any_work(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`aggregate -o FILE` replaced an existing file silently, where `export -o` refuses it without --force; and a
    bad -o was found only after the whole aggregation (its method line printed)."""
    out = tmp_path / "out.csv"
    out.write_text("an older result\n")
    answers = write(tmp_path / "a.csv", ANSWERS)
    for kind, source in (("classification", answers), ("pairwise", write(tmp_path / "p.csv", "worker,left,right,label"
                                                                                          "\nw,A,B,A\n")),
                         ("boxes", write(tmp_path / "b.csv", "task,worker,x,y,w,h\ni,a,0,0,1,1\n"))):
        with pytest.raises(InvalidInput, match=f"^{out} already exists; use --force to replace it$"):
            run("aggregate", kind, source, "-o", str(out))
        assert out.read_text() == "an older result\n" and capsys.readouterr() == ("", "")
    assert run("aggregate", "classification", answers, "-o", str(out), "--force") == 0
    assert out.read_text().startswith("task,label,confidence\n") and capsys.readouterr().err.startswith("method: ")
    with pytest.raises(InvalidInput, match="no folder"):
        run("aggregate", "classification", answers, "-o", str(tmp_path / "none" / "out.csv"))
    assert capsys.readouterr() == ("", "")


def test_force_never_replaces_a_sqlite_database(tmp_path: Path) -> None:
    """`aggregate -o labeling-data/labeling.db --force` put a CSV file in place of the database (export refuses it)."""
    import sqlite3

    database = tmp_path / "labeling.db"
    sqlite3.connect(database).execute("CREATE TABLE t (x)").connection.close()
    before = database.read_bytes()
    with pytest.raises(InvalidInput, match="is an SQLite database .*--force does not replace it"):
        run("aggregate", "classification", write(tmp_path / "a.csv", ANSWERS), "-o", str(database), "--force")
    assert database.read_bytes() == before


@pytest.mark.parametrize("gold", [False, True])
def test_a_negative_seed_is_refused_naming_the_flag(tmp_path: Path, gold: bool) -> None:
    """--seed -5 was NumPy's 'ValueError: expected non-negative integer' (exit 1) from the tie-breaking or the gold
    folds' draw, after the files were read; now a usage error naming --seed, before anything is read or written."""
    out = tmp_path / "out.csv"
    extra = ["--gold", write(tmp_path / "g.csv", "task,label\n" + "".join(f"g{i},x\n" for i in range(12)))] if gold else []
    answers = ANSWERS + "".join(f"g{i},a,x\ng{i},b,x\n" for i in range(12))
    with pytest.raises(InvalidInput, match=r"^--seed must be 0 or more, got -5$") as err:
        run("aggregate", "classification", write(tmp_path / "a.csv", answers), "--seed", "-5", "-o", str(out), *extra)
    assert err.value.field == "seed" and not out.exists()
    assert run("aggregate", "classification", str(tmp_path / "a.csv"), "--seed", "0", "-o", str(out), *extra) == 0


def test_items_sharing_a_rank_come_in_the_order_the_file_names_them(tmp_path: Path) -> None:
    """Equal scores were listed every left item first, then the right ones (c, a, d, b here): an order no row of the
    file has. Now the file's order of first mention, a row's left item before its right."""
    out = tmp_path / "out.csv"
    src = write(tmp_path / "t.csv", "worker,left,right,label\nw,c,d,tie\nw,a,b,tie\nv,d,a,tie\n")
    for method in ("noisy-bt", "bt"):
        assert run("aggregate", "pairwise", src, "--method", method, "-o", str(out), "--force") == 0
        rows = list(csv.DictReader(out.open()))
        assert {r["rank"] for r in rows} == {"1"} and [r["item"] for r in rows] == ["c", "d", "a", "b"]
