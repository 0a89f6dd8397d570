#!/usr/bin/env python3
"""PyTorch peers of losscc-bench: eager and torch.compile (Inductor).

Reads the spec losscc-bench writes (each loss as its IR: nodes in schedule
order, children first), builds the same expression with torch ops through one
table, and times forward + backward (torch.autograd.grad of the mean/sum with
respect to the gradient inputs) per loss, N and thread count: warm-up, then
repeated calls, median and p90. torch.compile's compile time is the first
call (forward + backward compiled by AOTAutograd) minus one steady-state call.

    torch_peer.py --spec SPEC.json --json OUT.json [--no-compile]

Run by `losscc-bench --python .venv/bin/python` in the same process run as the
C++ peers (it writes the spec to a temporary file and merges the results).
"""

import argparse
import json
import os
import platform
import sys
import time

# Compile time means a cold compile: Inductor's on-disk caches (FX graph,
# kernels) would otherwise turn a second run's "compile" into a cache load.
# Must be set before torch is imported; --warm-cache keeps the caches.
if "--warm-cache" not in sys.argv:
    os.environ.setdefault("TORCHINDUCTOR_FORCE_DISABLE_CACHES", "1")

import torch  # noqa: E402

# One line per IR op: how PyTorch spells it (Pow's exponent is a constant).
UNARY = {
    "neg": torch.neg, "log": torch.log, "exp": torch.exp, "sqrt": torch.sqrt,
    "abs": torch.abs, "sign": torch.sign,
    "step": lambda a: (a > 0).to(a.dtype),
    "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
    "softplus": torch.nn.functional.softplus, "log1p": torch.log1p, "expm1": torch.expm1,
    "detach": torch.Tensor.detach,
}
BINARY = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
    "min": torch.fmin, "max": torch.fmax,  # IEEE minNum/maxNum, as the IR
}


def make_loss_fn(loss):
    """A function of the input tensors returning the reduced loss."""
    nodes = loss["nodes"]
    names = [i["name"] for i in loss["inputs"]]
    reduce = torch.mean if loss["reduction"] == "mean" else torch.sum

    def fn(*xs):
        env = dict(zip(names, xs))
        v = []
        for node in nodes:
            op = node["op"]
            if op == "const":
                v.append(node["value"])  # a Python scalar, as a user would write it
            elif op == "input":
                v.append(env[node["name"]])
            elif op == "pow":
                v.append(torch.pow(v[node["args"][0]], node["exponent"]))
            elif op in UNARY:
                v.append(UNARY[op](v[node["args"][0]]))
            else:
                a, b = (v[i] for i in node["args"])
                if not torch.is_tensor(a) and not torch.is_tensor(b):
                    raise ValueError("constant subexpression left unfolded")
                if not torch.is_tensor(a):
                    a = torch.full_like(b, a) if op in ("min", "max") else torch.as_tensor(a, dtype=b.dtype)
                if not torch.is_tensor(b):
                    b = torch.full_like(a, b) if op in ("min", "max") else b
                v.append(BINARY[op](a, b))
        return reduce(v[-1])

    return fn


def make_inputs(loss, n, seed):
    g = torch.Generator().manual_seed(seed)
    out = []
    for decl in loss["inputs"]:
        u = torch.rand(n, generator=g)
        d = decl["domain"]
        if d == "prob":
            x = 1e-3 + (1 - 2e-3) * u
        elif d == "binary":
            x = (u >= 0.5).float()
        elif d == "unit":
            x = u
        else:
            x = -3 + 6 * u
        out.append(x)
    return out


def step_fn(fn, inputs, grad_idx):
    """One training-step evaluation: forward, then gradients of the grad inputs."""
    xs = [x.detach().requires_grad_(i in grad_idx) for i, x in enumerate(inputs)]
    loss = fn(*xs)
    grads = torch.autograd.grad(loss, [xs[i] for i in grad_idx])
    return loss.item(), grads


def measure(call, warmup, min_repeats, min_time):
    for _ in range(warmup):
        call()
    samples = []
    start = time.perf_counter()
    while len(samples) < min_repeats or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
        if len(samples) >= 200:
            break
    samples.sort()
    q = lambda p: samples[min(len(samples) - 1, int(p * (len(samples) - 1) + 0.5))]
    return {"median_s": q(0.5), "p90_s": q(0.9), "min_s": samples[0], "repeats": len(samples)}


def with_rates(stats, n, nbytes):
    stats["elements_per_s"] = n / stats["median_s"]
    stats["bytes_per_s"] = nbytes / stats["median_s"]
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", required=True, help="spec JSON written by losscc-bench")
    ap.add_argument("--json", required=True, help="where to write the results")
    ap.add_argument("--no-compile", action="store_true", help="eager only")
    ap.add_argument("--warm-cache", action="store_true",
                    help="let Inductor reuse its on-disk caches (compile times then measure cache loads)")
    args = ap.parse_args()
    with open(args.spec) as f:
        spec = json.load(f)

    rows = []
    for loss in spec["losses"]:
        fn = make_loss_fn(loss)
        grad_idx = set(loss["grad_inputs"])
        for threads in spec["threads"]:
            torch.set_num_threads(threads)
            compiled = None
            compile_s = None
            if not args.no_compile:
                torch._dynamo.reset()
                # dynamic=True: one compiled graph serves every N (as a search
                # loop with varying batch sizes would use it).
                compiled = torch.compile(fn, dynamic=True)
            for log2n in spec["log2_sizes"]:
                n = 1 << log2n
                name = f"torch/{loss['name']}/2^{log2n}/t{threads}"
                print(f"  {name}", file=sys.stderr, flush=True)
                inputs = make_inputs(loss, n, spec["seed"] + log2n)
                nbytes = 4 * n * (len(loss["inputs"]) + len(grad_idx))
                big = n >= (1 << 24)
                policy = (1, 3, 0.0) if big else (3, 5, spec.get("min_time_s", 0.3))
                row = {"name": name, "loss": loss["name"], "log2_n": log2n, "n": n,
                       "threads": threads, "bytes_moved": nbytes}
                row["eager"] = with_rates(measure(lambda: step_fn(fn, inputs, grad_idx), *policy), n, nbytes)
                if compiled is not None:
                    try:
                        t0 = time.perf_counter()
                        step_fn(compiled, inputs, grad_idx)
                        first = time.perf_counter() - t0
                        st = measure(lambda: step_fn(compiled, inputs, grad_idx), *policy)
                    except Exception as e:  # report it, keep the eager figures
                        row["compile_error"] = f"{type(e).__name__}: {e}"[:300]
                        compiled = None
                    else:
                        row["compiled"] = with_rates(st, n, nbytes)
                        row["first_call_s"] = first
                        if compile_s is None:  # the first size paid the compile
                            compile_s = max(0.0, first - st["median_s"])
                            row["compile_s"] = compile_s
                rows.append(row)

    out = {
        "peer": "torch_peer.py",
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "torch_compile": not args.no_compile,
        "torch_compile_mode": "default, dynamic=True",
        "inductor_caches": "warm" if args.warm_cache else "disabled (cold compile)",
        "parallel_info": torch.__config__.parallel_info(),
        "cases": rows,
    }
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
