#!/usr/bin/env python3
"""Every multi-task model x every loss-weighting method x seeds, with losstrain-mtl.

    export PYTHONPATH=build/python
    build/venv/bin/python benchmarks/mtl/run_mtl.py --tool build/tools/losstrain-mtl --out bench-mtl --jobs 2
    build/venv/bin/python benchmarks/mtl/run_mtl.py --out bench-mtl --summarize --markdown table.md --json summary.json

Each run writes OUT/DATASET/MODEL-METHOD-sSEED.json (losstrain-mtl --out) and its
log beside it; a run whose JSON exists is not run again, so an interrupted
sweep resumes. --summarize reads the JSON files (and --with-summary's rows)
and prints mean ± std over seeds of every task's test AUC and logloss (and
session logloss where the data has sessions), the wall time per run, and
every method against equal weights (and --compare A:B pairs) paired by seed:
the mean difference with a bootstrap interval and a Wilcoxon p
(losscc.compare_paired, hence the package on PYTHONPATH). --print-commands
shows the exact command of every run.
"""
import argparse
import concurrent.futures
import json
import math
import pathlib
import statistics
import subprocess
import sys
import time

MODELS = ["single", "sharedbottom", "esmm", "mmoe", "omoe", "ple", "aitm"]
METHODS = ["equal", "uw", "gradnorm", "dwa", "rmtl"]
# Methods by the flags that make them; a name not here is --weighting NAME.
# rmtl-every-step: RMTL as it was before its epoch was brought near an
# equal-weight epoch: critics of the model's bottom sizes (64, 32), updated
# after every actor step on 1024 transitions.
# rmtl-closed-form: equal weighting of examples/mtl_rmtl_closed_form.loss, one
# multi-task program whose per-sample weights are RMTL's with the reward in
# the critic's place (no critics).
EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
METHOD_FLAGS = {"rmtl-every-step": ["--weighting", "rmtl", "--critic-every", "1", "--critic-batch", "1024",
                                    "--critic-bottom", "64,32"],
                "rmtl-closed-form": ["--weighting", "equal", "--loss", str(EXAMPLES / "mtl_rmtl_closed_form.loss")]}

# Per dataset: the data flags and the training budget every method shares
# (RMTL's equal-weight pretraining epochs count against the same budget).
DATASETS = {
    "census": ["--data", "../shared/data/census-income", "--epochs", "4", "--patience", "4",
               "--lr", "3e-3", "--batch", "512", "--pretrain-epochs", "1"],
    "synthetic": ["--synthetic", "--synthetic-sessions", "5000", "--epochs", "8", "--patience", "8",
                  "--lr", "3e-3", "--batch", "512", "--pretrain-epochs", "2"],
}
# --converge: the same data and optimiser, trained until the mean validation
# AUC has not improved for 3 epochs (RMTL's code stops after 2), at most 40.
CONVERGE = {"--epochs": "40", "--patience": "3"}


def converged(flags):
    return [CONVERGE.get(prev, flag) if prev in CONVERGE else flag
            for prev, flag in zip([None] + flags[:-1], flags)]


def runs(datasets, models, methods, seeds):
    for dataset in datasets:
        for model in models:
            for method in methods:
                # Nothing is shared between single-task networks: GradNorm has
                # no shared layer to balance.
                if model == "single" and method == "gradnorm":
                    continue
                for seed in seeds:
                    yield dataset, model, method, seed


def command(tool, dataset, model, method, seed, out, converge=False):
    weighting = METHOD_FLAGS.get(method, ["--weighting", method])
    data = converged(DATASETS[dataset]) if converge else DATASETS[dataset]
    return [tool, *data, "--model", model, *weighting, "--seed", str(seed),
            "--threads", "1", "--out", str(out)]


def run_one(tool, folder, dataset, model, method, seed, converge=False):
    out = folder / dataset / f"{model}-{method}-s{seed}.json"
    if out.exists():
        return out, 0.0, "cached"
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with open(out.with_suffix(".log"), "w") as log:
        code = subprocess.call(command(tool, dataset, model, method, seed, out, converge), stdout=log, stderr=subprocess.STDOUT)
    wall = time.time() - start
    if code != 0:
        return out, wall, f"exit {code}"
    data = json.loads(out.read_text())
    data["wall_seconds"] = wall
    out.write_text(json.dumps(data, indent=2) + "\n")
    return out, wall, "ok"


def mean_std(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return None, None
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(folder):
    rows = {}
    for path in sorted(folder.glob("*/*.json")):
        data = json.loads(path.read_text())
        dataset = path.parent.name
        model, rest = path.stem.split("-", 1)  # model names have no "-", method names may
        method, seed = rest.rsplit("-", 1)
        data["seed"] = int(seed[1:])
        rows.setdefault((dataset, model, method), []).append(data)
    table = []
    for (dataset, model, method), results in sorted(rows.items()):
        tasks = [t for t in results[0]["test"] if t != "mean_auc"]
        entry = {"dataset": dataset, "model": model, "method": method, "seeds": len(results), "tasks": {}}
        for task in tasks:
            stats = {}
            for metric in ["auc", "logloss", "session_logloss"]:
                m, s = mean_std([r["test"][task].get(metric) for r in results])
                if m is not None:
                    stats[metric] = {"mean": m, "std": s}
            entry["tasks"][task] = stats
        entry["test_auc_by_seed"] = {str(r["seed"]): {t: r["test"][t]["auc"] for t in tasks} for r in results}
        entry["wall_seconds"] = mean_std([r.get("wall_seconds") for r in results])[0]
        entry["epochs"] = mean_std([r["epochs"] for r in results])[0]
        entry["best_epoch"] = mean_std([r["best_epoch"] for r in results])[0]
        epoch_train = [e["train_seconds"] for r in results for e in r["history"]]
        entry["median_epoch_train_seconds"] = statistics.median(epoch_train)
        table.append(entry)
    return table


def paired_statistics():
    try:
        from losscc import compare_paired
    except ImportError as e:
        sys.exit(f"run_mtl.py: the summary's paired statistics need the losscc package ({e}); run it as "
                 "PYTHONPATH=build/python build/venv/bin/python benchmarks/mtl/run_mtl.py ...")
    return compare_paired


def markdown(table, comparisons):
    compare_paired = paired_statistics() if comparisons else None
    lines = []
    for dataset in sorted({e["dataset"] for e in table}):
        entries = [e for e in table if e["dataset"] == dataset]
        tasks = list(entries[0]["tasks"])
        has_session = "session_logloss" in entries[0]["tasks"][tasks[0]]
        head = ["model", "weighting"]
        for t in tasks:
            head += [f"{t} AUC", f"{t} logloss"] + ([f"{t} session logloss"] if has_session else [])
        head += ["s/run", "s/epoch (train)"]
        lines += [f"### {dataset}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        order = {m: i for i, m in enumerate(MODELS)}
        morder = {m: i for i, m in enumerate(METHODS + list(METHOD_FLAGS))}
        for e in sorted(entries, key=lambda e: (order.get(e["model"], 99), morder.get(e["method"], 99))):
            cells = [e["model"], e["method"]]
            for t in tasks:
                for metric in ["auc", "logloss"] + (["session_logloss"] if has_session else []):
                    s = e["tasks"][t].get(metric)
                    cells.append("-" if s is None else f"{s['mean']:.4f} ± {s['std']:.4f}")
            cells += [f"{e['wall_seconds']:.0f}" if e["wall_seconds"] else "-", f"{e['median_epoch_train_seconds']:.1f}"]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        # Each comparison, per model and task: the paired difference of test
        # AUCs over seeds (same seed: the same initialisation, batch order
        # and, for RMTL, the same pretraining) with its 95 % bootstrap
        # interval and Wilcoxon p (losscc.compare_paired), and the seeds it
        # was above 0.
        for method, against in comparisons:
            lines += [f"{method} − {against} ({dataset}, test AUC): paired mean difference [95 % interval], "
                      "Wilcoxon p, seeds above 0", ""]
            lines += ["| model | " + " | ".join(tasks + ["mean AUC"]) + " |", "|---|" + "---|" * (len(tasks) + 1)]
            for model in MODELS:
                base = next((e for e in entries if e["model"] == model and e["method"] == against), None)
                other = next((e for e in entries if e["model"] == model and e["method"] == method), None)
                if not base or not other:
                    continue
                seeds = sorted(set(base["test_auc_by_seed"]) & set(other["test_auc_by_seed"]))
                if not seeds:
                    continue
                cells = []
                for t in tasks + [None]:
                    def auc(e, k):
                        by_task = e["test_auc_by_seed"][k]
                        return by_task[t] if t else statistics.mean(by_task.values())
                    a = [auc(other, k) for k in seeds]
                    b = [auc(base, k) for k in seeds]
                    c = compare_paired(a, b)
                    above = sum(x > y for x, y in zip(a, b))
                    cells.append(f"{c['mean_diff']:+.4f} [{c['ci'][0]:+.4f}, {c['ci'][1]:+.4f}], "
                                 f"p {c['wilcoxon_p']:.3f}, {above}/{len(a)}")
                lines.append(f"| {model} | " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", default="build/tools/losstrain-mtl")
    ap.add_argument("--out", type=pathlib.Path, required=True, help="output folder")
    ap.add_argument("--datasets", default="census,synthetic")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--jobs", type=int, default=1, help="runs at once (each on one LibTorch thread)")
    ap.add_argument("--summarize", action="store_true", help="only summarise the JSON files in --out")
    ap.add_argument("--compare", action="append", default=[], metavar="A:B",
                    help="also compare method A with method B, paired by seed (every method is compared with equal)")
    ap.add_argument("--converge", action="store_true",
                    help="train every run until the mean validation AUC is 3 epochs old (at most 40), "
                         "not the short fixed budget")
    ap.add_argument("--loss-method", action="append", default=[], metavar="NAME=FILE",
                    help="a method NAME: equal weighting of the multi-task program FILE (e.g. a found loss)")
    ap.add_argument("--print-commands", action="store_true")
    ap.add_argument("--markdown", type=pathlib.Path)
    ap.add_argument("--json", type=pathlib.Path)
    ap.add_argument("--with-summary", type=pathlib.Path, metavar="JSON",
                    help="an earlier --json summary: its rows join the table where --out has no runs of that "
                         "dataset, model and method (the runs are deterministic: a seed's numbers are the same), "
                         "so new runs pair with committed ones")
    args = ap.parse_args()
    for spec in args.loss_method:
        name, _, path = spec.partition("=")
        if not name or not path or "-s" in name:
            ap.error(f"--loss-method {spec}: expected NAME=FILE (NAME without '-s')")
        if not pathlib.Path(path).is_file():
            ap.error(f"--loss-method {spec}: no file {path}")
        METHOD_FLAGS[name] = ["--weighting", "equal", "--loss", str(pathlib.Path(path).resolve())]
    datasets = args.datasets.split(",")
    for d in datasets:
        if d not in DATASETS:
            ap.error(f"unknown dataset '{d}' (known: {', '.join(DATASETS)})")
    grid = list(runs(datasets, args.models.split(","), args.methods.split(","),
                     [int(s) for s in args.seeds.split(",")]))
    if args.print_commands:
        for dataset, model, method, seed in grid:
            out = args.out / dataset / f"{model}-{method}-s{seed}.json"
            print(" ".join(command(args.tool, dataset, model, method, seed, out, args.converge)))
        return
    if not args.summarize:
        done = 0
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_one, args.tool, args.out, *r, args.converge) for r in grid]
            for f in concurrent.futures.as_completed(futures):
                out, wall, status = f.result()
                done += 1
                print(f"[{done}/{len(grid)}] {out.parent.name}/{out.stem}: {status} ({wall:.0f} s)", flush=True)
    table = summarize(args.out)
    if args.with_summary:
        have = {(e["dataset"], e["model"], e["method"]) for e in table}
        table += [e for e in json.loads(args.with_summary.read_text())
                  if e["dataset"] in datasets and (e["dataset"], e["model"], e["method"]) not in have]
        table.sort(key=lambda e: (e["dataset"], e["model"], e["method"]))
    methods = {e["method"] for e in table}
    comparisons = [(m, "equal") for m in METHODS + list(METHOD_FLAGS) if m != "equal" and m in methods]
    for pair in args.compare:
        method, _, against = pair.partition(":")
        if method not in methods or against not in methods:
            ap.error(f"--compare {pair}: both methods need runs in {args.out} (or rows in --with-summary)")
        comparisons.append((method, against))
    text = markdown(table, comparisons)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
