"""The one JSON reader for every request body and file: strict about what both databases can store.

`loads` refuses, with an InvalidInput naming the path of the offending value (`options.a`, `[3].data.text`):
- NaN, Infinity and -Infinity, and numbers too large to be finite (`1e999`): JSON has no such numbers, and
  PostgreSQL's jsonb refuses them while SQLite would store them and break every later read;
- integers outside 64 bits (no column of either database holds them, and JavaScript loses them);
- nesting deeper than MAX_DEPTH arrays and objects, found before parsing (a counting scan), so no input
  can make the parser recurse into a RecursionError;
- strings, keys included, holding NUL (U+0000: PostgreSQL cannot store it in text or jsonb) or a lone
  surrogate (U+D800-U+DFFF: not Unicode text, so not UTF-8, and neither database takes it).
- a key repeated in one object (`{"label": "a", "label": "b"}`): which value was meant is not known, and a
  reader that kept the last one would silently drop the other.
`-0.0` is read as `0.0` (PostgreSQL's numbers have no negative zero). Pure: no database, no web framework.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any, Iterable

import orjson

from labeling.errors import InvalidInput

MAX_DEPTH = 64
INT_LIMIT = 2**63 - 1


def whole_number(text: str | bytes) -> int | None:
    """Plain ASCII digits (leading zeros allowed) as a number, else None. str.isdigit() also takes '²' and other
    digits int() refuses, and int() refuses more than 4,300 digits: a number past INT_LIMIT is INT_LIMIT + 1."""
    if not text.isascii() or not text.isdigit():
        return None
    significant = text.lstrip("0" if isinstance(text, str) else b"0")
    if not significant:
        return 0
    return int(significant) if len(significant) <= 19 else INT_LIMIT + 1

# Escapes that hide a quote or a backslash, removed before strings are told from the rest.
_ESCAPES = (b"\\\\", b"\\\"")
_STRUCTURE = bytes(range(256)).translate(None, b'[]{}"')  # every byte but brackets and quotes (deleted)
_STRING = re.compile(rb'"[^"]*"')
_SCAN_CHUNK = 1 << 20
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
# Digits as 0 and E as e: the shapes of numbers that may be refused or changed, found with plain searches.
_NUMBER_SHAPES = bytes.maketrans(b"123456789E", b"000000000e")
# An escape that may decode to a character neither database stores; without one, no string can hold one.
_RISKY_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")


class JsonError(InvalidInput):
    """A body or file that is not JSON both databases can store; `path` locates the value ([] for the whole)."""

    def __init__(self, message: str, path: Iterable[str | int] = (), lineno: int | None = None,
                 **extra: object) -> None:
        self.path = list(path)
        self.problem = message
        self.lineno = lineno  # where a syntax error is, in a text of several lines
        field = format_path(self.path)
        super().__init__(f"{field}: {message}" if field else message, field=field or "body", **extra)


class _Refused(Exception):
    """Raised by a parse hook: the reason, located afterwards."""


class _Repeated(Exception):
    """Raised by the object hook on a key repeated in one object."""


def _object(pairs: list[tuple[str, Any]]) -> dict:
    """An object from its (key, value) pairs, refusing a repeated key (the C scanner builds the list; one call
    and one dict per object, a few microseconds on a worker's answer)."""
    value = dict(pairs)
    if len(value) != len(pairs):
        raise _Repeated
    return value


class _RepeatedIn(dict):
    """An object of the locating parse; `repeated` is its first repeated key."""

    repeated: str | None = None


def _marked(pairs: list[tuple[str, Any]]) -> dict:
    value = _RepeatedIn(pairs)
    seen: set[str] = set()
    for key, _ in pairs if len(value) != len(pairs) else ():
        if key in seen:
            value.repeated = key
            break
        seen.add(key)
    return value


class _Bad:
    """Stands for a refused number in the locating parse."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def format_path(path: Iterable[str | int]) -> str:
    """`data.responses[0].text`; a key that is not a plain name is quoted (escaped: never a raw NUL)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][\w-]*", part):
            out += f".{part}" if out else part
        else:
            out += "[" + json.dumps(part) + "]"
    return out


def text_problem(value: str) -> str | None:
    """Why neither database can store this string, or None."""
    found = _BAD_CHAR.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (\\u0000), which cannot be stored"
    return f"contains a lone surrogate (\\u{ord(found.group()):04x}), which is not Unicode text"


def check_text(value: str, field: str) -> str:
    """A form field, header or argument: refuse what neither database can store."""
    problem = text_problem(value)
    if problem is not None:
        raise InvalidInput(f"{field} {problem}", field=field)
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _Refused(f"{literal} is too large for a number")
    return value + 0.0  # -0.0 becomes 0.0


_INT_WORDS = f"integers must be within +/-{INT_LIMIT} (64 bits); send larger numbers as strings"


def _int(literal: str) -> int:
    if len(literal) > 20:
        raise _Refused(_INT_WORDS)
    value = int(literal)
    if abs(value) > INT_LIMIT:
        raise _Refused(_INT_WORDS)
    return value


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """True when a JSON text nests arrays and objects deeper than `limit` (strings skipped), found without parsing."""
    return raw.count(b"[") + raw.count(b"{") > limit and depth(raw, stop_above=limit) > limit


def depth(raw: bytes, stop_above: int | None = None) -> int:
    """The deepest nesting of arrays and objects in a JSON text (UTF-8), strings skipped, without parsing it.

    Escaped backslashes and quotes go first; then everything but brackets and quotes. Quotes then alternate,
    opening and closing strings, and removing two adjacent ones keeps that so: they are an empty string, or the
    end of one string and the start of the next with only brackets of neither between them (none). What is
    left in quotes after that is the rare string holding brackets.
    """
    for escape in _ESCAPES:
        raw = raw.replace(escape, b"")
    skeleton = raw.translate(None, _STRUCTURE).replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = _STRING.sub(b"", skeleton).replace(b'"', b"")  # an unterminated string: invalid anyway
    deepest = level = 0
    for start in range(0, len(skeleton), _SCAN_CHUNK):  # a chunk at a time: stop as soon as it is too deep
        levels = list(itertools.accumulate(map(_STEP.__getitem__, skeleton[start:start + _SCAN_CHUNK]),
                                           initial=level))
        level, deepest = levels[-1], max(deepest, max(levels))
        if stop_above is not None and deepest > stop_above:
            break
    return deepest


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JsonError(f"not UTF-8 text (byte {exc.start})") from None


def _risky_numbers(raw: bytes) -> bool:
    """True when a number may overflow or be a negative zero (strings may raise false alarms: only slower)."""
    shapes = raw.translate(_NUMBER_SHAPES)
    # 19 digits may overflow 64 bits; a three-digit exponent may overflow a float; then a negative zero.
    # Spelled out rather than any() over tuples: every request body asks, and this is a third of the time.
    return (b"0" * 19 in shapes or b"e000" in shapes or b"e+000" in shapes or b"e-000" in shapes
            or b"-0." in raw or b"-0e" in raw or b"-0E" in raw)


_STRICT = {"parse_constant": _constant, "parse_float": _float, "parse_int": _int}
# Built once: json.loads with hooks builds a decoder (and its scanner) on every call.
_STRICT_DECODER = json.JSONDecoder(**_STRICT, object_pairs_hook=_object)
_DECODER = json.JSONDecoder(parse_constant=_constant, object_pairs_hook=_object)


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH, **extra: object) -> Any:
    """Parse a JSON text (bytes as UTF-8) that both databases can store; JsonError (an InvalidInput) if not.

    `extra` goes into the error (e.g. `line=3`).
    """
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    if too_deep(raw, max_depth):
        raise JsonError(f"nested deeper than {max_depth} levels of arrays and objects", **extra)
    text = _decode(data)
    decoder = _STRICT_DECODER if _risky_numbers(raw) else _DECODER
    try:
        if text.startswith("\ufeff"):  # what json.loads says of a text that still starts with a BOM
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        try:
            value = decoder.decode(text)
        except _Refused:
            _locate_number(text, extra)
            raise AssertionError("unreachable") from None
        except _Repeated:  # met as its object closed: the text may still be broken further on
            _locate_repeated(text, extra)
            raise AssertionError("unreachable") from None
    except json.JSONDecodeError as exc:
        raise _syntax_error(exc, text, extra) from None
    except RecursionError:  # cannot happen under max_depth; kept so that it can never become a 500
        raise JsonError(f"nested deeper than {max_depth} levels of arrays and objects", **extra) from None
    if _RISKY_ESCAPE.search(raw) or (isinstance(data, str) and _BAD_CHAR.search(data)):
        check_strings(value, **extra)
    return value


def _locate_number(text: str, extra: dict) -> None:
    """Parse again keeping the refused numbers as markers, and raise naming the first one's path."""

    def marker(hook: Any) -> Any:
        def keep(literal: str) -> Any:
            try:
                return hook(literal)
            except _Refused as exc:
                return _Bad(str(exc))
        return keep

    value = json.loads(text, **{name: marker(hook) for name, hook in _STRICT.items()})
    for path, item in _walk(value):
        if isinstance(item, _Bad):
            raise JsonError(item.reason, path, **extra)


def _syntax_error(exc: json.JSONDecodeError, text: str, extra: dict) -> JsonError:
    """The error for a text that is not JSON: where, in words the caller's own line number does not contradict."""
    if "\n" in text.rstrip("\r\n"):
        where = f"at line {exc.lineno} column {exc.colno}"
    else:  # one line (a JSON Lines line, whose number the caller gives): a second line number would mislead
        where = f"at column {exc.colno}" if exc.lineno == 1 else "at the end of the line"
    # Some of json's messages end in "at" ("Unterminated string starting at"): said once, not "at at column 9".
    what = exc.msg[:-3] if exc.msg.endswith(" at") else exc.msg
    return JsonError(f"not valid JSON ({what} {where})", lineno=exc.lineno, **extra)


def _locate_repeated(text: str, extra: dict) -> None:
    """Parse again marking objects with a repeated key, and raise naming the first one's path."""
    value = json.loads(text, object_pairs_hook=_marked,
                       **{name: (lambda literal: None) for name in _STRICT})  # numbers were not the problem
    for path, item in _walk(value):
        if isinstance(item, _RepeatedIn) and item.repeated is not None:
            raise JsonError(f"the key {item.repeated!r} appears more than once in one object; send it once",
                            [*path, item.repeated], **extra)


def check_strings(value: Any, **extra: object) -> None:
    """Refuse a parsed value holding a string (key or value) neither database can store, naming its path."""
    for path, item in _walk(value):
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                raise JsonError(problem, path, **extra)
        elif isinstance(item, dict):
            for key in item:
                problem = text_problem(key)
                if problem is not None:
                    raise JsonError(f"a key {problem}", [*path, key], **extra)


def _walk(value: Any, path: tuple = ()) -> Iterable[tuple[list, Any]]:
    """Every value with its path, depth first (the depth is bounded by MAX_DEPTH)."""
    yield list(path), value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


# orjson writes what the standard library writes (compact, UTF-8 kept) for strings, integers, booleans, null,
# objects with string keys and arrays; not floats (1e16 against 1e+16; NaN as null), nor integers past 64 bits, nor
# other types (dataclasses, dates: the standard library refuses them). Those go to the standard library.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def _not_for_orjson(value: Any) -> Any:
    raise TypeError


_FLOAT_SHAPES = bytes.maketrans(b"123456789.E", b"000000000ee")  # a float: "0e" (digits as 0, "." and "E" as "e")


def _float_or_null(text: bytes) -> bool:
    """Whether orjson's text may hold a float: every float it writes is a digit then "." or "e", and NaN is null (a
    string that looks so only costs the slow way). Plain searches: a regular expression took ten times as long."""
    return b"0e" in text.translate(_FLOAT_SHAPES) or b"null" in text


def compact(value: Any, allow_nan: bool = True) -> str:
    """`json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=allow_nan)`, the same text, written by
    orjson when the value holds no float (about a tenth of the time: an import encodes every task twice). For JSON's
    own values (what the strict reader gives: dicts, lists, strings, numbers, booleans, None): orjson also writes a
    UUID or a plain Enum, which the standard library refuses, and no caller passes one."""
    try:
        text = orjson.dumps(value, default=_not_for_orjson, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError too: a type, an integer or a string (a lone surrogate) it will not write
        text = None
    if text is not None and not _float_or_null(text):
        return text.decode("utf-8")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=allow_nan)


def dumps(value: Any) -> str:
    """Compact JSON text as stored (UTF-8 kept, no NaN)."""
    return compact(value, allow_nan=False)


def size(value: Any) -> int:
    """The size in bytes of a value's stored JSON text (the measure of the size caps)."""
    return len(dumps(value).encode("utf-8"))
