"""Files written whole or not at all (labeling/files.py), and the platform's own files written that way: the
instance's secret key and the demo's logins."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from labeling import app, demo, files
from labeling.settings import Settings


def _fail_on_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full_disk)


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temporary_one(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.csv"
    files.write(target, "old\n")
    with pytest.raises(RuntimeError):
        with files.replacing(target) as handle:
            handle.write("half of the new")
            raise RuntimeError("the writer failed")
    _fail_on_flush(monkeypatch)
    with pytest.raises(OSError):
        files.write(target, "new\n")
    assert target.read_text() == "old\n" and os.listdir(tmp_path) == ["out.csv"]


def test_an_exclusive_write_never_replaces_a_file(tmp_path: Path) -> None:
    files.write(tmp_path / "k", b"first", 0o600, exclusive=True)
    with pytest.raises(FileExistsError):
        files.write(tmp_path / "k", b"second", 0o600, exclusive=True)
    assert (tmp_path / "k").read_bytes() == b"first" and os.listdir(tmp_path) == ["k"]
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


def test_the_secret_key_is_written_whole_private_and_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret_key="")
    path = settings.data_dir / "secret_key"
    settings.data_dir.mkdir()
    path.write_text("")  # what a crash mid-write left before keys were written whole
    key = app.secret_key(settings)
    assert len(key) > 40 and path.read_text() == key and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert app.secret_key(settings) == key
    # Another process wrote its key between this one's look and its write: this one signs with that key.
    path.unlink()
    real = files.write

    def racing(target, content, mode=0o644, *, exclusive=False):  # noqa: ANN001, ANN202
        real(target, "the-other-process-key", mode, exclusive=True)
        return real(target, content, mode, exclusive=exclusive)

    monkeypatch.setattr(files, "write", racing)
    assert app.secret_key(settings) == "the-other-process-key"
    monkeypatch.setattr(files, "write", real)
    path.unlink()
    _fail_on_flush(monkeypatch)
    with pytest.raises(OSError):
        app.secret_key(settings)
    assert os.listdir(settings.data_dir) == []  # no key cut short, no temporary file


def test_the_demo_logins_are_written_whole_and_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret_key="s")
    settings.data_dir.mkdir()
    info = {"requester": "r", "requester_token": "t1", "requester_password": "p1", "worker": "w",
            "worker_token": "t2", "worker_password": "p2"}
    path = demo.write_credentials(settings, info, None, "http://x/api")
    before = path.read_text()
    assert "TOKEN=t1" in before and stat.S_IMODE(path.stat().st_mode) == 0o600
    _fail_on_flush(monkeypatch)
    with pytest.raises(OSError):
        demo.write_credentials(settings, {**info, "requester_token": "t3"}, None, "http://x/api")
    assert path.read_text() == before and os.listdir(settings.data_dir) == [path.name]


def test_inside_finds_regular_files_under_the_root_only(tmp_path: Path) -> None:
    root, sibling = tmp_path / "media", tmp_path / "media2"
    (root / "a").mkdir(parents=True)
    sibling.mkdir()
    (root / "a" / "x.png").write_bytes(b"x")
    (sibling / "y.png").write_bytes(b"y")
    (root / "a" / "link.png").symlink_to(root / "a" / "x.png")
    (root / "a" / "out.png").symlink_to(sibling / "y.png")
    assert files.inside(root, "a/x.png") == (root / "a" / "x.png").resolve()
    assert files.inside(root, "a/link.png") == (root / "a" / "x.png").resolve()  # a link inside, followed
    for relative in ("a/out.png", "../media2/y.png", str(sibling / "y.png"), "a", "", ".", "a/missing.png",
                     "a/x.png\x00", "a/" + "n" * 300 + ".png"):
        assert files.inside(root, relative) is None, relative
    assert files.inside(tmp_path / "nowhere", "a/x.png") is None
