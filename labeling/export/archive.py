"""Where an export's bytes go: one file (a stream), a zip archive made as it streams, or a folder.

An export that is naturally several files (splits, a dataset card, YOLO's folders, COCO with its images)
travels over HTTP, and to `-o FILE.zip` or `-o -`, as one zip archive: each file is an entry written as its
rows arrive (a data descriptor after it, since its size is not known ahead), and only the current page of rows
is ever in memory. Entries carry a fixed time (1980-01-01), so the same data always gives the same bytes.
`-o DIR` writes the same files into a folder instead. Writers call `open`, `write`, `close` and `copy`; the
exporter drains `take()` after every page.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import Iterator, Protocol

from labeling import files
from labeling.errors import InvalidInput

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
COPY_CHUNK = 1 << 20


class Sink(Protocol):
    """Where a writer's files go."""

    def open(self, name: str) -> None: ...
    def write(self, text: str | bytes) -> None: ...
    def close(self) -> None: ...
    def copy(self, name: str, path: Path) -> None: ...
    def take(self) -> bytes: ...
    def finish(self) -> None: ...


def _check_name(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not name:
        raise ValueError(f"not a relative file name: {name!r}")
    return name


class _Buffer:
    """A write-only file for zipfile (unseekable: zipfile writes data descriptors) that is drained by take()."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: the bytes wait for take()."""

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


class StreamSink:
    """One file: what is written is what streams out."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.name: str | None = None

    def open(self, name: str) -> None:
        """The one file (a second one is a programming error: this export is not single-file)."""
        if self.name is not None:
            raise ValueError("a single-file export opened a second file")
        self.name = _check_name(name)

    def write(self, text: str | bytes) -> None:
        """Queue bytes (text is UTF-8)."""
        self._parts.append(text.encode() if isinstance(text, str) else text)

    def close(self) -> None:
        """Nothing to do."""

    def copy(self, name: str, path: Path) -> None:
        """Single-file exports copy no files."""
        raise ValueError("a single-file export cannot copy files")

    def take(self) -> bytes:
        """The bytes written since the last take."""
        out = b"".join(self._parts)
        self._parts.clear()
        return out

    def finish(self) -> None:
        """Nothing to do."""


class ZipSink:
    """A zip archive streamed as it is made (ZIP64 entries, so no size limit)."""

    def __init__(self) -> None:
        self._buffer = _Buffer()
        self._zip = zipfile.ZipFile(self._buffer, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)  # type: ignore[arg-type]
        self._entry = None
        self.names: list[str] = []

    def _info(self, name: str, compress: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(_check_name(name), date_time=FIXED_TIME)
        info.compress_type = compress
        info.external_attr = 0o644 << 16
        self.names.append(name)
        return info

    def open(self, name: str) -> None:
        """Start a compressed entry."""
        self._entry = self._zip.open(self._info(name, zipfile.ZIP_DEFLATED), "w", force_zip64=True)

    def write(self, text: str | bytes) -> None:
        """Add to the open entry."""
        assert self._entry is not None, "write before open"
        self._entry.write(text.encode() if isinstance(text, str) else text)

    def close(self) -> None:
        """End the open entry."""
        if self._entry is not None:
            self._entry.close()
            self._entry = None

    def copy(self, name: str, path: Path) -> None:
        """An entry holding a file as it is (images are compressed already)."""
        self.close()
        with path.open("rb") as source, self._zip.open(self._info(name, zipfile.ZIP_STORED), "w",
                                                        force_zip64=True) as entry:
            shutil.copyfileobj(source, entry, COPY_CHUNK)

    def take(self) -> bytes:
        """The archive's bytes made since the last take."""
        return self._buffer.take()

    def finish(self) -> None:
        """Write the central directory."""
        self.close()
        self._zip.close()


def sync_folder(path: Path) -> None:
    """Flush a folder's entries (names made, renamed or removed in it) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FolderSink:
    """The same files in a folder (the CLI's `-o DIR`); nothing streams. Every file and folder is on disk
    (fsync) when finish() returns, as a one-file export is before it takes its name: else a power cut soon after
    could leave the folder's name on empty or cut files. A file that cannot be written (a full disk) is an
    InvalidInput naming it under `shown`, the folder as the user named it (root is its hidden partial copy): it was
    "[Errno 28] No space left on device", exit status 1, where a one-file export names its file, exit status 2."""

    def __init__(self, root: Path, shown: Path | None = None) -> None:
        self.root = root
        self.shown = shown if shown is not None else root
        self._handle = None
        self._name = ""
        self.names: list[str] = []
        self._folders: set[Path] = {root}

    @contextlib.contextmanager
    def _writing(self, name: str) -> Iterator[None]:
        """OSError while `name` is written, said naming it."""
        try:
            yield
        except OSError as exc:
            where = self.shown / name if name else self.shown
            raise InvalidInput(f"cannot write {where}: {exc.strerror or exc}", field="output") from None

    def _path(self, name: str) -> Path:
        path = self.root / _check_name(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        folder = path.parent
        while folder != self.root and folder not in self._folders:
            self._folders.add(folder)
            folder = folder.parent
        self.names.append(name)
        return path

    def open(self, name: str) -> None:
        """Create the file."""
        self.close()
        self._name = name
        with self._writing(name):
            self._handle = self._path(name).open("wb")

    def write(self, text: str | bytes) -> None:
        """Append to the open file."""
        assert self._handle is not None, "write before open"
        with self._writing(self._name):
            self._handle.write(text.encode() if isinstance(text, str) else text)

    def close(self) -> None:
        """Close the open file."""
        if self._handle is not None:
            handle, self._handle = self._handle, None
            with self._writing(self._name):
                try:
                    handle.flush()
                    os.fsync(handle.fileno())
                finally:
                    handle.close()

    def copy(self, name: str, path: Path) -> None:
        """Copy a file in (a hard link when the file system allows it would share later edits: copy)."""
        self.close()
        with self._writing(name):
            target = self._path(name)
            try:
                shutil.copyfile(path, target)
            except OSError as exc:
                if exc.filename == str(path):  # the image itself, gone or unreadable since it was looked at
                    raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}", field="output") from None
                raise
            with target.open("rb") as copied:
                os.fsync(copied.fileno())

    def take(self) -> bytes:
        """Nothing streams from a folder."""
        return b""

    def finish(self) -> None:
        """Close the last file; the folders' entries to disk, deepest first."""
        self.close()
        with self._writing(""):
            for folder in sorted(self._folders, key=lambda f: (-len(f.parts), str(f))):
                sync_folder(folder)


# The first bytes of an SQLite database and of its write-ahead log: never an export's output.
SQLITE_STARTS = (b"SQLite format 3\x00", b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")


def sqlite_file(path: Path) -> bool:
    """An SQLite database or its -wal/-shm/-journal: --force would put an export in place of a database."""
    for candidate in (path, *(path.with_name(path.name[:-len(end)]) for end in files.SQLITE_COMPANIONS
                              if path.name.endswith(end))):
        try:
            with candidate.open("rb") as handle:
                if handle.read(16).startswith(SQLITE_STARTS):
                    return True
        except OSError:
            continue
    return False


def check_target(path: Path, force: bool, folder: bool = False) -> None:
    """Refuse to write over an existing file or folder unless forced (checked before anything is written), over
    a database even when forced, and a folder export over a file (nothing could put the folder in its place)."""
    if not path.name:
        raise InvalidInput(f"{path} cannot be replaced by an export; give a file or folder name", field="output")
    if files.not_a_file(path):  # said first: "use --force" would be no help
        raise InvalidInput(f"{path} is a device, a pipe or a socket, not a file: --force does not replace it (-o - "
                           "writes to standard output)", field="output")
    if (path.exists() or path.is_symlink()) and not force:
        raise InvalidInput(f"{path} already exists; use --force to replace it", field="output")
    if path.is_file() and sqlite_file(path):
        raise InvalidInput(f"{path} is an SQLite database (or its journal), not an earlier export; --force does "
                           "not replace it", field="output")
    if not path.parent.is_dir():
        raise InvalidInput(f"no folder {path.parent} to write {path.name} into", field="output")
    if folder and path.exists() and not path.is_dir():
        raise InvalidInput(f"{path} is a file and this export is a folder; choose another -o, or NAME.zip for one "
                           "file", field="output")


def _contents(folder: Path) -> set[str]:
    """Every file and folder under folder, as paths relative to it."""
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def replace(temporary: Path, target: Path) -> None:
    """Put a finished file or folder in place of the target (the old one goes only once the new one is whole).

    An existing folder is replaced only when the export writes everything it holds (an earlier export of the
    same shape, or an empty folder): `-o DATA_DIR --force` took the data directory, database and all, away."""
    if target.is_dir() and not target.is_symlink():
        kept = _contents(target) - (_contents(temporary) if temporary.is_dir() else set())
        if kept:
            shown = ", ".join(sorted(kept)[:3]) + (f" and {len(kept) - 3:,} more" if len(kept) > 3 else "")
            raise InvalidInput(f"{target} holds what this export does not write ({shown}), so --force does not "
                               "replace it; remove it yourself or choose another -o", field="output")
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        try:
            os.replace(temporary, target)
        except BaseException:  # the earlier folder back under its name: nothing there is lost
            os.replace(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(temporary, target)
    sync_folder(target.parent)  # the new name itself on disk
