"""How labels look in the worker UI: each label's colour (its own, or a default chosen by its name) and hotkey.

Pure: no database, no web. The default palette is the Okabe-Ito set (told apart with the common colour-vision
deficiencies) and a few more of the same weight; a label whose name is a colour word gets that colour, so "red"
is never shown blue. A default is chosen by the label's name, not its place, and the labels after it keep theirs
when one is added. Text on a label's colour is black or white, whichever contrasts more.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterable, Mapping

PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7a5195", "#a6761d", "#f0e442",
           "#66a61e", "#b2182b", "#4d4d4d")
NAMED = {
    "red": "#d62728", "green": "#2ca02c", "blue": "#1f66d1", "yellow": "#f0e442", "orange": "#ff7f0e",
    "purple": "#8e44ad", "violet": "#8e44ad", "pink": "#e377c2", "magenta": "#c2185b", "brown": "#8c564b",
    "black": "#222222", "white": "#f4f4f4", "grey": "#8a8a8a", "gray": "#8a8a8a", "cyan": "#17becf",
    "teal": "#00897b", "gold": "#d4a017", "navy": "#1f3a93",
}


def _slot(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.lower().encode(), digest_size=4).digest(), "big") % len(PALETTE)


def expand(color: str) -> str:
    """#rgb as #rrggbb, lower case."""
    color = color.lower()
    return "#" + "".join(c * 2 for c in color[1:]) if len(color) == 4 else color


def text_on(color: str) -> str:
    """Black or white text, whichever contrasts more with `color` (WCAG relative luminance)."""
    rgb = [int(expand(color)[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lum = sum(w * (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
              for w, c in zip((0.2126, 0.7152, 0.0722), rgb))
    return "#111111" if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else "#ffffff"


def effective(labels: Iterable[str], styles: Mapping[str, Mapping[str, Any]] | None) -> list[dict]:
    """Every label with the colour, text colour and hotkey the worker UI shows: [{name, color, text_color, hotkey}]."""
    styles = styles or {}
    names = list(labels)
    taken = {expand(styles[n]["color"]) for n in names if (styles.get(n) or {}).get("color")}
    out = []
    for name in names:
        style = styles.get(name) or {}
        color = style.get("color")
        if color:
            color = expand(color)
        elif name.strip().lower() in NAMED:
            color = NAMED[name.strip().lower()]
        else:
            slot = _slot(name)  # the name's own slot, or the next one free, so two labels rarely share a colour
            for step in range(len(PALETTE)):
                color = PALETTE[(slot + step) % len(PALETTE)]
                if color not in taken:
                    break
        taken.add(color)
        out.append({"name": name, "color": color, "text_color": text_on(color), "hotkey": style.get("hotkey")})
    return out


def as_sent(labels: Iterable[str], styles: Mapping[str, Mapping[str, Any]] | None) -> list[str | dict]:
    """The labels as the requester gave them: plain names, or objects for those given with a colour or hotkey."""
    styles = styles or {}
    return [{"name": name, **styles[name]} if name in styles else name for name in labels]
