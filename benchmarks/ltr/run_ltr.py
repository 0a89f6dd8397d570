#!/usr/bin/env python3
"""Every example ranking loss x {linear, mlp} x the five MQ2008 folds, with lossrank,
and the table of docs/RESULTS-ltr.md.

    python3 benchmarks/ltr/run_ltr.py --tool build/tools/lossrank --out benchmarks/results/ltr-mq2008
    python3 benchmarks/ltr/run_ltr.py --out benchmarks/results/ltr-mq2008 --summarize \
        --markdown table.md --json benchmarks/results/ltr-mq2008.json

Each fit writes OUT/MODEL-LOSS-fK.json (lossrank --out) and its log beside it; a
fit whose JSON exists is not run again, so an interrupted sweep resumes. Fits run
one at a time with one LibTorch thread, so the wall time of each is comparable
with the peers' (benchmarks/peers/ltr_peers.py, which writes the same JSON shape
into the same folder as peer-NAME-fK.json). --summarize prints mean ± std over
folds of test NDCG@1/3/5/10 and MAP in both conventions and the mean wall time
per fit, for ours and every peer found in OUT. --print-commands shows the exact
command of every fit.
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

LOSSES = ["rank_mse", "ranknet", "rank_hinge", "lambdarank", "lambdaloss", "listnet", "listmle", "approx_ndcg"]
MODELS = ["linear", "mlp"]
FOLDS = [1, 2, 3, 4, 5]
METRICS = ["ndcg@1", "ndcg@3", "ndcg@5", "ndcg@10", "map"]
# The training budget every fit shares (ltr_peers.py uses the same for allRank).
BUDGET = ["--epochs", "200", "--patience", "20"]


def command(args, model, loss, fold, out):
    loss_file = loss if loss.endswith(".loss") else f"examples/{loss}.loss"
    return [args.tool, "--data", args.data, "--fold", str(fold), "--model", model, "--loss", loss_file,
            "--seed", str(args.seed), "--threads", "1"] + BUDGET + ["--out", str(out)] + args.extra


def name_of(loss):
    return pathlib.Path(loss).stem


def run_all(args):
    out_dir = pathlib.Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    todo = [(m, l, f) for m in args.models for l in args.losses for f in args.folds]
    for i, (model, loss, fold) in enumerate(todo, 1):
        out = out_dir / f"{model}-{name_of(loss)}{args.tag}-f{fold}.json"
        cmd = command(args, model, loss, fold, out)
        if args.print_commands:
            print(" ".join(cmd))
            continue
        if out.exists():
            continue
        t = time.time()
        with open(out.with_suffix(".log"), "w") as log:
            p = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
        status = "ok" if p.returncode == 0 else f"exit {p.returncode}"
        r = json.loads(out.read_text()) if out.exists() else None
        ndcg = f"test ndcg@10 {r['test']['standard']['ndcg@10']:.4f}" if r else ""
        print(f"[{i}/{len(todo)}] {model} {name_of(loss)} fold {fold}: {status} {ndcg} ({time.time() - t:.1f} s)",
              flush=True)


def mean_std(values):
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarize(args):
    out_dir = pathlib.Path(args.out)
    groups = {}
    for path in sorted(out_dir.glob("*-f[0-9].json")):
        method = path.stem.rsplit("-f", 1)[0]
        groups.setdefault(method, []).append(json.loads(path.read_text()))
    summary = {}
    for method, fits in groups.items():
        row = {"folds": len(fits), "seconds": mean_std([f["seconds"] for f in fits])}
        for conv in ["standard", "letor"]:
            for metric in METRICS:
                row[f"{conv} {metric}"] = mean_std([f["test"][conv][metric] for f in fits])
        row["valid standard ndcg@10"] = mean_std([f["valid"]["standard"]["ndcg@10"] for f in fits])
        summary[method] = row
    order = sorted(summary, key=lambda m: -summary[m]["standard ndcg@10"][0])
    lines = []
    for conv in ["standard", "letor"]:
        lines.append(f"**Test, {conv} convention** (mean ± std over folds; sorted by standard NDCG@10)\n")
        lines.append("| method | folds | " + " | ".join(m.upper().replace("NDCG", "NDCG") for m in METRICS)
                     + " | s / fit |")
        lines.append("|---" * (len(METRICS) + 3) + "|")
        for method in order:
            r = summary[method]
            cells = [f"{r[f'{conv} {m}'][0]:.4f} ± {r[f'{conv} {m}'][1]:.4f}" for m in METRICS]
            lines.append(f"| {method} | {r['folds']} | " + " | ".join(cells) + f" | {r['seconds'][0]:.1f} |")
        lines.append("")
    # Wall time per fit: our MLP with a loss beside allRank's MLP with the same
    # loss (LambdaRank's lambda form beside allRank's LambdaLoss NDCG-Loss2++).
    pairs = [("listnet", "listnet"), ("listmle", "listmle"), ("ranknet", "ranknet"),
             ("approx_ndcg", "approxndcg"), ("lambdarank", "lambdaloss")]
    rows = [(a, b) for a, b in pairs if f"mlp-{a}" in summary and f"peer-allrank-{b}" in summary]
    if rows:
        lines.append("**Wall time per fit, same MLP, one thread** (mean over folds; epochs differ by early stopping)\n")
        lines.append("| loss | ours s / fit | ours epochs | allRank s / fit | allRank epochs | ours / allRank s per epoch |")
        lines.append("|---|---|---|---|---|---|")
        for a, b in rows:
            ours, theirs = groups[f"mlp-{a}"], groups[f"peer-allrank-{b}"]
            oe = statistics.fmean(f["epochs"] for f in ours)
            te = statistics.fmean(f["config"]["epochs"] for f in theirs)
            os_ = statistics.fmean(f["seconds"] for f in ours)
            ts = statistics.fmean(f["seconds"] for f in theirs)
            lines.append(f"| {a} / {b} | {os_:.1f} | {oe:.0f} | {ts:.1f} | {te:.0f} | {(os_ / oe) / (ts / te):.2f} |")
        lines.append("")
    checks = [f["cross_check"] for m, fits in groups.items() if m.startswith("peer-") for f in fits if "cross_check" in f]
    if checks:
        worst = max(abs(c["ours_valid_ndcg@10_ideal_zero_one"] - c["peer_own_valid_ndcg@10"]) for c in checks)
        lines.append(f"Evaluator cross-check: on {len(checks)} peer fits, our validation NDCG@10 with ideal-DCG-0 "
                     f"queries scored 1 differs from the peer's own metric by at most {worst:.2e}.\n")
        summary["_cross_check_max_abs_diff"] = worst
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        pathlib.Path(args.markdown).write_text(text + "\n")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(
            {"data": args.data, "metrics": METRICS, "budget": BUDGET,
             "cross_check_max_abs_diff": summary.pop("_cross_check_max_abs_diff", None),
             "methods": {m: {k: (list(v) if isinstance(v, tuple) else v) for k, v in r.items()}
                         for m, r in summary.items()}}, indent=2) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tool", default="build/tools/lossrank")
    p.add_argument("--data", default="../shared/data/MQ2008")
    p.add_argument("--out", required=True)
    p.add_argument("--losses", default=",".join(LOSSES), help="example names or .loss files")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--folds", default="1,2,3,4,5")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tag", default="", help="suffix of the method name (e.g. -shuffled for runs with extra flags)")
    p.add_argument("--print-commands", action="store_true")
    p.add_argument("--summarize", action="store_true")
    p.add_argument("--markdown")
    p.add_argument("--json")
    p.add_argument("extra", nargs="*", help="more lossrank flags (after --)")
    args = p.parse_args()
    args.losses = args.losses.split(",")
    args.models = args.models.split(",")
    try:
        args.folds = [int(f) for f in args.folds.split(",")]
    except ValueError:
        p.error("--folds: a comma-separated list of 1..5")
    if any(f < 1 or f > 5 for f in args.folds) or any(m not in MODELS for m in args.models):
        p.error("--folds must be in 1..5 and --models in linear, mlp")
    if args.summarize:
        summarize(args)
    else:
        run_all(args)


if __name__ == "__main__":
    sys.exit(main())
