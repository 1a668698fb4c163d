"""Project instructions: a small, safe Markdown subset rendered to HTML (escape first, then add tags)."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_HEADING = re.compile(r"^(#{1,3})\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_CODE = re.compile(r"`([^`\n]+)`")
# No span may hold its own opening mark (a bold's `**`, a link's `[` or an address's `(`): each attempt then stops at
# the next one, so a line of unclosed marks (`**a **a ...`, `[[[...`) is read in linear time, not quadratic (a
# 100,000-character instructions text of them held the server for minutes on every labeling page).
_BOLD = re.compile(r"\*\*(?=\S)((?:[^*]|\*(?!\*))+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])[*_](?=\S)([^*_\n]+?)(?<=\S)[*_](?![\w*])")
_LINK = re.compile(r"\[([^\[\]\n]+)\]\((https?://[^()\s]+)\)")
_KEPT = re.compile(r"\x00(\d+)\x00")  # a placeholder of a span kept from the other rules


def _emphasis(text: str) -> str:
    return _ITALIC.sub(r"<em>\1</em>", _BOLD.sub(r"<strong>\1</strong>", text))


def _inline(escaped: str) -> str:
    """Inline spans over already-escaped text; code spans and link addresses are protected from the other rules
    (a ** or _ in an address stays in it, not a tag inside the href)."""
    kept: list[str] = []

    def keep(html: str) -> str:
        kept.append(html)
        return f"\x00{len(kept) - 1}\x00"

    text = _CODE.sub(lambda m: keep(f"<code>{m.group(1)}</code>"), escaped)
    text = _LINK.sub(lambda m: keep(f'<a href="{m.group(2)}" rel="noopener noreferrer" target="_blank">'
                                    f"{_emphasis(m.group(1))}</a>"), text)

    def put_back(match: re.Match[str]) -> str:  # a link's text may hold a code span: put back in it too
        return _KEPT.sub(put_back, kept[int(match.group(1))])

    return _KEPT.sub(put_back, _emphasis(text))


def render(source: str | None, top: int = 3) -> Markup:
    """Headings, paragraphs, bullet and numbered lists, **bold**, *italic*, `code` and http(s) links.

    A `#` heading is an h`top` (the labeling page's instructions sit under its h2 "Instructions"), `##` one level
    deeper, and so on; no heading is more than one level deeper than the one before it (a text that starts with
    `###`, or goes from `#` to `###`, skipped levels: a screen reader's outline of the page had holes). Each heading's
    class says its depth in the text, which sets its size wherever it is shown."""
    blocks: list[str] = []
    depth = 0  # the depth of the last heading in the text (1 for the top level)
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            blocks.append("<p>" + "<br>".join(paragraph) + "</p>")
            paragraph.clear()
        if items:
            blocks.append(f"<{list_tag}>" + "".join(f"<li>{i}</li>" for i in items) + f"</{list_tag}>")
            items.clear()
            list_tag = ""

    for raw in (source or "").replace("\r\n", "\n").split("\n"):
        line = _inline(str(escape(raw.rstrip().replace("\x00", "\ufffd"))))  # NUL marks kept spans
        heading, bullet, numbered = _HEADING.match(line), _BULLET.match(line), _NUMBERED.match(line)
        if not line.strip():
            flush()
        elif heading:
            flush()
            depth = min(len(heading.group(1)), depth + 1)
            level = min(top + depth - 1, 6)
            blocks.append(f'<h{level} class="md-h{depth}">{heading.group(2)}</h{level}>')
        elif bullet or numbered:
            tag = "ul" if bullet else "ol"
            if paragraph or (items and list_tag != tag):
                flush()
            list_tag = tag
            items.append((bullet or numbered).group(1))  # type: ignore[union-attr]
        elif items:
            items[-1] += " " + line.strip()  # a continuation line of the last item
        else:
            paragraph.append(line)
    flush()
    return Markup("\n".join(blocks))
