#!/usr/bin/env python3
"""The Ray executor against the threads executor, on the same cores, in one run.

Three measurements, each from `losssearch` runs (one process per run, one at a
time, so every run has the whole machine):

  overhead  threads vs ray at --workers W (a local Ray cluster of W CPUs),
            alternating, --repeats times each: from-scratch fits per minute of
            search (the summary's trained + filtered over its elapsed seconds),
            their medians and ratio; the Ray runs' per-task overhead (a task's
            time on the driver minus its evaluation's time on the worker,
            executor.json), median over tasks, then over runs;
  scaling   ray at 1, 2, ... workers (--scaling): fits per minute, median of
            --repeats, and the parallel efficiency fpm(n) / (n fpm(1));
  memory    one ray run of --memory-candidates candidates: the driver's and each
            worker's resident memory at its end (fits of one epoch, to keep it
            to minutes).

  build/venv/bin/python benchmarks/search/ray_bench.py --data ../shared/data/mlsmall01-1-5 \\
      --json benchmarks/results/ray-executor/ray-executor.json --png benchmarks/results/ray-executor/scaling.png

The candidates' fits are the default reward's (the first --candidates
candidates of the same seed, so every run fits the same losses).
--plot-only redraws the plot from --json.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def machine():
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor())
    import ray

    return {"cpu_model": model, "hardware_threads": os.cpu_count(), "ray_version": ray.__version__,
            "python": platform.python_version(), "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "git_commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True,
                                         text=True).stdout.strip(),
            "jit_cpu": os.environ.get("LOSSCC_JIT_CPU", "baseline")}


def search(args, executor, workers, candidates, out, more_flags=()):
    """One search; its fits per minute and, for ray, executor.json."""
    subprocess.run(["rm", "-rf", out], check=True)
    flags = ["--data", args.data, "--budget-candidates", str(candidates), "--workers", str(workers), "--seed",
             str(args.seed), "--top-k", "1", "--select-seeds", "0", "--no-baselines", "--effect-seeds", "1",
             "--effect-epochs", "1", "--progress-seconds", "0", "--out", out, *more_flags, *args.extra]
    if executor == "threads":
        command = [os.path.join(args.build, "tools", "losssearch"), *flags]
    else:  # the Python driver itself, for a local cluster of exactly `workers` CPUs
        command = [sys.executable, "-c", "import sys, losscc.search as s; "
                   f"sys.exit(s.run(sys.argv[1:], num_cpus={workers}))", *flags, "--executor", "ray"]
    env = dict(os.environ, PYTHONPATH=os.path.join(args.build, "python"))
    t0 = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"ray_bench: {' '.join(command)} failed:\n{done.stderr[-3000:]}")
    counters = json.load(open(os.path.join(out, "summary.json")))["search"]
    fits = counters["trained"] + counters["filtered"]
    row = {"executor": executor, "workers": workers, "candidates": counters["candidates"], "fits": fits,
           "search_seconds": counters["elapsed_seconds"], "fits_per_minute": 60 * fits / counters["elapsed_seconds"],
           "wall_seconds": time.monotonic() - t0}
    if executor == "ray":
        row["executor_stats"] = json.load(open(os.path.join(out, "executor.json")))
    print(f"[ray_bench] {executor:7s} workers {workers}: {row['fits_per_minute']:.1f} fits/min "
          f"({fits} fits in {counters['elapsed_seconds']:.1f} s)", file=sys.stderr, flush=True)
    return row


def measure(args):
    work = args.work
    result = {"command": " ".join(sys.argv), "machine": machine(), "data": args.data, "seed": args.seed,
              "candidates": args.candidates, "load": "one search at a time on an otherwise idle machine",
              "timing": "fits per minute of search time (summary.json elapsed_seconds); medians over repeats"}
    runs = []
    for r in range(args.repeats):
        for executor in ("threads", "ray"):
            runs.append(search(args, executor, args.workers, args.candidates, f"{work}/{executor}-{r}"))
    threads = statistics.median(x["fits_per_minute"] for x in runs if x["executor"] == "threads")
    ray = statistics.median(x["fits_per_minute"] for x in runs if x["executor"] == "ray")
    result["overhead"] = {
        "workers": args.workers, "runs": runs, "threads_fits_per_minute_median": threads,
        "ray_fits_per_minute_median": ray, "ray_over_threads": ray / threads,
        "per_task_overhead_ms_median": statistics.median(x["executor_stats"]["overhead_ms_median"]
                                                         for x in runs if x["executor"] == "ray"),
        "per_task_overhead_ms_p90_median": statistics.median(x["executor_stats"]["overhead_ms_p90"]
                                                             for x in runs if x["executor"] == "ray"),
    }
    scaling = []
    for n in args.scaling:
        same = [x for x in runs if x["executor"] == "ray" and x["workers"] == n]
        more = [search(args, "ray", n, args.candidates, f"{work}/scale{n}-{r}") for r in range(args.repeats - len(same))]
        fpm = statistics.median(x["fits_per_minute"] for x in same + more)
        scaling.append({"workers": n, "fits_per_minute_median": fpm, "runs": [x["fits_per_minute"] for x in same + more]})
    for s in scaling:
        s["parallel_efficiency"] = s["fits_per_minute_median"] / (s["workers"] * scaling[0]["fits_per_minute_median"])
    result["scaling"] = scaling
    if args.memory_candidates:
        # Fits of one epoch, so that 1,000 candidates take minutes, not an hour.
        row = search(args, "ray", args.workers, args.memory_candidates, f"{work}/memory", ["--reward-epochs", "1"])
        stats = row["executor_stats"]
        result["memory"] = {"candidates": row["candidates"], "tasks": stats["tasks"],
                            "driver_rss_mb": stats["driver_rss_mb"], "worker_rss_mb": stats["worker_rss_mb"]}
    return result


def plot(result, png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = result["scaling"]
    n = [x["workers"] for x in s]
    fpm = [x["fits_per_minute_median"] for x in s]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot(n, [fpm[0] * k for k in n], "--", color="grey", label="linear (from 1 worker)")
    ax.plot(n, fpm, "o-", label="Ray executor (median of runs)")
    for x in s:
        ax.scatter([x["workers"]] * len(x["runs"]), x["runs"], color="C0", alpha=0.3, s=12)
        ax.annotate(f"eff. {x['parallel_efficiency']:.2f}", (x["workers"], x["fits_per_minute_median"]),
                    textcoords="offset points", xytext=(6, -12), fontsize=8)
    o = result["overhead"]
    ax.scatter([o["workers"]], [o["threads_fits_per_minute_median"]], marker="s", color="C1",
               label=f"threads executor ({o['workers']} workers)")
    ax.set_xlabel("workers (CPUs of the local Ray cluster)")
    ax.set_ylabel("from-scratch fits per minute")
    ax.set_xticks(n)
    ax.set_ylim(bottom=0)
    ax.set_title(f"Search throughput, {result['machine']['cpu_model']}, {result['machine']['hardware_threads']} threads",
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=120)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "mlsmall01-1-5"))
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--work", default="/tmp/ray-bench")
    p.add_argument("--workers", type=int, default=2, help="workers of the threads-vs-ray comparison")
    p.add_argument("--scaling", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2],
                   help="worker counts of the scaling curve, e.g. 1,2,4,8,16")
    p.add_argument("--candidates", type=int, default=40)
    p.add_argument("--memory-candidates", type=int, default=1000, help="0: no memory run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="further losssearch flags (last)")
    p.add_argument("--json", required=True)
    p.add_argument("--png")
    p.add_argument("--plot-only", action="store_true")
    args = p.parse_args()
    if args.plot_only:
        result = json.load(open(args.json))
    else:
        result = measure(args)
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    if args.png:
        plot(result, args.png)
    o = result["overhead"]
    print(f"threads {o['threads_fits_per_minute_median']:.1f} fits/min, ray {o['ray_fits_per_minute_median']:.1f} "
          f"(ratio {o['ray_over_threads']:.3f}); per-task overhead {o['per_task_overhead_ms_median']:.1f} ms")
    for s in result["scaling"]:
        print(f"ray, {s['workers']} workers: {s['fits_per_minute_median']:.1f} fits/min, efficiency "
              f"{s['parallel_efficiency']:.2f}")
    if "memory" in result:
        m = result["memory"]
        print(f"after {m['candidates']} candidates: driver {m['driver_rss_mb']:.0f} MB, workers "
              + ", ".join(f"{v:.0f}" for v in m["worker_rss_mb"].values()) + " MB")


if __name__ == "__main__":
    main()
