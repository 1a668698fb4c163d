"""Image sizes and files for exports: from the task's data (width and height), else the size recorded when the
image was uploaded or first imported (the media table, as a browser shows it: EXIF orientation applied; the
exporter reads it with each page of tasks), else the stored image's header read the same way (media.shown_size;
Pillow reads only the header), remembered for the export's length. An image elsewhere (an http URL) with no
size in its data has no known size: the writers report it."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from labeling import media
from labeling.errors import NotFound
from labeling.export.writer import ImageSize

CACHE_LIMIT = 100_000


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class Images:
    """Sizes and files of a project's images, with a bounded memory of what it looked up."""

    def __init__(self, media_dir: Path) -> None:
        self.media_dir = media_dir
        self._sizes: dict[str, ImageSize | None] = {}
        self.recorded: dict[str, ImageSize] = {}  # the media table's sizes of the current page's images

    def file(self, data: dict) -> Path | None:
        """The stored file of the task's image, or None (an http URL, or missing)."""
        ref = data.get("image")
        if not isinstance(ref, str) or ref.startswith(("http://", "https://")):
            return None
        try:
            return media.resolve(self.media_dir, ref)
        except NotFound:
            return None

    def size(self, data: dict) -> ImageSize | None:
        """The image's size: width and height in the data, else the recorded size, else the stored file's header;
        None if unknown."""
        width, height = _whole(data.get("width")), _whole(data.get("height"))
        if width and height:
            return ImageSize(width, height, _whole(data.get("depth")))
        ref = data.get("image")
        if not isinstance(ref, str):
            return None
        recorded = self.recorded.get(ref)
        if recorded is not None:
            return recorded
        if ref in self._sizes:
            return self._sizes[ref]
        path = self.file(data)
        size = None
        if path is not None:
            try:
                with Image.open(path) as image:
                    size = ImageSize(*media.shown_size(image), len(image.getbands()))
            except (UnidentifiedImageError, OSError, ValueError):
                size = None
        if len(self._sizes) >= CACHE_LIMIT:
            self._sizes.clear()
        self._sizes[ref] = size
        return size
