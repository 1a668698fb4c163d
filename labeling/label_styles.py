"""How labels look in the worker UI: each label's colour (its own, or a default chosen by its name) and hotkey.

Pure: no database, no web. The default palette starts from the Okabe-Ito set (told apart with the common
colour-vision deficiencies), darkened where needed so a stripe or an outline in it stands 3:1 against white; a
label whose name is a colour word gets that colour, so "red" is never shown blue, and the common sentiment and
polarity names get the colour people expect (positive green, negative red, neutral grey). A default is chosen by the
label's name, not its place (the labels after it keep theirs when one is added), preferring a hue family no
earlier label has. Text on a label's colour is black or white, whichever contrasts more.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any, Iterable, Mapping

# (colour, hue family): blue, orange-red, green, purple-pink, gold-brown, grey.
FAMILIES = (("#0072b2", 0), ("#d55e00", 1), ("#009e73", 2), ("#cc79a7", 3), ("#8a6d00", 4), ("#5d3a9b", 3),
            ("#00838f", 0), ("#b2182b", 1), ("#4e8a0e", 2), ("#a6761d", 4), ("#e7298a", 3), ("#4d4d4d", 5))
PALETTE = tuple(color for color, _ in FAMILIES)
NAMED = {
    "red": "#d62728", "green": "#2ca02c", "blue": "#1f66d1", "yellow": "#e6c300", "orange": "#ff7f0e",
    "purple": "#8e44ad", "violet": "#8e44ad", "pink": "#e377c2", "magenta": "#c2185b", "brown": "#8c564b",
    "black": "#222222", "white": "#f4f4f4", "grey": "#8a8a8a", "gray": "#8a8a8a", "cyan": "#17becf",
    "teal": "#00897b", "gold": "#d4a017", "navy": "#1f3a93",
}

# Sentiment and polarity names: their colour (from the palette, with its hue family) unless a label before them, or
# one given that colour, has it already.
POLARITY = {
    **dict.fromkeys(("positive", "pos", "yes"), ("#009e73", 2)),
    **dict.fromkeys(("negative", "neg", "no"), ("#b2182b", 1)),
    **dict.fromkeys(("neutral", "neu", "other"), ("#4d4d4d", 5)),
}


def _slot(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.lower().encode(), digest_size=4).digest(), "big") % len(PALETTE)


def _default(name: str, taken: set[str], families: set[int]) -> str:
    """The name's own slot of the palette, or the next one of a hue family not used yet, else the next free one."""
    slot = _slot(name)
    order = [FAMILIES[(slot + step) % len(FAMILIES)] for step in range(len(FAMILIES))]
    for color, family in order:
        if color not in taken and family not in families:
            families.add(family)
            return color
    return next((color for color, _ in order if color not in taken), order[0][0])


def expand(color: str) -> str:
    """#rgb as #rrggbb, lower case."""
    color = color.lower()
    return "#" + "".join(c * 2 for c in color[1:]) if len(color) == 4 else color


def luminance(color: str) -> float:
    """WCAG relative luminance of #rgb or #rrggbb."""
    rgb = [int(expand(color)[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    return sum(w * (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
               for w, c in zip((0.2126, 0.7152, 0.0722), rgb))


def text_on(color: str) -> str:
    """Black or white text, whichever contrasts more with `color`: at least 4.58:1 on any colour, WCAG AA (a near
    black, #111111, fell under 4.5:1 on mid tones such as the palette's green and teal)."""
    lum = luminance(color)
    return "#000000" if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else "#ffffff"


@functools.lru_cache(maxsize=4096)  # a pure function of the colour, asked for every label of every page shown
def edge_on_white(color: str) -> str:
    """`color` darkened (scaled towards black in steps of 2%) until it stands 3:1 against white (WCAG 1.4.11), as
    #rrggbb: a stripe, an outline or an underline drawn in it is seen on the page. The default palette is so already;
    a colour a requester gave may not be (a white or yellow label left no mark at all)."""
    rgb = [int(expand(color)[i:i + 2], 16) for i in (1, 3, 5)]
    for step in range(51):
        scaled = [round(v * (1 - step / 50)) for v in rgb]
        shade = "#" + "".join(f"{v:02x}" for v in scaled)
        if 1.05 / (luminance(shade) + 0.05) >= 3:
            return shade
    return "#000000"


def effective(labels: Iterable[str], styles: Mapping[str, Mapping[str, Any]] | None) -> list[dict]:
    """Every label with the colours and hotkey the worker UI shows: [{name, color, text_color, edge_color, hotkey}]:
    its own colour, the text that reads on it, and the colour its marks on the white page are drawn in."""
    styles = styles or {}
    names = list(labels)
    taken = {expand(styles[n]["color"]) for n in names if (styles.get(n) or {}).get("color")}
    families: set[int] = set()
    out = []
    for name in names:
        style = styles.get(name) or {}
        color = style.get("color")
        word = name.strip().lower()
        polar = POLARITY.get(word)
        if color:
            color = expand(color)
        elif word in NAMED:
            color = NAMED[word]
        elif polar is not None and polar[0] not in taken:
            color, family = polar
            families.add(family)
        else:
            color = _default(name, taken, families)
        taken.add(color)
        out.append({"name": name, "color": color, "text_color": text_on(color), "edge_color": edge_on_white(color),
                    "hotkey": style.get("hotkey")})
    return out


def as_sent(labels: Iterable[str], styles: Mapping[str, Mapping[str, Any]] | None) -> list[str | dict]:
    """The labels as the requester gave them: plain names, or objects for those given with a colour or hotkey."""
    styles = styles or {}
    return [{"name": name, **styles[name]} if name in styles else name for name in labels]
