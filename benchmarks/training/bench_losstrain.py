#!/usr/bin/env python3
"""`losstrain` itself against the eager-PyTorch reference epoch, in one run.

For each optimizer (GD, Adam) and loss (BCE, LogMin) it runs the `losstrain`
binary on the native path (its default) and with `--engine torch
--threads 1`, for a few epochs each, and reads the seconds of every epoch from
the JSON `losstrain --out` writes (an epoch there is training *and* scoring the
validation and test rows, so the ratio is conservative); then
benchmarks/peers/biasedmf_epoch.py times the training epoch of the reference
protocol in eager PyTorch, one thread. DeepModel is timed on both paths too,
and compared with its LibTorch path (there is no eager peer for it).

    bench_losstrain.py --losstrain build/tools/losstrain --data ../shared/data/ml100k01-1-5 \\
        --out benchmarks/results/losstrain-ml100k.json

Medians over the epochs of a run (the first, which pays for compiling the
kernel, is dropped) and over --repeats runs of the peer. Prints a table.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def losstrain_epochs(binary, data, loss, optimizer, epochs, extra, tmp):
    """Median seconds per epoch of one `losstrain` run, and its wall time."""
    out = os.path.join(tmp, "run.json")
    cmd = [binary, "--data", data, "--loss", os.path.join(ROOT, "examples", loss + ".loss"),
           "--optimizer", optimizer, "--lr", "0.01", "--epochs", str(epochs), "--patience", str(epochs),
           "--out", out, *extra]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    result = json.load(open(out))
    seconds = [e["seconds"] for e in result["history"]][1:]
    return {"median_s": statistics.median(seconds), "seconds": seconds, "engine": result["config"]["engine"],
            "command": " ".join(os.path.relpath(c, ROOT) if os.path.isabs(c) else c for c in cmd[:-2])}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--losstrain", required=True)
    ap.add_argument("--data", required=True, help="a ratings folder, e.g. ../shared/data/ml100k01-1-5")
    ap.add_argument("--epochs", type=int, default=6, help="epochs per losstrain run (the first is dropped)")
    ap.add_argument("--repeats", type=int, default=3, help="runs of the eager-PyTorch peer")
    ap.add_argument("--python", default=sys.executable, help="the interpreter with PyTorch for the peer")
    ap.add_argument("--out", default="")
    args = ap.parse_args()

    report = {"benchmark": "losstrain_epoch", "data": os.path.basename(os.path.normpath(args.data)),
              "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
              "epochs_per_run": args.epochs, "peer_repeats": args.repeats, "rows": []}
    with tempfile.TemporaryDirectory() as tmp:
        for optimizer in ["gd", "adam"]:
            peer_json = os.path.join(tmp, "peer.json")
            subprocess.run([args.python, os.path.join(ROOT, "benchmarks", "peers", "biasedmf_epoch.py"),
                            "--data", args.data, "--optimizer", optimizer, "--lr", "0.01",
                            "--repeats", str(args.repeats), "--json", peer_json], check=True,
                           stdout=subprocess.DEVNULL)
            peer = json.load(open(peer_json))
            report["torch_version"] = peer.get("torch_version")
            for loss in ["bce", "logmin"]:
                native = losstrain_epochs(args.losstrain, args.data, loss, optimizer, args.epochs,
                                          ["--threads", "1"], tmp)
                torch = losstrain_epochs(args.losstrain, args.data, loss, optimizer, args.epochs,
                                         ["--engine", "torch", "--threads", "1"], tmp)
                eager = peer["losses"][loss]["median_s"]
                report["rows"].append({
                    "model": "biasedmf", "optimizer": optimizer, "loss": loss,
                    "losstrain_native_s": native["median_s"], "losstrain_torch_s": torch["median_s"],
                    "pytorch_eager_s": eager,
                    "native_over_eager": eager / native["median_s"],
                    "native_over_torch": torch["median_s"] / native["median_s"],
                    "native_command": native["command"], "torch_command": torch["command"]})
        for optimizer in ["gd", "adam"]:
            deep = {engine: losstrain_epochs(args.losstrain, args.data, "bce", optimizer, args.epochs,
                                             ["--model", "deepmodel", "--engine", engine, "--threads", "1"], tmp)
                    for engine in ["native", "torch"]}
            report["rows"].append({"model": "deepmodel", "optimizer": optimizer, "loss": "bce",
                                   "losstrain_native_s": deep["native"]["median_s"],
                                   "losstrain_torch_s": deep["torch"]["median_s"],
                                   "native_over_torch": deep["torch"]["median_s"] / deep["native"]["median_s"],
                                   "native_command": deep["native"]["command"],
                                   "torch_command": deep["torch"]["command"]})

    print(f"{'model':10} {'opt':5} {'loss':7} {'native s':>9} {'torch s':>9} {'eager s':>9} {'÷eager':>7} {'÷torch':>7}")
    for r in report["rows"]:
        def cell(key, fmt):
            return format(r[key], fmt) if key in r else "-"
        print(f"{r['model']:10} {r['optimizer']:5} {r['loss']:7} {cell('losstrain_native_s', '9.4f')} "
              f"{cell('losstrain_torch_s', '9.4f')} {cell('pytorch_eager_s', '9.4f')} "
              f"{cell('native_over_eager', '7.1f')} {cell('native_over_torch', '7.1f')}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
