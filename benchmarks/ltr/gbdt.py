#!/usr/bin/env python3
"""Gradient-boosted trees with losscc objectives on the five MQ2008 folds.

Methods (each fold's train queries, early stopping on validation NDCG@10,
test queries for the numbers):

  lambdamart   LightGBM's own objective="lambdarank" (LambdaMART)
  lgb:NAME     LightGBM, objective = losscc.lightgbm_objective(losscc.compile(PATH)),
               one per --loss PATH (NAME is the file's stem)
  xgb-ndcg     XGBoost's own objective "rank:ndcg"
  xgb:NAME     XGBoost, obj = losscc.xgboost_objective(losscc.compile(PATH))

LightGBM runs with benchmarks/peers/ltr_peers.py's settings (LIGHTGBM_PARAMS:
learning rate 0.05, 31 leaves; at most --trees rounds, stopping after 50
without a better validation NDCG@10) plus bagging: bagging_fraction 0.8 and
bagging_freq 1, so that the seeds (seed, bagging_seed, feature_fraction_seed)
give different models; with --bagging-fraction 1 every seed gives the same
model and lambdamart is ltr_peers.py's `lightgbm` peer. XGBoost mirrors those
settings: hist, lossguide trees of 31 leaves, eta 0.05, subsample 0.8, no L2
(LightGBM's lambda_l2 is 0), min_child_weight 1e-3 (LightGBM's
min_sum_hessian_in_leaf), 255 bins. One thread everywhere.

A loss whose Hessian is 0 on most training rows at the trees' first scores
(all 0), a piecewise linear one such as a hinge, boosts with the gradient
alone (constant_hessian=1); every result says which ("hessian"). The losses'
inputs are (score, label), as every ranking example's.

Early stopping uses one function for every method: the mean validation
NDCG@10 in the standard convention, queries with ideal DCG 0 skipped
(ltr_peers.ndcg10_standard, with the queries grouped once). LightGBM's own
ndcg@10 (which scores those queries 1) is an increasing function of it, so
lambdamart stops at the same round as ltr_peers.py's peer. Test (and
validation) metrics come from build/tools/lossrank-eval in both conventions,
as for every other number of docs/RESULTS-ltr.md; the per-query test NDCG@10
(standard) is computed here and checked against lossrank-eval's mean.

Each (method, fold, seed) writes OUT/METHOD-fF-sS.json (METHOD with ':' as
'-'): test and validation metrics in both conventions, the per-query test
NDCG@10, the fit's wall time (training with early stopping; for losscc
objectives also the seconds spent in the objective), and the number of trees
kept. A run whose file exists is skipped, so an interrupted sweep resumes.

--summarize prints a markdown table (mean ± std over folds × seeds of test
NDCG@10 in both conventions, NDCG@5 and MAP (standard), trees, seconds) and
each method against lambdamart (or --baseline) with losscc.compare_paired, over (fold, seed)
pairs of mean test NDCG@10 and over (fold, seed, query) triples of per-query
NDCG@10 (the triples are not independent across seeds, so their interval is
the optimistic one); --json also writes it.

Reproduce (one process, one thread; MQ2008 in ../shared/data/MQ2008):

    PYTHONPATH=build/python build/venv/bin/python benchmarks/ltr/gbdt.py \\
        --eval-tool build/tools/lossrank-eval --out benchmarks/results/gbdt-mq2008 \\
        --loss examples/lambdarank.loss --loss examples/ranknet.loss --loss examples/listnet.loss \\
        --seeds 1,2,3
    PYTHONPATH=build/python build/venv/bin/python benchmarks/ltr/gbdt.py \\
        --out benchmarks/results/gbdt-mq2008 --summarize --json benchmarks/results/gbdt-mq2008.json

Requires lightgbm and xgboost (scripts/setup.sh installs both into build/venv).
A benchmark, never a test (tests/python/test_gbdt.py is the test).
"""
import argparse
import json
import pathlib
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "peers"))
from ltr_peers import LIGHTGBM_EARLY_STOPPING, LIGHTGBM_PARAMS, evaluate, groups, load_fold  # noqa: E402

import losscc  # noqa: E402

XGBOOST_PARAMS = {"tree_method": "hist", "grow_policy": "lossguide", "max_leaves": LIGHTGBM_PARAMS["num_leaves"],
                  "max_depth": 0, "eta": LIGHTGBM_PARAMS["learning_rate"], "reg_lambda": 0.0,
                  "min_child_weight": 1e-3, "max_bin": 255}
BASELINE = "lambdamart"

class ValidNdcg10:
    """ltr_peers.ndcg10_standard (standard NDCG@10, ideal DCG 0 skipped, ties in row order) with the
    queries grouped and padded once, so that early stopping costs little per round."""

    def __init__(self, labels, qids, k=10):
        self.queries = groups(qids)
        self.qids = [qids[g[0]] for g in self.queries]
        longest = max(len(g) for g in self.queries)
        self.index = np.zeros((len(self.queries), longest), dtype=np.int64)
        self.pad = np.ones((len(self.queries), longest), dtype=bool)
        gains = np.zeros((len(self.queries), longest))
        for q, g in enumerate(self.queries):
            self.index[q, :len(g)] = g
            self.pad[q, :len(g)] = False
            gains[q, :len(g)] = 2.0 ** labels[g].astype(np.float64) - 1
        self.k = min(k, longest)
        self.disc = 1 / np.log2(np.arange(2, self.k + 2))
        self.gains = gains
        self.ideal = (-np.sort(-gains, axis=1)[:, :self.k] * self.disc).sum(1)
        self.kept = self.ideal > 0

    def per_query(self, scores):
        """NDCG@10 of every query whose ideal DCG is > 0, in order of first appearance."""
        s = np.where(self.pad, np.inf, -np.asarray(scores, dtype=np.float64)[self.index])
        order = np.argsort(s, axis=1, kind="stable")[:, :self.k]
        dcg = (np.take_along_axis(self.gains, order, axis=1) * self.disc).sum(1)
        return dcg[self.kept] / self.ideal[self.kept]

    def __call__(self, scores):
        return float(self.per_query(scores).mean())


def method_list(args):
    methods = [BASELINE] + [f"lgb:{pathlib.Path(p).stem}" for p in args.loss]
    methods += ["xgb-ndcg"] + [f"xgb:{pathlib.Path(p).stem}" for p in args.loss]
    if args.methods:
        wanted = args.methods.split(",")
        unknown = [m for m in wanted if m not in methods]
        if unknown:
            sys.exit(f"gbdt.py: unknown methods {unknown} (with these --loss files: {', '.join(methods)})")
        methods = [m for m in methods if m in wanted]
    return methods


def contiguous(split):
    """The split's rows reordered so that each query's rows are contiguous, and the group sizes."""
    x, y, q = split
    gs = groups(q)
    idx = np.concatenate(gs)
    return x[idx], y[idx], q[idx], [len(g) for g in gs]


def timed(fn, spent):
    """fn, adding the seconds spent in it and the calls to the dict `spent`. A function, not an
    object: lgb.train deep-copies its params (an object there would count in a copy)."""
    def objective(preds, data):
        t = time.perf_counter()
        out = fn(preds, data)
        spent["seconds"] += time.perf_counter() - t
        spent["calls"] += 1
        return out
    return objective


def fit_lightgbm(objective, train, valid, seed, args):
    import lightgbm as lgb
    x, y, _, sizes = contiguous(train)
    vx, vy, vq, vsizes = contiguous(valid)
    metric = ValidNdcg10(vy, vq)
    params = {**LIGHTGBM_PARAMS, "objective": objective, "metric": "None", "num_threads": 1, "verbose": -1,
              "seed": seed, "bagging_seed": seed, "feature_fraction_seed": seed,
              "bagging_fraction": args.bagging_fraction, "bagging_freq": 1 if args.bagging_fraction < 1 else 0}
    dtrain = lgb.Dataset(x, y, group=sizes, free_raw_data=False)
    dvalid = lgb.Dataset(vx, vy, group=vsizes, reference=dtrain)
    grown = [0]  # lgb.train keeps only the best iteration's trees: count the rounds as they run
    booster = lgb.train(params, dtrain, num_boost_round=args.trees, valid_sets=[dvalid], valid_names=["valid"],
                        feval=lambda preds, _: ("ndcg10", metric(preds), True),
                        callbacks=[lgb.early_stopping(LIGHTGBM_EARLY_STOPPING, verbose=False),
                                   lambda env: grown.__setitem__(0, env.iteration + 1)])
    best = booster.best_iteration or booster.current_iteration()
    info = {"trees": best, "trees_grown": grown[0],
            "params": {k: v for k, v in params.items() if k != "objective"}}
    return (lambda feats: booster.predict(feats, num_iteration=best)), info


def fit_xgboost(objective, train, valid, seed, args):
    import xgboost as xgb
    x, y, _, sizes = contiguous(train)
    vx, vy, vq, vsizes = contiguous(valid)
    metric = ValidNdcg10(vy, vq)
    params = {**XGBOOST_PARAMS, "nthread": 1, "seed": seed, "subsample": args.bagging_fraction, "verbosity": 0,
              "disable_default_eval_metric": 1}
    if isinstance(objective, str):
        params["objective"] = objective
    dtrain = xgb.DMatrix(x, y, group=sizes)
    dvalid = xgb.DMatrix(vx, vy, group=vsizes)
    booster = xgb.train(params, dtrain, num_boost_round=args.trees, evals=[(dvalid, "valid")],
                        obj=None if isinstance(objective, str) else objective,
                        custom_metric=lambda preds, _: ("ndcg10", metric(preds)), maximize=True,
                        early_stopping_rounds=LIGHTGBM_EARLY_STOPPING, verbose_eval=False)
    best = booster.best_iteration + 1
    info = {"trees": best, "trees_grown": booster.num_boosted_rounds(), "params": params}
    return (lambda feats: booster.predict(xgb.DMatrix(feats), iteration_range=(0, best))), info


def hessian_choice(loss, train):
    """None (the exact Hessian) unless the loss's Hessian is 0 on most rows at
    the trees' first scores (all 0): a piecewise linear loss such as a hinge,
    which then boosts with the gradient alone (constant_hessian 1)."""
    _, y, q = train
    rows = groups(q)
    label = torch.from_numpy(y[np.concatenate(rows)].astype(np.float32))
    offsets = torch.tensor(np.concatenate([[0], np.cumsum([len(g) for g in rows])]), dtype=torch.int64)
    _, _, hess = loss.grad_hess(torch.zeros_like(label), label, offsets=offsets)
    return None if float((hess > 0).float().mean()) >= 0.5 else 1.0


def run_one(method, loss_path, fold, seed, split, args):
    train, valid, test, valid_file, test_file = split
    spent, hessian = None, None
    if method == BASELINE:
        fit, objective = fit_lightgbm, "lambdarank"
    elif method == "xgb-ndcg":
        fit, objective = fit_xgboost, "rank:ndcg"
    else:
        loss = losscc.compile(loss_path)
        hessian = hessian_choice(loss, train)
        make = losscc.lightgbm_objective if method.startswith("lgb:") else losscc.xgboost_objective
        fit = fit_lightgbm if method.startswith("lgb:") else fit_xgboost
        objective = make(loss, constant_hessian=hessian)
    if not isinstance(objective, str):
        spent = {"seconds": 0.0, "calls": 0}
        objective = timed(objective, spent)
    t = time.perf_counter()
    scorer, info = fit(objective, train, valid, seed, args)
    seconds = time.perf_counter() - t
    test_scores = scorer(test[0])
    result = {"method": method, "fold": fold, "seed": seed, "loss": loss_path, "seconds": seconds,
              "hessian": "exact" if spent is None or hessian is None else f"constant {hessian}",
              "trees": info["trees"], "trees_grown": info["trees_grown"],
              "config": {"params": info["params"], "max_trees": args.trees,
                         "early_stopping_rounds": LIGHTGBM_EARLY_STOPPING}}
    if spent is not None:
        result["objective_seconds"], result["objective_calls"] = spent["seconds"], spent["calls"]
    result["valid"] = evaluate(args.eval_tool, valid_file, scorer(valid[0]))
    result["test"] = evaluate(args.eval_tool, test_file, test_scores)
    # Per query, on the scores lossrank-eval read (printed with 9 digits, which can make ties).
    per_query = ValidNdcg10(test[1], test[2])
    values = per_query.per_query(np.array([float(f"{s:.9g}") for s in test_scores]))
    ours, theirs = float(values.mean()), result["test"]["standard"]["ndcg@10"]
    if abs(ours - theirs) > 1e-9:
        raise RuntimeError(f"{method} f{fold} s{seed}: per-query NDCG@10 mean {ours} != lossrank-eval's {theirs}")
    kept = [q for q, keep in zip(per_query.qids, per_query.kept) if keep]
    result["test_ndcg@10_per_query"] = {str(q): float(v) for q, v in zip(kept, values)}
    return result


def run_all(args):
    import lightgbm
    import xgboost
    versions = {"lightgbm": lightgbm.__version__, "xgboost": xgboost.__version__, "numpy": np.__version__}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    losses = {f"{lib}:{pathlib.Path(p).stem}": p for p in args.loss for lib in ("lgb", "xgb")}
    methods = method_list(args)
    seeds = [int(s) for s in args.seeds.split(",")]
    for fold in [int(f) for f in args.folds.split(",")]:
        split = None
        for method in methods:
            for seed in seeds:
                path = out / f"{method.replace(':', '-')}-f{fold}-s{seed}.json"
                if path.exists():
                    continue
                if split is None:
                    split = load_fold(args.data, fold)
                result = run_one(method, losses.get(method), fold, seed, split, args)
                result["versions"] = versions
                path.write_text(json.dumps(result, indent=1) + "\n")
                extra = f", objective {result['objective_seconds']:.2f} s" if "objective_seconds" in result else ""
                print(f"{method} fold {fold} seed {seed}: test ndcg@10 {result['test']['standard']['ndcg@10']:.4f} "
                      f"standard, {result['test']['letor']['ndcg@10']:.4f} letor; {result['trees']} trees "
                      f"({result['trees_grown']} grown), {result['seconds']:.2f} s{extra}", flush=True)


def mean_std(values):
    return (statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0)


def summarize(args):
    baseline = args.baseline
    runs = {}
    for path in sorted(pathlib.Path(args.out).glob("*-f*-s*.json")):
        r = json.loads(path.read_text())
        runs.setdefault(r["method"], {})[(r["fold"], r["seed"])] = r
    if not runs:
        sys.exit(f"gbdt.py: no results in {args.out}")
    if baseline not in runs:
        sys.exit(f"gbdt.py: --baseline {baseline}: no runs of it in {args.out} (methods: {', '.join(sorted(runs))})")
    columns = [("NDCG@10 std", lambda r: r["test"]["standard"]["ndcg@10"]),
               ("NDCG@10 letor", lambda r: r["test"]["letor"]["ndcg@10"]),
               ("NDCG@5 std", lambda r: r["test"]["standard"]["ndcg@5"]),
               ("MAP std", lambda r: r["test"]["standard"]["map"]),
               ("trees", lambda r: r["trees"]),
               ("s / fit", lambda r: r["seconds"])]
    summary = {"methods": {}, "paired_vs_" + baseline: {}}
    for method, rs in runs.items():
        row = {"runs": len(rs), "folds": sorted({f for f, _ in rs}), "seeds": sorted({s for _, s in rs})}
        for name, get in columns:
            m, s = mean_std([get(r) for r in rs.values()])
            row[name] = {"mean": m, "std": s}
        summary["methods"][method] = row
    order = sorted(runs, key=lambda m: (m != baseline, -summary["methods"][m]["NDCG@10 std"]["mean"]))
    lines = ["| method | runs | " + " | ".join(n for n, _ in columns) + " |",
             "|---|---|" + "---|" * len(columns)]
    for method in order:
        row = summary["methods"][method]
        cells = [f"{row[n]['mean']:.4f} ± {row[n]['std']:.4f}" if n.startswith(("NDCG", "MAP"))
                 else f"{row[n]['mean']:.1f}" for n, _ in columns]
        lines.append(f"| {method} | {row['runs']} | " + " | ".join(cells) + " |")
    print(f"**Test, mean ± std over folds × seeds** ({args.out})\n")
    print("\n".join(lines))
    base = runs.get(baseline)
    if base:
        print(f"\n**Against {baseline}** (test NDCG@10, standard; a − {baseline}, 95% bootstrap interval, "
              "Wilcoxon p)\n")
        print("| method | (fold, seed) pairs | mean diff [95% CI] | p | (fold, seed, query) triples | "
              "mean diff [95% CI] | p |\n|---|---|---|---|---|---|---|")
        for method in order:
            if method == baseline:
                continue
            keys = sorted(set(runs[method]) & set(base))
            if not keys:
                continue
            a = [runs[method][k]["test"]["standard"]["ndcg@10"] for k in keys]
            b = [base[k]["test"]["standard"]["ndcg@10"] for k in keys]
            pairs = losscc.compare_paired(a, b)
            qa, qb = [], []
            for k in keys:
                mine, theirs = runs[method][k]["test_ndcg@10_per_query"], base[k]["test_ndcg@10_per_query"]
                for q in sorted(set(mine) & set(theirs)):
                    qa.append(mine[q])
                    qb.append(theirs[q])
            triples = losscc.compare_paired(qa, qb)
            summary["paired_vs_" + baseline][method] = {"fold_seed": pairs, "fold_seed_query": triples}
            cell = lambda c: (f"{c['mean_diff']:+.4f} [{c['ci'][0]:+.4f}, {c['ci'][1]:+.4f}] | "
                              f"{c['wilcoxon_p']:.3g}")
            print(f"| {method} | {pairs['n']} | {cell(pairs)} | {triples['n']} | {cell(triples)} |")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")
    if args.png:
        plot_folds(runs, order, args.png)


def plot_folds(runs, order, path):
    """Test NDCG@10 (standard) per fold: each method's seeds as dots, their mean as a bar."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    folds = sorted({f for rs in runs.values() for f, _ in rs})
    width = 0.8 / len(order)
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for i, method in enumerate(order):
        xs, means = [], []
        for j, fold in enumerate(folds):
            values = [r["test"]["standard"]["ndcg@10"] for (f, _), r in runs[method].items() if f == fold]
            if not values:
                continue
            x = j + (i - (len(order) - 1) / 2) * width
            ax.scatter([x] * len(values), values, s=10, color=f"C{i}", zorder=3)
            xs.append(x)
            means.append(statistics.mean(values))
        ax.bar(xs, means, width=width * 0.9, color=f"C{i}", alpha=0.35, label=method)
    ax.set_xticks(range(len(folds)), [f"fold {f}" for f in folds])
    ax.set_ylabel("test NDCG@10 (standard)")
    low = min(r["test"]["standard"]["ndcg@10"] for rs in runs.values() for r in rs.values())
    high = max(r["test"]["standard"]["ndcg@10"] for rs in runs.values() for r in rs.values())
    ax.set_ylim(low - 0.01, high + 0.01)
    ax.legend(fontsize=8, ncol=min(len(order), 4), loc="lower left")
    ax.set_title("per fold: each seed (dots) and the mean (bars)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/MQ2008")
    p.add_argument("--eval-tool", default="build/tools/lossrank-eval")
    p.add_argument("--out", required=True)
    p.add_argument("--loss", action="append", default=[], help="a ranking .loss file (repeat for several)")
    p.add_argument("--methods", default="", help="comma-separated subset of the methods (default: all)")
    p.add_argument("--folds", default="1,2,3,4,5")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--trees", type=int, default=1000, help="the most boosting rounds (early stopping ends most fits)")
    p.add_argument("--bagging-fraction", type=float, default=0.8,
                   help="rows per tree (LightGBM bagging_fraction with bagging_freq 1, XGBoost subsample)")
    p.add_argument("--summarize", action="store_true")
    p.add_argument("--json", help="with --summarize: also write the summary here")
    p.add_argument("--baseline", default=BASELINE, help="with --summarize: the method every other is paired with")
    p.add_argument("--png", help="with --summarize: also plot each fold's test NDCG@10 by method (matplotlib)")
    args = p.parse_args()
    if args.summarize:
        return summarize(args)
    return run_all(args)


if __name__ == "__main__":
    sys.exit(main())
