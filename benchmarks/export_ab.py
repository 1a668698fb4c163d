"""A/B runs of `labeling export`: two checkouts' code on the same databases, alternated round by round.

    git worktree add /tmp/exports-old main          # the code to compare with
    python benchmarks/export.py --tasks 100000 --sqlite-fill --work /tmp/bench --formats jsonl   # build once
    python benchmarks/export_ab.py --work /tmp/bench --tasks 100000 --rounds 2 \
        --pg postgresql://postgres@127.0.0.1:5432/labeling_bench

Each round exports every format with both checkouts back to back (ABBA: old first in odd rounds, new first in
even ones), each in its own `labeling export ... --quiet` process whose wall time, CPU seconds (user + system,
from wait4) and peak RSS are printed. The summary gives, per database and format, the median of the per-round
ratios new/old of rows per second and of CPU seconds: this machine's speed drifts by tens of percent over
minutes, so only runs side by side compare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
FORMATS = ("jsonl", "manifest", "annotations", "preference")


def export(checkout: Path, env: dict, fmt: str, out: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MB) of one export by the checkout's code."""
    env = {**env, "PYTHONPATH": str(checkout)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "labeling.cli", "export", "bench-preferences", "--format", fmt,
                             "-o", str(out), "--force", "--quiet"], env=env, cwd=checkout,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{checkout}: export {fmt} failed: {proc.stderr.read().decode().strip()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", type=Path, default=Path("/tmp/exports-old"), help="checkout of the code to compare with")
    ap.add_argument("--new", type=Path, default=HERE, help="checkout of the new code")
    ap.add_argument("--work", type=Path, required=True, help="benchmarks/export.py's folder (its SQLite databases)")
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--pg", help="also on this PostgreSQL database, built by benchmarks/export.py --pg-fill")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--formats", nargs="+", default=list(FORMATS))
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    n = args.tasks
    bases = {}
    if not args.no_sqlite:
        data = args.work / f"data-{n}-sqlite"
        bases["SQLite"] = {**os.environ, "LABELING_DATA_DIR": str(data), "LABELING_SECRET_KEY": "bench",
                           "LABELING_DATABASE_URL": f"sqlite:///{data / 'labeling.db'}"}
    if args.pg:
        data = args.work / f"data-{n}-pg"
        data.mkdir(exist_ok=True)
        bases["PostgreSQL"] = {**os.environ, "LABELING_DATA_DIR": str(data), "LABELING_SECRET_KEY": "bench",
                               "LABELING_DATABASE_URL": args.pg}
    print(f"# load average {os.getloadavg()[0]:.1f}; old {args.old}, new {args.new}; {n:,} tasks", flush=True)
    print("| round | database | format | code | seconds | task rows/s | CPU s | CPU s per 100k rows | peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    results: dict[tuple[str, str], list[dict[str, tuple[float, float, float]]]] = {}
    for i in range(args.rounds):
        for base, env in bases.items():
            for fmt in args.formats:
                order = ("old", "new") if i % 2 == 0 else ("new", "old")
                runs = {}
                for code in order:
                    out = args.work / f"ab-{code}.{fmt}"
                    runs[code] = wall, cpu, rss = export(getattr(args, code).resolve(), env, fmt, out)
                    print(f"| {i + 1} | {base} | {fmt} | {code} | {wall:.1f} | {n / wall:,.0f} | {cpu:.1f} | "
                          f"{cpu * 100_000 / n:.2f} | {rss:.0f} |", flush=True)
                same = (args.work / f"ab-old.{fmt}").read_bytes() == (args.work / f"ab-new.{fmt}").read_bytes()
                if not same:
                    raise SystemExit(f"{base} {fmt}: the new code's bytes differ from the old code's")
                results.setdefault((base, fmt), []).append(runs)
    print("\n| database | format | old rows/s (median) | new rows/s (median) | speed ratio new/old (median of rounds) | "
          "old CPU s per 100k | new CPU s per 100k | CPU ratio old/new | same bytes |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (base, fmt), rounds in results.items():
        old_rate = statistics.median(n / r["old"][0] for r in rounds)
        new_rate = statistics.median(n / r["new"][0] for r in rounds)
        speed = statistics.median(r["old"][0] / r["new"][0] for r in rounds)
        old_cpu = statistics.median(r["old"][1] for r in rounds) * 100_000 / n
        new_cpu = statistics.median(r["new"][1] for r in rounds) * 100_000 / n
        cpu_ratio = statistics.median(r["old"][1] / r["new"][1] for r in rounds)
        print(f"| {base} | {fmt} | {old_rate:,.0f} | {new_rate:,.0f} | {speed:.2f} | {old_cpu:.2f} | {new_cpu:.2f} | "
              f"{cpu_ratio:.2f} | yes |", flush=True)


if __name__ == "__main__":
    main()
