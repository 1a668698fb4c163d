"""Render a leaderboard.compute result: a Markdown table and PNG charts (matplotlib, headless Agg backend)."""

from __future__ import annotations

import json
import os
from typing import Any

from labeling import files
from labeling.errors import InvalidInput


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
        shown = f"{mean['mean']:.2f} ({mean['ci'][0]:.2f} to {mean['ci'][1]:.2f})" if mean else "-"
        lines.append(f"| {m['rank']} | {m['model']} | {m['rating']:.0f} | {_interval(m['ci'])} | {m['battles']} | "
                     f"{m['wins']:g} | {m['ties']} | {m['losses']:g} | {shown} |")
    lines.append("")
    lines.append(_bias_line("Position bias", result["position_bias"]))
    adv = result.get("position_advantage")
    if adv:
        ci = f"95% interval {adv['ci'][0]:+.0f} to {adv['ci'][1]:+.0f}" if adv["ci"] else "no bootstrap"
        lines.append(f"Fitted first-shown advantage: {adv['elo']:+.0f} rating points ({ci}); ratings are net of it.")
    s = result["settings"]
    lines.append(f"\n{s['battles']} battles from {s['answers']} answers on {s['prompts']} prompts; ratings "
                 f"{s['scale']}, centred on the {s['anchor']}; intervals: {s['interval']}, {s['n_bootstrap']} "
                 "resamples; rank = 1 + the number of models whose interval lies entirely above.")
    projects = result.get("projects") or []
    for project in projects:
        out = project["left_out"]
        lines.append(f"\nProject {project['name']} (id {project['id']}): {project['answers']} answers, "
                     f"{project['battles']} battles; not counted: {out['gold_tasks']} answers on gold tasks, "
                     f"{out['excluded']} excluded, {out['blocked_workers']} of workers blocked in the project.")
        if len(projects) > 1:
            lines.append(_bias_line("Its position bias", project["position_bias"]))
    for field_name, values in result.get("breakdown", {}).items():
        for value, part in values.items():
            lines.append(f"\n{field_name} = {value} ({part['battles']} battles): " + ", ".join(
                f"{m['rank']}. {m['model']} {m['rating']:.0f} ({_interval(m['ci'])})" for m in part["models"]))
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
    interval = f"95% interval {ci[0]:.1%} to {ci[1]:.1%}" if ci else "no interval"
    line = (f"{title}: the response shown first won {shown} of {bias['battles'] - bias['ties']} decided battles "
            f"({interval}; 50% is no bias), {bias['ties']} ties, from the {bias['answers_with_order']} of "
            f"{bias['answers']} answers that recorded the display order.")
    return line + (f" {bias['message'][0].upper()}{bias['message'][1:]}." if bias.get("message") else "")


def write_outputs(result: dict[str, Any], out_dir: str) -> list[str]:
    """Write leaderboard.json, leaderboard.md, ratings.png and win_rates.png into out_dir; return the paths."""
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create {out_dir}: {exc.strerror}", field="output") from None
    paths = [os.path.join(out_dir, name) for name in ("leaderboard.json", "leaderboard.md", "ratings.png",
                                                      "win_rates.png")]
    # Each file whole or not at all: a failure half-way (a chart that cannot be drawn, a full disk) leaves no
    # file cut short, and an older report's files are replaced only by whole new ones.
    with files.replacing(paths[0]) as handle:
        json.dump(result, handle, indent=2)
    files.write(paths[1], markdown(result))
    _charts(result, paths[2], paths[3])
    return paths


def _charts(result: dict[str, Any], ratings_path: str, heat_path: str) -> None:
    """Ratings with interval error bars, and the observed win-rate heat map."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a server; must precede pyplot
    from matplotlib import pyplot as plt

    models = result["models"]
    names = [m["model"] for m in models]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * len(names) + 2.0), 4.0))
    if models:
        ratings = [m["rating"] for m in models]
        lower = [m["rating"] - m["ci"][0] for m in models]
        upper = [m["ci"][1] - m["rating"] for m in models]
        ax.errorbar(range(len(names)), ratings, yerr=[lower, upper], fmt="o", capsize=3)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_ylabel("rating (95% interval)")
    ax.set_title("Model ratings")
    fig.tight_layout()
    with files.replacing(ratings_path, binary=True) as handle:
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
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        ax.set_yticks(range(len(names)), names)
        if len(names) <= 15:
            for i, row in enumerate(grid):
                for j, v in enumerate(row):
                    if v is not None:
                        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                                color="white" if abs(v - 0.5) > 0.3 else "black")  # readable on dark cells
    ax.set_title("Observed win rates")
    fig.tight_layout()
    with files.replacing(heat_path, binary=True) as handle:
        fig.savefig(handle, format="png", dpi=100)
    plt.close(fig)
