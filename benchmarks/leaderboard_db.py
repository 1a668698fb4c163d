"""`labeling leaderboard` on a database: time and peak memory as the project grows.

The project is benchmarks/export.py's: a preference project of N tasks, each answered by 3 workers ranking two
responses of two models (so 3 battles a task), loaded from a dump with `labeling restore`. Each size is then
ranked by its own `labeling leaderboard` process, whose seconds and peak resident memory (its own, from wait4)
are printed beside those of `labeling migrate` (the interpreter and the imports, nothing read).

    python benchmarks/leaderboard_db.py --tasks 100000 300000            # SQLite files in a temp folder
    python benchmarks/leaderboard_db.py --tasks 100000 --pg postgresql://postgres@127.0.0.1:5432/bench

What it shows: memory grows with the battles' typed arrays (a few bytes each), not with the answers' JSON,
which is read a page of tasks at a time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # this folder's queue.py, see export.py
sys.path.insert(0, str(HERE.parent))

from benchmarks import export as bench  # noqa: E402
from benchmarks.tables import markdown  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[100_000, 300_000])
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1, help="rank each size this many times, sizes alternated")
    parser.add_argument("--pg", help="run on this PostgreSQL database instead of SQLite (its schema is dropped)")
    parser.add_argument("--work", help="folder for dumps and databases (default: a temp folder)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-leaderboard-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    envs = {n: bench.build(n, work, args.pg) for n in ([args.tasks[-1]] if args.pg else args.tasks)}
    for _ in range(args.rounds):
        for n, env in envs.items():
            base_s, base_rss, _ = bench.run(["migrate"], env)
            seconds, rss, cpu = bench.run(["leaderboard", "bench-preferences", "--bootstrap", str(args.bootstrap)],
                                          env)
            rows.append((f"{n:,}", f"{3 * n:,}", f"{3 * n:,}", args.bootstrap, f"{seconds:.1f}", f"{cpu:.1f}",
                         f"{rss:.0f}", f"{base_rss:.0f}", f"{rss - base_rss:.0f}"))
            print(f"# {n:,} tasks: {seconds:.1f} s, {rss:.0f} MB peak", flush=True)
    print(markdown(("tasks", "answers", "battles", "resamples", "seconds", "CPU s", "peak MB",
                    "migrate peak MB", "difference MB"), rows))


if __name__ == "__main__":
    main()
