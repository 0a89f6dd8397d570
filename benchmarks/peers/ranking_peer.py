#!/usr/bin/env python3
"""allRank's ranking losses as the peer of losscc-bench's ranking rows.

Times allRank's own implementations (PyPI `allrank`: listNet, rankNet,
approxNDCGLoss, listMLE) on padded [queries, docs] score and label tensors, forward
plus backward (loss.backward() into the scores), eager and under
torch.compile, on one thread. Scores are N(0, 1), labels uniform grades
0..max-grade, every list full, as in the C++ rows. allRank's definitions
differ in normalisation from ours (its rankNet averages over pairs, its
listNet adds an epsilon inside the log, its listMLE breaks label ties at
random), not in the work done, so the
figures are a speed comparison, not an agreement check.

    ranking_peer.py --queries 10000 --docs 100 --losses listnet,ranknet,approx_ndcg,listmle --json OUT.json

Run by `losscc-bench --python PY` in the same process run as the C++ rows.
allRank pins an old torch; install it with --no-deps beside a current torch
(benchmarks/peers/requirements.txt).
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

if "--warm-cache" not in sys.argv:
    os.environ.setdefault("TORCHINDUCTOR_FORCE_DISABLE_CACHES", "1")

import torch  # noqa: E402
from allrank.models.losses import approxNDCGLoss, listMLE, listNet, rankNet  # noqa: E402

LOSSES = {"listnet": listNet, "ranknet": rankNet, "approx_ndcg": approxNDCGLoss, "listmle": listMLE}


def measure(fn, min_time, warmup=2, min_repeats=5, max_repeats=200):
    for _ in range(warmup):
        fn()
    samples, start = [], time.perf_counter()
    while len(samples) < max_repeats and (len(samples) < min_repeats or time.perf_counter() - start < min_time):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return {"median_s": statistics.median(samples), "p90_s": samples[min(len(samples) - 1, int(0.9 * len(samples)))],
            "min_s": samples[0], "repeats": len(samples)}


def step(loss_fn, score, label):
    def run():
        x = score.detach().clone().requires_grad_(True)
        loss_fn(x, label).backward()
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=10000)
    ap.add_argument("--docs", type=int, default=100)
    ap.add_argument("--max-grade", type=int, default=2)
    ap.add_argument("--losses", default=",".join(LOSSES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=0.3)
    ap.add_argument("--no-compile", action="store_true", help="eager only")
    ap.add_argument("--warm-cache", action="store_true", help="keep Inductor's on-disk caches")
    ap.add_argument("--json", required=True)
    args = ap.parse_args()

    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(args.seed)
    score = torch.randn(args.queries, args.docs, generator=gen)
    label = torch.randint(0, args.max_grade + 1, (args.queries, args.docs), generator=gen).float()
    out = {"torch_version": torch.__version__, "python": platform.python_version(), "threads": 1,
           "allrank": "allrank.models.losses", "queries": args.queries, "docs": args.docs, "cases": []}
    for name in args.losses.split(","):
        if name not in LOSSES:
            sys.exit(f"ranking_peer: unknown loss {name} (of {', '.join(LOSSES)})")
        fn = LOSSES[name]
        case = {"loss": name, "eager": measure(step(fn, score, label), args.min_time)}
        print(f"    allRank {name}: eager {case['eager']['median_s'] * 1e3:.1f} ms", file=sys.stderr)
        if not args.no_compile:
            try:
                compiled = torch.compile(fn, dynamic=False)
                t0 = time.perf_counter()
                step(compiled, score, label)()
                first = time.perf_counter() - t0
                case["compiled"] = measure(step(compiled, score, label), args.min_time)
                case["compile_s"] = first - case["compiled"]["median_s"]
                print(f"    allRank {name}: torch.compile {case['compiled']['median_s'] * 1e3:.1f} ms "
                      f"(compile {case['compile_s']:.1f} s)", file=sys.stderr)
            except Exception as error:  # a peer that fails to compile is reported, not fatal
                case["compiled"] = {"error": f"{type(error).__name__}: {error}"[:500]}
        out["cases"].append(case)
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
