"""The search from Python (losscc.search): `python -m losscc.search` gives
`losssearch`'s candidates, rewards, found losses and effectiveness rows with
the same flags; rounds settle only in order; candidates and results pickle."""
import json
import os
import pickle
import subprocess
import sys

import pytest

if "LOSSSEARCH" not in os.environ:  # a build without LibTorch has no search (CI's has)
    pytest.skip("no losssearch in this build", allow_module_level=True)

from losscc import search as losscc_search  # noqa: E402

LOSSSEARCH = os.environ["LOSSSEARCH"]
QUICK = ["--effect-epochs", "2", "--effect-seeds", "1", "--top-k", "2", "--seed", "3", "--progress-seconds", "0",
         "--workers", "2"]


def read(out):
    lines = [json.loads(line) for line in open(out / "candidates.jsonl")]
    summary = json.load(open(out / "summary.json"))
    found = {p.name: p.read_text() for p in sorted(out.glob("found-*.loss"))}
    return lines, summary, found


@pytest.mark.parametrize("task", [["--data", "builtin:synthetic", "--budget-candidates", "24"],
                                  ["--task", "rank", "--budget-candidates", "40"]],
                         ids=["rec", "rank"])
def test_python_driver_equals_losssearch(tmp_path, task):
    args = QUICK + task
    tool, py = tmp_path / "tool", tmp_path / "py"
    subprocess.run([LOSSSEARCH, *args, "--out", str(tool)], check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-m", "losscc.search", *args, "--out", str(py)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    a_lines, a_summary, a_found = read(tool)
    b_lines, b_summary, b_found = read(py)
    assert len(a_lines) == len(b_lines)
    for a, b in zip(a_lines, b_lines):
        assert (a["tokens"], a["status"], a["reward"], a["expression"]) == \
               (b["tokens"], b["status"], b["reward"], b["expression"])
    assert a_found == b_found and a_found
    def rows(summary):
        return [(r["name"], r.get("test_auc_mean", r.get("test_ndcg@10_mean"))) for r in summary["effectiveness"]]
    assert rows(a_summary) == rows(b_summary)
    assert a_summary["search"]["candidates"] == b_summary["search"]["candidates"]
    assert (py / "report.md").read_text().startswith("# Loss search:")  # finish() writes the report


def test_compare_runs_no_search_and_equals_the_tool(tmp_path):
    mine = tmp_path / "mine.loss"
    mine.write_text("-(label * log(pred) + (1 - label) * log(1 - pred)) * 2\n")
    args = ["--compare", str(mine), "--data", "builtin:synthetic", "--effect-epochs", "1", "--effect-seeds", "2",
            "--progress-seconds", "0"]
    tool, py = tmp_path / "tool", tmp_path / "py"
    subprocess.run([LOSSSEARCH, *args, "--out", str(tool)], check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-m", "losscc.search", *args, "--out", str(py)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert not (py / "candidates.jsonl").exists()  # nothing was searched
    a, b = (json.load(open(out / "summary.json"))["effectiveness"] for out in (tool, py))
    assert [(r["name"], r["test_auc_per_seed"]) for r in a] == [(r["name"], r["test_auc_per_seed"]) for r in b]
    assert a[0]["name"] == "mine" and a[0]["origin"] == "given"


def test_rounds_settle_in_order_and_data_pickles(tmp_path):
    search = losscc_search.Search(["--data", "builtin:synthetic", "--budget-candidates", "8", "--layers", "3",
                                   "--workers", "4",
                                   "--progress-seconds", "0", "--out", str(tmp_path / "s")])
    with pytest.raises(ValueError, match="no round in flight"):
        search.settle_round([])
    candidates = []
    while not candidates:
        candidates = search.propose_round()
        if not candidates:
            search.settle_round([])
    again = pickle.loads(pickle.dumps(candidates))
    assert [(c.id, c.source, c.phase) for c in again] == [(c.id, c.source, c.phase) for c in candidates]
    results = [losscc_search.evaluate(c, search.task) for c in again]
    assert all(r.failure or 0 < r.reward <= 1 for r in results)
    copy = pickle.loads(pickle.dumps(results[0]))
    assert (copy.id, copy.reward, copy.failure, copy.error) == (results[0].id, results[0].reward, results[0].failure, results[0].error)
    if len(results) > 1:
        with pytest.raises(ValueError, match="in order"):
            search.settle_round(list(reversed(results)))
    stranger = losscc_search.Result()
    stranger.id = 10_000
    with pytest.raises(ValueError):
        search.settle_round(results[:-1] + [stranger])
    search.settle_round(results)  # the right answer is still taken
    while not search.done:
        search.settle_round([losscc_search.evaluate(c, search.task) for c in search.propose_round()])
    assert len(open(tmp_path / "s" / "candidates.jsonl").readlines()) == 8
    assert search.best() and search.best()[0]["reward"] >= search.best()[-1]["reward"]


def test_bad_flags_exit_as_the_tool_does():
    done = subprocess.run([sys.executable, "-m", "losscc.search", "--mtl-task", "income"], capture_output=True,
                          text=True)
    assert done.returncode == 2 and "--task mtl --target TASK" in done.stderr
