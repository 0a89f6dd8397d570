#!/usr/bin/env python3
"""Golden tests for the losscc command line.

Each case in cases.json runs `losscc ARGS` from the repository root and
compares the exit code and the exact stdout and stderr with
golden/NAME.stdout and golden/NAME.stderr. For JSON output, keys listed in
`ignore_keys` (timings) are dropped before comparing.

    golden_test.py --losscc build/tools/losscc --repo .           # check
    golden_test.py --losscc build/tools/losscc --repo . --update  # rewrite goldens
"""
import argparse
import json
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def normalise(text, ignore_keys):
    if not ignore_keys:
        return text
    lines = []
    for line in text.splitlines():
        value = json.loads(line)
        for key in ignore_keys:
            if key not in value:
                raise AssertionError(f"expected key {key!r} in {line}")
            del value[key]
        lines.append(json.dumps(value, sort_keys=True))
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--losscc", required=True)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--update", action="store_true", help="rewrite the golden files")
    parser.add_argument("--filter", default="", help="run cases whose name contains this")
    args = parser.parse_args()

    cases = json.loads((HERE / "cases.json").read_text())
    failures = 0
    ran = 0
    for case in cases:
        if args.filter not in case["name"]:
            continue
        ran += 1
        proc = subprocess.run([args.losscc, *case["args"]], cwd=args.repo, capture_output=True,
                              text=True, timeout=60)
        expected_exit = case.get("exit", 0)
        stdout = normalise(proc.stdout, case.get("ignore_keys"))
        stderr = proc.stderr
        golden_out = HERE / "golden" / f"{case['name']}.stdout"
        golden_err = HERE / "golden" / f"{case['name']}.stderr"
        if args.update:
            golden_out.write_text(stdout)
            golden_err.write_text(stderr)
        problems = []
        if proc.returncode != expected_exit:
            problems.append(f"exit {proc.returncode}, expected {expected_exit}")
        if not golden_out.exists() or stdout != golden_out.read_text():
            problems.append(f"stdout differs from {golden_out.name}:\n{stdout}")
        if not golden_err.exists() or stderr != golden_err.read_text():
            problems.append(f"stderr differs from {golden_err.name}:\n{stderr}")
        if proc.returncode != 0 and expected_exit == 2 and (stderr.count("\n") < 1 or stdout):
            problems.append("an error must print a message on stderr and nothing on stdout")
        if problems:
            failures += 1
            print(f"FAIL {case['name']}: " + "\n  ".join(problems))
        else:
            print(f"ok   {case['name']}")
    print(f"{ran - failures} passed, {failures} failed")
    return 1 if failures or ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
