#!/usr/bin/env python3
"""lossrank and lossrank-eval on the command line: --help, exit 2 with one
clear line on bad arguments or bad files, a JSON result with every metric in
both conventions."""
import json
import math
import os
import sys
import tempfile

lossrank, lossrank_eval, source_dir = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from cli_check import expect, finish, run  # noqa: E402


code, out, err = run(lossrank, "--help")
expect("--help exits 0", code == 0, err)
for flag in ["--data", "--fold", "--synthetic", "--model", "--loss", "--seed", "--out", "--hidden", "--dropout",
             "--batch-norm", "--query-norm", "--patience", "--ideal-zero", "--shuffle-docs"]:
    expect(f"--help lists {flag}", flag in out)

with tempfile.TemporaryDirectory() as tmp:
    bpr = os.path.join(tmp, "bpr.loss")
    with open(bpr, "w") as f:
        f.write("input pos: real\ninput neg: real\nsoftplus(neg - pos)\n")
    bad_args = [
        ([], "exactly one of --data DIR and --synthetic"),
        (["--synthetic", "--model", "tree"], "--model"),
        (["--synthetic", "--fold", "6"], "--fold"),
        (["--synthetic", "--ideal-zero", "zero"], "--ideal-zero"),
        (["--synthetic", "--epochs", "0"], "--epochs"),
        (["--synthetic", "--hidden", "8,0"], "layer sizes must be >= 1"),
        (["--data", "/nonexistent/dir"], "no such folder"),
        (["--synthetic", "--loss", "/nonexistent.loss"], "no such file"),
        (["--synthetic", "--loss", bpr], "has role 'pos'"),
        (["--data", tmp], "neither Fold1/train.txt nor S1.txt .. S5.txt"),
    ]
    for args, needle in bad_args:
        code, out, err = run(lossrank, *args)
        expect(f"{args} exits 2", code == 2, f"exit {code}, stderr {err!r}")
        expect(f"{args} says {needle!r}", needle in err, err)
        expect(f"{args} one line", err.strip().count("\n") == 0, err)

    broken = os.path.join(tmp, "broken.loss")
    with open(broken, "w") as f:
        f.write("input score: real as pred\ninput label: grade\nqsum(score +)\n")
    code, out, err = run(lossrank, "--synthetic", "--loss", broken)
    expect("broken loss exits 2", code == 2, err)
    expect("broken loss names file:line:col", f"{broken}:3:" in err, err)

    letor = os.path.join(tmp, "letor")
    os.mkdir(letor)
    for k in range(1, 6):
        with open(os.path.join(letor, f"S{k}.txt"), "w") as f:
            f.write(f"1 qid:{k} 1:0.5 2:1\n0 qid:{k} 1:0.25 2:0\n")
    with open(os.path.join(letor, "S2.txt"), "a") as f:
        f.write("2 qid:7 1:0.5 2:x\n")
    code, out, err = run(lossrank, "--data", letor, "--fold", "1")
    expect("bad LETOR line exits 2", code == 2, err)
    expect("bad LETOR line names file:line:col", os.path.join(letor, "S2.txt") + ":3:17: expected a finite number" in err, err)

    result = os.path.join(tmp, "result.json")
    code, out, err = run(lossrank, "--synthetic", "--model", "mlp", "--hidden", "8", "--epochs", "3",
                         "--loss", os.path.join(source_dir, "examples", "lambdarank.loss"), "--threads", "1",
                         "--out", result)
    expect("synthetic run exits 0", code == 0, err)
    expect("progress per epoch", "epoch   3" in out, out)
    with open(result) as f:
        r = json.load(f)
    for split in ["train", "valid", "test"]:
        for conv in ["standard", "letor"]:
            m = r[split][conv]
            expect(f"{split} {conv} named", m["convention"] == conv, m)
            for key in ["ndcg@1", "ndcg@3", "ndcg@5", "ndcg@10", "p@1", "p@10", "map", "mrr"]:
                expect(f"{split} {conv} {key} in [0, 1]", 0 <= m[key] <= 1, m)
    expect("skipped queries counted", r["test"]["standard"]["skipped"] > 0, r["test"]["standard"])
    expect("letor skips none", r["test"]["letor"]["skipped"] == 0, r["test"]["letor"])
    expect("history has 3 epochs", len(r["history"]) == 3, r["history"])
    expect("config names the loss", r["config"]["loss"].endswith("lambdarank.loss"), r["config"])

    one = os.path.join(tmp, "one.json")
    code, out, err = run(lossrank, "--synthetic", "--model", "linear", "--epochs", "3", "--threads", "1",
                         "--loss", os.path.join(source_dir, "examples", "lambdarank.loss"), "--ideal-zero", "one",
                         "--out", one)
    expect("--ideal-zero one exits 0", code == 0, err)
    if code == 0:
        with open(one) as f:
            o = json.load(f)
        expect("--ideal-zero one skips none", o["test"]["standard"]["skipped"] == 0
               and o["test"]["standard"]["ideal_zero"] == "one", o["test"]["standard"])

    # lossrank-eval: two queries written out of order on purpose.
    data = os.path.join(tmp, "eval.txt")
    with open(data, "w") as f:
        f.write("0 qid:1 1:1\n0 qid:2 1:1\n2 qid:1 1:1\n0 qid:2 1:1\n1 qid:1 1:1\n")
    scores = os.path.join(tmp, "eval.scores")
    with open(scores, "w") as f:
        f.write("0.9\n0.1\n0.8\n0.2\n0.7\n")  # query 1 ranks labels 0, 2, 1
    code, out, err = run(lossrank_eval, "--data", data, "--scores", scores, "--cutoffs", "1,3")
    expect("eval exits 0", code == 0, err)
    j = json.loads(out) if code == 0 else {}
    if j:
        ndcg3 = (3 / math.log2(3) + 1 / 2) / (3 + 1 / math.log2(3))
        expect("eval standard ndcg@3", abs(j["standard"]["ndcg@3"] - ndcg3) < 1e-9, j["standard"])
        expect("eval standard skipped", j["standard"]["skipped"] == 1, j["standard"])
        expect("eval letor ndcg@3", abs(j["letor"]["ndcg@3"] - (3 + 1 / math.log2(3)) / 4 / 2) < 1e-9, j["letor"])
        expect("eval letor ndcg@1", j["letor"]["ndcg@1"] == 0, j["letor"])
    with open(scores, "w") as f:
        f.write("0.9\n0.1\n")
    code, out, err = run(lossrank_eval, "--data", data, "--scores", scores)
    expect("too few scores exits 2", code == 2 and "2 scores for the 5 documents" in err, err)
    with open(scores, "w") as f:
        f.write("0.9\n0.1\nabc\n0\n0\n")
    code, out, err = run(lossrank_eval, "--data", data, "--scores", scores)
    expect("bad score names file:line:col", code == 2 and f"{scores}:3:1: expected a score, got 'abc'" in err, err)
    code, out, err = run(lossrank_eval, "--data", data)
    expect("eval without --scores exits 2", code == 2, err)

finish()
