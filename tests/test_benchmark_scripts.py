"""The benchmark scripts still run against today's code: each for a few seconds on SQLite, checked for a figure and no
errors (never for a speed: the figures are the scripts' to print, not the suite's to judge)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import backend_name

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

pytestmark = pytest.mark.skipif(backend_name() != "sqlite", reason="the scripts reset a PostgreSQL database they are given")


def _last_json(script: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


def test_the_queue_benchmark_runs():
    # Enough tasks that 4 workers cannot finish them in the warm-up (about 3,000 cycles a second here), so the
    # measured window has cycles.
    result = _last_json("queue.py", "--tasks", "5000", "--workers", "4", "--seconds", "1.5", "--warmup", "0.5",
                        "--client-processes", "1")
    assert result["errors"] == 0 and result["cycles"] > 0


def test_the_import_benchmark_runs(tmp_path):
    # The same checkout twice as old and new: both imports run, are timed, and store the same state (the script stops
    # when the digests differ).
    repo = str(BENCHMARKS.parent)
    result = _last_json("imports.py", "--tasks", "300", "--ab", repo, repo, "--rounds", "1", "--work", str(tmp_path))
    sqlite = result["SQLite"]
    assert sqlite["new"]["cpu_s"][0] > 0 and sqlite["old"]["peak_rss_mb"][0] > 0 and sqlite["new_over_old_cpu_s_median"] > 0


def test_the_soak_runs():
    result = _last_json("soak.py", "--minutes", "0.1", "--tasks", "300", "--workers", "4", "--client-processes", "1")
    assert result["errors"] == 0 and result["first_minute_cycles"] > 0


def test_the_in_process_queue_benchmark_runs():
    result = _last_json("queue_cpu.py", "--tasks", "200", "--workers", "4", "--warmup", "10", "--cycles", "40",
                        "--concurrency", "4")
    assert result["cycles"] == 40 and result["cpu_us_per_cycle"] > 0
    served = _last_json("queue_cpu.py", "--tasks", "200", "--workers", "4", "--warmup", "10", "--cycles", "40",
                        "--concurrency", "4", "--as-served")
    assert served["cycles"] == 40 and served["cpu_us_per_cycle"] > 0


def test_the_worker_tables_benchmark_runs():
    # 4890292: the last commit whose Dawid-Skene held dense (workers, K, K) tables
    result = _last_json("labels_ab.py", "--base", "4890292", "--rounds", "1", "--crowds", "relevance-5")
    assert result["answers"] == 16_200 and result["max_posterior_difference"] < 1e-9


def test_the_multilabel_calibration_benchmark_runs():
    result = _last_json("multilabel_calibration.py", "--tasks", "150")
    assert result["path"] == "per task" and result["labels"] == 50 and 0.0 <= result["ece"] <= 1.0


def test_the_quality_page_benchmark_runs():
    result = _last_json("quality_page.py", "--labels", "40", "--label-chars", "20")
    assert result["page_bytes"] > 0 and result["sections"]["label distribution, folded"] > 0


def test_the_task_page_benchmark_runs():
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is not installed")
    result = _last_json("task_page.py", "--spans", "400", "--loads", "1", "--port", "0")
    assert result["dom_elements"] > 0 and result["open_one_answer_ms_median"] is not None


def test_the_low_redundancy_calibration_benchmark_runs(tmp_path):
    # A made-up dataset folder (the shared datasets are not the suite's): 40 tasks of 2 labels, 6 workers answering
    # every task, right 80% of the time. Kept to 2 or 3 workers a task, every answered task has exactly that many.
    rng = np.random.default_rng(0)
    folder = tmp_path / "tiny"
    folder.mkdir()
    truth = rng.integers(0, 2, 40)
    rows = [f"t{i},w{j},{'ab'[truth[i] if rng.random() < 0.8 else 1 - truth[i]]}" for i in range(40) for j in range(6)]
    (folder / "answers.csv").write_text("task,worker,label\n" + "\n".join(rows) + "\n")
    (folder / "truth.csv").write_text("task,label\n" + "\n".join(f"t{i},{'ab'[g]}" for i, g in enumerate(truth)) + "\n")
    done = subprocess.run([sys.executable, str(BENCHMARKS / "calibration.py"), "--datasets", str(tmp_path),
                           "--redundancy", "2", "3", "6", "0", "--seeds", "2", "--json"], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    rows_out = json.loads(done.stdout)["low_redundancy"]
    assert [(r["answers"], len(r["ece"])) for r in rows_out] == [(2, 2), (3, 2), (0, 1)]  # 6 or more: as 0
    assert [r["per_task"][0] for r in rows_out] == [2.0, 3.0, 6.0]
    assert all(0.0 <= e <= 1.0 for r in rows_out for e in r["ece"])
