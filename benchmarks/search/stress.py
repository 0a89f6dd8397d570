#!/usr/bin/env python3
"""Stress test of the search: many short searches on several worker threads,
counting the ones that crash.

A search is a long unattended job, so a crash that one run in a hundred meets
is a bug. Each run is a whole `losssearch` process with a
random seed and 2 or 4 workers, cycling through four settings of the three task families:

  rec-filmtrust  losssearch on a generated recommendation set shaped like
                 FilmTrust (1,508 users, 2,071 items, ~32k training rows)
  rec-synthetic  losssearch on the built-in synthetic set (300 users, 400 items)
  rank           losssearch --task rank on the built-in synthetic LETOR set
  mtl            losssearch --task mtl --target pay on the built-in synthetic sessions

A run counts as a crash when its process dies by a signal (SIGSEGV, SIGABRT,
...), as a failure when it exits non-zero otherwise, and as clean when it
exits 0 having written summary.json. The result (one line per run and the
totals) goes to --json; the exit status is 1 when any run crashed or failed.

  benchmarks/search/stress.py --runs 200 --seconds 10 --json benchmarks/results/search-stress.json
  benchmarks/search/stress.py --runs 6 --seconds 3       # the CI-sized variant (ctest search_stress)
"""
import argparse
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FAMILIES = ["rec-filmtrust", "rec-synthetic", "rank", "mtl"]


def write_filmtrust_like(folder: Path, seed: int = 5) -> Path:
    """A recommendation set in ml100k01-1-5's format with FilmTrust's shape:
    planted rank-4 factors, 5-40 items per user, the last positive of each
    user with >= 5 positives in test and the one before in validation."""
    rng = random.Random(seed)
    users, items, rank = 1508, 2071, 4
    uf = [[rng.gauss(0, 1) for _ in range(rank)] for _ in range(users)]
    vf = [[rng.gauss(0, 1) for _ in range(rank)] for _ in range(items)]
    splits = {"train": [], "validation": [], "test": []}
    for u in range(users):
        history = []
        for i in rng.sample(range(items), rng.randint(5, 40)):
            s = sum(a * b for a, b in zip(uf[u], vf[i]))
            history.append((u, i, 1 if rng.random() < 1 / (1 + 2.718281828 ** -s) else 0))
        positives = [k for k, row in enumerate(history) if row[2] == 1]
        if len(positives) >= 5:
            valid_at, test_at = positives[-2], positives[-1]
            splits["train"] += history[:valid_at]
            splits["validation"] += history[valid_at:test_at]
            splits["test"] += history[test_at:]
        else:
            splits["train"] += history
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in splits.items():
        with open(folder / f"filmtrust-like.{name}.csv", "w") as f:
            f.write("uid\tiid\tlabel\n")
            f.writelines(f"{u}\t{i}\t{y}\n" for u, i, y in rows)
    return folder


def command(build: Path, family: str, seed: int, workers: int, seconds: float, out: Path, data: Path):
    minutes = f"{seconds / 60:.4f}"
    common = ["--budget-minutes", minutes, "--seed", str(seed), "--workers", str(workers), "--out", str(out),
              "--top-k", "1", "--progress-seconds", "0"]
    search = str(build / "tools" / "losssearch")
    quick_effect = ["--no-baselines", "--effect-seeds", "1", "--effect-epochs", "1"]
    if family == "rec-filmtrust":
        return [search, "--data", str(data)] + common + quick_effect
    if family == "rec-synthetic":
        return [search] + common + quick_effect
    if family == "mtl":
        return [search, "--task", "mtl", "--target", "pay"] + common + quick_effect
    return [search, "--task", "rank"] + common + quick_effect


def candidates_in(out: Path) -> int:
    try:
        with open(out / "candidates.jsonl") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=Path(__file__).resolve().parents[2] / "build")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10, help="search budget of each run")
    parser.add_argument("--workers", default="2,4", help="worker counts, cycled through")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--seed", type=int, default=0, help="seed of the runs' seeds")
    parser.add_argument("--json", type=Path, help="write the runs and totals here")
    parser.add_argument("--keep", action="store_true", help="keep the runs' output folders")
    args = parser.parse_args()

    families = args.families.split(",")
    unknown = set(families) - set(FAMILIES)
    if unknown:
        parser.error(f"unknown families {sorted(unknown)} (known: {', '.join(FAMILIES)})")
    workers = [int(w) for w in args.workers.split(",")]
    if not (args.build / "tools" / "losssearch").exists():
        parser.error(f"{args.build / 'tools' / 'losssearch'} not found (build first, or pass --build)")

    root = Path(tempfile.mkdtemp(prefix="losscc-stress-"))
    data = write_filmtrust_like(root / "filmtrust-like")
    seeds = random.Random(args.seed)
    runs, started = [], time.time()
    load_before = os.getloadavg()
    try:
        for k in range(args.runs):
            family, nworkers = families[k % len(families)], workers[(k // len(families)) % len(workers)]
            seed = seeds.randrange(1, 2**31)
            out = root / f"run-{k}"
            cmd = command(args.build, family, seed, nworkers, args.seconds, out, data)
            t0 = time.time()
            try:
                proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                      timeout=args.seconds * 20 + 120)
                code, stderr = proc.returncode, proc.stderr
            except subprocess.TimeoutExpired as e:  # a hang is a failure too (the child is killed)
                code, stderr = None, (e.stderr or b"").decode(errors="replace")
            if code is None:
                status = "failed (timeout)"
            elif code < 0:
                status = f"crash ({signal.Signals(-code).name})"
            elif code != 0:
                status = f"failed (exit {code})"
            elif not (out / "summary.json").exists():
                status = "failed (no summary.json)"
            else:
                status = "clean"
            run = {"run": k, "family": family, "workers": nworkers, "seed": seed, "status": status,
                   "candidates": candidates_in(out), "seconds": round(time.time() - t0, 2)}
            if status != "clean":
                run["stderr_tail"] = stderr[-2000:]
            runs.append(run)
            print(f"[stress] {k + 1}/{args.runs} {family:<13} workers {nworkers} seed {seed:<10} "
                  f"{run['candidates']:>4} candidates  {status}", flush=True)
            if not args.keep:
                shutil.rmtree(out, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    crashes = sum(r["status"].startswith("crash") for r in runs)
    failures = sum(r["status"].startswith("failed") for r in runs)
    by = {}
    for r in runs:
        key = f"{r['family']}/workers-{r['workers']}"
        entry = by.setdefault(key, {"runs": 0, "candidates": 0, "crashes": 0, "failures": 0})
        entry["runs"] += 1
        entry["candidates"] += r["candidates"]
        entry["crashes"] += r["status"].startswith("crash")
        entry["failures"] += r["status"].startswith("failed")
    summary = {
        "command": " ".join(sys.argv),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_before": load_before, "load_after": os.getloadavg()},
        "runs": len(runs), "crashes": crashes, "failures": failures,
        "candidates": sum(r["candidates"] for r in runs),
        "wall_seconds": round(time.time() - started, 1),
        "by_family": by, "each": runs,
    }
    print(f"[stress] {len(runs)} searches, {summary['candidates']} candidates: {crashes} crashed, "
          f"{failures} failed, {len(runs) - crashes - failures} clean ({summary['wall_seconds']:.0f} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
    return 1 if crashes or failures else 0


if __name__ == "__main__":
    sys.exit(main())
