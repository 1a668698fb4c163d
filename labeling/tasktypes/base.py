"""What every task type declares (TaskTypeSpec), and the small checks they share."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Protocol
from urllib.parse import urlparse

from labeling import files
from labeling.errors import InvalidInput

MAX_TEXT_CHARS = 1_000_000
MAX_ID_CHARS = 200  # response ids and the like
MAX_MEDIA_PATH_BYTES = 1024  # a path in the media folder (a URL may be up to MAX_URL_CHARS)
MAX_URL_CHARS = 4096
# The largest image side (uploads are refused past it) and so the largest box coordinate of an image whose
# size is unknown (one behind a URL).
MAX_COORDINATE = 100_000


# The aggregation families of labeling/consensus/: how a task type's answers become a consensus.
FAMILIES = ("classification", "multilabel", "boxes", "spans", "ranking", "demonstration")
# Keys the labeling page of every task type uses (skip, instructions, an older and a newer answer, help, label
# finder): a label's hotkey may not be one of them, nor a digit (digits are the labels' numbers). X is taken only
# while an earlier answer is open, and there it would win over a label's hotkey, so no label may have it.
PAGE_KEYS = "sixz?/"
# Exports every task type has (labeling export --format): one row per task, every answer, a lossless dump.
COMMON_FORMATS = ("jsonl", "csv", "manifest", "annotations", "dump", "deletions")


def no_options(options: dict) -> dict:
    """A task type without options of its own keeps the project's options as they are."""
    return options


def whole_answer(answer: dict | None) -> dict:
    """An answer as export columns: its own fields, as they are."""
    return dict(answer or {})


def scored_items(answer: dict | None, details: dict, key: str) -> dict:
    """Export columns of a consensus made of items (boxes, spans): each item with its own confidence, which the
    consensus details list in the same order under the same key."""
    if answer is None:
        return {key: None}
    scored = (details or {}).get(key) or []
    return {key: [{**item, "confidence": scored[i].get("confidence") if i < len(scored) else None}
                  for i, item in enumerate(answer.get(key, []))]}


def whole_consensus(answer: dict | None, details: dict) -> dict:
    """A consensus as export columns: its own fields, as they are (the details stay out)."""
    return dict(answer or {})


@dataclass(frozen=True)
class TaskTypeSpec:
    """A task type, whole: everything else (API, consensus, worker UI, exports) reads it from the registry.

    Adding a task type is one module in labeling/tasktypes/ with a SPECS tuple, one template in templates/ and
    one script in labeling/static/js/.
    """

    name: str
    display_name: str
    description: str
    family: str  # its aggregation family (FAMILIES)
    media: str  # what a task shows: "image" or "text"
    template: str  # the worker page's template (templates/), which extends label.html
    script: str  # the worker page's script (labeling/static/)
    needs_labels: bool
    validate_data: Callable[[Any, "Context"], dict]
    validate_answer: Callable[[Any, dict, "Context"], dict]
    formats: tuple[str, ...] = COMMON_FORMATS  # the export formats it can have
    order: int = 0  # where it is listed
    # How its consensus (answer and details; None before there is one) and each worker's answer become export
    # columns (labeling/export/). Both give the same keys for every row, None where there is no value, so a
    # column has one type down the file (datasets infers it from the first rows).
    consensus_row: Callable[[dict | None, dict], dict] = whole_consensus
    answer_row: Callable[[dict | None], dict] = whole_answer
    # The worker page: text-first types (writing is the task) keep the keyboard in their text box and submit
    # with Ctrl+Enter; `keys` are the page's own keys, which labels' hotkeys may not take.
    text_first: bool = False
    keys: str = ""
    # Checks a stored consensus answer (a dump being restored); None: it has an answer's shape (validate_answer).
    validate_consensus: Callable[[Any, dict, "Context"], dict] | None = None
    # Checks the project options this task type reads (e.g. how entity spans snap), and fills their defaults.
    validate_options: Callable[[dict], dict] = no_options
    # The options its worker page reads: the only ones the page is given (the others are the requester's own, such
    # as a license or notes, which workers never see).
    page_options: tuple[str, ...] = ()
    # The key of the consensus details holding the task's agreement (mean pairwise agreement of its answers);
    # None: exports compute it from the answers.
    agreement_key: str | None = None
    # The output-manifest `type` of managed ground-truth services for this task type ("groundtruth/...").
    manifest_type: str = "groundtruth/custom"
    # The data field that decides a task's split (so equal prompts never land in two splits); None: the
    # external id, else the task id.
    split_field: str | None = None

    @property
    def manifest_field(self) -> str | None:
        """The data field a manifest line's source-ref or source fills ("image" or "text"); None for the types
        whose data is a prompt (ranking, demonstration): their manifest line is their data as it is."""
        return None if self.family in ("demonstration", "ranking") else self.media

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"task type {self.name}: unknown aggregation family {self.family!r}")
        if self.media not in ("image", "text"):
            raise ValueError(f"task type {self.name}: media must be image or text")

    def check_consensus(self, value: Any, data: dict, ctx: Context) -> dict:
        """A stored consensus answer checked against the task (InvalidInput naming what is wrong)."""
        return (self.validate_consensus or self.validate_answer)(value, data, ctx)

    @property
    def reserved_keys(self) -> str:
        """Keys a label's hotkey may not be on this task type's page."""
        return PAGE_KEYS + self.keys

    @property
    def multi(self) -> bool:
        """Any number of labels per answer (multilabel)."""
        return self.family == "multilabel"

    def local_media(self, data: dict) -> list[str]:
        """The files of the media folder a task shows (its data.image unless that is an http(s) URL)."""
        ref = data.get("image") if self.media == "image" else None
        return [ref] if isinstance(ref, str) and not ref.lower().startswith(("http://", "https://")) else []


# An image's (width, height) as shown, by its reference in the task's data; None when it is not known.
ImageSize = Callable[[str], tuple[int, int] | None]
class MayName(Protocol):
    """Whether a media path may be named by the one importing, and where their files are (for the error)."""

    def __call__(self, ref: str) -> bool: ...

    def hint(self) -> str: ...


@dataclass(frozen=True)
class Context:
    """What validation may consult: the project's labels, for local images the media folder, and where image
    sizes are known (labeling.media: read at import, recorded for submits)."""

    labels: tuple[str, ...] = ()
    media_dir: Path | None = None
    options: Any = None  # the project's options (a mapping), for task types that read them
    image_size: ImageSize | None = None
    # Which files of the media folder the importer may name (labeling.media.Nameable); None: any (an admin, the
    # operator's command line). One that may not be named is answered as a missing file.
    may_name: MayName | None = None
    # Media paths the import brings along (its uploaded images): in the media folder when it commits (put back by
    # labeling/api/media.py `placing` if a deletion's removal of unused uploads took one meanwhile), so not looked for.
    brought: frozenset[str] = frozenset()


def require_dict(value: Any, field: str) -> dict:
    """Fail unless value is a JSON object."""
    if not isinstance(value, dict):
        raise InvalidInput(f"{field} must be a JSON object", field=field)
    return value


def require_keys(value: dict, field: str, allowed: set[str], required: set[str]) -> None:
    """Fail on a missing required key or an unknown key."""
    keys = value.keys()
    if keys >= required and keys <= allowed:  # the usual case, said without building and sorting two sets
        return
    for key in sorted(required - value.keys()):
        raise InvalidInput(f"{field}.{key} is required", field=f"{field}.{key}")
    for key in sorted(value.keys() - allowed):
        raise InvalidInput(f"{field}.{key} is not a known field (expected {', '.join(sorted(allowed))})",
                           field=f"{field}.{key}")


def answer_list(value: Any, key: str) -> list:
    """The answer must be {key: [...]} and nothing else; returns the list."""
    value = require_dict(value, "answer")
    require_keys(value, "answer", {key}, {key})
    items = value[key]
    if not isinstance(items, list):
        raise InvalidInput(f"answer.{key} must be a list", field=f"answer.{key}")
    return items


def require_text(value: Any, field: str, *, allow_empty: bool = False, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Fail unless value is a string of acceptable length."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string", field=field)
    if not allow_empty and (not value or value.isspace()):  # as `not value.strip()`, without copying the text
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(value) > max_chars:
        raise InvalidInput(f"{field} is longer than {max_chars:,} characters", field=field)
    return value


# Bidirectional embeddings, overrides and isolates (labeling/schemas.py refuses them in labels).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Unicode's default-ignorable characters that are not format characters (Cf): shown as nothing, as a zero-width
# space is, though they are combining marks or letters (a variation selector, the combining grapheme joiner, the
# Hangul fillers, Khmer's inherent vowels, Mongolian's variation selectors), and the code points kept for more.
_IGNORABLE_RANGES = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x2065, 0x2065),
                     (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0xE0000, 0xE0FFF))


def shows_as_nothing(char: str) -> bool:
    """A character a page shows as nothing: a format character (Cf: a zero-width space, a bidi control) or another
    default-ignorable one (a variation selector)."""
    if unicodedata.category(char) == "Cf":
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


def require_visible_name(value: Any, field: str, max_chars: int) -> str:
    """A name that is told apart from others by how it looks (a model's): one line of text, written one way. Two
    names that a page shows alike would be two models on a leaderboard, each with half the battles: a zero-width
    space or joiner, a soft hyphen, a direction mark or a variation selector in one (invisible characters), letters
    written decomposed (`e` + a combining accent, where `é` is one character: NFC), spaces around it or a run of them
    inside. A bidirectional override or isolate is kept: the leaderboard shows such a name isolated."""
    name = require_text(value, field, max_chars=max_chars)
    for char in name:
        if unicodedata.category(char) == "Cc":
            problem = f"a control character (U+{ord(char):04X}); a name is one line of text"
            break
    else:
        problem = looks_like_another(name)
        if problem is None:
            return name
    raise InvalidInput(f"{field} {name!r} holds {problem}", field=field)


def looks_like_another(name: str, spaces: bool = True) -> str | None:
    """What makes `name` look like another name, in words (None when nothing does): an invisible character (bidi
    controls aside: the caller's own rule), letters written decomposed, and (`spaces`) spaces around it or a run of
    them inside. The rule of a model's name (require_visible_name), and of the names `labeling aggregate` reads (an
    id's white space is its own: a task id may hold a line break, and is written back quoted)."""
    if name.isascii() and name.isprintable() and "  " not in name and name.strip() == name:
        return None  # most names: none of the below can be in them (no loop over their characters)
    for char in name:
        if shows_as_nothing(char) and char not in BIDI_CONTROLS:
            return f"an invisible character (U+{ord(char):04X}), which makes it look like another name; leave it out"
    if unicodedata.normalize("NFC", name) != name:
        return "letters written decomposed (a letter and a combining mark); write them composed (NFC)"
    if spaces and " ".join(name.split()) != name:
        return "spaces around it or a run of spaces in it; write it with single spaces"
    return None


def require_label(value: Any, field: str, ctx: Context) -> str:
    """Fail unless value is one of the project's labels."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string label", field=field)
    if ctx.labels and value not in ctx.labels:
        raise InvalidInput(f"{field} {value!r} is not one of the project's labels ({some_labels(ctx.labels)})",
                           field=field)
    return value


NAMED_LABELS = 20  # a message names this many of a project's labels (it may have 1,000: a page of them said nothing)


def some_labels(labels: Any) -> str:
    """The first labels of a project for a message, and how many more there are."""
    names = list(labels)
    shown = ", ".join(names[:NAMED_LABELS])
    return shown if len(names) <= NAMED_LABELS else f"{shown} and {len(names) - NAMED_LABELS:,} more"


def require_number(value: Any, field: str, *, minimum: float | None = None, positive: bool = False,
                   maximum: float | None = None) -> float:
    """Fail unless value is a finite number (not a bool) within bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(f"{field} must be a finite number", field=field)
    if positive and value <= 0:
        raise InvalidInput(f"{field} must be greater than 0", field=field)
    if minimum is not None and value < minimum:
        raise InvalidInput(f"{field} must be at least {_plain(minimum)}", field=field)
    if maximum is not None and value > maximum:
        raise InvalidInput(f"{field} must be at most {_plain(maximum)}", field=field)
    return value


def _plain(bound: float) -> str:
    """A bound as people write it: an image 21 pixels wide is 21, not 21.0."""
    return f"{int(bound):,}" if float(bound).is_integer() else f"{bound:,}"


def require_int(value: Any, field: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Fail unless value is a whole number within bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field} must be a whole number", field=field)
    if minimum is not None and value < minimum:
        raise InvalidInput(f"{field} must be at least {minimum}", field=field)
    if maximum is not None and value > maximum:
        raise InvalidInput(f"{field} must be at most {maximum}", field=field)
    return value


# The keys of a manifest line, the usual one of the data's kind first: a line holding both gives an image its
# source-ref (a reference to the object) and a text its source (the text itself); the other stays a data field.
MANIFEST_KEYS = {"image": ("source-ref", "source"), "text": ("source", "source-ref")}


def manifest_key(data: Any, key: str) -> str | None:
    """The manifest key (source-ref or source) that data without `key` gives it under, or None."""
    if isinstance(data, dict) and key not in data:
        for alias in MANIFEST_KEYS[key]:
            if alias in data:
                return alias
    return None


def from_manifest(data: Any, key: str) -> Any:
    """Accept a manifest line ({"source-ref": ...} or {"source": ...}) as data for `key`."""
    alias = manifest_key(data, key)
    if alias is not None:
        data = dict(data)
        data[key] = data.pop(alias)
    return data


def check_image_ref(value: Any, field: str, ctx: Context) -> str:
    """An http(s) URL, or a path relative to the media folder that stays inside it (and exists, if known)."""
    ref = require_text(value, field, max_chars=MAX_URL_CHARS)
    parsed = urlparse(ref)
    if parsed.scheme in ("http", "https"):
        if not parsed.netloc:
            raise InvalidInput(f"{field} is not a valid URL: {ref!r}", field=field)
        return ref
    if parsed.scheme:
        raise InvalidInput(f"{field}: {parsed.scheme}:// images are not supported; give an http(s) URL "
                           f"or a path relative to the media folder", field=field)
    if len(ref.encode("utf-8")) > MAX_MEDIA_PATH_BYTES:
        raise InvalidInput(f"{field}: a media path is at most {MAX_MEDIA_PATH_BYTES} bytes", field=field)
    path = PurePosixPath(ref)
    if path.is_absolute() or ".." in path.parts or "\\" in ref:
        raise InvalidInput(f"{field} must be a path relative to the media folder, got {ref!r}", field=field)
    if str(path) != ref:
        # ./a, a//b, a/./b, a/ name a file under a second name: stored so, no signed URL or /media/{path} finds it
        # (an HTTP client drops a URL's ./), so the image is never shown. Said before whose the file is is asked.
        raise InvalidInput(f"{field}: write the media path {ref!r} as {str(path)!r} (without ./, // or a final /)",
                           field=field)
    # What /media/{path} would serve, and the importer may name: a file that is another's reads as a missing one
    # (same status, field and words), so an import never tells whether it exists. An image the import brings is
    # not looked for: it is there when the import commits (`brought`).
    named = ctx.may_name is None or ctx.may_name(ref)
    looked_for = ctx.media_dir is not None and ref not in ctx.brought
    found = files.inside(ctx.media_dir, ref) if looked_for else None
    if not named or (looked_for and found is None):
        hint = f" ({ctx.may_name.hint()})" if ctx.may_name is not None else ""
        raise InvalidInput(f"{field}: no file {ref!r} in the media folder{hint}", field=field)
    kind = unshown_kind(found) if found is not None else None
    if kind is not None:
        raise InvalidInput(f"{field}: {ref!r} is a {kind} file, which browsers do not show as an image (give PNG, "
                           f"JPEG, GIF, WEBP or BMP)", field=field)
    return ref


# Kinds of file a browser does not show in an <img>, by their first bytes: a task naming one in the media folder
# would be a blank for every worker (an upload of one is refused by media.check_image, which reads it whole).
UNSHOWN_MAGIC = ((b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"8BPS", "Photoshop (PSD)"), (b"%PDF", "PDF"),
                 (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"), (b"\xffO\xffQ", "JPEG 2000"))
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis")  # HEIC photos; AVIF (shown) has its own


def unshown_kind(path: Path) -> str | None:
    """The kind of a file no browser shows as an image (TIFF, PSD, PDF, JPEG 2000, HEIC), by its first bytes; None
    for any other file, or one that cannot be read (a missing file is said apart)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
    except OSError:
        return None
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "HEIC"
    return next((kind for magic, kind in UNSHOWN_MAGIC if head.startswith(magic)), None)
