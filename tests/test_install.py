"""A non-editable install finds its templates, migrations, static files and sample tasks."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_install_finds_its_resources(tmp_path):
    wheel_dir = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(REPO)],
                   check=True, cwd=tmp_path)
    wheel = next(wheel_dir.glob("labeling-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, str(wheel)], check=True)
    check = (
        "import labeling, labeling.resources as r, pathlib\n"
        "assert 'site-packages' in labeling.__file__, labeling.__file__\n"
        "for d in (r.templates_dir(), r.migrations_dir(), r.sample_tasks_dir(), r.static_dir()):\n"
        "    assert d.is_dir() and '_resources' in str(d) or d == r.static_dir(), d\n"
        "assert (r.migrations_dir() / 'env.py').is_file()\n"
        "assert (r.sample_tasks_dir() / 'projects.json').is_file()\n"
        "assert any(r.templates_dir().glob('*.html'))\n"
        "print('ok')\n"
    )
    # Run from an empty folder so the checkout is not importable; only the installed copy is.
    clean_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(python), "-c", check], cwd=tmp_path, capture_output=True, text=True, env=clean_env)
    assert out.returncode == 0, out.stderr
    data = tmp_path / "data"
    migrate_run = subprocess.run([str(env_dir / "bin" / "python"), "-m", "labeling.cli", "migrate"], cwd=tmp_path,
                                 capture_output=True, text=True, env={**clean_env, "LABELING_DATA_DIR": str(data),
                                                                      "LABELING_DATABASE_URL": ""})
    assert migrate_run.returncode == 0, migrate_run.stderr
    assert "revision 0001" in migrate_run.stdout or "revision" in migrate_run.stdout
