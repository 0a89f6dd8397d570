#!/usr/bin/env python3
"""What an RMTL-weighted epoch costs against an equal-weight epoch of the same model.

    python3 benchmarks/mtl/rmtl_epoch.py --tool build/tools/losstrain-mtl \\
        --json benchmarks/results/mtl-rmtl-epoch.json

Each RMTL variant is one losstrain-mtl run (one LibTorch thread, the same
data, model, batch and seed) whose first --pretrain-epochs epochs are
RMTL's equal-weight pretraining: equal-weight epochs of the same model in the
same process, the peer every ratio is taken against. Then comes the epoch that
starts with the critics' warm-up (not counted), then --steady-epochs weighted
epochs. The ratio is the median weighted epoch over the median equal-weight
epoch of that run, so a machine whose speed drifts between runs (a shared host)
does not move it much. Runs go one after another. --before-tool adds a run of
another build (e.g. the one before a change) with its default flags.
"""
import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

DATA = {
    "census": ["--data", "../shared/data/census-income"],
    "synthetic": ["--synthetic", "--synthetic-sessions", "5000"],
}


def run(tool, args, extra, out):
    cmd = [tool, *DATA[args.dataset], "--model", args.model, "--weighting", "rmtl",
           "--epochs", str(args.pretrain_epochs + 1 + args.steady_epochs),
           "--patience", str(args.pretrain_epochs + 1 + args.steady_epochs), "--lr", "3e-3", "--batch", "512",
           "--pretrain-epochs", str(args.pretrain_epochs), "--seed", str(args.seed), "--threads", "1",
           "--out", str(out), *extra]
    start = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"rmtl_epoch: {' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    result = json.loads(out.read_text())
    seconds = [e["train_seconds"] for e in result["history"]]
    equal = statistics.median(seconds[:args.pretrain_epochs])
    weighted = statistics.median(seconds[args.pretrain_epochs + 1:])
    return {"command": " ".join(cmd), "wall_seconds": time.time() - start, "epoch_train_seconds": seconds,
            "equal_epoch_seconds": equal, "rmtl_epoch_seconds": weighted, "ratio": weighted / equal,
            "test_auc": {k: v["auc"] for k, v in result["test"].items() if isinstance(v, dict)}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tool", default="build/tools/losstrain-mtl")
    ap.add_argument("--before-tool", help="also time RMTL with this build, with its default flags")
    ap.add_argument("--dataset", choices=sorted(DATA), default="census")
    ap.add_argument("--model", default="mmoe")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pretrain-epochs", type=int, default=2, help="equal-weight epochs timed first (>= 1)")
    ap.add_argument("--steady-epochs", type=int, default=3, help="weighted epochs timed after the warm-up")
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME=FLAGS: an RMTL variant besides the defaults, e.g. 'every1=--critic-every 1'")
    ap.add_argument("--json", help="write the measurements here")
    args = ap.parse_args()
    if args.pretrain_epochs < 1 or args.steady_epochs < 1:
        ap.error("--pretrain-epochs and --steady-epochs must be >= 1")

    runs = [("defaults", args.tool, [])]
    for v in args.variant:
        name, _, flags = v.partition("=")
        if not name:
            ap.error(f"--variant {v!r}: give NAME=FLAGS")
        runs.append((name, args.tool, flags.split()))
    if args.before_tool:
        runs.append(("before", args.before_tool, []))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, tool, extra) in enumerate(runs):
            r = run(tool, args, extra, pathlib.Path(tmp) / f"{i}.json")
            rows.append({"name": name, "tool": tool, **r})
            print(f"{name}: equal {r['equal_epoch_seconds']:.2f} s/epoch, rmtl {r['rmtl_epoch_seconds']:.2f} "
                  f"s/epoch, {r['ratio']:.2f}x", flush=True)
    print("\n| run | equal s/epoch | RMTL s/epoch | RMTL / equal |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['equal_epoch_seconds']:.2f} | {r['rmtl_epoch_seconds']:.2f} | {r['ratio']:.2f} |")
    if args.json:
        meta = {"dataset": args.dataset, "model": args.model, "seed": args.seed, "threads": 1, "batch": 512,
                "pretrain_epochs": args.pretrain_epochs, "steady_epochs": args.steady_epochs,
                "machine": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                "load": "one run at a time, nothing else running"}
        pathlib.Path(args.json).write_text(json.dumps({"meta": meta, "runs": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
