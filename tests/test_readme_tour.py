"""The README's tour, run as written: its shell blocks, in order, with bash, against `labeling serve --demo`
started in a fresh folder (the checkout's sample_tasks/ beside it, as in the checkout), then its python block that
loads the exports with `datasets`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PG_URL
from tests.servers import ServerProcess

REPO = Path(__file__).resolve().parent.parent


def readme_blocks(language: str) -> list[str]:
    """The README's fenced blocks in one language, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```$", (REPO / "README.md").read_text(), flags=re.S | re.M)


def tour_blocks() -> list[str]:
    """Every ```bash block of the README but the first (installing and starting it), in order."""
    return readme_blocks("bash")[1:]


def dataset_blocks() -> list[str]:
    """The ```python blocks that load an export with `datasets`: run after the tour, in its folder."""
    return [block for block in readme_blocks("python") if block.startswith("import datasets\n")]


def test_the_tour_has_the_blocks_this_test_expects():
    blocks = tour_blocks()
    assert len(blocks) == 10 and blocks[0].lstrip().startswith("# `serve --demo` wrote")
    assert "labeling export" in blocks[-1]
    first = (REPO / "README.md").read_text().splitlines()[3:5]
    assert first[0].startswith("pip install . && labeling serve --demo")
    assert first[1].startswith("pip install -e '.[test]' && python -m pytest")
    assert len(dataset_blocks()) == 1 and "reviews.jsonl" in dataset_blocks()[0]


@pytest.mark.slow
def test_the_readme_tour_runs_as_written(tmp_path, database_url):
    work = tmp_path / "checkout"
    work.mkdir()
    (work / "sample_tasks").symlink_to(REPO / "sample_tasks")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELING_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `labeling` as installed
    if PG_URL:
        env["LABELING_DATABASE_URL"] = database_url
    state = tmp_path / "shell-state"
    baseline = subprocess.run(["bash", "-c", "compgen -v"], env=env, capture_output=True, text=True).stdout.split()
    server = ServerProcess({}, tmp_path / "server.log", "--demo")
    server.env = {**env}
    outputs = []
    with _in(work), server:
        logins = (work / "labeling-data" / "demo-logins.env").read_text()
        assert f"API={server.url}/api" in logins
        for number, block in enumerate(tour_blocks()):
            script = "\n".join([
                "set -eo pipefail",
                f". {state}" if state.exists() else "",
                block,
                "{ for v in $(compgen -v); do case \" $BASELINE \" in *\" $v \"*) ;; *) declare -p \"$v\";; esac;"
                f" done; declare -f; }} > {state}"])
            done = subprocess.run(["bash", "-c", script], cwd=work, env={**env, "BASELINE": " ".join(baseline)},
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"block {number + 1} failed:\n{block}\n{done.stdout}\n{done.stderr}"
            assert '"error"' not in done.stdout, f"block {number + 1}:\n{block}\n{done.stdout}"
            outputs.append(done.stdout)
        # the python block after the exports, as written, then what it loaded (offline: a local file needs no hub)
        check = ('\nassert reviews["train"].num_rows == len(open("reviews.jsonl").readlines()) > 0, reviews'
                 '\nassert "train" in splits and "label" in splits["train"].column_names, splits'
                 '\nassert datasets.load_dataset("csv", data_files="reviews.csv")["train"].num_rows'
                 ' == reviews["train"].num_rows\n')
        loaded = subprocess.run([sys.executable, "-c", dataset_blocks()[0] + check], cwd=work, timeout=300,
                                env={**env, "HF_HOME": str(tmp_path / "hf"), "HF_DATASETS_OFFLINE": "1",
                                     "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True)
        assert loaded.returncode == 0, f"{dataset_blocks()[0]}\n{loaded.stderr[-3000:]}"
    who, demo, _, imports, _, work_loop, progress, _, board, exports = outputs
    assert '"username":"demo-requester"' in who
    projects, results, quality = _documents(demo)
    assert len(projects["data"]) == 8 and results["data"] and "confidence" in results["data"][0], demo
    assert '"krippendorff_alpha"' in demo
    assert imports.count('"created":') == 2 and '"created":2' in imports and '"created":3' in imports
    assert '"task_complete":false' in work_loop and '"status":"skipped"' in work_loop
    assert '"n_annotations"' in progress
    assert "the same bytes" in exports
    assert "| rank |" in board.lower() or "| model" in board.lower(), board  # the CLI's Markdown table
    ranked = _documents(board[board.index("{"):])
    assert len(ranked) == 2 and all(len(doc["models"]) >= 2 for doc in ranked), board
    assert (work / "leaderboard" / "leaderboard.json").is_file() and (work / "leaderboard" / "ratings.png").is_file()
    rows = (work / "reviews.jsonl").read_text().splitlines()
    assert rows and all("label" in json.loads(row) for row in rows)
    assert (work / "reviews" / "README.md").is_file()
    assert (work / "prefs.jsonl").read_text().strip(), "the seeded rankings give preference pairs"
    with zipfile.ZipFile(work / "boxes-yolo.zip") as zipped:
        assert "data.yaml" in zipped.namelist()


def _documents(text: str) -> list:
    """The JSON answers curl printed one after the other."""
    decoder, out, at = json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(text, at)
        out.append(value)
    return out


class _in:
    """Change the working directory for a while (the server starts in the folder, as in the README)."""

    def __init__(self, path: Path) -> None:
        self.path, self.old = path, Path.cwd()

    def __enter__(self) -> None:
        os.chdir(self.path)

    def __exit__(self, *exc: object) -> None:
        os.chdir(self.old)
