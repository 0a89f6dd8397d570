#!/usr/bin/env python3
"""Runs `losscc --emit-torch` output against the interpreter.

For every pointwise and pairwise example loss (and tests/tools/inputs/
torch_ops.loss, which uses every op), the emitted function is executed with
PyTorch in float64 on random points of the inputs' declared domains and
compared with `losscc --eval`, the double-precision interpreter: the loss
value, and autograd's gradient of the emitted function against losscc's
symbolic gradient. A batch of the same points checks the reduction. For
ranking losses --eval has no oracle (it evaluates one element): their emitted
functions must run and give finite values and gradients on random queries
here; tests/python compares them with the interpreter through the module.

    emit_torch_test.py --losscc build/tools/losscc --repo .
"""
import argparse
import json
import math
import pathlib
import random
import subprocess
import sys

import torch

POINTS = 6


def draw(domain, rng):
    if domain == "prob":
        return rng.uniform(0.02, 0.98)
    if domain == "binary":
        return float(rng.randint(0, 1))
    if domain == "unit":
        return rng.uniform(0.0, 1.0)
    if domain == "grade":
        return float(rng.randint(0, 4))
    return rng.uniform(-3.0, 3.0)


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-7, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))


def emit_torch(losscc, path):
    """`losscc --emit-torch path` run: (its text, the namespace it defines), or
    (a failure string, None)."""
    emitted = subprocess.run([losscc, "--emit-torch", str(path)], capture_output=True, text=True)
    if emitted.returncode != 0:
        return f"{path}: --emit-torch exited {emitted.returncode}: {emitted.stderr.strip()}", None
    namespace = {}
    exec(compile(emitted.stdout, f"<emit-torch {path.name}>", "exec"), namespace)
    return emitted.stdout, namespace


def check_loss(losscc, path, rng):
    """Returns a list of failure strings (empty when the file passes)."""
    source, namespace = emit_torch(losscc, path)
    if namespace is None:
        return [source]
    fns = [v for k, v in namespace.items() if callable(v) and not k.startswith("_") and k != "torch"]
    if len(fns) != 1:
        return [f"{path}: expected one public function, found {len(fns)}"]
    fn = fns[0]
    names, domains = inputs_of(source)
    failures = []
    batch_values, batch_points = [], []
    for _ in range(POINTS):
        point = {n: draw(d, rng) for n, d in zip(names, domains)}
        assignment = ",".join(f"{n}={v!r}" for n, v in point.items())
        run = subprocess.run([losscc, "--eval", assignment, str(path)], capture_output=True, text=True)
        if run.returncode != 0:
            return [f"{path}: --eval {assignment} exited {run.returncode}: {run.stderr.strip()}"]
        oracle = json.loads(run.stdout)
        xs = [torch.tensor([point[n]], dtype=torch.float64, requires_grad=True) for n in names]
        value = fn(*xs)
        value.backward()
        if not close(value.item(), oracle["value"]):
            failures.append(f"{path} at {assignment}: torch {value.item()!r}, interpreter {oracle['value']!r}")
        for n, x in zip(names, xs):
            g = x.grad.item()
            if not close(g, oracle["grad"][n]):
                failures.append(f"{path} at {assignment}: d/d{n} torch {g!r}, interpreter {oracle['grad'][n]!r}")
        batch_values.append(oracle["value"])
        batch_points.append(point)
    # All points at once: the reduction over a batch.
    xs = [torch.tensor([p[n] for p in batch_points], dtype=torch.float64) for n in names]
    reduced = fn(*xs).item()
    mean = "reduce sum" not in source
    expected = sum(batch_values) / (len(batch_values) if mean else 1)
    if not close(reduced, expected):
        failures.append(f"{path}: batch of {POINTS}: torch {reduced!r}, interpreter {expected!r}")
    return failures


def check_ranking_runs(losscc, path, rng):
    source, namespace = emit_torch(losscc, path)
    if namespace is None:
        return [source]
    fn = namespace[path.stem]
    names, domains = inputs_of(source)
    offsets = [0, 1, 4, 10]
    xs = [torch.tensor([draw(d, rng) for _ in range(offsets[-1])], dtype=torch.float64, requires_grad=True)
          for d in domains]
    value = fn(*xs, offsets)
    value.backward()
    if not math.isfinite(value.item()) or not all(x.grad is None or bool(torch.isfinite(x.grad).all()) for x in xs):
        return [f"{path}: the emitted ranking loss is not finite on random queries: {value.item()!r}"]
    return []


def is_ranking(losscc, path):
    """A ranking loss runs over queries: its --run report names them."""
    run = subprocess.run([losscc, "--run", "1", "--backend", "interp", str(path)], capture_output=True, text=True)
    if run.returncode != 0:
        raise AssertionError(f"{path}: --run 1 exited {run.returncode}: {run.stderr.strip()}")
    return "queries" in json.loads(run.stdout)


def inputs_of(source):
    """Input names and domains from the emitted docstring ('    name: domain, role ...')."""
    names, domains = [], []
    in_inputs = False
    for line in source.splitlines():
        if line.strip().startswith("Inputs, with the domains"):
            in_inputs = True
            continue
        if in_inputs:
            if not line.strip():
                break
            name, rest = line.strip().split(": ", 1)
            names.append(name)
            domains.append(rest.split(",", 1)[0])
    return names, domains


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--losscc", required=True)
    parser.add_argument("--repo", required=True)
    args = parser.parse_args()
    repo = pathlib.Path(args.repo)
    rng = random.Random(13)
    files = sorted((repo / "examples").glob("*.loss")) + [repo / "tests/tools/inputs/torch_ops.loss"]
    failures, checked, ranking = [], 0, 0
    for path in files:
        if is_ranking(args.losscc, path):
            failures += check_ranking_runs(args.losscc, path, rng)
            ranking += 1
            continue
        failures += check_loss(args.losscc, path, rng)
        checked += 1
    for f in failures:
        print("FAIL", f)
    print(f"emit-torch: {checked} losses checked against the interpreter at {POINTS} points each, "
          f"{ranking} ranking losses run on random queries, {len(failures)} failures")
    if checked < 8:
        print("FAIL: fewer pointwise examples than expected")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
