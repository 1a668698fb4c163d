"""/console/projects/{id}/quality: agreement, the label distribution, the confusion matrix, the worker table with
block and unblock, and throughput over time as an inline SVG chart drawn here (no script, no CDN).

Everything comes from the quality API's one report (labeling/consensus/runner.quality: one pass over the
project's answers, the stored consensus and the workers' standing); this page adds no query of its own."""

from __future__ import annotations

import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labeling import web
from labeling.console import frame
from labeling.consensus import runner

CHART_WIDTH, CHART_HEIGHT = 720, 220
CHART_PAD = {"left": 44, "right": 12, "top": 18, "bottom": 34}
BAR_MAX = 48  # a bar's widest (a chart of one or two buckets)
HEAT_LEVELS = 5  # confusion cells are shaded in this many steps of their share of the row


@frame.page("console.project")
async def quality_page(request: Request, caller: web.Caller) -> Response:
    """GET /console/projects/{project_id}/quality"""
    async with web.state(request).db.read() as conn:
        row = await frame.project_for(request, caller, conn)
        report = await runner.quality(conn, row)
    return frame.render(request, caller, "console/quality.html", {
        "report": report, "agreement": report.get("agreement") or {}, "workers": _workers(report),
        "has_tau": any(w.get("kendall_tau") is not None for w in report.get("workers", [])),
        "confusion": _confusion(report.get("confusion")), "distribution": _distribution(report),
        "chart": throughput_chart(report.get("throughput") or {}), "correlation": correlation(row),
    }, project=row, tab="quality")


def correlation(row: Any) -> dict | None:
    """The answers' correlation the last consensus run stored (projects.answer_correlation), with what it does to a
    settled task's confidence at the project's most answers per task; None before any run."""
    rho = getattr(row, "answer_correlation", None)
    if rho is None:
        return None
    n = max(int(row.redundancy_max), 1)
    return {"rho": float(rho), "answers": n, "independent": n / (1.0 + (n - 1) * float(rho))}


def _workers(report: dict) -> list[dict]:
    """The worker table, most answers first."""
    return sorted(report.get("workers", []), key=lambda w: (-(w.get("n_answers") or 0), w.get("username") or ""))


def _confusion(confusion: dict | None) -> dict | None:
    """Rows (consensus) with each cell's count and shade: its share of the row in HEAT_LEVELS steps."""
    if not confusion or not confusion.get("labels"):
        return None
    rows = []
    for label, counts in zip(confusion["labels"], confusion["matrix"]):
        total = sum(counts)
        cells = [{"count": n, "heat": (0 if not n else max(1, round(HEAT_LEVELS * n / total))),
                  "diagonal": i == len(rows)} for i, n in enumerate(counts)]
        rows.append({"label": label, "cells": cells, "total": total})
    return {"labels": confusion["labels"], "rows": rows, "empty": not any(r["total"] for r in rows)}


def _distribution(report: dict) -> dict:
    items = report.get("label_distribution") or []
    top = max([1] + [max(d["answers"], d["consensus"]) for d in items])
    return {"items": items, "max": top}


def _when(ts: float, size: int) -> str:
    moment = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d" if size >= 86400 else "%m-%d %H:%M")


def throughput_chart(throughput: dict) -> dict | None:
    """Bars of answers per bucket, laid out in SVG user units: bars, y ticks and x labels (UTC)."""
    buckets = throughput.get("buckets") or []
    if not buckets:
        return None
    size = int(throughput["bucket_seconds"])
    left, right, top, bottom = (CHART_PAD[k] for k in ("left", "right", "top", "bottom"))
    inner_w, inner_h = CHART_WIDTH - left - right, CHART_HEIGHT - top - bottom
    peak = max(b["answers"] for b in buckets) or 1
    slot = inner_w / len(buckets)
    bars = []
    width = min(max(slot * 0.8, 1.0), BAR_MAX)
    for i, b in enumerate(buckets):
        h = inner_h * b["answers"] / peak
        bars.append({"x": round(left + (i + 0.5) * slot - width / 2, 2), "y": round(top + inner_h - h, 2),
                     "w": round(width, 2), "h": round(h, 2), "answers": b["answers"],
                     "title": f"{_when(b['start'], size)} UTC: {b['answers']} answers"})
    ticks = [{"value": v, "y": round(top + inner_h - inner_h * v / peak, 2)} for v in sorted({0, peak // 2, peak})]
    step = max(1, len(buckets) // 6)
    labels = [{"x": round(left + (i + 0.5) * slot, 2), "text": _when(b["start"], size)}
              for i, b in enumerate(buckets) if i % step == 0]
    unit = {60: "minute", 300: "5 minutes", 900: "15 minutes", 3600: "hour", 21600: "6 hours", 86400: "day",
            604800: "week"}.get(size, f"{size // 86400} days")
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "bars": bars, "ticks": ticks, "labels": labels,
            "left": left, "right": CHART_WIDTH - right, "base": top + inner_h, "label_y": CHART_HEIGHT - 10,
            "unit": unit, "total": sum(b["answers"] for b in buckets), "peak": peak}


PAGES = [("GET", "/console/projects/{project_id}/quality", quality_page)]
TABS = [frame.Tab("quality", "Quality", "quality", order=30, accesskey="q")]
