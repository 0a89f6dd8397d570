#!/usr/bin/env python3
"""Hand-written variants of a ranking loss on MQ2008, paired against the
loss they vary as a nested run's effectiveness tests trained it.

Each .loss is trained with build/tools/lossrank on folds 1-5 with fit seeds
1-3 under the effectiveness test's settings (MLP, its epochs and patience,
one thread), and compared with the `--against` row of each fold's
summary.json in --nested (same fold, same seed: same initialisation and
batch order), on validation and test NDCG@10 (standard convention) and per
test query, with losscc.compare_paired. A variant is judged by validation
first: a test number read for a variant chosen by its test number would be
a search on the test queries.

    PYTHONPATH=build/python build/venv/bin/python benchmarks/ltr/variants.py \\
        --nested benchmarks/results/ltr-nested-wide --fits out/ltr-variants \\
        --json benchmarks/results/ltr-variants.json benchmarks/ltr/variants/*.loss

Fits already in --fits are read, not run again. A benchmark, never a test.
"""
import argparse
import json
import pathlib
import subprocess

import losscc

FOLDS, SEEDS = (1, 2, 3, 4, 5), (1, 2, 3)


def fit(args, summary, loss, fold, seed):
    path = pathlib.Path(args.fits) / f"{loss.stem}-f{fold}-s{seed}.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([args.lossrank, "--data", args.data, "--fold", str(fold), "--model", "mlp", "--loss", str(loss),
                        "--seed", str(seed), "--threads", "1", "--epochs", str(summary["effectiveness_epochs"]),
                        "--patience", str(summary["effectiveness_patience"]), "--out", str(path)],
                       check=True, stdout=subprocess.DEVNULL)
    return json.load(open(path))


def compare(args, loss):
    pairs = {"valid": ([], []), "test": ([], []), "test per query": ([], [])}
    for fold in FOLDS:
        summary = json.load(open(pathlib.Path(args.nested) / f"fold-{fold}" / "summary.json"))
        peer = next(r for r in summary["effectiveness"] if r["name"] == args.against)
        for k, seed in enumerate(SEEDS):
            mine = fit(args, summary, loss, fold, seed)
            for split in ("valid", "test"):
                pairs[split][0].append(mine[split]["standard"]["ndcg@10"])
                pairs[split][1].append(peer[f"{split}_ndcg@10_per_seed"][k])
            theirs = peer["fits"][k]["test_ndcg@10_per_query"]
            for query, value in theirs.items():
                pairs["test per query"][0].append(mine["test_ndcg@10_per_query"][query])
                pairs["test per query"][1].append(value)
    out = {}
    for split, (a, b) in pairs.items():
        c = losscc.compare_paired(a, b)
        out[split] = {"mean": sum(a) / len(a), "against_mean": sum(b) / len(b), **c}
        print(f"{loss.stem:22s} {split:15s} {out[split]['mean']:.4f} vs {args.against} {out[split]['against_mean']:.4f}: "
              f"{c['mean_diff']:+.4f} [{c['ci'][0]:+.4f}, {c['ci'][1]:+.4f}] p {c['wilcoxon_p']:.3f} (n {c['n']})",
              flush=True)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("losses", nargs="+", type=pathlib.Path, help="the variants (.loss files)")
    parser.add_argument("--nested", required=True, help="a nested run's folder (benchmarks/ltr/nested.py --out)")
    parser.add_argument("--against", default="lambdaloss", help="the effectiveness row paired with (default lambdaloss)")
    parser.add_argument("--fits", default="out/ltr-variants", help="where the fits' JSON go")
    parser.add_argument("--data", default="../shared/data/MQ2008")
    parser.add_argument("--lossrank", default="build/tools/lossrank")
    parser.add_argument("--json", help="write every comparison here")
    args = parser.parse_args()
    results = {"nested": args.nested, "against": args.against, "folds": FOLDS, "seeds": SEEDS,
               "variants": {loss.stem: {"source": loss.read_text(), **compare(args, loss)} for loss in args.losses}}
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
