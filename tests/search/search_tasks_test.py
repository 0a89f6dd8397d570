#!/usr/bin/env python3
"""`losssearch --task rec|rank|mtl` against golden runs: the candidates (tokens,
status, reward) and the effectiveness rows of each family's search with
fixed seeds (tests/search/golden/), so that a change which alters what a
search does is a deliberate one. The goldens were first the runs of the
tools the one search core replaced (lossrank-search, losssearch
--mtl-task, losssearch and its shared reward). They were regenerated
(`search_tasks_test.py LOSSSEARCH LOSSRANK_SEARCH --regenerate`) when the
gradient fingerprint stopped counting the labels' gradients (a candidate
that differs from an earlier one by a function of the label alone is now a
duplicate, not a second fit) and the recommendation search began to
choose its found losses from its finalists (search/selection.h), and the
ranking search its candidates under masks (list signatures). The
multi-task run is on two workers (its fits draw dropout masks from their
own generators). Also: the retired flags and tool fail with a pointer to
the new ones."""
import json
import math
import os
import sys
import tempfile

losssearch, lossrank_search = sys.argv[1], sys.argv[2]
regenerate = "--regenerate" in sys.argv[3:]
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(here))
from cli_check import expect, finish, run  # noqa: E402

GOLDEN = {
    "rank": ["--task", "rank", "--budget-candidates", "60", "--reward-epochs", "2", "--effect-epochs", "3",
             "--workers", "2", "--top-k", "2", "--seed", "5", "--fit-seed", "1", "--effect-seeds", "1"],
    "mtl": ["--task", "mtl", "--target", "click", "--budget-candidates", "16", "--reward-epochs", "1",
            "--reward-patience", "1", "--effect-epochs", "1", "--effect-seeds", "1", "--workers", "2",
            "--top-k", "2", "--seed", "5"],
    "rec": ["--data", "builtin:synthetic", "--budget-candidates", "24", "--effect-epochs", "2", "--effect-seeds",
            "1", "--top-k", "2", "--seed", "5"],
    "shared": ["--data", "builtin:synthetic", "--reward", "shared", "--budget-candidates", "24", "--effect-epochs",
               "2", "--effect-seeds", "1", "--top-k", "2", "--seed", "5"],
}


def close(a, b):
    return a is None and b is None or (a is not None and b is not None and math.isclose(a, b, abs_tol=1e-6))


with tempfile.TemporaryDirectory() as tmp:
    for name, args in GOLDEN.items():
        golden = json.load(open(os.path.join(here, "golden", name + ".json")))
        out = os.path.join(tmp, name)
        code, stdout, err = run(losssearch, *args, "--progress-seconds", "0", "--out", out, timeout=600)
        expect(f"{name}: exits 0", code == 0, err[-2000:])
        if code != 0:
            continue
        lines = [json.loads(line) for line in open(os.path.join(out, "candidates.jsonl"))]
        if regenerate:
            rows = json.load(open(os.path.join(out, "summary.json")))["effectiveness"]
            golden = {"candidates": [{k: line[k] for k in ("tokens", "status", "reward")} for line in lines],
                      "effectiveness": [{k: v for k, v in row.items() if k in ("name", "source", "error") or
                                         k.startswith("test_") and k.endswith("_mean")} for row in rows]}
            with open(os.path.join(here, "golden", name + ".json"), "w") as f:
                json.dump(golden, f, indent=1)
                f.write("\n")
        expect(f"{name}: {len(golden['candidates'])} candidates", len(lines) == len(golden["candidates"]), len(lines))
        for i, (got, want) in enumerate(zip(lines, golden["candidates"])):
            same = got["tokens"] == want["tokens"] and got["status"] == want["status"] and \
                close(got["reward"], want["reward"])
            expect(f"{name}: candidate {i} as before", same, (got["tokens"], got["status"], got["reward"], want))
            if not same:
                break
        rows = {row["name"]: row for row in json.load(open(os.path.join(out, "summary.json")))["effectiveness"]}
        for want in golden["effectiveness"]:
            got = rows.get(want["name"], {})
            metric = next((k for k in want if k.startswith("test_")), None)
            expect(f"{name}: effectiveness row {want['name']} as before",
                   metric and close(got.get(metric), want[metric]) or not metric and "error" in got,
                   (got.get(metric), want))
            if want["name"].startswith("found-"):
                expect(f"{name}: {want['name']} is the same loss", got.get("source") == want["source"], got.get("source"))

    for args, needle in [(["--mtl-task", "income"], "--task mtl --target TASK"), (["--synthetic"], "--data builtin:synthetic"),
                         (["--task", "rank", "--epochs", "3"], "--effect-epochs"),
                         (["--task", "rank", "--reward", "shared"], "--task rec only"),
                         (["--task", "mtl", "--model", "biasedmf"], "not a mtl model"),
                         (["--task", "rank", "--synthetic-sessions", "50"], "--task mtl on its built-in synthetic"),
                         (["--task", "mtl", "--target", "click", "--auc-weights", "1,2"], "whole-loss search only"),
                         (["--task", "mtl", "--reward-holdout", "0.2"], "--task rank only"),
                         (["--task", "mtl", "--batch-only"], "needs --batch-stats"),
                         (["--task", "rank", "--reward-holdout", "0.95"], "--reward-holdout"),
                         (["--task", "forecast"], "--task")]:
        code, _, err = run(losssearch, *args, "--out", os.path.join(tmp, "x"))
        expect(f"{args} exits 2 and says {needle!r}", code == 2 and needle in err, (code, err))
    code, _, err = run(lossrank_search, "--synthetic")
    expect("lossrank-search points to losssearch --task rank", code == 2 and "losssearch --task rank" in err, err)
    code, stdout, _ = run(losssearch, "--help")
    for flag in ["--task", "--target", "--synthetic-sessions", "--fold", "--fit-seed", "--effect-seeds", "--workers"]:
        expect(f"--help lists {flag}", flag in stdout)

finish()
