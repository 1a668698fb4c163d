"""A/B runs of benchmarks/queue.py: configurations alternated round by round, compared within each round.

    python benchmarks/queue_ab.py --rounds 6 --a "--server-workers 1" --b "--server-workers 2" -- \
        --database postgresql://postgres@127.0.0.1/labeling_bench --tasks 20000 --seconds 12
    git worktree add /tmp/base <commit>       # two versions of the code, same arguments:
    python benchmarks/queue_ab.py --rounds 6 --a "" --b "" --a-checkout /tmp/base --b-checkout . -- --tasks 100000

    python benchmarks/queue_ab.py --a-checkout /tmp/main --b-checkout . --a "" --b "" -- --tasks 20000 --seconds 10

The second form compares two checkouts' code with the same client (`git archive 2a373e9 | tar -x -C /tmp/main`).

This machine's speed drifts by tens of percent over minutes (other tenants on the host), so two
configurations measured minutes apart are not comparable. Each round runs A and B back to back (ABBA order:
A first in odd rounds, B first in even ones) and the verdict rests on the per-round ratios B/A, not on runs
far apart in time. Prints every run, then one JSON summary.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(common: list[str], extra: str, checkout: Path) -> dict:
    """One run of a checkout's benchmarks/queue.py (its server imports that checkout's labeling)."""
    out = subprocess.run([sys.executable, str(checkout / "benchmarks" / "queue.py"), *common, *shlex.split(extra)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--a", default="--server-workers 1", help="queue.py arguments of configuration A")
    ap.add_argument("--b", default="--server-workers 2", help="queue.py arguments of configuration B")
    ap.add_argument("--a-checkout", type=Path, default=HERE.parent, help="the code configuration A runs")
    ap.add_argument("--b-checkout", type=Path, default=HERE.parent, help="the code configuration B runs")
    ap.add_argument("common", nargs=argparse.REMAINDER, help="-- then queue.py arguments for both")
    args = ap.parse_args()
    common = [a for a in args.common if a != "--"]
    rounds = []
    for i in range(args.rounds):
        order = ("a", "b") if i % 2 == 0 else ("b", "a")
        results = {}
        for name in order:
            results[name] = run(common, getattr(args, name), getattr(args, f"{name}_checkout").resolve())
            r = results[name]
            print(f"round {i + 1} {name}: {r['cycles_per_second']} cycles/s, cycle p50/p99 "
                  f"{r['cycle_ms']['p50']}/{r['cycle_ms']['p99']} ms, server CPU {r.get('server_cpu_ms_per_cycle')} ms/cycle, "
                  f"errors {r['errors']}", flush=True)
        rounds.append(results)
    a = [r["a"]["cycles_per_second"] for r in rounds]
    b = [r["b"]["cycles_per_second"] for r in rounds]
    ratios = [y / x for x, y in zip(a, b)]
    cpu_ratios = [r["b"]["server_cpu_ms_per_cycle"] / r["a"]["server_cpu_ms_per_cycle"] for r in rounds
                  if r["a"].get("server_cpu_ms_per_cycle") and r["b"].get("server_cpu_ms_per_cycle")]
    print(json.dumps({
        "a": args.a, "b": args.b, "a_checkout": str(args.a_checkout), "b_checkout": str(args.b_checkout),
        "rounds": args.rounds,
        "a_cycles_per_second": a, "b_cycles_per_second": b,
        "a_median": statistics.median(a), "b_median": statistics.median(b),
        "b_over_a_per_round": [round(x, 3) for x in ratios], "b_over_a_median": round(statistics.median(ratios), 3),
        "rounds_b_faster": sum(x > 1 for x in ratios),
        "b_over_a_server_cpu_per_cycle": [round(x, 3) for x in cpu_ratios],
        "b_over_a_server_cpu_per_cycle_median": round(statistics.median(cpu_ratios), 3) if cpu_ratios else None,
        "a_p99_ms": [r["a"]["cycle_ms"]["p99"] for r in rounds], "b_p99_ms": [r["b"]["cycle_ms"]["p99"] for r in rounds],
        "errors": sum(r[k]["errors"] for r in rounds for k in ("a", "b")),
    }))


if __name__ == "__main__":
    main()
