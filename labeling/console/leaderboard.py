"""/console/projects/{id}/leaderboard: the model leaderboard of a preference project, drawn as inline SVG (no
script, no CDN: the charts are markup the server writes) beside its table, win-rate heat map and position bias."""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labeling import schemas, tasktypes, web
from labeling.console import frame
from labeling.consensus import evaluation, leaderboard_report
from labeling.errors import Conflict, InvalidInput

CHART_WIDTH = 1000
LABEL_WIDTH = 170  # left of the axis: model names
ROW = 26
NARROW_WIDTH = 360  # the phone's ratings chart: names above their lines, drawn at about its own size
NARROW_ROW = 40
NARROW_NAME_EMS = 19.0  # a name and its rating on one line of 14-unit text within the narrow chart
CELL = 44
HEAT_MODELS = 40  # the heat map draws the highest-rated 40 (1,600 cells); the table and the JSON have every model


def _article(noun: str) -> str:
    """'an image classification', 'a text classification'."""
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def is_preference(row: Any) -> bool:
    """Whether a project has a leaderboard: its task type ranks responses."""
    return row is not None and tasktypes.get(row.task_type).family == "ranking"


def _ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """Round tick values covering lo..hi."""
    span = max(hi - lo, 1e-9)
    raw = span / n
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if step * m >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 6) for i in range(int((hi - first) / step) + 1)]


def _em(ch: str) -> float:
    """A glyph's rough width in ems in the UI's sans-serif font (wide m and W, narrow i and l)."""
    if ch in "mwMW@%":
        return 0.9
    if ch in "il.,:;'|!ftjrI ()[]-":
        return 0.35
    return 0.72 if ch.isupper() or ch.isdigit() else 0.58


def clip(text: str, ems: float) -> str:
    """The text cut short with an ellipsis to about `ems` wide (a count of characters let 32 'm' run off)."""
    width = 0.0
    for i, ch in enumerate(text):
        width += _em(ch)
        if width > ems:
            return text[:max(i - 1, 1)] + "…"
    return text


def _ranked_name(m: dict, ems: float) -> str:
    """'3. name' clipped to `ems`, the name bidi-isolated (its rating follows it on the line)."""
    prefix = f"{m['rank']}. "
    return prefix + leaderboard_report.isolated(clip(prefix + m["model"], ems)[len(prefix):])


def ratings_chart(models: list[dict], narrow: bool = False) -> dict:
    """Geometry of the ratings chart: one row per model, a dot at its rating and a line over its interval.

    narrow: the phone's chart, NARROW_WIDTH wide, each model's name above its line (the wide chart, shrunk to a
    phone's width, drew its names 4 pixels high; kept at a readable size it scrolled sideways, its dots out of
    sight)."""
    lows = [m["ci"][0] for m in models if m["ci"]] + [m["rating"] for m in models]
    highs = [m["ci"][1] for m in models if m["ci"]] + [m["rating"] for m in models]
    lo, hi = min(lows), max(highs)
    pad = max((hi - lo) * 0.05, 5.0)
    lo, hi = lo - pad, hi + pad
    width, left, row, top = (NARROW_WIDTH, 14, NARROW_ROW, 40) if narrow else (CHART_WIDTH, LABEL_WIDTH, ROW, 30)
    plot = width - left - (14 if narrow else 20)

    def x(value: float) -> float:
        return round(left + (value - lo) / (hi - lo) * plot, 1)

    rows = [{"model": m["model"], "rank": m["rank"], "y": top + i * row, "x": x(m["rating"]), "x_lo": x((m["ci"] or [m["rating"]])[0]),
             "x_hi": x((m["ci"] or [m["rating"]])[-1]), "rating": m["rating"], "ci": m["ci"],
             "name": _ranked_name(m, NARROW_NAME_EMS) if narrow else None}
            for i, m in enumerate(models)]
    height = top + len(models) * row + 10
    ticks = [{"x": x(t), "label": f"{t:g}"} for t in _ticks(lo, hi, 4 if narrow else 6)]
    return {"width": width, "height": height, "rows": rows, "ticks": ticks, "left": left, "right": left + plot,
            "axis_y": height - 6}


def _fill(rate: float) -> str:
    """Red (0) through white (0.5) to blue (1)."""
    low, high, mid = (202, 0, 32), (5, 113, 176), (247, 247, 247)
    t = abs(rate - 0.5) * 2
    end = high if rate >= 0.5 else low
    return "#" + "".join(f"{round(m + (e - m) * t):02x}" for m, e in zip(mid, end))


def heat_map(result: dict) -> dict:
    """Geometry of the observed win-rate heat map, models in leaderboard order (row model against column)."""
    rates = result["win_rates"]
    names = [m["model"] for m in result["models"][:HEAT_MODELS]]
    index = [rates["models"].index(n) for n in names]
    cells = []
    for r, i in enumerate(index):
        for c, j in enumerate(index):
            rate, n = rates["observed"][i][j], rates["battles"][i][j]
            cell = {"x": LABEL_WIDTH + c * CELL, "y": 10 + r * CELL, "row": names[r], "col": names[c], "n": n}
            row, col = leaderboard_report.isolated(names[r]), leaderboard_report.isolated(names[c])
            if rate is None:
                cell.update(fill="#eceef2", text="", title=f"{row} vs {col}: no battles")
            else:
                cell.update(fill=_fill(rate), text=f"{rate:.2f}", dark=abs(rate - 0.5) > 0.3,
                            title=f"{row} beat {col} in {rate:.0%} of {n} battles (ties as halves)")
            cells.append(cell)
    size = len(names) * CELL
    return {"cells": cells, "names": [{"name": n, "y": 10 + k * CELL + CELL / 2, "x": LABEL_WIDTH + k * CELL + CELL / 2}
                                      for k, n in enumerate(names)],
            "width": LABEL_WIDTH + size + 10, "height": 10 + size + 90, "cell": CELL, "left": LABEL_WIDTH,
            "bottom": 10 + size, "shown": len(names), "total": len(result["models"])}


def bias_bar(bias: dict) -> dict | None:
    """Geometry of the position-bias bar: 0-100% with the 50% line, the rate and its interval."""
    if not bias.get("available") or bias.get("first_win_rate") is None or not bias.get("ci"):
        return None
    width = 360

    def x(p: float) -> float:
        return round(10 + p * (width - 20), 1)

    return {"width": width, "x": x(bias["first_win_rate"]), "x_lo": x(bias["ci"][0]), "x_hi": x(bias["ci"][1]),
            "x_mid": x(0.5), "left": x(0.0), "right": x(1.0)}


@frame.page("console.project")
async def leaderboard_page(request: Request, caller: web.Caller) -> Response:
    """GET /console/projects/{project_id}/leaderboard?by=FIELD"""
    app = web.state(request)
    async with app.db.read() as conn:
        row = await frame.project_for(request, caller, conn)
    # The breakdown form's error is shown beside its field, over the board without a breakdown (it was the error
    # page, "Something went wrong", with no way back but to the projects; an empty field was one too).
    error = None
    try:
        params = web.query(request, schemas.LeaderboardQuery, empty_is_none=True)
        by = evaluation.fields_of(params.by) if params.by else []
    except InvalidInput as exc:
        message = str(exc)
        error = {"field": exc.field, "message": message.removeprefix(f"{exc.field}: ")}
        params, by = schemas.LeaderboardQuery(), []
    context: dict[str, Any] = {"by": request.query_params.get("by", "") if error else params.by or "",
                               "result": None, "empty": None, "error": error, "breaks_down": is_preference(row)}
    status = 400 if error else 200
    if not is_preference(row):  # the tab is not shown; a typed URL gets words, not a chart
        context["empty"] = (f"This is {_article(tasktypes.get(row.task_type).display_name.lower())} project: a leaderboard "
                            "compares the models behind preference-ranking projects.")
        return frame.render(request, caller, "console/leaderboard.html", context, project=row, tab="leaderboard",
                            status_code=status)
    try:
        result = await evaluation.board(app.db, [row], by=by, n_bootstrap=params.bootstrap, seed=params.seed)
    except Conflict as exc:
        context["empty"] = exc.message
    else:
        context.update(result=result, chart=ratings_chart(result["models"]),
                       narrow_chart=ratings_chart(result["models"], narrow=True), heat=heat_map(result),
                       bias=result["position_bias"], bias_bar=bias_bar(result["position_bias"]),
                       project_info=result["projects"][0], ratings=result.get("ratings") or {})
    return frame.render(request, caller, "console/leaderboard.html", context, project=row, tab="leaderboard",
                        status_code=status)


PAGES = [("GET", "/console/projects/{project_id}/leaderboard", leaderboard_page)]
TABS = [frame.Tab("leaderboard", "Leaderboard", "leaderboard", order=50, accesskey="l", shows=is_preference)]
