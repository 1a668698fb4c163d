"""Images: store uploads (checked by Pillow) under the media folder and resolve paths safely."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path, PurePosixPath

from PIL import Image, UnidentifiedImageError

from labeling.errors import InvalidInput, NotFound, TooLarge

FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}
MAX_PIXELS = 200_000_000


def store_image(media_dir: Path, filename: str, content: bytes, max_bytes: int) -> dict:
    """Check that content is a real image and store it by content hash; returns {path, width, height}."""
    if len(content) > max_bytes:
        raise TooLarge(f"{filename}: larger than {max_bytes:,} bytes", field="file")
    if not content:
        raise InvalidInput(f"{filename}: the file is empty", field="file")
    try:
        with Image.open(io.BytesIO(content)) as image:
            fmt = image.format
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise InvalidInput(f"{filename}: {width}x{height} is too many pixels", field="file")
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
    root = media_dir.resolve()
    candidate = (root / relative).resolve()
    if root not in candidate.parents or not candidate.is_file():
        raise NotFound(f"no media file {relative!r}", field="path")
    return candidate
