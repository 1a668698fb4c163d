"""Images: store uploads (checked by Pillow) under the media folder, resolve paths safely, know each image's size
(recorded in the `media` table when an image is uploaded or a task first refers to it), and decide who may see a
file: someone who may see a project whose tasks show it (project_media), or the holder of a short-lived signed URL
handed out with a task."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable
from urllib.parse import quote, urlparse

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import auth, files, jsonio, membership, models, policy
from labeling.auth import Principal
from labeling.errors import InvalidInput, NotFound, TooLarge
from labeling.sqltx import Tx
from labeling.tasktypes.base import MAX_COORDINATE

log = logging.getLogger("labeling")
UPLOADS = "uploads"  # where uploaded images are stored; only these are ever deleted by the platform
# Signed URLs expire at the end of the next whole bucket after SIGNED_SECONDS: every task showing the same image
# within a bucket gets the same URL, so the browser's cache serves it.
SIGNED_SECONDS = 600
SIGNED_BUCKET = 600
SIGNED_PREFIX = "/signed-media"
LOOKUP_CHUNK = 1000  # media paths looked up per query

# The formats of uploads, by Pillow's name, with the ending a file is stored under: those browsers show, for a worker
# must see the image. MPO is a JPEG with more pictures after the first (phones' depth maps, HDR gain maps), shown as a
# JPEG. TIFF is read by Pillow but shown by no browser except Safari: an upload of one made tasks nobody could see.
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "MPO": ".jpg", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp"}
KINDS = "PNG, JPEG, GIF, WEBP, BMP"  # FORMATS as an uploader names them
NOT_SHOWN = {"TIFF"}
EXIF_ORIENTATION = 0x0112
TURNED = {5, 6, 7, 8}  # EXIF orientations a browser shows turned a quarter: width and height swap
# The formats whose EXIF orientation a browser applies: Chromium turns a JPEG or a PNG, never a WebP (Pillow reads
# a WebP's orientation all the same: recorded turned, a box drawn on its right part was refused as outside it).
ORIENTED = {"JPEG", "MPO", "PNG"}


def shown_size(image: Image.Image) -> tuple[int, int]:
    """Width and height as a browser shows the image (EXIF orientation applied), from the header alone."""
    width, height = image.size
    if image.format not in ORIENTED:
        return width, height
    try:
        orientation = image.getexif().get(EXIF_ORIENTATION)
    except Exception:  # a broken EXIF block: Pillow's many ways to fail on one; the raw size stands
        orientation = None
    return (height, width) if orientation in TURNED else (width, height)


@dataclass(frozen=True)
class Upload:
    """A checked image, not yet in the media folder: its media path (by content hash), shown size and bytes."""

    path: str
    width: int
    height: int
    filename: str
    content: bytes = field(repr=False)

    def public(self) -> dict:
        """{path, width, height, filename}: what the API answers for an upload."""
        return {"path": self.path, "width": self.width, "height": self.height, "filename": self.filename}


def check_image(filename: str, content: bytes, max_bytes: int, max_pixels: int) -> Upload:
    """Check that content is a real image of at most `max_pixels`, without writing anything."""
    if len(content) > max_bytes:
        raise TooLarge(f"{filename}: larger than {max_bytes:,} bytes", field="file")
    if not content:
        raise InvalidInput(f"{filename}: the file is empty", field="file")
    try:
        with Image.open(io.BytesIO(content)) as image:
            fmt = image.format
            width, height = shown_size(image)
        if width * height > max_pixels or max(width, height) > MAX_COORDINATE:
            raise TooLarge(f"{filename}: {width}x{height} is more than {max_pixels:,} pixels "
                           f"(LABELING_MEDIA_MAX_PIXELS) or a side over {MAX_COORDINATE:,}", field="file")
        with Image.open(io.BytesIO(content)) as image:  # verify() must come first on an image: a second opening
            image.verify()
    except Image.DecompressionBombError:  # too many pixels for Pillow even to open: more than the cap, said so
        limit = min(max_pixels, 2 * Image.MAX_IMAGE_PIXELS)
        raise TooLarge(f"{filename}: more than {limit:,} pixels (LABELING_MEDIA_MAX_PIXELS)", field="file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        # said in the uploader's words (it named the library that reads images): which kinds are read
        raise InvalidInput(f"{filename}: not an image this server can read ({KINDS}), or a damaged one",
                           field="file") from None
    if fmt not in FORMATS:
        why = ", as browsers do not show them" if fmt in NOT_SHOWN else ""
        raise InvalidInput(f"{filename}: {fmt} images are not accepted{why} ({KINDS})", field="file")
    digest = hashlib.sha256(content).hexdigest()
    return Upload(str(PurePosixPath(UPLOADS, digest[:2], digest + FORMATS[fmt])), width, height, filename, content)


def place(media_dir: Path, relative: str, content: bytes) -> bool:
    """Put a file in the media folder unless it is there whole already; True when this call made it.

    Written whole or not at all (labeling/files.py), and never over a file another request just made; a file of
    the wrong size under the name (cut short by a crash before writes were flushed) is replaced."""
    target = media_dir / relative
    try:
        size: int | None = target.stat().st_size
    except FileNotFoundError:
        size = None
    if size == len(content):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        files.write(target, content, 0o600, exclusive=size is None)
    except FileExistsError:  # another request made it meanwhile
        if target.stat().st_size == len(content):
            return False
        files.write(target, content, 0o600)
    return True


class Placed:
    """The images one request puts in the media folder: all checked before the first is written, and taken away
    again when the request fails, so a refused upload or import leaves no file behind."""

    def __init__(self, media_dir: Path) -> None:
        self.media_dir = media_dir
        self.uploads: list[Upload] = []
        self.created: list[str] = []

    def place_all(self, uploads: Iterable[Upload]) -> None:
        """Write the uploads (in a worker thread: file system calls)."""
        for upload in uploads:
            self.uploads.append(upload)
            if place(self.media_dir, upload.path, upload.content):
                self.created.append(upload.path)

    async def discard(self, conn: AsyncConnection) -> None:
        """After the request failed: delete the files it made, unless a request that committed meanwhile recorded
        the same image (uploads are stored by content, so two requests may bring one file)."""
        if not self.created:
            return
        recorded = {row[0] for row in (await conn.execute(
            select(models.media.c.path).where(models.media.c.path.in_(self.created))))}
        for path in self.created:
            if path not in recorded:
                try:
                    (self.media_dir / path).unlink()
                except FileNotFoundError:
                    pass
        self.created = []

    def ensure(self) -> None:
        """After the request committed: put back any of its images that a failing request with the same image
        took away before this one recorded it."""
        for upload in self.uploads:
            place(self.media_dir, upload.path, upload.content)


def resolve(media_dir: Path, relative: str) -> Path:
    """The file for a media path, refusing anything outside the media folder."""
    if "\x00" in relative:
        raise NotFound("no media file with a NUL in its name", field="path")
    found = files.inside(media_dir, relative)
    if found is None:
        raise NotFound(f"no media file {relative!r}", field="path")
    return found


def read_size(path: Path) -> tuple[int, int] | None:
    """The shown size of an image file from its header, or None if it is not an image Pillow can read."""
    try:
        with open(path, "rb") as handle, Image.open(handle) as image:
            return shown_size(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


class Sizes:
    """Image sizes by media path for one import: known ones (uploaded with it), the others read from the media
    folder when first asked for; `new` holds what was read, for `record`. URLs have no known size."""

    def __init__(self, media_dir: Path | None, known: dict[str, tuple[int, int]] | None = None) -> None:
        self.media_dir = media_dir
        self.new: dict[str, tuple[int, int]] = dict(known or {})
        self._seen: dict[str, tuple[int, int] | None] = dict(self.new)

    def __call__(self, ref: str) -> tuple[int, int] | None:
        if ref not in self._seen:
            size = None
            if self.media_dir is not None and not urlparse(ref).scheme:
                try:
                    size = read_size(resolve(self.media_dir, ref))
                except NotFound:
                    size = None
            self._seen[ref] = size
            if size is not None:
                self.new[ref] = size
        return self._seen[ref]


def record(tx: Tx, sizes: dict[str, tuple[int, int]]) -> None:
    """Remember image sizes (the file as read now wins over an older record of the same path)."""
    now = time.time()
    tx.run_many("media.record", [{"path": path, "width": w, "height": h, "now": now}
                                 for path, (w, h) in sizes.items()])


def stored_size(tx: Tx, ref: str) -> tuple[int, int] | None:
    """The recorded size of an image, or None (a URL, or an image recorded by no upload or import)."""
    row = tx.one("media.size", {"path": ref})
    return None if row is None else (row.width, row.height)


def path_hash(path: str) -> str:
    """The key of a media path in project_media."""
    return hashlib.sha256(path.encode()).hexdigest()


def record_refs(tx: Tx, project_id: int, paths: Iterable[str]) -> None:
    """Note that a project's tasks show these files of the media folder."""
    tx.run_many("media.add_ref", [{"hash": path_hash(p), "project": project_id, "path": p} for p in sorted(set(paths))])


def record_uploader(tx: Tx, user_id: int, paths: Iterable[str]) -> None:
    """Note that this user uploaded these files: each is theirs to name in tasks (policy media.name)."""
    now = time.time()
    tx.run_many("media.add_uploader", [{"hash": path_hash(p), "user": user_id, "path": p, "now": now}
                                       for p in sorted(set(paths))])


class Nameable:
    """Which media-folder files one import may name in its tasks' data (policy media.name), for validation
    (labeling/tasktypes/base.py `check_image_ref`): decided by the path's folder, by what the database recorded as
    the principal's (read before validation by `nameable`), and the images the import itself brings. A file that is
    not nameable is answered as a missing one, so an import never tells whether another's file exists."""

    def __init__(self, user: Principal, recorded: Iterable[str] = (), brought: Iterable[str] = ()) -> None:
        self.user = user
        self.recorded = frozenset(recorded)
        self.brought = frozenset(brought)

    def __call__(self, ref: str) -> bool:
        if ref in self.brought:
            return True
        owners = frozenset({self.user.id}) if ref in self.recorded else frozenset()
        return policy.can(self.user, "media.name", policy.Media(ref, (), owners))

    def hint(self) -> str:
        """Where this user's nameable files are, for the error a missing (or not nameable) file gets."""
        return (f"a requester names files under {policy.SHARED_FOLDER}/ or {policy.REQUESTERS_FOLDER}/"
                f"{self.user.username}/, their uploads, and files their projects already show")


async def nameable(conn: AsyncConnection, user: Principal, refs: Iterable[str],
                   brought: Iterable[str] = ()) -> Nameable | None:
    """What an import by this user may name among the media paths `refs` its tasks give: None when the user may
    name every file (an admin); otherwise a Nameable that knows which of `refs` the database records as the user's
    (uploaded by them, or shown by a project they own). A path's folder needs no lookup."""
    if not policy.needs_relation(user, "media.name"):  # an admin
        return None
    pm, p, mu = models.project_media, models.projects, models.media_uploaders
    wanted = {path_hash(ref): ref for ref in refs
              if not urlparse(ref).scheme and policy.media_folder_relation(user, ref) is None}
    hashes = sorted(wanted)
    found: set[str] = set()
    for start in range(0, len(hashes), LOOKUP_CHUNK):
        chunk = hashes[start:start + LOOKUP_CHUNK]
        shown = select(pm.c.path_hash).join(p, p.c.id == pm.c.project_id).where(
            pm.c.path_hash.in_(chunk), p.c.owner_id == user.id)
        uploaded = select(mu.c.path_hash).where(mu.c.path_hash.in_(chunk), mu.c.user_id == user.id)
        found.update(row[0] for row in await conn.execute(shown.union(uploaded)))
    return Nameable(user, (wanted[h] for h in found), brought)


def only_in_project(tx: Tx, project_id: int, owner_id: int) -> list[str]:
    """The files that no other project of the same owner shows (read before deleting a project)."""
    return [row.path for row in tx.rows("media.only_in_project", {"project": project_id, "owner": owner_id})]


def is_upload(path: str) -> bool:
    """Whether a media path is an uploaded file's (under uploads/: the only files the platform ever removes)."""
    return PurePosixPath(path).parts[:1] == (UPLOADS,)


def hold_uploads(tx: Tx) -> None:
    """Keep unused uploads where they are until this transaction ends (an import checking the files it names)."""
    tx.one("media.hold_uploads")


def remove_unused(tx: Tx, media_dir: Path, paths: list[str], owner_id: int) -> int:
    """After a deletion commits: delete the uploaded files (under uploads/) that no project shows any more; files
    an operator put in the media folder themselves stay. Returns how many of the uploads no project of `owner_id`
    shows any more: those it freed, removed from disk unless another owner's project shows the same image (uploads
    are stored by content), which the count never tells the owner.

    Run as a transaction of its own that holds the uploads against imports (media.hold_uploads_for_removal): an
    import in flight that names one of the files has committed (and the file is kept) before this looks, and one
    that comes later finds the file gone when it checks (tasks.store) and stores nothing. With no upload to remove
    (a project of texts, or of files an operator put there), nothing is held: imports in flight elsewhere are not
    waited for, nor made to wait."""
    candidates = [p for p in paths if is_upload(p)]
    if not candidates:
        return 0
    tx.one("media.hold_uploads_for_removal")
    freed = 0
    for start in range(0, len(candidates), 1000):
        chunk = candidates[start:start + 1000]
        hashes = {path_hash(p): p for p in chunk}
        used = {row.path_hash: bool(row.by_owner)
                for row in tx.rows("media.shown", {"hashes": list(hashes), "owner": owner_id})}
        for digest, path in hashes.items():
            if not used.get(digest, False):
                freed += 1
            if digest in used:
                continue  # shown by another owner's project, or again by a project imported meanwhile
            try:
                resolve(media_dir, path).unlink()
            except (NotFound, OSError) as exc:
                log.warning("could not remove unused media file %s: %s", path, exc)
    return freed


async def facts(conn: AsyncConnection, user: Principal, path: str) -> policy.Media:
    """The policy's view of a media file for this user: the projects whose tasks show it."""
    p, pm = models.projects, models.project_media
    rows = (await conn.execute(select(p.c.id, p.c.owner_id, p.c.pool_all).join(pm, pm.c.project_id == p.c.id)
                               .where(pm.c.path_hash == path_hash(path)))).all()
    seen = []
    for row in rows:
        listed = await membership.listed(conn, row.id, user.id) if policy.needs_listing(user, row.pool_all) else None
        seen.append(membership.facts(row, listed))
    return policy.Media(path, tuple(seen))


def signing_key(secret: str) -> bytes:
    """The key of signed media URLs, derived from the app's secret key."""
    return hmac.new(secret.encode(), b"labeling signed media v1", hashlib.sha256).digest()


def _signature(key: bytes, expires: int, path: str) -> str:
    digest = hmac.new(key, f"{expires}/{path}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def signed_url(key: bytes, path: str, now: float | None = None) -> str:
    """A URL that serves one media file to anyone holding it, for SIGNED_SECONDS to SIGNED_SECONDS+SIGNED_BUCKET."""
    now = time.time() if now is None else now
    expires = (int(now + SIGNED_SECONDS) // SIGNED_BUCKET + 1) * SIGNED_BUCKET
    return f"{SIGNED_PREFIX}/{expires}/{_signature(key, expires, path)}/{quote(path)}"


def check_signature(key: bytes, expires: str, signature: str, path: str, now: float | None = None) -> int:
    """Seconds the signed URL stays valid, or NotFound (expired or forged: the same answer as no file)."""
    now = time.time() if now is None else now
    until = jsonio.whole_number(expires)
    if until is None or until <= now or not auth.same_secret(_signature(key, until, path), signature):
        raise NotFound(f"no media file {path!r}", field="path")
    return until - int(now)


def signed_urls(key: bytes, refs: Iterable[str], now: float | None = None) -> dict[str, str]:
    """Signed URLs for a task's media-folder files, by the reference in its data."""
    return {ref: signed_url(key, ref, now) for ref in refs}
