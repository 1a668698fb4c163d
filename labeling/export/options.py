"""What an export asks for: one parser for the CLI's flags and the HTTP query (both give strings by name)."""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator, Mapping

from labeling import jsonio
from labeling.errors import InvalidInput

# A split name is a file name and a split of the dataset card, which `datasets` reads only as letters, digits and
# underscores (no dash), and never `all` (its word for every split together).
SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{0,63}$")
LABEL_ATTRIBUTE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,126}$")
PAIRS = ("all", "adjacent", "best-worst")
MARGINS = ("probability", "rating")
KTO_SOURCES = ("auto", "ratings", "ranks")


@dataclass(frozen=True)
class Split:
    """One split of a dataset: its name and its share of the rows."""

    name: str
    share: float


@dataclass(frozen=True)
class Cursor:
    """Where an incremental pull stopped: the changes its snapshot had seen, as PostgreSQL's snapshots say it (every
    change number below `xmin` seen, none from `xmax` on, nor those in `running`, whose transactions had not
    committed). A pull gives it as its next `since` (`c:XMIN:XMAX:RUNNING,...`); the next pull with it has exactly the
    changes that pull had not seen, whatever order transactions committed in. SQLite's changes commit in the order
    of their numbers: its cursors have no `running`."""

    xmin: int
    xmax: int
    running: tuple[int, ...] = ()

    def __str__(self) -> str:
        return f"c:{self.xmin}:{self.xmax}:{','.join(map(str, self.running))}"


CURSOR = re.compile(r"^c:([0-9]{1,19}):([0-9]{1,19}):((?:[0-9]{1,19})(?:,[0-9]{1,19}){0,9999})?$")


@dataclass(frozen=True)
class Options:
    """An export's format and options (the names are the query parameters; the CLI's flags use dashes)."""

    format: str
    split: tuple[Split, ...] = ()
    seed: int = 0
    min_confidence: float | None = None
    include_open: bool = False
    include_gold: bool = False
    since: float | Cursor | None = None  # Unix seconds, or a pull's cursor
    card: bool = False
    label_attribute: str | None = None
    copy_images: bool = False
    pairs: str = "all"
    min_margin: float | None = None
    margin: str = "probability"
    conversational: bool = False
    kto_source: str = "auto"
    good_rating: float = 5.0
    bad_rating: float = 3.0
    good_rank: int = 1
    bad_rank: int = 1
    csv_escape_formulas: bool = False
    given: frozenset[str] = field(default=frozenset(), compare=False)  # the options named in the request
    flags: bool = field(default=False, compare=False)  # given as the CLI's flags: messages name them so

    def named(self, name: str) -> str:
        """An option as its user gave it: the query's include_gold, or the command line's --include-gold."""
        return spelled(name, self.flags)

    @property
    def split_names(self) -> tuple[str, ...]:
        """The names of the splits, in the order given."""
        return tuple(s.name for s in self.split)


NAMES = tuple(f for f in Options.__dataclass_fields__ if f not in ("format", "given", "flags"))


def spelled(name: str, flags: bool) -> str:
    """An option's name as a query parameter (include_gold), or as the CLI's flag (`flags`: --include-gold)."""
    return "--" + name.replace("_", "-") if flags else name


def flagged(exc: InvalidInput, name: str) -> InvalidInput:
    """The same error of option `name`, whose name starts its message, said with the CLI's flag (`--bootstrap must be
    ...` where the API says `bootstrap must be ...`)."""
    return InvalidInput(spelled(name, True) + exc.message.removeprefix(name), field=name)


@contextlib.contextmanager
def as_flags(*names: str) -> Iterator[None]:
    """An error of an option the API shares, said with the command line's flag: `--bootstrap must be 0 to ...` and
    `--method 'glad' is unknown`, where it said the query's `bootstrap` and `method` (the message starts with the
    option's name)."""
    try:
        yield
    except InvalidInput as exc:
        if exc.field not in names or not exc.message.startswith(exc.field):
            raise
        raise flagged(exc, exc.field) from None


def _flag(name: str, raw: str) -> bool:
    """true or false, as every boolean query parameter of the API (schemas.QueryBool) and as the document says:
    `?card=` or `?card=1` were taken as true here and refused everywhere else."""
    if raw in ("true", "false"):
        return raw == "true"
    raise InvalidInput(f"{name} must be true or false, got {raw!r}", field=name)


def _plain(raw: str) -> bool:
    """Written with ASCII digits and no underscores: Python's int() and float() also take "١" and "1_0"."""
    return raw.isascii() and "_" not in raw


def _number(name: str, raw: str, low: float | None = None, high: float | None = None) -> float:
    try:
        if not _plain(raw):
            raise ValueError(raw)
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a number, got {raw!r}", field=name) from None
    if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
        bounds = f" from {low:g} to {high:g}" if low is not None and high is not None else (
            f" of at least {low:g}" if low is not None else "")
        raise InvalidInput(f"{name} must be a number{bounds}, got {raw!r}", field=name)
    return value


def _whole(name: str, raw: str, low: int) -> int:
    try:
        if not _plain(raw) or len(raw.strip()) > 20:  # int() of thousands of digits is slow, then refused
            raise ValueError(raw)
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number, got {raw[:40]!r}", field=name) from None
    if not low <= value <= jsonio.INT_LIMIT:
        raise InvalidInput(f"{name} must be from {low} to {jsonio.INT_LIMIT}, got {value}", field=name)
    return value


def _choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    if raw not in choices:
        raise InvalidInput(f"{name} must be one of {', '.join(choices)}, got {raw!r}", field=name)
    return raw


def parse_split(raw: str) -> tuple[Split, ...]:
    """`train=0.8,validation=0.1,test=0.1`: distinct names, shares above 0 that add up to 1."""
    splits: list[Split] = []
    for part in raw.split(","):
        name, sep, share = part.strip().partition("=")
        name = name.strip()
        if not sep:
            raise InvalidInput(f"split must be NAME=SHARE,... (e.g. train=0.8,validation=0.1,test=0.1), got {raw!r}",
                               field="split")
        if not SPLIT_NAME.fullmatch(name) or name.lower() == "all":
            raise InvalidInput(f"split name {name!r}: a split is named with letters, digits and _ (datasets reads no "
                               "other), and not all (its word for every split)", field="split")
        value = _number("split", share.strip(), 0.0, 1.0)
        if value <= 0:
            raise InvalidInput(f"split {name} must have a share above 0", field="split")
        if name in (s.name for s in splits):
            raise InvalidInput(f"split {name} is named twice", field="split")
        splits.append(Split(name, value))
    total = sum(s.share for s in splits)
    if abs(total - 1.0) > 1e-6:
        raise InvalidInput(f"split shares must add up to 1, they add up to {total:g}", field="split")
    return tuple(splits)


def parse_since(raw: str) -> float | Cursor:
    """A pull's cursor (`c:...`, as a pull gives it), or a time (parse_time)."""
    if not raw.startswith("c:"):
        return parse_time(raw)
    found = CURSOR.fullmatch(raw)
    if found is None:
        raise InvalidInput(f"since must be a cursor as a pull gives it (c:XMIN:XMAX:...), an ISO 8601 time or Unix "
                           f"seconds, got {raw[:60]!r}", field="since")
    xmin, xmax = int(found[1]), int(found[2])
    running = tuple(sorted({int(x) for x in found[3].split(",")})) if found[3] else ()
    if xmin > xmax or any(not xmin <= x < xmax for x in running) or xmax > 2**63 - 1:
        raise InvalidInput(f"since: not a cursor a pull gives (XMIN <= RUNNING < XMAX), got {raw[:60]!r}",
                           field="since")
    return Cursor(xmin, xmax, running)


def parse_time(raw: str, name: str = "since") -> float:
    """An ISO 8601 time (UTC unless it says otherwise) or Unix seconds."""
    try:
        seconds = float(raw) if _plain(raw) else None
    except ValueError:
        seconds = None
    if seconds is not None:
        if not math.isfinite(seconds):  # NaN and infinity would pass or stop every row, said nowhere
            raise InvalidInput(f"{name} must be a finite number of Unix seconds, got {raw!r}", field=name)
        return seconds
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 time (2026-01-31T12:00:00Z), Unix seconds or a pull's cursor "
                           f"(c:...), got {raw!r}",
                           field=name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def parse(params: Mapping[str, str], flags: bool = False) -> Options:
    """Options from names and string values (query parameters, or the CLI's flags: `flags`, and every message names
    the flag, --include-gold, where it named the query's include_gold); unknown names are refused."""
    if "format" not in params or not str(params["format"]).strip():
        example = "--format jsonl" if flags else "format=jsonl"
        raise InvalidInput(f"{spelled('format', flags)} is required (e.g. {example})", field="format")
    values: dict = {"format": str(params["format"]).strip()}
    for name, raw in params.items():
        if name == "format":
            continue
        if name not in NAMES:
            raise InvalidInput(f"unknown option {name!r}; the options are {', '.join(NAMES)}", field=name)
        try:
            values[name] = _value(name, str(raw))
        except InvalidInput as exc:  # every message of _value starts with the option's name
            if not flags or not exc.message.startswith(name):
                raise
            raise flagged(exc, name) from None
    options = Options(**values, given=frozenset(n for n in params if n != "format"), flags=flags)
    if options.bad_rating >= options.good_rating:
        raise InvalidInput(f"{options.named('bad_rating')} must be below {options.named('good_rating')}",
                           field="bad_rating")
    return options


def _value(name: str, raw: str) -> object:
    """The value of one option (a known name), or InvalidInput with a message that starts with its name."""
    if name == "split":
        return parse_split(raw)
    elif name == "seed":
        return _whole(name, raw, 0)
    elif name in ("min_confidence",):
        return _number(name, raw, 0.0, 1.0)
    elif name == "min_margin":
        return _number(name, raw)
    elif name in ("good_rating", "bad_rating"):
        return _number(name, raw, 1.0, 7.0)
    elif name in ("good_rank", "bad_rank"):
        return _whole(name, raw, 1)
    elif name == "since":
        return parse_since(raw)
    elif name == "label_attribute":
        if not LABEL_ATTRIBUTE.fullmatch(raw) or raw.endswith(("-metadata", "-ref")):
            raise InvalidInput("label_attribute must be letters, digits and dashes, not ending in -metadata or "
                               f"-ref, got {raw!r}", field=name)
        return raw
    elif name == "pairs":
        return _choice(name, raw, PAIRS)
    elif name == "margin":
        return _choice(name, raw, MARGINS)
    elif name == "kto_source":
        return _choice(name, raw, KTO_SOURCES)
    else:
        return _flag(name, raw)
