#!/usr/bin/env python3
"""The reward's Spearman correlation within the stronger part of a panel:
bench_rank_reward's JSON, restricted to the losses whose mean test NDCG@10 is
at least each threshold (the search's hard case is ordering good losses, not
telling them from broken ones).

    PYTHONPATH=build/python build/venv/bin/python benchmarks/search/reward_subsets.py \\
        benchmarks/results/reward-spearman-ranking.json --thresholds 0,0.6,0.65
"""
import argparse
import json

from scipy.stats import spearmanr


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("json")
    p.add_argument("--thresholds", default="0,0.6,0.65")
    args = p.parse_args()
    d = json.load(open(args.json))
    losses, folds = d["losses"], len(d["folds"])
    value = lambda v: v if v is not None and v == v else 0.0  # noqa: E731 (diverged: 0, as the bench counts it)
    print("| reward epochs | losses with test NDCG@10 ≥ | n | Spearman per fold | mean | pooled |")
    print("|---|---|---|---|---|---|")
    for r, setting in enumerate(d["settings"]):
        for threshold in [float(t) for t in args.thresholds.split(",")]:
            keep = [loss for loss in losses if loss["test_ndcg@10_mean"] >= threshold]
            per_fold = [spearmanr([value(loss["rewards"][r][f]) for loss in keep],
                                  [sum(map(value, loss["test_ndcg@10"][f])) / len(loss["test_ndcg@10"][f])
                                   for loss in keep]).correlation for f in range(folds)]
            pooled = spearmanr([sum(map(value, loss["rewards"][r])) / folds for loss in keep],
                               [loss["test_ndcg@10_mean"] for loss in keep]).correlation
            print(f"| {setting['reward_epochs']} | {threshold:g} | {len(keep)} | "
                  f"{', '.join(f'{x:.2f}' for x in per_fold)} | {sum(per_fold) / folds:.3f} | {pooled:.3f} |")


if __name__ == "__main__":
    main()
