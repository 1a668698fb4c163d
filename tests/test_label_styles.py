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
