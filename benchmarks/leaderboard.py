"""Accuracy, interval coverage and speed of labeling's model leaderboard on simulated arenas.

    python benchmarks/leaderboard.py [--arenas N] [--bootstrap B] [--bias-arenas N] [--quick] [--json]

Each arena has models of known strength and annotators who are noisy (some click at random part of the
time), position-biased (each has a first-shown advantage) and call close battles ties
(labeling.consensus.simulate.arena). For every arena it prints Kendall's tau between fitted and true
strengths and whether each model's 95% interval covers its estimand (the Bradley-Terry strengths of the
battles' expected outcomes, centred like the ratings: careless clicks and ties flatten every strength a
little, the order stays) and, apart, the generating strength itself. Then the time of 50 models, one
million battles and 1,000 resamples, and of the same from answer dicts. Last, how often the position-bias
interval holds the true first-shown win rate, against a Wilson interval over battles as independent trials.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from labeling.consensus import agreement, leaderboard, simulate  # noqa: E402

import tables  # noqa: E402  (benchmarks/tables.py)

SCENARIOS = [  # (models, battles, battles per prompt)
    (10, 1_000, 1), (10, 10_000, 1), (20, 3_000, 3), (30, 30_000, 1), (50, 100_000, 1),
]


def one_arena(seed: int, models: int, n: int, per_prompt: int, n_bootstrap: int) -> dict[str, Any]:
    """Fit one simulated arena; tau, coverage of estimand and truth, interval width, seconds."""
    arena = simulate.arena(seed, models, n, per_prompt=per_prompt)
    start = time.perf_counter()
    result = leaderboard.from_battles(arena.battles, n_bootstrap=n_bootstrap, seed=seed)
    seconds = time.perf_counter() - start
    index = [arena.battles.models.index(m["model"]) for m in result["models"]]
    rating = np.array([m["rating"] for m in result["models"]])
    lo = np.array([m["ci"][0] for m in result["models"]])
    hi = np.array([m["ci"][1] for m in result["models"]])
    estimand = leaderboard.BASE + leaderboard.SCALE * arena.estimand[index]
    truth = leaderboard.BASE + leaderboard.SCALE * arena.strength[index]
    return {"tau": agreement.kendall_tau(rating, truth), "covered": int(((estimand >= lo) & (estimand <= hi)).sum()),
            "covered_truth": int(((truth >= lo) & (truth <= hi)).sum()), "models": models,
            "width": float(np.mean(hi - lo)), "seconds": seconds,
            "first_win_rate": result["position_bias"]["first_win_rate"],
            "advantage": result["position_advantage"]["elo"] if result["position_advantage"] else None}


def coverage(arenas: int, n_bootstrap: int, scenarios: list[tuple[int, int, int]]) -> list[dict[str, Any]]:
    """Per scenario, over `arenas` simulated arenas: mean tau, coverage, mean interval width and time."""
    rows = []
    for models, n, per_prompt in scenarios:
        runs = [one_arena(1000 * models + seed, models, n, per_prompt, n_bootstrap) for seed in range(arenas)]
        total = sum(r["models"] for r in runs)
        rows.append({"models": models, "battles": n, "per_prompt": per_prompt, "arenas": arenas, "intervals": total,
                     "tau": float(np.mean([r["tau"] for r in runs])),
                     "coverage": sum(r["covered"] for r in runs) / total,
                     "coverage_truth": sum(r["covered_truth"] for r in runs) / total,
                     "width": float(np.mean([r["width"] for r in runs])),
                     "seconds": float(np.median([r["seconds"] for r in runs])),
                     "first_win_rate": float(np.mean([r["first_win_rate"] for r in runs])),
                     "advantage": float(np.mean([r["advantage"] for r in runs]))})
        print(f"  {models} models, {n:,} battles done", file=sys.stderr)
    return rows


def speed(rounds: int, n_bootstrap: int) -> dict[str, Any]:
    """Seconds for 50 models, 1,000,000 battles, `n_bootstrap` resamples (arrays), and from 100,000 answer dicts."""
    arena = simulate.arena(7, 50, 1_000_000)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        leaderboard.from_battles(arena.battles, n_bootstrap=n_bootstrap)
        times.append(time.perf_counter() - start)
    small = simulate.arena(8, 50, 100_000)
    bt = small.battles
    dicts = [{"prompt": int(p), "ranking": [["x"], ["y"]] if s == 1.0 else [["y"], ["x"]] if s == 0.0 else [["x", "y"]],
              "models": {"x": bt.models[a], "y": bt.models[b]}, "shown": ["x", "y"] if o == 1 else ["y", "x"]}
             for p, a, b, s, o in zip(bt.prompt.tolist(), bt.a.tolist(), bt.b.tolist(), bt.score.tolist(),
                                      bt.order.tolist())]
    start = time.perf_counter()
    leaderboard.compute(dicts, n_bootstrap=n_bootstrap)
    dicts_seconds = time.perf_counter() - start
    return {"million_seconds": times, "dicts_100k_seconds": dicts_seconds, **many_models(n_bootstrap)}


def many_models(n_bootstrap: int, models: int = 300, battles: int = 100_000) -> dict[str, Any]:
    """A board of many models as the server computes it (evaluation._from_log), then the same board asked again:
    the second is remembered by the battle log's fingerprint, which is all it costs."""
    from labeling.consensus import evaluation  # the database layer's entry point; imports SQLAlchemy

    bt = simulate.arena(9, models, battles).battles
    log = leaderboard.BattleLog(())
    for p, a, b, s, o in zip(bt.prompt.tolist(), bt.a.tolist(), bt.b.tolist(), bt.score.tolist(), bt.order.tolist()):
        ranking = [["x"], ["y"]] if s == 1.0 else [["y"], ["x"]] if s == 0.0 else [["x", "y"]]
        log.add(p, ranking, {"x": bt.models[a], "y": bt.models[b]}, {"x": 0, "y": 1} if o == 1 else {"y": 0, "x": 1})
    times = []
    for _ in range(2):
        start = time.perf_counter()
        evaluation._from_log(log, log.battles(), n_bootstrap, 0)
        times.append(time.perf_counter() - start)
    return {"many_models": models, "many_battles": battles, "many_first_seconds": times[0],
            "many_again_seconds": times[1]}


def _bias_arena(rng: np.random.Generator, k: int, prompts: int, boost: float) -> "leaderboard.Battles":
    """Rankings of k responses (one per prompt, a model each) in a random display order, by annotators who give
    each position earlier `boost` logits (Plackett-Luce on prompt-level quality plus Gumbel noise)."""
    quality = rng.normal(size=(prompts, k))
    position = np.argsort(rng.random((prompts, k)), axis=1)  # where each response was shown
    rank = np.argsort(np.argsort(-(quality + rng.gumbel(size=(prompts, k)) - boost * position), axis=1), axis=1)
    xs, ys = np.triu_indices(k, 1)
    score = (rank[:, xs] < rank[:, ys]).astype(np.float64).ravel()
    order = np.where(position[:, xs] < position[:, ys], 1, -1).ravel()
    return leaderboard.Battles(np.repeat(np.arange(prompts), xs.size), np.tile(xs, prompts), np.tile(ys, prompts),
                               score, order, [f"m{i}" for i in range(k)], list(range(prompts)), prompts, prompts)


def position_bias_coverage(arenas: int, seed: int = 5) -> list[dict[str, Any]]:
    """How often the position-bias interval holds the true first-shown win rate: the interval position_bias
    reports against a Wilson interval over the battles as independent trials (what it was before)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in (2, 3, 6, 8):
        for prompts in (10, 40, 200):
            for boost in (0.0, 0.3):
                truth = _first_rate(_bias_arena(rng, k, 200_000, boost)) if boost else 0.5
                held = naive = 0
                effects = []
                for _ in range(arenas):
                    bias = leaderboard.position_bias(_bias_arena(rng, k, prompts, boost))
                    low, high = bias["ci"]
                    held += low <= truth <= high
                    low, high = leaderboard.wilson(bias["first_wins"], bias["first_wins"] + bias["first_losses"])
                    naive += low <= truth <= high
                    effects.append(bias["design_effect"])
                rows.append({"responses": k, "prompts": prompts, "boost": boost, "truth": truth,
                             "coverage": held / arenas, "coverage_independent": naive / arenas,
                             "design_effect": float(np.mean(effects))})
    return rows


def _first_rate(bt: "leaderboard.Battles") -> float:
    """The first-shown response's share of decided battles."""
    first = np.where(bt.order == 1, bt.score, 1.0 - bt.score)
    return float(first.mean())


def print_tables(report: dict[str, Any]) -> None:
    """Markdown tables of the report."""
    print(tables.markdown(
        ("models", "battles", "battles per prompt", "arenas", "intervals", "Kendall tau", "coverage (estimand)",
         "coverage (generating strength)", "mean interval width", "first-shown win rate", "fitted advantage",
         "time per arena"),
        ((r["models"], f"{r['battles']:,}", r["per_prompt"], r["arenas"], r["intervals"], f"{r['tau']:.3f}",
          f"{r['coverage']:.1%}", f"{r['coverage_truth']:.1%}", f"{r['width']:.0f}", f"{r['first_win_rate']:.1%}",
          f"{r['advantage']:+.0f}", f"{r['seconds']:.2f} s") for r in report["coverage"])))
    if report.get("position_bias"):
        print(f"\nPosition bias: how often the 95% interval holds the true first-shown win rate "
              f"({report['bias_arenas']} arenas a row; one ranking per prompt, a random display order)")
        print(tables.markdown(
            ("responses ranked", "prompts", "position boost (logits)", "true rate", "design effect (mean)",
             "coverage, Wilson with the design effect and t", "coverage, Wilson over battles as independent"),
            ((r["responses"], r["prompts"], r["boost"], f"{r['truth']:.3f}", f"{r['design_effect']:.2f}",
              f"{r['coverage']:.1%}", f"{r['coverage_independent']:.1%}") for r in report["position_bias"])))
    total = sum(r["intervals"] for r in report["coverage"])
    covered = sum(r["coverage"] * r["intervals"] for r in report["coverage"])
    print(f"\nAll arenas: {covered / total:.1%} of {total} intervals cover their estimand.")
    if report.get("speed"):
        s = report["speed"]
        print(f"\n50 models, 1,000,000 battles, {report['bootstrap']} resamples: "
              + ", ".join(f"{t:.2f} s" for t in s["million_seconds"])
              + f"; from 100,000 answer dicts (battles built in Python): {s['dicts_100k_seconds']:.2f} s")
        print(f"{s['many_models']} models, {s['many_battles']:,} battles, {report['bootstrap']} resamples, as the server "
              f"computes a board: {s['many_first_seconds']:.2f} s; the same board asked again (remembered): "
              f"{s['many_again_seconds'] * 1000:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    """Run the coverage study and the speed test; print tables or JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arenas", type=int, default=40, help="arenas per scenario (default 40)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="resamples per leaderboard (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of the one-million-battle leaderboard")
    parser.add_argument("--quick", action="store_true", help="5 arenas per scenario, 200 resamples, one timed run")
    parser.add_argument("--bias-arenas", type=int, default=1000,
                        help="arenas per row of the position-bias coverage study (default 1000; 0 skips it)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    if args.quick:
        args.arenas, args.bootstrap, args.rounds, args.bias_arenas = 5, 200, 1, 100
    report = {"bootstrap": args.bootstrap, "coverage": coverage(args.arenas, args.bootstrap, SCENARIOS),
              "speed": speed(args.rounds, args.bootstrap), "bias_arenas": args.bias_arenas,
              "position_bias": position_bias_coverage(args.bias_arenas) if args.bias_arenas else []}
    return tables.emit(report, args.json, print_tables)


if __name__ == "__main__":
    sys.exit(main())
