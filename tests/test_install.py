"""A non-editable install finds its templates, migrations, static files and sample tasks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_install_finds_its_resources(tmp_path):
    wheel_dir, target = tmp_path / "wheels", tmp_path / "installed"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(REPO)],
                   check=True, cwd=tmp_path)
    wheel = next(wheel_dir.glob("labeling-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True)
    # The installed copy comes first on the path and the working folder is empty, so the checkout
    # (and its editable install) cannot be what gets imported; dependencies come from this environment.
    env = {**os.environ, "PYTHONPATH": str(target), "LABELING_DATA_DIR": str(tmp_path / "data"),
           "LABELING_DATABASE_URL": ""}
    check = (
        "import labeling, labeling.resources as r\n"
        f"assert labeling.__file__.startswith({str(target)!r}), labeling.__file__\n"
        "for d in (r.templates_dir(), r.migrations_dir(), r.sample_tasks_dir()):\n"
        "    assert '_resources' in str(d), d\n"
        "assert (r.migrations_dir() / 'env.py').is_file() and any((r.migrations_dir() / 'versions').glob('*.py'))\n"
        "assert (r.sample_tasks_dir() / 'projects.json').is_file() and any((r.sample_tasks_dir() / 'images').iterdir())\n"
        "assert (r.templates_dir() / 'login.html').is_file()\n"
        "assert any(r.static_dir().rglob('*.js')) and any(r.static_dir().rglob('*.css'))\n"
    )
    out = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    migrated = subprocess.run([sys.executable, "-m", "labeling.cli", "migrate"], cwd=tmp_path, capture_output=True,
                              text=True, env=env)
    assert migrated.returncode == 0, migrated.stderr
    import re

    current, head = re.search(r"revision (\S+) \(head (\S+)\)", migrated.stdout).groups()
    assert current == head != "None"
