#!/usr/bin/env python3
"""Five nested ranking searches on MQ2008, and the searched losses against the
best of ours, allRank's LambdaLoss and LightGBM's LambdaMART, paired.

For each fold F, `losssearch --task rank --fold F` searches on that fold's
training and validation queries only (its reward: a short MLP fit's
validation NDCG@10), then its effectiveness test trains its found losses and
the eight classic losses from scratch with three seeds (fit seeds 1, 2, 3)
and tests them on fold F's test queries, which no search saw. The searched
loss of a fold is its found-1, fixed before any test number is read; "ours"
is, per fold, the classic loss with the best mean *validation* NDCG@10.

The peers, same folds and seeds 1-3: allRank's LambdaLoss (NDCG-Loss2++) as
examples/lambdaloss.loss, which tests/python/test_ranking_peers.py checks
equal to allRank's code in values and gradients, trained in the same
effectiveness test (our trainer); LightGBM's LambdaMART (benchmarks/ltr/gbdt.py's
`lambdamart`); and allRank's own training code, seed 1 only
(benchmarks/peers/ltr_peers.py's earlier run in --peers-dir, at most 200
epochs, patience 20: five pairs, so its smallest possible Wilcoxon p is 1/16).

--summarize compares, with losscc.compare_paired over the (fold, seed)
pairs, the searched losses against each, in test NDCG@10 (standard
convention, and the LETOR convention beside it), and writes --json. Where
the fits carry each test query's NDCG@10 (the effectiveness test's fits do
since the trainer reports it; gbdt.py's do), it also compares them over the
(fold, seed, query) triples (standard convention).

    PYTHONPATH=build/python build/venv/bin/python benchmarks/ltr/nested.py --out benchmarks/results/ltr-nested \\
        --budget-minutes 6
    PYTHONPATH=build/python build/venv/bin/python benchmarks/ltr/nested.py --out benchmarks/results/ltr-nested \\
        --summarize --json benchmarks/results/ltr-nested.json

With --select-seeds N each search refits its finalists N times on
validation and ranks them by mean − std before naming found-1 (search/selection.h),
instead of taking the reward's order:

    PYTHONPATH=build/python build/venv/bin/python benchmarks/ltr/nested.py \\
        --out benchmarks/results/ltr-nested-select --budget-minutes 6 --select-seeds 3

A search folder whose summary.json exists is not searched again.

Searches run before the trainer reported each test query's NDCG@10 lack it;
--refit-per-query fits the three losses a comparison needs (found-1, the
best classic by validation, LambdaLoss) again with build/tools/lossrank,
with the effectiveness test's settings and seeds, into fold-F/per-query/,
checking that each refit's test NDCG@10 equals the effectiveness test's
(the fits are deterministic); --summarize then reads those:

    PYTHONPATH=build/python build/venv/bin/python benchmarks/ltr/nested.py \\
        --out benchmarks/results/ltr-nested-select --refit-per-query

A benchmark, never a test.
"""
import argparse
import json
import pathlib
import subprocess
import sys

import losscc

CLASSICS = ["rank_mse", "ranknet", "rank_hinge", "lambdarank", "lambdaloss", "listnet", "listmle", "approx_ndcg"]
SEEDS = [1, 2, 3]


def run_searches(args):
    out = pathlib.Path(args.out)
    for fold in args.folds:
        folder = out / f"fold-{fold}"
        if (folder / "summary.json").exists():
            continue
        cmd = [args.tool, "--task", "rank", "--data", args.data, "--fold", str(fold), "--budget-minutes",
               str(args.budget_minutes), "--seed", str(fold), "--fit-seed", "1", "--effect-seeds", str(len(SEEDS)),
               "--top-k", str(args.top_k), "--workers", str(args.workers), "--progress-seconds", "60",
               "--out", str(folder)]
        if args.select_seeds:
            cmd += ["--select-seeds", str(args.select_seeds)]
        if args.finalists:
            cmd += ["--finalists", str(args.finalists)]
        if args.reward_holdout:
            cmd += ["--reward-holdout", str(args.reward_holdout)]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)


def best_classic(rows):
    return max(CLASSICS, key=lambda n: sum(per_seed(rows[n], "valid")) / len(SEEDS))


def refit_path(out, fold, name, seed):
    return pathlib.Path(out) / f"fold-{fold}" / "per-query" / f"{name}-s{seed}.json"


def refit_per_query(args):
    for fold in args.folds:
        folder = pathlib.Path(args.out) / f"fold-{fold}"
        summary = json.load(open(folder / "summary.json"))
        rows = {r["name"]: r for r in summary["effectiveness"]}
        (folder / "per-query").mkdir(exist_ok=True)
        for name in dict.fromkeys(["found-1", best_classic(rows), "lambdaloss"]):
            loss = folder / "per-query" / f"{name}.loss"
            loss.write_text(rows[name]["source"] if name == "found-1" else
                            (pathlib.Path("examples") / f"{name}.loss").read_text())
            for k, seed in enumerate(SEEDS):
                path = refit_path(args.out, fold, name, seed)
                if not path.exists():
                    subprocess.run([args.lossrank, "--data", args.data, "--fold", str(fold), "--model", "mlp",
                                    "--loss", str(loss), "--seed", str(seed), "--threads", "1",
                                    "--epochs", str(summary["effectiveness_epochs"]),
                                    "--patience", str(summary["effectiveness_patience"]), "--out", str(path)],
                                   check=True, stdout=subprocess.DEVNULL)
                got = json.load(open(path))["test"]["standard"]["ndcg@10"]
                want = rows[name]["test_ndcg@10_per_seed"][k]
                if got != want:
                    raise SystemExit(f"fold {fold} {name} seed {seed}: the refit's test NDCG@10 {got} is not "
                                     f"the effectiveness test's {want}")
                print(f"fold {fold} {name} seed {seed}: {got:.4f} (as in the effectiveness test)", flush=True)


def per_seed(row, split, convention="standard"):
    if convention == "standard":
        return row[f"{split}_ndcg@10_per_seed"]
    return [fit[split]["letor"]["ndcg@10"] for fit in row["fits"]]


def summarize(args):
    out = pathlib.Path(args.out)
    methods = {"searched": {}, "ours (best classic by validation)": {}, "LambdaLoss (allRank's NDCG-Loss2++)": {},
               "LightGBM LambdaMART": {}}
    allrank_own = {"searched": {}, "allRank's own LambdaLoss (seed 1)": {}}
    # Per (fold, seed index): each test query's NDCG@10, where the fit has it.
    triples = {method: {} for method in methods}
    chosen = {}
    for fold in args.folds:
        rows = {r["name"]: r for r in json.load(open(out / f"fold-{fold}" / "summary.json"))["effectiveness"]}
        found = rows["found-1"]
        best = best_classic(rows)
        chosen[fold] = {"searched": found["source"], "ours": best}
        ours = {"searched": "found-1", "ours (best classic by validation)": best,
                "LambdaLoss (allRank's NDCG-Loss2++)": "lambdaloss"}
        gbdt = [json.load(open(pathlib.Path(args.gbdt) / f"lambdamart-f{fold}-s{s}.json")) for s in SEEDS]
        peer = json.load(open(pathlib.Path(args.peers_dir) / f"peer-allrank-lambdaloss-f{fold}.json"))
        for convention in ("standard", "letor"):
            for method, name in ours.items():
                methods[method][(fold, convention)] = per_seed(rows[name], "test", convention)
            methods["LightGBM LambdaMART"][(fold, convention)] = [g["test"][convention]["ndcg@10"] for g in gbdt]
            allrank_own["searched"][(fold, convention)] = per_seed(found, "test", convention)[:1]
            allrank_own["allRank's own LambdaLoss (seed 1)"][(fold, convention)] = [peer["test"][convention]["ndcg@10"]]
        fits = {method: rows[name]["fits"] for method, name in ours.items()}
        fits["LightGBM LambdaMART"] = gbdt
        for method, method_fits in fits.items():
            for k, fit in enumerate(method_fits):
                refit = refit_path(out, fold, ours.get(method, "-"), SEEDS[k])
                if "test_ndcg@10_per_query" not in fit and refit.exists():
                    fit = json.load(open(refit))
                if "test_ndcg@10_per_query" in fit:
                    triples[method][(fold, k)] = fit["test_ndcg@10_per_query"]
    complete = all(len(t) == len(args.folds) * len(SEEDS) for t in triples.values())

    def flat(method, convention, table=methods):
        return [v for fold in args.folds for v in table[method][(fold, convention)]]

    summary = {"folds": args.folds, "seeds": SEEDS, "chosen": chosen, "methods": {}, "searched_against": {}}
    print("| method | test NDCG@10 std | letor |")
    print("|---|---|---|")
    for method in methods:
        a, b = flat(method, "standard"), flat(method, "letor")
        summary["methods"][method] = {"standard": sum(a) / len(a), "letor": sum(b) / len(b), "per_pair": a}
        print(f"| {method} | {sum(a) / len(a):.4f} | {sum(b) / len(b):.4f} |")
    print("\n| searched − | mean diff std [95% CI] | Wilcoxon p | mean diff letor [95% CI] | p |")
    print("|---|---|---|---|---|")
    against = [(m, methods) for m in list(methods)[1:]] + [("allRank's own LambdaLoss (seed 1)", allrank_own)]
    for method, table in against:
        std = losscc.compare_paired(flat("searched", "standard", table), flat(method, "standard", table))
        letor = losscc.compare_paired(flat("searched", "letor", table), flat(method, "letor", table))
        summary["searched_against"][method] = {"standard": std, "letor": letor}
        print(f"| {method} | {std['mean_diff']:+.4f} [{std['ci'][0]:+.4f}, {std['ci'][1]:+.4f}] | "
              f"{std['wilcoxon_p']:.3g} | {letor['mean_diff']:+.4f} [{letor['ci'][0]:+.4f}, {letor['ci'][1]:+.4f}] | "
              f"{letor['wilcoxon_p']:.3g} |")
    if complete:
        summary["searched_against_per_query"] = {}
        print("\n| searched − (per fold, seed, query) | triples | mean diff std [95% CI] | Wilcoxon p |")
        print("|---|---|---|---|")
        for method in list(triples)[1:]:
            a, b = [], []
            for key, searched in triples["searched"].items():
                theirs = triples[method][key]
                for query in sorted(searched):
                    if query not in theirs:
                        raise SystemExit(f"{method}: fold {key[0]} seed {SEEDS[key[1]]}: no query {query}")
                    a.append(searched[query])
                    b.append(theirs[query])
            r = losscc.compare_paired(a, b)
            summary["searched_against_per_query"][method] = r
            print(f"| {method} | {len(a)} | {r['mean_diff']:+.4f} [{r['ci'][0]:+.4f}, {r['ci'][1]:+.4f}] | "
                  f"{r['wilcoxon_p']:.3g} |")
    else:
        print("\n(no per-query comparison: some fits lack test_ndcg@10_per_query)")
    for fold in args.folds:
        print(f"fold {fold}: ours = {chosen[fold]['ours']}; searched = "
              + chosen[fold]["searched"].replace("\n", " "))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tool", default="build/tools/losssearch")
    p.add_argument("--data", default="../shared/data/MQ2008")
    p.add_argument("--out", required=True)
    p.add_argument("--folds", default="1,2,3,4,5")
    p.add_argument("--budget-minutes", type=float, default=6.0)
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--select-seeds", type=int, default=0,
                   help="losssearch --select-seeds: finalists refitted on validation before found-1 is chosen")
    p.add_argument("--finalists", type=int, default=0,
                   help="losssearch --finalists: the best distinct losses found-1 is chosen from (default 3 × --top-k)")
    p.add_argument("--reward-holdout", type=float, default=0.0,
                   help="losssearch --reward-holdout: the reward fits validate on held-out training queries")
    p.add_argument("--summarize", action="store_true")
    p.add_argument("--refit-per-query", action="store_true",
                   help="refit found-1, the best classic and LambdaLoss with --lossrank for per-query NDCG@10")
    p.add_argument("--lossrank", default="build/tools/lossrank")
    p.add_argument("--gbdt", default="benchmarks/results/gbdt-mq2008", help="gbdt.py's results (lambdamart)")
    p.add_argument("--peers-dir", default="benchmarks/results/ltr-mq2008", help="ltr_peers.py's results (seed 1)")
    p.add_argument("--json")
    args = p.parse_args()
    args.folds = [int(f) for f in args.folds.split(",")]
    if args.summarize:
        summarize(args)
    elif args.refit_per_query:
        refit_per_query(args)
    else:
        run_searches(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
