#!/usr/bin/env python3
"""The ranking loss search's outcome as markdown: counters, then every found and
classic loss of the effectiveness test on the search fold.

    python3 benchmarks/ltr/summarize_ltr_search.py benchmarks/results/ltr-search-mq2008/summary.json
"""
import json
import sys


def main():
    s = json.load(open(sys.argv[1]))
    c = s["search"]
    print(f"Search: {s['searcher']}, {s['layers']} layers{' (extended)' if s['extended'] else ''}, "
          f"{c['elapsed_seconds'] / 60:.1f} minutes: {c['candidates']} candidates, {c['trained']} trained, "
          f"{c['invalid']} rejected by the check, {c['duplicates']} duplicates, {c['filtered']} filtered. "
          f"Reward: {s['reward']}, at most {s['reward_epochs']} epochs (patience {s['reward_patience']}).\n")
    print("| loss | origin | search reward | valid NDCG@10 | test NDCG@10 standard | test NDCG@10 letor | test MAP standard | epochs | s / fit |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = [r for r in s["effectiveness"] if "fit" in r]
    rows.sort(key=lambda r: -r["fit"]["valid"]["standard"]["ndcg@10"])
    for r in rows:
        f = r["fit"]
        reward = f"{r['search_reward']:.4f}" if "search_reward" in r else "–"
        print(f"| {r['name']} | {r['origin']} | {reward} | {f['valid']['standard']['ndcg@10']:.4f} | "
              f"{f['test']['standard']['ndcg@10']:.4f} | {f['test']['letor']['ndcg@10']:.4f} | "
              f"{f['test']['standard']['map']:.4f} | {f['best_epoch']}/{f['epochs']} | {f['seconds']:.1f} |")
    for r in s["effectiveness"]:
        if "fit" not in r:
            print(f"\n{r['name']}: {r.get('error', '?')}")
    print()
    for r in rows:
        if r["origin"] == "search":
            print(f"`{r['name']}`:\n```\n{r['source'].strip()}\n```")


if __name__ == "__main__":
    main()
