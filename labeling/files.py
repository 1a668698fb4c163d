"""Files written whole or not at all: a temporary file beside the target, flushed to disk, then put in its place
with one rename or link. A crash or an error never leaves half a file under the target's name, nor a temporary
file behind (except after a crash: `.NAME.*.part` beside the target). Pure: no database, no web framework."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Iterator


# The files SQLite keeps beside a database DB: DB-wal, DB-shm, DB-journal (none may be written over by an export
# or a backup).
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


class NotAFile(OSError):
    """The target is a device, a pipe or a socket: a file renamed into its place would take the node away (as root,
    `-o /dev/null` left /dev/null a regular file for every later program)."""


def not_a_file(path: Path | str) -> bool:
    """Whether `path` names, through any links, something that is neither a regular file nor a folder, or a
    process's open file (/dev/stdout, /dev/fd/1: links into /proc, whatever they point at)."""
    hop = os.fspath(path)
    for _ in range(40):  # the links one by one (realpath would go through /proc/self/fd/1 to what it points at)
        hop = os.path.join(os.path.realpath(os.path.dirname(hop) or "."), os.path.basename(hop))
        if hop.startswith("/proc/"):  # a process's file, or (none there) no file at all, which is no device
            return os.path.lexists(hop)
        try:
            hop = os.path.join(os.path.dirname(hop), os.readlink(hop))
        except (OSError, ValueError):  # not a link (or none there): the end of the chain
            break
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):  # none there (or a name no file can have): nothing to take away
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def unreadable(path: Path | str, dash: str = "") -> str | None:
    """Why `path` cannot be read as a file, in words naming it (None when it can): none there, a folder, a device,
    a pipe or a socket, or what the system says (permission denied). The words of every command's file argument;
    `dash`: the command, reading standard input for `-`, that a pipe (`<(zcat tasks.gz)`, /dev/stdin) is told of."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return f"no file {path}"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror}"
    if stat.S_ISDIR(mode):
        return f"{path} is a folder, not a file"
    if not stat.S_ISREG(mode):
        hint = f"; give - to read standard input (... | {dash})" if dash else ""
        return f"{path} is a device, a pipe or a socket, not a file{hint}"
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror}"
    return None


def check_replaceable(path: Path | str) -> None:
    """NotAFile when `path` is a device, a pipe or a socket, which no finished file may be renamed over."""
    if not_a_file(path):
        raise NotAFile(errno.EINVAL, "a device, a pipe or a socket, not a file to replace", str(path))


def inside(root: Path, relative: str) -> Path | None:
    """The regular file `relative` names under `root`, symbolic links followed, or None when there is none or it
    lies outside `root` (a `..`, or a link out of it): what serving a file may read, and so what naming one needs."""
    if "\x00" in relative:
        return None
    try:  # os.path, not pathlib: an import of 200,000 image tasks asks this of each (pathlib took 200 us a call)
        base = os.path.realpath(root)
        candidate = os.path.realpath(os.path.join(base, relative))
        if candidate.startswith(base.rstrip(os.sep) + os.sep) and os.path.isfile(candidate):
            return Path(candidate)
        return None
    except OSError:  # a name the file system cannot hold (a part over 255 bytes) or reach: no such file
        return None


@contextlib.contextmanager
def replacing(path: Path | str, mode: int = 0o644, *, binary: bool = False, newline: str | None = None,
              exclusive: bool = False) -> Iterator[IO]:
    """Write `path` through a temporary file that takes its place when the block ends without an error.

    `exclusive`: never replace an existing file (FileExistsError then, and the temporary file is dropped).
    NotAFile (an OSError) when `path` is a device, a pipe or a socket, before anything is written."""
    path = Path(path)
    check_replaceable(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        os.fchmod(fd, mode)  # mkstemp makes it 0600; a secret stays 0600 from its first byte
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8",
                                                                         "newline": newline})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(tmp, path)  # fails if the target exists: no other writer's file is replaced
        else:
            os.replace(tmp, path)
            tmp = ""
    finally:
        if tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def write(path: Path | str, content: bytes | str, mode: int = 0o644, *, exclusive: bool = False) -> None:
    """Write a whole file at once (see `replacing`)."""
    with replacing(path, mode, binary=isinstance(content, bytes), exclusive=exclusive) as handle:
        handle.write(content)
