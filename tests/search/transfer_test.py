#!/usr/bin/env python3
"""losssearch --transfer-data and --compare (search/search_command.h): the
effectiveness test repeated on further datasets with the same losses,
protocol and seeds, as a transfer table in summary.json and the report; and
given .loss files tested against the classics without a search. Bad input
fails before any training, naming the file."""
import json
import os
import sys
import tempfile

losssearch = sys.argv[1]
repo = sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(here))
from cli_check import expect, finish, run  # noqa: E402

QUICK = ["--effect-epochs", "1", "--effect-seeds", "2", "--seed", "3", "--progress-seconds", "0"]
KEY = "test_auc_per_seed"


def figures(rows):
    return {r["name"]: r.get(KEY) for r in rows}


with tempfile.TemporaryDirectory() as tmp:
    # A search, and the same test on the same data again as its "transfer":
    # the same losses, protocol and seeds must give the same figures.
    out = os.path.join(tmp, "search")
    code, stdout, err = run(losssearch, "--data", "builtin:synthetic", "--budget-candidates", "8", "--top-k", "1",
                            "--transfer-data", "builtin:synthetic", *QUICK, "--out", out, timeout=600)
    expect("search + transfer: exits 0", code == 0, err[-2000:])
    if code == 0:
        summary = json.load(open(os.path.join(out, "summary.json")))
        transfer = summary.get("transfer", [])
        expect("one transfer entry", len(transfer) == 1, transfer)
        if transfer:
            expect("the transfer names its data", transfer[0]["data"] == "builtin:synthetic", transfer[0].get("data"))
            expect("the same data, protocol and seeds give the same figures",
                   figures(transfer[0]["effectiveness"]) == figures(summary["effectiveness"]),
                   (figures(transfer[0]["effectiveness"]), figures(summary["effectiveness"])))
            expect("the transfer has its paired comparisons",
                   {c["found"] for c in transfer[0]["paired"]} == {"found-1"} and len(transfer[0]["paired"]) == 7,
                   transfer[0]["paired"])
        report = open(os.path.join(out, "report.md")).read()
        expect("the report has the transfer section", "## Transfer: the same losses" in report, report[-3000:])
        expect("the transfer table has a row for found-1", "\n| found-1 | " in report, report[-3000:])
        expect("the table is printed too", "transfer to synthetic" in stdout, stdout[-2000:])

    # --compare: a given loss against the classics, on the search's data and
    # on another dataset (the built-in MovieLens), with no search.
    mine = os.path.join(tmp, "mine.loss")
    with open(mine, "w") as f:
        f.write(open(os.path.join(repo, "examples", "logmin.loss")).read())
    out = os.path.join(tmp, "compare")
    code, stdout, err = run(losssearch, "--compare", mine, "--data", "builtin:synthetic",
                            "--transfer-data", "builtin:movielens", *QUICK, "--out", out, timeout=600)
    expect("compare: exits 0", code == 0, err[-2000:])
    if code == 0:
        expect("compare: no search ran", not os.path.exists(os.path.join(out, "candidates.jsonl")),
               os.listdir(out))
        summary = json.load(open(os.path.join(out, "summary.json")))
        expect("compare: the files are recorded", summary.get("compare") == [mine], summary.get("compare"))
        rows = summary["effectiveness"]
        expect("compare: the given loss is tested as 'mine', origin given",
               rows and rows[0]["name"] == "mine" and rows[0]["origin"] == "given", rows[:1])
        expect("compare: the given loss is paired with every classic",
               [c["found"] for c in summary["paired"]] == ["mine"] * 7, summary["paired"])
        transfer = summary.get("transfer", [{}])[0]
        expect("compare: the transfer ran on MovieLens", "mlsmall01-1-5" in transfer.get("description", ""),
               transfer.get("description"))
        expect("compare: other data gives other figures",
               figures(transfer.get("effectiveness", [])).get("mine") not in (None, figures(rows)["mine"]))
        report = open(os.path.join(out, "report.md")).read()
        for needle in ["# Losses compared:", "No search:", "## Given losses against the classics",
                       "## Transfer: the same losses", "\n| mine | "]:
            expect(f"compare: the report has {needle!r}", needle in report, report[:2000])
        expect("compare: no reward section", "## Reward over the search" not in report)
        expect("compare: a verdict for the given loss", "- mine " in report)

    # Bad input fails at once, naming what is wrong.
    broken = os.path.join(tmp, "broken.loss")
    with open(broken, "w") as f:
        f.write("log(pred\n")
    code, _, err = run(losssearch, "--compare", broken, "--data", "builtin:synthetic", "--out",
                       os.path.join(tmp, "broken"))
    expect("a loss that does not parse exits 2 naming file:line:col", code == 2 and f"{broken}:1:" in err, err)
    code, _, err = run(losssearch, "--compare", os.path.join(tmp, "missing.loss"), "--out", os.path.join(tmp, "m"))
    expect("a missing --compare file exits 2 naming it", code == 2 and "missing.loss" in err, err)
    code, _, err = run(losssearch, "--data", "builtin:synthetic", "--transfer-data", os.path.join(tmp, "nowhere"),
                       "--budget-candidates", "4", "--out", os.path.join(tmp, "nowhere-out"))
    expect("a transfer dataset that cannot be read exits 2 naming it, before searching",
           code == 2 and "nowhere" in err and not os.path.exists(os.path.join(tmp, "nowhere-out", "candidates.jsonl")),
           (code, err))
finish("all transfer and compare checks passed")
