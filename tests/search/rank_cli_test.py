#!/usr/bin/env python3
"""`losssearch --task rank` on the command line: exit 2 on bad arguments, and
a tiny search on the synthetic ranking set that writes candidates.jsonl,
best.loss, found-K.loss and summary.json with the classic losses beside."""
import json
import os
import sys
import tempfile

tool = sys.argv[1]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from cli_check import expect, finish, run as run_tool  # noqa: E402


def run(*args):
    return run_tool(tool, "--task", "rank", *args, timeout=300)


for args, needle in [(["--fold", "0"], "--fold"), (["--searcher", "genetic"], "--searcher"),
                     (["--model", "deepmodel"], "not a rank model")]:
    code, out, err = run(*args)
    expect(f"{args} exits 2", code == 2, f"exit {code}, stderr {err!r}")
    expect(f"{args} says {needle!r}", needle in err, err)

with tempfile.TemporaryDirectory() as tmp:
    d = os.path.join(tmp, "search")
    code, out, err = run("--budget-candidates", "30", "--reward-epochs", "2", "--effect-epochs", "3", "--effect-seeds", "1",
                         "--searcher", "random", "--top-k", "2", "--progress-seconds", "0", "--out", d)
    expect("tiny search exits 0", code == 0, err)
    lines = open(os.path.join(d, "candidates.jsonl")).read().splitlines() if code == 0 else []
    expect("30 candidates", len(lines) == 30, len(lines))
    if code == 0:
        summary = json.load(open(os.path.join(d, "summary.json")))
        names = [row["name"] for row in summary["effectiveness"]]
        for classic in ["ranknet", "listnet", "listmle", "lambdarank", "lambdaloss", "approx_ndcg", "rank_hinge",
                        "rank_mse"]:
            expect(f"summary compares with {classic}", classic in names, names)
        found = [n for n in names if n.startswith("found-")]
        expect("found losses written", all(os.path.exists(os.path.join(d, n + ".loss")) for n in found), found)
        if found:
            expect("best.loss written", open(os.path.join(d, "best.loss")).readline().startswith("# losssearch"), "")
            head = open(os.path.join(d, found[0] + ".loss")).readline()
            expect("found-K.loss names the tool and the reward",
                   head.startswith("# losssearch --task rank: candidate") and "validation NDCG@10" in head, head)
        fitted = [row for row in summary["effectiveness"] if "fit" in row]
        expect("rows average NDCG@10 over the fits",
               fitted and all(row["test_ndcg@10_mean"] == row["fit"]["test"]["standard"]["ndcg@10"] for row in fitted),
               fitted[:1])
        expect("table printed", "test@10" in out, out)
    code, out, err = run("--budget-candidates", "30", "--out", d)
    expect("a second search into the same folder exits 1", code == 1 and "--resume" in err, err)

finish()
