#!/usr/bin/env python3
"""losstrain-mtl's command line: --help, exit 2 with one clear line on bad
arguments or bad files, a JSON result with every task's metrics."""
import json
import os
import sys
import tempfile

tool = sys.argv[1]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from cli_check import expect, finish, run as run_tool  # noqa: E402


def run(*args):
    return run_tool(tool, *args)


code, out, err = run("--help")
expect("--help exits 0", code == 0, err)
for flag in ["--data", "--synthetic", "--model", "--weighting", "--task-loss", "--loss", "--seed", "--out", "--rmtl-lambda",
             "--critic-every", "--critic-batch"]:
    expect(f"--help lists {flag}", flag in out)

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples")
chain = os.path.join(EXAMPLES, "mtl_chain.loss")
bad_args = [
    (["--synthetic", "--synthetic-sessions", "50", "--loss", os.path.join(EXAMPLES, "bce.loss")],
     "1 prediction inputs; the data has 2 tasks (click, pay)"),
    (["--synthetic", "--synthetic-sessions", "50", "--loss", chain, "--weighting", "dwa"], "use --weighting equal, not dwa"),
    (["--synthetic", "--loss", chain, "--task-loss", f"pay={chain}"], "--task-loss excludes --loss"),
    (["--synthetic", "--synthetic-sessions", "50", "--weighting", "rmtl", "--epochs", "3", "--critic-every", "0"],
     "--critic-every"),
    ([], "exactly one of --data PATH and --synthetic"),
    (["--synthetic", "--model", "moe"], "--model"),
    (["--synthetic", "--weighting", "magic"], "--weighting"),
    (["--synthetic", "--epochs", "0"], "--epochs"),
    (["--synthetic", "--weighting", "fixed"], "--weights"),
    (["--data", "/nonexistent/dir"], "no such file or folder"),
    (["--synthetic", "--synthetic-sessions", "50", "--task-loss", "nope=x.loss"], "no task 'nope'"),
    (["--synthetic", "--synthetic-sessions", "50", "--model", "single", "--weighting", "gradnorm"], "shares no layer"),
    (["--synthetic", "--synthetic-sessions", "50", "--weighting", "fixed", "--weights", "1"], "1 weights given for 2 tasks"),
    (["--synthetic", "--synthetic-sessions", "50", "--weighting", "rmtl", "--epochs", "1"], "pretraining epochs leave none"),
]
for args, needle in bad_args:
    code, out, err = run(*args)
    expect(f"{args} exits 2", code == 2, f"exit {code}, stderr {err!r}")
    expect(f"{args} says {needle!r}", needle in err, err)
    expect(f"{args} one line", err.strip().count("\n") == 0, err)

with tempfile.TemporaryDirectory() as tmp:
    census = os.path.join(tmp, "census-income.test")
    with open(census, "w") as f:
        f.write("38, Private, 6\n")
    code, out, err = run("--data", census)
    expect("malformed census exits 2", code == 2, err)
    expect("malformed census names file:line:col", f"{census}:1:15: expected 42 comma-separated fields, got 3" in err, err)

    sessions = os.path.join(tmp, "sess")
    os.mkdir(sessions)
    with open(os.path.join(sessions, "sessions.csv"), "w") as f:
        f.write("timestamp,sessionid,itemid,pay,click\n1,1,5,0,1\n2,1,5,0,yes\n")
    code, out, err = run("--data", sessions)
    expect("bad session line exits 2", code == 2, err)
    expect("bad session line names file:line:col", "sessions.csv:3:9: click: expected an integer, got 'yes'" in err, err)

    loss = os.path.join(tmp, "broken.loss")
    with open(loss, "w") as f:
        f.write("-(label * log(pred)\n")
    code, out, err = run("--synthetic", "--synthetic-sessions", "50", "--task-loss", f"pay={loss}")
    expect("broken .loss exits 2", code == 2, err)
    expect("broken .loss names file:line:col", f"{loss}:1:" in err or f"{loss}:2:" in err, err)

    result = os.path.join(tmp, "r.json")
    focal = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples", "focal.loss")
    code, out, err = run("--synthetic", "--synthetic-sessions", "120", "--model", "ple", "--weighting", "uw",
                         "--epochs", "2", "--batch", "128", "--task-loss", f"pay={focal}", "--out", result)
    expect("synthetic run exits 0", code == 0, err)
    expect("progress per epoch", out.count("\nepoch ") == 2, out)
    if code == 0:
        j = json.load(open(result))
        for task in ["click", "pay"]:
            expect(f"json has test {task} auc", "auc" in j["test"][task], j["test"])
            expect(f"json has test {task} session logloss", "session_logloss" in j["test"][task], j["test"])
        expect("json config", j["config"]["model"] == "ple" and j["config"]["weighting"]["method"] == "uw", j["config"])
        expect("json task losses", j["config"]["task_losses"] == [f"pay={focal}"], j["config"])

    code, out, err = run("--synthetic", "--synthetic-sessions", "120", "--model", "sharedbottom", "--epochs", "1",
                         "--batch", "128", "--loss", chain, "--out", result)
    expect("a multi-task program trains", code == 0, err)
    if code == 0:
        j = json.load(open(result))
        expect("json names the program", j["config"]["loss"] == chain, j["config"])
        expect("json has both tasks' AUCs", all("auc" in j["test"][t] for t in ["click", "pay"]), j["test"])

finish("all losstrain-mtl CLI checks passed")
