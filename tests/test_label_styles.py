"""Default label colours (labeling/label_styles.py): pure, plain data."""

from __future__ import annotations

from labeling import label_styles


def _colors(labels: list[str], styles: dict | None = None) -> dict[str, str]:
    return {s["name"]: s["color"] for s in label_styles.effective(labels, styles)}


def test_sentiment_and_polarity_names_get_the_colours_people_expect():
    green, red, grey = "#009e73", "#b2182b", "#4d4d4d"
    assert _colors(["positive", "negative", "neutral"]) == {"positive": green, "negative": red, "neutral": grey}
    assert _colors(["neu", "neg", "pos"]) == {"neu": grey, "neg": red, "pos": green}
    assert _colors(["Yes", "No", "Other"]) == {"Yes": green, "No": red, "Other": grey}


def test_colours_stay_distinct_within_a_project():
    # Two names for one polarity, or a polarity colour another label was given: the later one gets a default.
    for labels, styles in ((["pos", "positive", "neg"], None),
                           (["positive", "negative", "ok"], {"ok": {"color": "#009E73"}})):
        colors = _colors(labels, styles)
        assert len(set(colors.values())) == len(labels), colors


def test_other_names_keep_their_colours():
    # The colours these names had before polarity names got theirs (by the hash of the name).
    assert _colors(["cat", "dog", "bird"]) == {"cat": "#cc79a7", "dog": "#0072b2", "bird": "#d55e00"}
    assert _colors(["red", "plain"])["red"] == label_styles.NAMED["red"]


def test_text_on_any_label_colour_reads_at_wcag_aa():
    """Label names and span tags sat in #111111 on the palette's green (4.47:1) and teal (4.18:1)."""
    def ratio(a: str, b: str) -> float:
        high, low = sorted((label_styles.luminance(a), label_styles.luminance(b)), reverse=True)
        return (high + 0.05) / (low + 0.05)

    sweep = [f"#{r:x}{g:x}{b:x}" for r in range(16) for g in range(16) for b in range(16)]
    for color in [*label_styles.PALETTE, *label_styles.NAMED.values(), *sweep]:
        assert ratio(label_styles.text_on(color), color) >= 4.5, color


def test_every_label_gets_an_edge_that_stands_3_to_1_on_white():
    """The worker UI draws a label's stripe, underline and outline in its edge colour; the server chooses it (the
    page darkened each colour in JS on every painted node). White and yellow labels left no mark on the page."""
    def on_white(color: str) -> float:
        return 1.05 / (label_styles.luminance(color) + 0.05)

    sweep = [f"#{r:x}{g:x}{b:x}" for r in range(16) for g in range(16) for b in range(16)]
    for color in [*label_styles.PALETTE, *label_styles.NAMED.values(), *sweep]:
        edge = label_styles.edge_on_white(color)
        assert on_white(edge) >= 3, (color, edge)
    for color in label_styles.PALETTE:  # already 3:1: kept as they are
        assert label_styles.edge_on_white(color) == color
    styles = label_styles.effective(["snow", "cat"], {"snow": {"color": "#fff"}})
    assert styles[0]["edge_color"] != "#ffffff" and on_white(styles[0]["edge_color"]) >= 3
    assert styles[1]["edge_color"] == styles[1]["color"]
