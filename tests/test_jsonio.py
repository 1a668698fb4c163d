"""The one JSON reader (pure): what it refuses, where it says the problem is, and that it never recurses."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json

import pytest

from labeling import jsonio


@pytest.mark.parametrize("text,field,words", [
    ("[1, NaN]", "[1]", "NaN"),
    ('{"options": {"a": Infinity}}', "options.a", "Infinity"),
    ('{"x": -Infinity}', "x", "-Infinity"),
    ('{"x": [1e999]}', "x[0]", "too large"),
    ("1E+400", "body", "too large"),
    ('{"n": 9223372036854775808}', "n", "64 bits"),
    ('{"n": -9223372036854775808}', "n", "64 bits"),
    ('{"n": ' + "9" * 5000 + "}", "n", "64 bits"),
    ('{"a": {"b c": "x\\u0000"}}', 'a["b c"]', "NUL"),
    ('{"a\\u0000": 1}', '["a\\u0000"]', "key"),
    ('["\\ud800"]', "[0]", "surrogate"),
    ('{"t": "\\udfff tail"}', "t", "surrogate"),
    ('{"t": "\\ude00\\ud83d"}', "t", "surrogate"),  # the pair the wrong way round is two lone halves
])
def test_refused_values_are_named_by_their_path(text, field, words):
    with pytest.raises(jsonio.JsonError) as exc:
        jsonio.loads(text.encode())
    assert exc.value.field == field and words in exc.value.message, (exc.value.field, exc.value.message)


@pytest.mark.parametrize("depth", [65, 1000, 100_000, 1_000_000])
def test_deep_nesting_is_refused_before_parsing(depth):
    for text in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth, "[" * depth):
        with pytest.raises(jsonio.JsonError) as exc:
            jsonio.loads(text.encode())
        assert "nested deeper than 64" in exc.value.message


def test_nesting_up_to_the_limit_and_brackets_in_strings_are_fine():
    assert jsonio.loads(("[" * 64 + "]" * 64).encode()) is not None
    text = json.dumps({"a": "[[[[" * 100, "b": ["]]]" * 50, '"{{{{', "\\[[["], "c": '\\"' + "{" * 80})
    assert jsonio.loads(text.encode()) == json.loads(text)
    assert jsonio.depth(text.encode()) == 2
    assert jsonio.depth(b'["\\\\", [[["\\\\\\"[["]]]]') == 4


def test_what_is_kept():
    assert jsonio.loads(b'{"e": "\\ud83d\\ude00", "z": -0.0, "i": -0, "big": 9223372036854775807, "s": 1e-999}') == {
        "e": "\U0001F600", "z": 0.0, "i": 0, "big": 9223372036854775807, "s": 0.0}
    assert str(jsonio.loads(b"[-0.0]")[0]) == "0.0"
    assert jsonio.loads("\ufeff[1]".encode()) == [1]  # a byte order mark is skipped


def test_text_that_is_not_utf8_or_not_json():
    for raw in (b'"\xed\xa0\x80"', b"\xff", b"{", b"[1,]", b"", b"nul"):
        with pytest.raises(jsonio.JsonError):
            jsonio.loads(raw)
    with pytest.raises(jsonio.JsonError) as exc:
        jsonio.loads('["a", "\ud800"]')  # a Python string may hold a surrogate without any escape
    assert exc.value.field == "[1]"


@pytest.mark.parametrize("raw, words", [
    (b'{"text": "no closing quote}', "not valid JSON (Unterminated string starting at column 10)"),
    (b'{"text": "a\tb"}', "not valid JSON (Invalid control character at column 12)"),
    (b'{"text": "a",\n "b": "\tx"}', "not valid JSON (Invalid control character at line 2 column 8)"),
])
def test_a_syntax_error_says_where_once(raw: bytes, words: str) -> None:
    """json's own words may end in "at": the console said "Invalid control character at at column 33"."""
    with pytest.raises(jsonio.JsonError) as exc:
        jsonio.loads(raw)
    assert str(exc.value) == words


def test_extra_detail_goes_into_the_error():
    with pytest.raises(jsonio.JsonError) as exc:
        jsonio.loads(b'{"a": NaN}', line=7)
    assert exc.value.extra == {"line": 7} and exc.value.path == ["a"]


def test_check_text_and_sizes():
    assert jsonio.check_text("fine", "username") == "fine"
    with pytest.raises(jsonio.InvalidInput) as exc:
        jsonio.check_text("a\x00", "username")
    assert exc.value.field == "username"
    assert jsonio.size({"a": "é"}) == len('{"a":"é"}'.encode())


@pytest.mark.parametrize("text,field,key", [
    ('{"label": "a", "label": "b"}', "label", "label"),
    ('{"answer": {"label": "a", "x": 1, "label": "a"}}', "answer.label", "label"),
    ('[{"data": {"text": "t"}}, {"data": {"text": "t", "text": "u"}}]', "[1].data.text", "text"),
    ('{"a": {"b": 1}, "a": {"b": 2}}', "a", "a"),
    ('{"o": {"odd key": 1, "odd key": [2]}}', 'o["odd key"]', "odd key"),
])
def test_a_key_repeated_in_one_object_is_refused_naming_it(text: str, field: str, key: str) -> None:
    with pytest.raises(jsonio.JsonError) as err:
        jsonio.loads(text)
    assert err.value.field == field and repr(key) in err.value.message and "more than once" in err.value.message


def test_the_same_key_in_different_objects_is_fine() -> None:
    assert jsonio.loads('[{"a": 1, "b": {"a": 2}}, {"a": 3}]') == [{"a": 1, "b": {"a": 2}}, {"a": 3}]


@pytest.mark.parametrize("text", ['[{"a":1,"a":2}, ', '{"a":1,"a":2} x', '[{"a":1,"a":2}]]', '[{"a":1,"a":2},{"b":[1,2,}]',
                                  '[1e999, {"a": 1,]'])
def test_a_repeated_key_or_a_refused_number_in_a_broken_text_is_a_syntax_error(text: str) -> None:
    # The repeat (or the number) is met first, and locating it parses the text again, which then breaks.
    with pytest.raises(jsonio.JsonError, match="not valid JSON"):
        jsonio.loads(text)


class _Label(enum.IntEnum):
    A = 1


class _Text(str):
    pass


@dataclasses.dataclass
class _Point:
    x: int


@pytest.mark.parametrize("value", [
    {"text": "plain"}, {"text": "é ü \u2028 \u2029 \x7f \x1f \n \t \" \\ / 😀"}, {"k": [True, False, None, 0, -7]},
    [1.5], {"a": 1e16}, {"a": 1e-7}, {"a": 2.5e300}, {"a": 5e-324}, {"a": -0.0}, {"a": 100.0}, {"a": float("nan")},
    {"a": float("inf")}, {"n": 2**63}, {"n": 2**64}, {"n": -2**63 - 1}, {"n": 10**30}, {1: "int key"},
    {True: "bool key"}, {None: "null key"}, {"s": "\ud800"}, (1, "tuple"), {"e": _Label.A}, {"t": _Text("sub")},
    {"nested": {"b": [{"c": "1.5e3 null 0.5"}]}}, "1.0", 12, None,
])
def test_compact_writes_what_the_standard_library_writes(value):
    """compact (orjson where it writes the same) gives json.dumps's compact text byte for byte, or its error: floats,
    integers past 64 bits, keys that are not strings, lone surrogates and subclasses all go the standard library's
    way. Stored JSON (both databases) and the task size cap read this text."""
    assert jsonio.compact(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        with pytest.raises(ValueError):
            jsonio.dumps(value)
    else:
        assert jsonio.dumps(value) == expected


@pytest.mark.parametrize("value", [{"p": _Point(1)}, {"d": datetime.date(2026, 1, 1)}, {"b": b"bytes"}, {1, 2}])
def test_compact_refuses_what_the_standard_library_refuses(value):
    """orjson writes dataclasses and dates; the standard library refuses them, and so does compact."""
    with pytest.raises(TypeError):
        json.dumps(value)
    with pytest.raises(TypeError):
        jsonio.compact(value)
