#!/usr/bin/env python3
"""`losscc explain FILE --card-dir DIR` writes the loss card: NAME.card.json
(the curves) and NAME.png (drawn by python/losscc/plots.py with matplotlib,
which scripts/setup.sh installs). Without a usable Python it still writes the
JSON and says why there is no picture."""
import json
import os
import sys
import tempfile

losscc, repo = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(repo, "tests"))
from cli_check import expect, finish, run  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"

with tempfile.TemporaryDirectory() as tmp:
    for name in ["bce", "listnet", "bpr"]:
        code, out, err = run(losscc, "explain", os.path.join(repo, "examples", name + ".loss"), "--card-dir", tmp)
        expect(f"{name}: exit 0", code == 0, err)
        card = os.path.join(tmp, name + ".card.json")
        png = os.path.join(tmp, name + ".png")
        expect(f"{name}: the card's numbers", os.path.exists(card))
        expect(f"{name}: the card's picture", os.path.exists(png) and open(png, "rb").read(8) == PNG, out)
        expect(f"{name}: says where they are", f"card: {card}, {png}" in out, out)
    card = json.load(open(os.path.join(tmp, "bce.card.json")))
    expect("bce's card has a curve per label", [c["label"] for c in card["pointwise"]["curves"]] == [1, 0])
    expect("bce's card carries the explanation", "label = 1: loss -log(pred)" in card["explanation"])

    env_python = os.environ.get("LOSSCC_PYTHON")
    os.environ["LOSSCC_PYTHON"] = "/nonexistent/python3"
    try:
        nopic = os.path.join(tmp, "nopic")
        code, out, err = run(losscc, "explain", os.path.join(repo, "examples", "mse.loss"), "--card-dir", nopic)
    finally:
        if env_python is None:
            del os.environ["LOSSCC_PYTHON"]
        else:
            os.environ["LOSSCC_PYTHON"] = env_python
    expect("without Python: exit 0", code == 0, err)
    expect("without Python: the JSON is written", os.path.exists(os.path.join(nopic, "mse.card.json")))
    expect("without Python: no picture", not os.path.exists(os.path.join(nopic, "mse.png")))
    expect("without Python: says why", "no plots: /nonexistent/python3 was not found" in out, out)
finish("all explain card checks passed")
