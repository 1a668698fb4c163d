"""Images: store uploads (checked by Pillow) under the media folder, resolve paths safely, and know each image's
size (recorded in the `media` table when an image is uploaded or a task first refers to it)."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from PIL import Image, UnidentifiedImageError

from labeling.errors import InvalidInput, NotFound, TooLarge
from labeling.sqltx import Tx
from labeling.tasktypes.base import MAX_COORDINATE

FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}
EXIF_ORIENTATION = 0x0112
TURNED = {5, 6, 7, 8}  # EXIF orientations a browser shows turned a quarter: width and height swap


def _shown_size(image: Image.Image) -> tuple[int, int]:
    """Width and height as a browser shows the image (EXIF orientation applied), from the header alone."""
    width, height = image.size
    try:
        orientation = image.getexif().get(EXIF_ORIENTATION)
    except Exception:  # a broken EXIF block: Pillow's many ways to fail on one; the raw size stands
        orientation = None
    return (height, width) if orientation in TURNED else (width, height)


def store_image(media_dir: Path, filename: str, content: bytes, max_bytes: int, max_pixels: int) -> dict:
    """Check that content is a real image of at most `max_pixels` and store it by content hash; returns
    {path, width, height, filename} (the size as shown, EXIF orientation applied)."""
    if len(content) > max_bytes:
        raise TooLarge(f"{filename}: larger than {max_bytes:,} bytes", field="file")
    if not content:
        raise InvalidInput(f"{filename}: the file is empty", field="file")
    try:
        with Image.open(io.BytesIO(content)) as image:
            fmt = image.format
            width, height = _shown_size(image)
        if width * height > max_pixels or max(width, height) > MAX_COORDINATE:
            raise TooLarge(f"{filename}: {width}x{height} is more than {max_pixels:,} pixels "
                           f"(LABELING_MEDIA_MAX_PIXELS) or a side over {MAX_COORDINATE:,}", field="file")
        with Image.open(io.BytesIO(content)) as image:  # verify() must come first on an image: a second opening
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidInput(f"{filename}: not an image Pillow can read", field="file") from None
    if fmt not in FORMATS:
        raise InvalidInput(f"{filename}: {fmt} images are not accepted ({', '.join(FORMATS)})", field="file")
    digest = hashlib.sha256(content).hexdigest()
    relative = PurePosixPath("uploads", digest[:2], digest + FORMATS[fmt])
    target = media_dir / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash never leaves half an image under the final name.
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, target)
    return {"path": str(relative), "width": width, "height": height, "filename": filename}


def resolve(media_dir: Path, relative: str) -> Path:
    """The file for a media path, refusing anything outside the media folder."""
    if "\x00" in relative:
        raise NotFound("no media file with a NUL in its name", field="path")
    root = media_dir.resolve()
    candidate = (root / relative).resolve()
    if root not in candidate.parents or not candidate.is_file():
        raise NotFound(f"no media file {relative!r}", field="path")
    return candidate


def read_size(path: Path) -> tuple[int, int] | None:
    """The shown size of an image file from its header, or None if it is not an image Pillow can read."""
    try:
        with open(path, "rb") as handle, Image.open(handle) as image:
            return _shown_size(image)
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

