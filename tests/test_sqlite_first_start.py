"""Two processes starting at once on one new SQLite file (two `labeling` commands, or servers, on a new data
directory) both migrate it: one waits for the other and then finds the schema done, instead of failing with
"database is locked" (a deferred transaction that read and then wrote, and a journal mode set while the other
process held the file, are each answered so at once, without waiting)."""

from __future__ import annotations

import os
import sqlite3
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


def test_a_new_database_file_and_its_journals_are_readable_by_their_owner_alone(tmp_path: Path):
    # It holds password and token hashes and every answer; the umask made it 0644 (the secret key and uploads: 0600).
    env = {**os.environ, "LABELING_DATA_DIR": str(tmp_path / "data")}
    run = subprocess.run([sys.executable, "-m", "labeling.cli", "migrate"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    database = tmp_path / "data" / "labeling.db"
    with sqlite3.connect(database) as conn:  # its write-ahead log and shared memory exist while it is open
        conn.execute("CREATE TABLE probe (x)")
        made = sorted((tmp_path / "data").glob("labeling.db*"))
        assert {path.name for path in made} >= {"labeling.db", "labeling.db-wal", "labeling.db-shm"}
        assert all(path.stat().st_mode & 0o777 == 0o600 for path in made), [
            (path.name, oct(path.stat().st_mode)) for path in made]
    existing = tmp_path / "mine.db"  # an existing file keeps the mode its owner gave it
    existing.touch(mode=0o640)
    existing.chmod(0o640)
    env["LABELING_DATABASE_URL"] = f"sqlite:///{existing}"
    run = subprocess.run([sys.executable, "-m", "labeling.cli", "migrate"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert existing.stat().st_mode & 0o777 == 0o640
