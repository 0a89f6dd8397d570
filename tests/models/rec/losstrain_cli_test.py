#!/usr/bin/env python3
"""losstrain's command line: the native path is the default for BiasedMF and
DeepModel and gives LibTorch's numbers (--engine torch, the oracle); with no
--data it trains on the built-in MovieLens split; bad arguments exit 2 in one
line."""
import json
import os
import sys
import tempfile

tool, repo = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(repo, "tests"))
from cli_check import expect, finish, run  # noqa: E402

bce = os.path.join(repo, "examples", "bce.loss")

code, out, err = run(tool, "--help")
expect("--help exits 0", code == 0, err)
expect("--help lists --engine and its default", "--engine TEXT:{native,torch}=native" in out, out)

with tempfile.TemporaryDirectory() as tmp:
    for model in ["biasedmf", "deepmodel"]:
        results = {}
        for engine in ["native", "torch"]:
            path = os.path.join(tmp, engine + ".json")
            code, out, err = run(tool, "--synthetic", "--model", model, "--loss", bce, "--epochs", "3", "--optimizer",
                                 "adam", "--engine", engine, "--threads", "1", "--out", path)
            expect(f"{model} --engine {engine} exits 0", code == 0, err)
            if code == 0:
                results[engine] = json.load(open(path))
                expect(f"{model} --engine {engine} is recorded", results[engine]["config"]["engine"] == engine)
        if len(results) == 2:
            # Float rounding differs between the paths, so every epoch's AUC is
            # compared, not the best epoch (near-ties may break either way);
            # DeepModel's rounding differences grow over an epoch (its step-
            # for-step agreement is tests/models/rec/native_deep_test.cpp).
            tolerance = 1e-3 if model == "biasedmf" else 0.02
            for n, t in zip(results["native"]["history"], results["torch"]["history"]):
                for split in ["valid", "test"]:
                    a, b = n[split]["auc"], t[split]["auc"]
                    expect(f"{model}: native and torch agree on epoch {n['epoch']}'s {split} AUC",
                           abs(a - b) < tolerance, (a, b))

    path = os.path.join(tmp, "default.json")
    code, out, err = run(tool, "--synthetic", "--loss", bce, "--epochs", "1", "--out", path)
    expect("BiasedMF trains natively by default", code == 0 and json.load(open(path))["config"]["engine"] == "native",
           err)

    path = os.path.join(tmp, "movielens.json")
    code, out, err = run(tool, "--loss", bce, "--epochs", "1", "--out", path)
    expect("no --data trains on the built-in MovieLens split", code == 0 and "610 users" in out, out + err)
    if code == 0:
        expect("... and records it", json.load(open(path))["config"]["data"] == "builtin:movielens")


bad = [
    (["--synthetic", "--engine", "gpu", "--loss", bce], "--engine"),
    (["--synthetic", "--model", "deepmodel", "--batch", "1", "--loss", bce], "BatchNorm needs two"),
    (["--synthetic", "--data", "builtin:movielens", "--loss", bce], "at most one of --data and --synthetic"),
    (["--data", "/nonexistent", "--loss", bce], "--data"),
]
for args, needle in bad:
    code, out, err = run(tool, *args)
    expect(f"{' '.join(args[:4])}: exit 2 naming {needle!r}", code == 2 and needle in err and len(err.splitlines()) == 1,
           (code, err))
finish("all losstrain CLI checks passed")
