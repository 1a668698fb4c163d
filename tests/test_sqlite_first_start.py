"""Two processes starting at once on one new SQLite file (two `labeling` commands, or servers, on a new data
directory) both migrate it: one waits for the other and then finds the schema done, instead of failing with
"database is locked" (a deferred transaction that read and then wrote, and a journal mode set while the other
process held the file, are each answered so at once, without waiting)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's own files (PostgreSQL migrators take an advisory lock)")

ROUNDS = 3  # the interleaving differs from round to round; before, most rounds failed


def test_two_migrations_of_one_new_file_at_once_both_succeed(tmp_path: Path):
    for round_ in range(ROUNDS):
        env = {**os.environ, "LABELING_DATA_DIR": str(tmp_path / f"data-{round_}"),
               "LABELING_DATABASE_URL": f"sqlite:///{tmp_path / f'new-{round_}.db'}"}
        runs = [subprocess.Popen([sys.executable, "-m", "labeling.cli", "migrate"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        for run in runs:
            _, err = run.communicate(timeout=120)
            assert run.returncode == 0, err
