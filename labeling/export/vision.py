"""Bounding boxes for detection trainers: `coco` (instances JSON, optionally with the images) and `yolo`
(data.yaml, images/ and labels/ per split). An image whose size cannot be known (an http URL with no width and
height in its data) is left out and reported, never guessed."""

from __future__ import annotations

import io
from pathlib import Path, PurePosixPath

from PIL import Image, ImageOps, UnidentifiedImageError

from labeling import media
from labeling.export.archive import Sink
from labeling.export.rows import TaskRow, split_of
from labeling.export.writer import NO_CONSENSUS, Context, ImageSize, Writer, dumps, yaml_string

NO_SIZE = "images whose size is not known (left out)"
NO_FILE = "images not in the media folder, so not copied (left out)"
# The extensions YOLO trainers read (Ultralytics' IMG_FORMATS): a file under any other name (GIF, or a media-folder
# file without an extension) is passed over by them without a word, its labels with it.
YOLO_READS = frozenset((".bmp", ".dng", ".jpeg", ".jpg", ".mpo", ".png", ".tif", ".tiff", ".webp", ".pfm", ".heic"))
SUFFIX_OF = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp", "MPO": ".jpg"}
RENAMED = "images named by their format, as YOLO trainers read only known extensions"
CONVERTED = "images converted to PNG (their first frame), as YOLO trainers read no such format"
UNREADABLE = "images that could not be read to be named or converted (left out)"
UPRIGHT = ("images turned upright by their EXIF orientation (re-encoded, the tag removed), as the labeling page showed "
           "them and as their sizes and boxes are")
UNTAGGED = ("WebP images whose EXIF orientation was removed (not applied: browsers show a WebP unturned, as it was "
            "labeled; re-encoded losslessly)")
NOT_UPRIGHT = "images with an EXIF orientation that could not be read to be turned upright (copied as they are)"


def file_name(row: TaskRow) -> str:
    """The image's name in the export: the task id and the image's own extension."""
    return f"{row.id}{PurePosixPath(str(row.data.get('image', ''))).suffix.lower()}"


def as_shown(image: Image.Image) -> tuple[bytes, str] | None:
    """The image as the labeling page showed it, with no EXIF orientation left for a reader to apply (or not): bytes
    to write instead of the file and what was done (UPRIGHT, UNTAGGED), or None when the file is that already (no
    orientation, or 1). Sizes and boxes are the page's (media.shown_size): a copy as it was put them on the unturned
    picture for every reader of raw pixels (Pillow's Image.open, torchvision), and a WebP, which browsers show
    unturned, was turned by readers that apply its tag (Ultralytics' exif_size, ImageOps.exif_transpose).
    Raises OSError or ValueError when the pixels cannot be read."""
    try:
        orientation = image.getexif().get(media.EXIF_ORIENTATION)
    except Exception:  # a broken EXIF block (Pillow's many ways to fail on one): no orientation, as uploads read it
        return None
    if orientation not in range(2, 9) or image.format not in (*media.ORIENTED, "WEBP"):
        return None
    out, icc = io.BytesIO(), image.info.get("icc_profile")
    if image.format in media.ORIENTED:
        shown = ImageOps.exif_transpose(image)  # its EXIF without the orientation
        if image.format == "PNG":
            shown.save(out, "PNG", exif=shown.getexif(), icc_profile=icc)
        else:
            shown.save(out, "JPEG", quality=95, exif=shown.getexif(), icc_profile=icc)
        return out.getvalue(), UPRIGHT
    exif = image.getexif()
    del exif[media.EXIF_ORIENTATION]
    image.save(out, "WEBP", lossless=True, exact=True, save_all=True, exif=exif, icc_profile=icc)
    return out.getvalue(), UNTAGGED


def yolo_image(path: Path) -> tuple[str, bytes | None, tuple[str, ...]]:
    """(the extension a YOLO trainer reads the file under, bytes to write instead of the file (None: copy it as it
    is), what was done (RENAMED, CONVERTED, UPRIGHT, UNTAGGED)). Raises OSError or ValueError when Pillow cannot read
    it. A trainer picks files by their extension, then refuses one whose content is of another format (a GIF named
    .png): both are checked; an EXIF orientation is applied as the page applied it (as_shown)."""
    suffix = path.suffix.lower()
    try:
        image = Image.open(path)  # the header only, unless it must be converted or turned
    except UnidentifiedImageError:  # a format the trainer reads and Pillow does not (HEIC, PFM): as it is
        if suffix in YOLO_READS:
            return suffix, None, ()
        raise
    with image:
        fmt = image.format
        if fmt in SUFFIX_OF:
            named, done = (suffix, ()) if suffix in YOLO_READS else (SUFFIX_OF[fmt], (RENAMED,))
            shown = as_shown(image)
            return (named, None, done) if shown is None else (named, shown[0], (*done, shown[1]))
        frame = image.convert("RGBA" if "transparency" in image.info or image.mode in ("RGBA", "LA", "PA") else "RGB")
    out = io.BytesIO()
    frame.save(out, "PNG")
    return ".png", out.getvalue(), (CONVERTED,)


def box_confidences(row: TaskRow) -> list[float | None]:
    """Each consensus box's confidence (a gold answer's boxes: 1.0)."""
    boxes = (row.answer or {}).get("boxes") or []
    if row.is_gold:
        return [1.0] * len(boxes)
    scored = (row.details or {}).get("boxes") or []
    return [scored[i].get("confidence") if i < len(scored) else None for i in range(len(boxes))]


class CopyImages(Writer):
    """The images of one split, copied as they are into images/SPLIT/ (COCO with --copy-images)."""

    observes = False
    copies_files = True

    def start(self, sink: Sink) -> None:
        """Nothing to open: every image is its own file."""

    def page(self, rows: list[TaskRow], number: int, sink: Sink) -> None:
        for row in rows:
            if row.answer is None or self.ctx.image_size(row.data) is None:  # left out of the annotations too
                continue  # (counted there): an image file no annotation names
            path = self.ctx.image_file(row.data)
            if path is None:
                self.report.add(NO_FILE, row.data.get("image", row.id))
                continue
            name = f"{self.name}/{file_name(row)}"
            shown = None
            try:
                image = Image.open(path)  # the header: its orientation
            except (OSError, ValueError, Image.DecompressionBombError):
                image = None  # not an image Pillow reads: copied as it is, as before
            if image is not None:
                with image:
                    try:
                        shown = as_shown(image)
                    except (OSError, ValueError, Image.DecompressionBombError):
                        self.report.add(NOT_UPRIGHT, row.data.get("image", row.id))
            if shown is None:
                sink.copy(name, path)
            else:
                self.report.add(shown[1], row.data.get("image", row.id))
                sink.open(name)
                sink.write(shown[0])
                sink.close()
            self.written += 1

    def finish(self, sink: Sink) -> None:
        """Nothing to close."""


class Coco(Writer):
    """COCO instances JSON: images (with width and height) in a first pass over the rows, annotations (bbox
    [x, y, w, h], area, iscrowd 0 and the consensus confidence as score) in a second."""

    passes = 2

    def __init__(self, ctx: Context, name: str, split: str | None = None, copied: bool = False) -> None:
        super().__init__(ctx, name, split)
        self.copied = copied
        self.category = {label: i + 1 for i, label in enumerate(ctx.labels)}
        self._first = True
        self._next_id = 1

    def start(self, sink: Sink) -> None:
        super().start(sink)
        info = {"description": f"{self.ctx.project_name} (labeling export)", "version": "1.0",
                "contributor": "labeling"}
        if self.ctx.license:
            info["license"] = self.ctx.license
        categories = [{"id": i, "name": label, "supercategory": ""} for label, i in self.category.items()]
        sink.write(f'{{"info":{dumps(info)},"licenses":[],"categories":{dumps(categories)},"images":[')

    def begin_pass(self, number: int, sink: Sink) -> None:
        if number == 1:
            sink.write('],"annotations":[')
            self._first = True

    def _items(self, items: list[dict], sink: Sink) -> None:
        if not items:
            return
        text = ",".join(dumps(item) for item in items)
        sink.write(text if self._first else "," + text)
        self._first = False

    def _size(self, row: TaskRow, count: bool) -> ImageSize | None:
        size = self.ctx.image_size(row.data)
        if size is None and count:
            self.report.add(NO_SIZE, row.data.get("image", row.id))
        return size

    def page(self, rows: list[TaskRow], number: int, sink: Sink) -> None:
        items = []
        for row in rows:
            if row.answer is None:
                if number == 0:
                    self.report.add(NO_CONSENSUS, f"task {row.id}")
                continue
            size = self._size(row, count=number == 0)
            if size is None or (self.copied and self.ctx.image_file(row.data) is None):
                continue  # with the images copied, one not copied (CopyImages counts it) is no image of the file
            if number == 0:
                name = file_name(row) if self.copied else str(row.data.get("image", ""))
                image = {"id": row.id, "file_name": name, "width": size.width, "height": size.height}
                if name.startswith(("http://", "https://")):
                    image["coco_url"] = name
                items.append(image)
                self.written += 1
                continue
            scores = box_confidences(row)
            for i, box, (x, y, w, h) in self.boxes_inside(row, size):
                items.append({"id": self._next_id, "image_id": row.id, "category_id": self.category.get(box["label"]),
                              "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0, "score": scores[i]})
                self._next_id += 1
        self._items(items, sink)

    def finish(self, sink: Sink) -> None:
        sink.write("]}")
        super().finish(sink)


def yaml_name(split: str) -> str:
    """The data.yaml key of a split (YOLO trainers call validation `val`)."""
    return "val" if split in ("val", "validation") else split


class Yolo(Writer):
    """YOLO: images/SPLIT/ID.ext and labels/SPLIT/ID.txt (class x_centre y_centre width height, normalised), and
    data.yaml naming the classes and the split folders."""

    copies_files = True

    def start(self, sink: Sink) -> None:
        """Nothing to open: every image and label file is its own file."""
        options = self.ctx.options
        self.splits = options.split_names or ("train",)

    def page(self, rows: list[TaskRow], number: int, sink: Sink) -> None:
        options, spec = self.ctx.options, self.ctx.spec
        class_ids = {label: i for i, label in enumerate(self.ctx.labels)}
        for row in rows:
            if row.answer is None:
                self.report.add(NO_CONSENSUS, f"task {row.id}")
                continue
            split = split_of(row, options.split, options.seed, spec.split_field) or "train"
            size = self.ctx.image_size(row.data)
            path = self.ctx.image_file(row.data)
            if size is None:
                self.report.add(NO_SIZE, row.data.get("image", row.id))
                continue
            if path is None:
                self.report.add(NO_FILE, row.data.get("image", row.id))
                continue
            lines = []
            for _, box, (x0, y0, w, h) in self.boxes_inside(row, size):
                x1, y1 = x0 + w, y0 + h
                lines.append(f"{class_ids.get(box['label'], -1)} {(x0 + x1) / 2 / size.width:.6f} "
                             f"{(y0 + y1) / 2 / size.height:.6f} {(x1 - x0) / size.width:.6f} "
                             f"{(y1 - y0) / size.height:.6f}\n")
            try:
                suffix, converted, done = yolo_image(path)
            except (OSError, ValueError, Image.DecompressionBombError):
                self.report.add(UNREADABLE, row.data.get("image", row.id))
                continue
            for note in done:
                self.report.add(note, row.data.get("image", row.id))
            name = f"{row.id}{suffix}"
            if converted is None:
                sink.copy(f"images/{split}/{name}", path)
            else:
                sink.open(f"images/{split}/{name}")
                sink.write(converted)
                sink.close()
            sink.open(f"labels/{split}/{row.id}.txt")
            sink.write("".join(lines))
            sink.close()
            self.written += 1
            self.by_split[split] = self.by_split.get(split, 0) + 1

    def finish(self, sink: Sink) -> None:
        # The name escaped as in a quoted string: a line break in it would end the comment and start YAML.
        lines = [f"# YOLO dataset: {yaml_string(self.ctx.project_name)[1:-1]} (labeling export)\n"]
        keys = {yaml_name(s): s for s in self.splits}
        if "train" not in keys:  # YOLO trainers refuse a data.yaml without train: (and val:): the first split
            keys = {"train": self.splits[0], **keys}
        keys.setdefault("val", self.splits[0])
        for key, split in keys.items():
            lines.append(f"{key}: {yaml_string(f'images/{split}')}\n")
        lines.append(f"nc: {len(self.ctx.labels)}\n")
        lines.append("names:\n")
        lines.extend(f"  {i}: {yaml_string(label)}\n" for i, label in enumerate(self.ctx.labels))
        sink.open("data.yaml")
        sink.write("".join(lines))
        sink.close()
