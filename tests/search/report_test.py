#!/usr/bin/env python3
"""Every search writes report.md beside summary.json (search/report.h): for
each task family, the report has its sections, its pictures (reward.png,
effectiveness.png and a card per loss, drawn with matplotlib, which
scripts/setup.sh installs), a card's explanation for every loss of the
effectiveness table, and a verdict against the best classic; a
recommendation search says how its found loss was chosen from its
finalists. Without a usable Python the report is still written and says
why it has no pictures; without baselines it says nothing is paired."""
import json
import os
import re
import sys
import tempfile

losssearch = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(here))
from cli_check import expect, finish, run  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"
QUICK = ["--effect-epochs", "1", "--effect-seeds", "2", "--top-k", "1", "--seed", "3", "--progress-seconds", "0"]
FAMILIES = {
    "rec": ["--data", "builtin:synthetic", "--budget-candidates", "12"],
    "rank": ["--task", "rank", "--budget-candidates", "12", "--reward-epochs", "1"],
    "mtl": ["--task", "mtl", "--budget-candidates", "8", "--reward-epochs", "1", "--reward-patience", "1"],
}


def is_png(path):
    return os.path.exists(path) and open(path, "rb").read(8) == PNG


with tempfile.TemporaryDirectory() as tmp:
    for family, args in FAMILIES.items():
        out = os.path.join(tmp, family)
        code, stdout, err = run(losssearch, *args, *QUICK, "--out", out, timeout=600)
        expect(f"{family}: exits 0", code == 0, err[-2000:])
        if code != 0:
            continue
        report_path = os.path.join(out, "report.md")
        expect(f"{family}: says where the report is", f"report: {report_path}" in err, err[-500:])
        report = open(report_path).read()
        summary = json.load(open(os.path.join(out, "summary.json")))
        for heading in ["# Loss search:", "## Reward over the search", "## Effectiveness",
                        "## Found losses against the classics, paired by seed", "## Loss cards"]:
            expect(f"{family}: has {heading!r}", heading in report)
        for picture in ["reward.png", "effectiveness.png"]:
            expect(f"{family}: {picture} drawn and shown", is_png(os.path.join(out, picture)) and
                   f"]({picture})" in report)
        for row in summary["effectiveness"]:
            name = row["name"]
            expect(f"{family}: a card section for {name}", f"### {name}\n" in report)
            expect(f"{family}: {name}'s card drawn and shown", is_png(os.path.join(out, "cards", name + ".png")) and
                   f"](cards/{name}.png)" in report)
        expect(f"{family}: the command line", "--out " + out in report)
        expect(f"{family}: a verdict against the best classic",
               re.search(r"- found-1 (beats|ties with|loses to) \S+: [+-]\d\.\d{4}", report), report[:3000])
        expect(f"{family}: the effectiveness table", "found-1" in report and "± " in report)
        selection = summary["selection"]["rows"]
        if family == "rec":
            expect("rec: a pointwise card reads the loss at each label", "label = 1:" in report)
            # --top-k 1: three finalists, each fitted on the selection's own seeds.
            expect("rec: the found loss chosen from 3 finalists", len(selection) == 3 and
                   "## Choosing the found losses" in report, selection)
            ranked = [row for row in selection if "rank" in row]
            first = min(ranked, key=lambda row: row["rank"]) if ranked else {}
            expect("rec: found-1 is the finalist ranked first, by mean - std",
                   first and all(first["score"] >= row["score"] for row in ranked) and
                   f"candidate {first['id']}," in open(os.path.join(out, "found-1.loss")).read(), selection)
            expect("rec: the selection reads no test figure", not any("test" in key for row in selection for key in row))
        else:
            expect(f"{family}: no selection by default", selection == [] and "## Choosing" not in report)
        if family == "rank":
            expect("rank: a ranking card", "ranking loss:" in report)

    os.environ["LOSSCC_PYTHON"] = "/nonexistent/python3"
    out = os.path.join(tmp, "nopython")
    # Also without baselines: the report says there is nothing to pair with.
    code, _, err = run(losssearch, *FAMILIES["rec"], *QUICK, "--no-baselines", "--out", out, timeout=600)
    expect("without Python: exits 0", code == 0, err[-2000:])
    if code == 0:
        report = open(os.path.join(out, "report.md")).read()
        expect("without Python: the report says why it has no pictures",
               "no plots: /nonexistent/python3 was not found" in report, report[:1500])
        expect("without Python: no picture is linked", "](" not in report)
        expect("without Python: the tables are there", "## Effectiveness" in report and "found-1" in report)
        paired = report.split("paired by seed\n\n", 1)[-1]
        expect("without baselines: nothing paired, and no empty table in its place",
               paired.startswith("No classic loss has a result here (--no-baselines"), report[-1500:])
finish("all report checks passed")
