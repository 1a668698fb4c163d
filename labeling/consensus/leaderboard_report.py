"""Render a leaderboard.compute result: a Markdown table and PNG charts (matplotlib, headless Agg backend)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import unicodedata
from pathlib import Path
from typing import Any, Iterator

from labeling import files
from labeling.export import archive
from labeling.errors import InvalidInput

CHART_MODELS = 60  # the charts draw at most this many models (the highest rated); the JSON and table have them all
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# What could end a cell, or make a name a link, code, emphasis, strikethrough, HTML or a character reference
# (`&lt;b&gt;` showed as `<b>`, `_x_` as an italic x, `~~x~~` struck through, `$x$` as math on GitHub).
_MARKUP = re.compile(r"[\\|`*_~$\[\]<>&]")
_LINE_START = re.compile(r"^(?:[#>+=-]|\d+(?=[.)]))")  # a heading, quote, list or setext underline at a line's start
_RIGHT_TO_LEFT = {"R", "AL", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
_ISOLATE_OPEN, _ISOLATE_CLOSE = "\u2066\u2067\u2068", "\u2069"


def isolated(text: str) -> str:
    """A name between bidi isolates (FSI ... PDI) when it holds right-to-left letters or bidi controls, so an
    unclosed override in it (U+202E) cannot reverse the numbers and words written after it on the same line
    ("1032" read as "2301"); the name itself is shown as written. Its own unmatched isolate marks are balanced."""
    if not any(unicodedata.bidirectional(ch) in _RIGHT_TO_LEFT for ch in text):
        return text
    depth = unmatched = 0
    for ch in text:
        if ch in _ISOLATE_OPEN:
            depth += 1
        elif ch == _ISOLATE_CLOSE:
            depth, unmatched = (depth - 1, unmatched) if depth else (depth, unmatched + 1)
    return "\u2068" * (1 + unmatched) + text + _ISOLATE_CLOSE * (1 + depth)


def _md(text: Any, line_start: bool = False) -> str:
    """Text for a Markdown table cell or line: control characters (line breaks) as spaces, and the characters
    that could end a cell or turn a name into a link, code, emphasis or HTML escaped with a backslash (at the
    start of a line also those of a heading, quote or list), so a model or project name shows as it is written."""
    out = _MARKUP.sub(r"\\\g<0>", _CONTROL.sub(" ", str(text)))
    return isolated(_LINE_START.sub(r"\\\g<0>", out) if line_start else out)


def _tick(name: str, width: int = 40) -> str:
    """A model name as a chart label: one line, at most `width` characters."""
    name = _CONTROL.sub(" ", name)
    return name if len(name) <= width else name[: width - 1] + "\u2026"


def _interval(ci: list[float] | None) -> str:
    """'lo to hi', or a dash."""
    return "-" if not ci else f"{ci[0]:.0f} to {ci[1]:.0f}"


def markdown(result: dict[str, Any]) -> str:
    """The leaderboard as Markdown: one table of models, then position bias and the run's settings."""
    ratings = result.get("ratings") or {}
    lines = ["| rank | model | rating | 95% interval | battles | wins | ties | losses | mean rating |",
             "|---|---|---|---|---|---|---|---|---|"]
    for m in result["models"]:
        mean = ratings.get(m["model"])
        shown = "-" if not mean else f"{mean['mean']:.2f}" + (
            f" ({mean['ci'][0]:.2f} to {mean['ci'][1]:.2f})" if mean["ci"] else "")
        lines.append(f"| {m['rank']} | {_md(m['model'])} | {m['rating']:.0f} | {_interval(m['ci'])} | {m['battles']} | "
                     f"{m['wins']:g} | {m['ties']} | {m['losses']:g} | {shown} |")
    lines.append("")
    if result["models"] and not any(m["ci"] for m in result["models"]):
        lines.append("No intervals (no resamples, or a single prompt): the models share rank 1.")
    lines.append(_bias_line("Position bias", result["position_bias"]))
    adv = result.get("position_advantage")
    if adv:
        ci = f"95% interval {adv['ci'][0]:+.0f} to {adv['ci'][1]:+.0f}" if adv["ci"] else "no bootstrap"
        lines.append(f"Fitted first-shown advantage: {adv['elo']:+.0f} rating points ({ci}); ratings are net of it.")
    s = result["settings"]
    lines.append(f"\n{s['battles']} battles from {s['answers']} answers on {s['prompts']} prompts; ratings "
                 f"{s['scale']}, centred on the {_md(s['anchor'])}; intervals: {s['interval']}, {s['n_bootstrap']} "
                 "resamples; rank = 1 + the number of models whose interval lies entirely above.")
    projects = result.get("projects") or []
    for project in projects:
        out = project["left_out"]
        lines.append(f"\nProject {_md(project['name'])} (id {project['id']}): {project['answers']} answers, "
                     f"{project['battles']} battles; not counted: {out['gold_tasks']} answers on gold tasks, "
                     f"{out['excluded']} excluded, {out['blocked_workers']} of workers blocked in the project.")
        if len(projects) > 1:
            lines.append(_bias_line("Its position bias", project["position_bias"]))
    for field_name, values in result.get("breakdown", {}).items():
        for value, part in values.items():
            lines.append(f"\n{_md(field_name, line_start=True)} = {_md(value)} ({part['battles']} battles): " + ", ".join(
                f"{m['rank']}. {_md(m['model'])} {m['rating']:.0f} ({_interval(m['ci'])})" for m in part["models"]))
        if result.get("breakdown_notes", {}).get(field_name):
            lines.append(f"({result['breakdown_notes'][field_name]}.)")
    return "\n".join(lines) + "\n"


def _bias_line(title: str, bias: dict[str, Any]) -> str:
    """Position bias in one sentence, with how many answers had no display order."""
    if not bias["available"]:
        return f"{title}: not measured. {bias['message'][0].upper()}{bias['message'][1:]}."
    rate = bias["first_win_rate"]
    shown = "-" if rate is None else f"{rate:.1%}"
    ci = bias["ci"]
    interval = (f"95% interval {ci[0]:.1%} to {ci[1]:.1%}, design effect {bias['design_effect']:.2f} over "
                f"{bias['prompts']} prompts" if ci else "no interval")
    line = (f"{title}: the response shown first won {shown} of {bias['battles'] - bias['ties']} decided battles "
            f"({interval}; 50% is no bias), {bias['ties']} ties, from the {bias['answers_with_order']} of "
            f"{bias['answers']} answers that recorded the display order.")
    return line + (f" {bias['message'][0].upper()}{bias['message'][1:]}." if bias.get("message") else "")


REPORT_FILES = ("leaderboard.json", "leaderboard.md", "ratings.png", "win_rates.png")


def check_output(out_dir: str, force: bool = False) -> None:
    """Refuse an -o that names a file before any work is done (the table was printed, then "File exists"), a report
    file there that is a device, a pipe or a socket, and (without `force`) an earlier report's files, which were
    replaced silently where `labeling export` and `labeling aggregate` refuse without --force."""
    if out_dir == "-":  # was a folder named "-" in the current one
        raise InvalidInput("-o names a folder for the report's files; the table is printed on standard output "
                           "without it", field="output")
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise InvalidInput(f"{out_dir} is a file; -o names a folder for the report's files", field="output")
    paths = [os.path.join(out_dir, name) for name in REPORT_FILES]
    for path in paths:
        if files.not_a_file(path):
            raise InvalidInput(f"cannot write {path}: a device, a pipe or a socket, not a file to replace",
                               field="output")
    there = [os.path.basename(path) for path in paths if os.path.lexists(path)]
    if there and not force:
        raise InvalidInput(f"{out_dir} already holds {', '.join(there)}; use --force to replace them",
                           field="output")


def write_outputs(result: dict[str, Any], out_dir: str, force: bool = False) -> list[str]:
    """Write leaderboard.json, leaderboard.md, ratings.png and win_rates.png into out_dir; return the paths.

    All four or none: each is written under a hidden name first, and they take their names once all are whole. A
    failure half-way (a chart that cannot be drawn, a full disk) leaves an older report's files as they were (it
    had replaced the first files and left the older charts beside them: a report of two runs) and no folder it made;
    the file it could not write is named."""
    check_output(out_dir, force)
    made = not os.path.isdir(out_dir)
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create {out_dir}: {exc.strerror}", field="output") from None
    paths = [os.path.join(out_dir, name) for name in REPORT_FILES]
    staged = [os.path.join(out_dir, f".{name}.staged-{os.getpid()}") for name in REPORT_FILES]
    try:
        with _naming(paths[0]), files.replacing(staged[0]) as handle:
            json.dump(result, handle, indent=2)
        with _naming(paths[1]):
            files.write(staged[1], markdown(result))
        _charts(result, staged[2], staged[3], shown=(paths[2], paths[3]))
        for done, path in zip(staged, paths):
            with _naming(path):
                files.check_replaceable(path)
                os.replace(done, path)
        archive.sync_folder(Path(out_dir))
    finally:
        for path in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        if made and not os.listdir(out_dir):
            os.rmdir(out_dir)
    return paths


@contextlib.contextmanager
def _naming(path: str) -> Iterator[None]:
    """An OSError while `path` is written (a report file that is a pipe or a device, a folder not writable, a full
    disk) as one line naming it (exit status 2 from the CLI)."""
    try:
        yield
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}", field="output") from None


def _charts(result: dict[str, Any], ratings_path: str, heat_path: str,
            shown: tuple[str, str] | None = None) -> None:
    """Ratings with interval error bars, and the observed win-rate heat map (`shown`: their names in messages)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a server; must precede pyplot
    # A model name is text, never mathtext: "$\\foo$" would otherwise be parsed (and fail to draw).
    with matplotlib.rc_context({"text.parse_math": False}):
        _draw(result, ratings_path, heat_path, shown or (ratings_path, heat_path))


def _draw(result: dict[str, Any], ratings_path: str, heat_path: str, called: tuple[str, str]) -> None:
    """Both charts, for at most CHART_MODELS models (the highest rated), so their size stays bounded."""
    from matplotlib import pyplot as plt

    models = result["models"][:CHART_MODELS]
    names = [m["model"] for m in models]
    labels = [_tick(n) for n in names]
    of = f" (the {len(models)} highest rated of {len(result['models'])})" if len(result["models"]) > len(models) else ""
    fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * len(names) + 2.0), 4.0))
    if models:
        ratings = [m["rating"] for m in models]
        # A percentile interval need not contain the fit on all data (few resamples, a skewed bootstrap):
        # the bar then starts at the dot rather than making matplotlib refuse a negative length.
        lower = [max(m["rating"] - m["ci"][0], 0.0) if m["ci"] else 0.0 for m in models]
        upper = [max(m["ci"][1] - m["rating"], 0.0) if m["ci"] else 0.0 for m in models]
        ax.errorbar(range(len(names)), ratings, yerr=[lower, upper], fmt="o", capsize=3)
        ax.set_xticks(range(len(names)), labels, rotation=45, ha="right")
    ax.set_ylabel("rating (95% interval)")
    ax.set_title("Model ratings" + of)
    fig.tight_layout()
    with _naming(called[0]), files.replacing(ratings_path, binary=True) as handle:
        fig.savefig(handle, format="png", dpi=100)
    plt.close(fig)

    rates = result.get("win_rates") or {}
    order = [rates["models"].index(n) for n in names] if rates else []
    fig, ax = plt.subplots(figsize=(max(4.0, 0.4 * len(names) + 2.5), max(3.5, 0.4 * len(names) + 1.5)))
    if order:
        grid = [[rates["observed"][i][j] for j in order] for i in order]
        shown = [[float("nan") if v is None else v for v in row] for row in grid]
        image = ax.imshow(shown, vmin=0.0, vmax=1.0, cmap="RdBu")
        fig.colorbar(image, ax=ax, label="row model's win rate (ties as halves)")
        ax.set_xticks(range(len(names)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(names)), labels)
        if len(names) <= 15:
            for i, row in enumerate(grid):
                for j, v in enumerate(row):
                    if v is not None:
                        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                                color="white" if abs(v - 0.5) > 0.3 else "black")  # readable on dark cells
    ax.set_title("Observed win rates" + of)
    fig.tight_layout()
    with _naming(called[1]), files.replacing(heat_path, binary=True) as handle:
        fig.savefig(handle, format="png", dpi=100)
    plt.close(fig)
