#!/usr/bin/env python3
"""The `losscc` Python module against PyTorch eager and torch.compile.

One loss (default examples/logmin.loss), forward + backward, N elements, one
thread, all peers in this one process on the same input tensors:

  losscc      losscc.compile(path)(pred, label), then torch.autograd.grad:
              the fused kernel through the module's autograd.Function
  kernel      the same kernel called directly (no autograd, no tensor
              bookkeeping): what the Python wrapper costs on top
  eager       the loss as a user writes it in torch ops (the table below),
              torch.autograd.grad
  compile     torch.compile of that function (Inductor, default mode),
              torch.autograd.grad; its first call (the compile) is reported apart

Each peer: warm-up, then repeated calls for at least --min-time seconds and
--repeats calls, median and p90. Ratios are peer time / losscc time.
Values and gradients of every peer are checked against eager's first.

    PYTHONPATH=build/python python bench_module.py --json OUT.json

Needs the module from this build; the `compile` peer needs a PyTorch with
torch.compile (2.x) and is left out, saying so, without one.
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

# A cold compile: Inductor's on-disk caches would make "compile" a cache load.
os.environ.setdefault("TORCHINDUCTOR_FORCE_DISABLE_CACHES", "1")

import torch  # noqa: E402

import losscc  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]


# The losses as a user writes them in torch ops (per-element term; mean).
def logmin(pred, label):
    m = torch.fmin(label, pred)
    return (torch.log(1 / (m + 1e-6) + 1e-6) * (m + label + pred)).mean()


def bce(pred, label):
    return (-(label * torch.log(pred) + (1 - label) * torch.log(1 - pred))).mean()


TORCH_LOSSES = {"logmin": logmin, "bce": bce}


def measure(call, warmup, repeats, min_time):
    for _ in range(warmup):
        call()
    samples = []
    start = time.perf_counter()
    while len(samples) < repeats or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    q = lambda p: samples[min(len(samples) - 1, int(p * (len(samples) - 1) + 0.5))]  # noqa: E731
    return {"median_s": q(0.5), "p90_s": q(0.9), "min_s": samples[0], "repeats": len(samples)}


def step(fn, pred, label):
    """Forward, then the gradient of the prediction (what a training step needs)."""
    p = pred.detach().requires_grad_()
    value = fn(p, label)
    (grad,) = torch.autograd.grad(value, p)
    return value, grad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loss", default="logmin", choices=sorted(TORCH_LOSSES))
    ap.add_argument("--log2n", type=int, default=22)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="where to write the results")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    n = 1 << args.log2n
    g = torch.Generator().manual_seed(args.seed)
    pred = 1e-3 + (1 - 2e-3) * torch.rand(n, generator=g)
    label = (torch.rand(n, generator=g) >= 0.5).float()

    eager_fn = TORCH_LOSSES[args.loss]
    t0 = time.perf_counter()
    compiled_loss = losscc.compile(REPO / "examples" / f"{args.loss}.loss")
    step(compiled_loss, pred[:8], label[:8])  # builds the kernel (or loads it from the disk cache)
    losscc_first_s = time.perf_counter() - t0
    kernel = compiled_loss._kernel([0], compiled_loss.host_backend)
    grad_buf = torch.empty(n)

    def kernel_call():
        return kernel.run_host(n, [pred.data_ptr(), label.data_ptr()], [grad_buf.data_ptr()], args.threads)

    compiled_fn, compile_first_s = None, None
    if hasattr(torch, "compile"):
        torch._dynamo.reset()
        compiled_fn = torch.compile(eager_fn)
        t0 = time.perf_counter()
        step(compiled_fn, pred, label)
        compile_first_s = time.perf_counter() - t0
    else:
        print(f"torch {torch.__version__} has no torch.compile: the compile peer is left out", file=sys.stderr)

    # Same results first (float32 everywhere: loose tolerances).
    ref_v, ref_g = step(eager_fn, pred, label)
    checks = {}
    for name, fn in (("losscc", compiled_loss), ("compile", compiled_fn)):
        if fn is None:
            continue
        v, gr = step(fn, pred, label)
        checks[name] = {"value_rel_err": abs(v.item() - ref_v.item()) / abs(ref_v.item()),
                        "grad_max_abs_err": (gr - ref_g).abs().max().item()}
        torch.testing.assert_close(v, ref_v, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(gr, ref_g, rtol=1e-3, atol=1e-9)
    kv = kernel_call()
    torch.testing.assert_close(torch.tensor(kv, dtype=torch.float32), ref_v, rtol=1e-4, atol=1e-6)

    policy = (3, args.repeats, args.min_time)
    peers = {}
    # Interleaved twice over (losscc, eager, compile) so a slow phase of the
    # machine does not land on one peer only; the faster of the two medians is kept.
    for _ in range(2):
        for name, call in (("losscc", lambda: step(compiled_loss, pred, label)),
                           ("kernel", kernel_call),
                           ("eager", lambda: step(eager_fn, pred, label)),
                           ("compile", lambda: step(compiled_fn, pred, label))):
            if name == "compile" and compiled_fn is None:
                continue
            print(f"  {name}", file=sys.stderr, flush=True)
            stats = measure(call, *policy)
            if name not in peers or stats["median_s"] < peers[name]["median_s"]:
                peers[name] = stats
    base = peers["losscc"]["median_s"]
    ratios = {name: s["median_s"] / base for name, s in peers.items()}

    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO,
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    out = {
        "benchmark": "benchmarks/python/bench_module.py",
        "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit, "cpu": cpu, "hardware_threads": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(), "torch_version": torch.__version__,
        "loss": args.loss, "n": n, "log2_n": args.log2n, "threads": args.threads,
        "host_backend": compiled_loss.host_backend,
        "losscc_first_call_s": losscc_first_s, "torch_compile_first_call_s": compile_first_s,
        "checks_vs_eager": checks,
        "peers": peers, "ratio_peer_over_losscc": ratios,
    }
    print(json.dumps({k: out[k] for k in ("loss", "n", "threads", "ratio_peer_over_losscc")}, indent=1))
    for name, s in peers.items():
        print(f"{name:8s} {1e3 * s['median_s']:8.2f} ms  (p90 {1e3 * s['p90_s']:.2f}, {s['repeats']} calls)  "
              f"{ratios[name]:.2f}x losscc")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
