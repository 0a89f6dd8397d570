#!/usr/bin/env python3
"""RL controller vs random search at equal wall-clock, on the from-scratch reward.

For each seed, the arms (e.g. rl, rl with risk-seeking, random) run at the same
time as separate `losssearch` processes with one worker each, so every arm gets
the same share of the machine. Each run ends with its effectiveness test (its
best found loss and the classic ones, from scratch, --effect-seeds fits each).
The script then reads every run's candidates.jsonl and summary.json and writes

  --json   the best-so-far reward curves (per run, and the median per arm on a
           time grid) and each run's final best from-scratch test metric (AUC;
           NDCG@10 for --task rank);
  --png    the median best-so-far curves, each run faint behind them.

  python3 benchmarks/search/rl_vs_random.py --data ../shared/data/ml100k01-1-5 \\
      --minutes 8 --seeds 1,2,3 --work /tmp/rl-vs-random \\
      --json benchmarks/results/rl-vs-random-ml100k.json --png benchmarks/search/rl-vs-random-ml100k.png
  python3 benchmarks/search/rl_vs_random.py --task rank --data ../shared/data/MQ2008 --minutes 5 \
      --arms rl,random --no-baselines --work /tmp/rlr \
      --json benchmarks/results/rl-vs-random-mq2008.json --png benchmarks/search/rl-vs-random-mq2008.png

--plot-only re-reads the runs in --work without searching again.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ARMS = {
    "rl": [],
    "rl-risk": ["--risk-seeking", "0.2"],
    "random": ["--searcher", "random"],
}


def run_dir(work, arm, seed):
    return os.path.join(work, f"{arm}-seed{seed}")


def search(args, seeds, arms):
    binary = os.path.join(args.build, "tools", "losssearch")
    for seed in seeds:
        procs = []
        for arm in arms:
            out = run_dir(args.work, arm, seed)
            cmd = [binary, "--budget-minutes", str(args.minutes), "--seed", str(seed), "--workers", "1",
                   "--top-k", "1", "--effect-seeds", str(args.effect_seeds), "--progress-seconds", "30",
                   "--out", out] + ARMS[arm]
            if args.task != "rec":
                cmd += ["--task", args.task]
            if args.data:
                cmd += ["--data", args.data]
            if args.no_baselines:
                cmd += ["--no-baselines"]
            log = open(out + ".log", "w")
            print(" ".join(cmd), file=sys.stderr)
            procs.append((arm, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)))
        for arm, p in procs:
            if p.wait() != 0:
                sys.exit(f"rl_vs_random: {arm} seed {seed} failed (see {run_dir(args.work, arm, seed)}.log)")


def best_so_far(path):
    """[(elapsed seconds, best reward so far)] at every improvement."""
    curve, best = [], None
    with open(path) as f:
        for line in f:
            c = json.loads(line)
            r = c.get("reward")
            if r is not None and c["status"] != "duplicate" and (best is None or r > best):
                best = r
                curve.append((c["elapsed_seconds"], r))
    return curve


def value_at(curve, t):
    v = None
    for s, r in curve:
        if s <= t:
            v = r
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default="rec", choices=["rec", "rank", "mtl"], help="losssearch's task family")
    ap.add_argument("--data", default="", help="dataset folder (default: the built-in synthetic data)")
    ap.add_argument("--minutes", type=float, default=8, help="search budget of each run")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--arms", default="rl,rl-risk,random", help="comma-separated, of: " + ", ".join(ARMS))
    ap.add_argument("--effect-seeds", type=int, default=3)
    ap.add_argument("--build", default="build")
    ap.add_argument("--work", default="/tmp/rl-vs-random", help="where the runs are written")
    ap.add_argument("--json", default="")
    ap.add_argument("--png", default="")
    ap.add_argument("--no-baselines", action="store_true", help="effectiveness test of the found loss only")
    ap.add_argument("--plot-only", action="store_true")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    arms = args.arms.split(",")
    for arm in arms:
        if arm not in ARMS:
            ap.error(f"unknown arm {arm}")
    os.makedirs(args.work, exist_ok=True)
    if not args.plot_only:
        search(args, seeds, arms)

    horizon = args.minutes * 60
    grid = [horizon * k / 60 for k in range(61)]
    metric = "ndcg@10" if args.task == "rank" else "auc"  # the effectiveness rows' test metric
    result = {"task": args.task, "data": args.data or "synthetic", "minutes": args.minutes, "seeds": seeds,
              "metric": metric, "arms": {}}
    for arm in arms:
        runs = []
        for seed in seeds:
            d = run_dir(args.work, arm, seed)
            curve = best_so_far(os.path.join(d, "candidates.jsonl"))
            summary = json.load(open(os.path.join(d, "summary.json")))
            found = [r for r in summary["effectiveness"] if r["origin"] == "search" and "fit" in r]
            bce = [r for r in summary["effectiveness"] if r["name"] == "bce" and "fit" in r]
            runs.append({"seed": seed, "curve": curve, "counters": summary["search"],
                         f"found_test_{metric}": found[0][f"test_{metric}_mean"] if found else None,
                         f"found_test_{metric}_std": found[0][f"test_{metric}_std"] if found else None,
                         "found_source": found[0]["source"] if found else None,
                         "bce_test_auc": bce[0]["test_auc_mean"] if bce else None})
        median_curve = []
        for t in grid:
            vals = [v for v in (value_at(r["curve"], t) for r in runs) if v is not None]
            median_curve.append(statistics.median(vals) if len(vals) == len(runs) else None)
        finals = [r[f"found_test_{metric}"] for r in runs if r[f"found_test_{metric}"] is not None]
        result["arms"][arm] = {"runs": runs, "grid_seconds": grid, "median_best_reward": median_curve,
                               f"median_found_test_{metric}": statistics.median(finals) if finals else None}
        print(f"{arm:8} final median best reward {median_curve[-1]}, found-loss test {metric} per seed "
              f"{[round(f, 4) for f in finals]} (median {result['arms'][arm][f'median_found_test_{metric}']})")

    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    if args.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.2))
        colors = {"rl": "tab:blue", "rl-risk": "tab:green", "random": "tab:orange"}
        styles = {"rl-risk": (0, (4, 3))}  # dashed: its median often coincides with rl's
        for arm in arms:
            a = result["arms"][arm]
            for r in a["runs"]:
                xs = [s / 60 for s, _ in r["curve"]] + [args.minutes]
                ys = [v for _, v in r["curve"]] + ([r["curve"][-1][1]] if r["curve"] else [])
                ax.step(xs, ys, where="post", color=colors.get(arm), alpha=0.25, linewidth=1)
            pts = [(t / 60, v) for t, v in zip(a["grid_seconds"], a["median_best_reward"]) if v is not None]
            ax.step([p[0] for p in pts], [p[1] for p in pts], where="post", color=colors.get(arm), linewidth=2.2,
                    linestyle=styles.get(arm, "-"), label=f"{arm} (median of {len(seeds)})")
        ax.set_xlabel("search time (minutes, one worker per run, arms run side by side)")
        ax.set_ylabel(f"best reward so far (validation {metric.upper() if metric == 'auc' else 'NDCG@10'})")
        ax.set_title(f"RL vs random search, {os.path.basename(result['data'].rstrip('/'))}"
                     + (f" ({args.task})" if args.task != "rec" else ""))
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(args.png, dpi=110)


if __name__ == "__main__":
    main()
