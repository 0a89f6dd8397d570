#!/usr/bin/env python3
"""Summarise a losssearch output folder (candidates.jsonl + summary.json).

    python3 benchmarks/search/summarize_search.py /tmp/search-ml100k [--window 2000] [--json out.json]

Prints the candidate counts and rates, the valid fraction / trained count /
mean and best reward per window of candidates (how the controller's sampling
moved over the run), the per-status median cost of a candidate, and the
effectiveness table (test split) from summary.json when the run finished.
"""
import argparse
import json
import pathlib
import statistics
import sys


def load_rows(folder):
    with open(folder / "candidates.jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


def windows(rows, size):
    out, best = [], None
    for begin in range(0, len(rows), size):
        chunk = rows[begin:begin + size]
        trained = [r["reward"] for r in chunk
                   if r["status"] in ("trained", "filtered") and r["reward"] is not None]
        for r in chunk:
            if r["reward"] is not None and (best is None or r["reward"] > best):
                best = r["reward"]
        out.append({
            "end": begin + len(chunk),
            "minutes": chunk[-1]["elapsed_seconds"] / 60,
            "valid_fraction": sum(r["status"] != "invalid" for r in chunk) / len(chunk),
            "trained": len(trained),
            "mean_reward_trained": statistics.mean(trained) if trained else None,
            "best_so_far": best,
        })
    return out


def seconds_by_status(rows):
    by = {}
    for a, b in zip(rows, rows[1:]):
        by.setdefault(b["status"], []).append(b["elapsed_seconds"] - a["elapsed_seconds"])
    return {k: {"count": len(v), "median_seconds": statistics.median(v)} for k, v in by.items()}


def fmt(x, spec=".4f"):
    return "-" if x is None else format(x, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=pathlib.Path)
    ap.add_argument("--window", type=int, default=2000)
    ap.add_argument("--json", type=pathlib.Path, help="write the summary as JSON")
    args = ap.parse_args()

    rows = load_rows(args.folder)
    if not rows:
        sys.exit(f"{args.folder}: no candidates")
    counts = {s: sum(r["status"] == s for r in rows) for s in ("trained", "duplicate", "invalid", "filtered")}
    minutes = rows[-1]["elapsed_seconds"] / 60
    summary_path = args.folder / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    result = {
        "folder": str(args.folder),
        "candidates": len(rows),
        "counts": counts,
        "search_minutes": minutes,
        "candidates_per_minute": len(rows) / minutes,
        "trained_per_minute": (counts["trained"] + counts["filtered"]) / minutes,
        "seconds_by_status": seconds_by_status(rows),
        "windows": windows(rows, args.window),
    }
    if summary:
        result["search_counters"] = summary["search"]
        result["shared_model_valid_auc"] = summary.get("shared_model_valid_auc")
        result["effectiveness"] = [
            {"name": r["name"], "origin": r.get("origin"),
             "valid_auc": r["fit"]["valid"]["auc"] if "fit" in r else None,
             "test_auc": r["fit"]["test"]["auc"] if "fit" in r else None,
             "error": r.get("error")}
            for r in summary["effectiveness"]]

    print(f"{len(rows)} candidates in {minutes:.1f} min ({result['candidates_per_minute']:.0f}/min): "
          + ", ".join(f"{k} {v}" for k, v in counts.items())
          + f"; trained {result['trained_per_minute']:.2f}/min")
    for status, v in result["seconds_by_status"].items():
        print(f"  {status:<9} median {v['median_seconds']:.4f} s per candidate ({v['count']})")
    print(f"\n{'cands':>7} {'min':>6} {'valid%':>7} {'trained':>7} {'mean AUC':>8} {'best':>7}")
    for w in result["windows"]:
        print(f"{w['end']:>7} {w['minutes']:>6.1f} {100 * w['valid_fraction']:>7.2f} {w['trained']:>7} "
              f"{fmt(w['mean_reward_trained']):>8} {fmt(w['best_so_far']):>7}")
    for r in result.get("effectiveness", []):
        print(f"  {r['name']:<10} {r['origin'] or '':<9} valid {fmt(r['valid_auc'])} test {fmt(r['test_auc'])}"
              + (f"  ({r['error']})" if r["error"] else ""))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
