"""The ranking search with the trees' reward (benchmarks/ltr/gbdt_search.py): a candidate's reward is
the validation NDCG@10 of LightGBM trained with it as the objective, a loss the trees cannot use is a
failure the search records, and a short search driven by that reward settles and ranks by it.

MQ2008 is read from ../shared/data/MQ2008 beside the repository (skipped where absent, as in
test_gbdt.py); the search extension comes with a source build (LOSSSEARCH set, as for test_search.py).
"""
import argparse
import json
import os
import pathlib
import sys

import numpy as np
import pytest

if "LOSSSEARCH" not in os.environ:  # a build without LibTorch has no search (CI's has)
    pytest.skip("no losssearch in this build", allow_module_level=True)

REPO = pathlib.Path(__file__).resolve().parents[2]
MQ2008 = REPO.parent / "shared" / "data" / "MQ2008"
sys.path.insert(0, str(REPO / "benchmarks" / "ltr"))
import gbdt_search  # noqa: E402
from gbdt import fit_lightgbm  # noqa: E402
from ltr_peers import load_fold, ndcg10_standard  # noqa: E402

import losscc  # noqa: E402
from losscc.search import Candidate, Search  # noqa: E402

# Few rounds: the fits are what is tested, not their quality.
TREES = argparse.Namespace(trees=30, bagging_fraction=0.8)
HEAD = "input score: real as pred\ninput label: grade\n"


@pytest.fixture(scope="module")
def fold1():
    if not (MQ2008 / "S1.txt").exists():
        pytest.skip(f"{MQ2008} not present")
    return load_fold(MQ2008, 1)


def candidate(source, id=0):
    c = Candidate()
    c.id, c.source = id, source
    return c


def test_reward_is_the_trees_validation_ndcg(fold1):
    source = (REPO / "examples" / "lambdarank.loss").read_text()
    result = gbdt_search.TreeReward(fold1, TREES)(candidate(source, 7), seed=5)
    assert result.id == 7 and result.failure == "", result.error
    objective = losscc.lightgbm_objective(losscc.compile(source))
    scorer, _ = fit_lightgbm(objective, fold1[0], fold1[1], 5, TREES)
    valid = fold1[1]
    # ltr_peers's NDCG@10 (a loop per query, standard convention), not the grouped one the reward uses.
    assert result.reward == pytest.approx(ndcg10_standard(scorer(valid[0]), valid[1], valid[2]), abs=1e-12)
    assert 0.6 < result.reward < 0.9, result.reward  # measured 0.71 on fold 1


def test_a_loss_the_trees_cannot_use_is_a_failure(fold1):
    reward = gbdt_search.TreeReward(fold1, TREES)
    # Its gradient is NaN at every score below 10 (sqrt of a negative number).
    nan = reward(candidate(HEAD + "qsum(pairsum(label - other(label), sqrt(other(score) - score - 10)))\n"), 1)
    assert nan.failure == "non_finite" and "non-finite" in nan.error
    # A scan of a pairsum: its Hessian sums over triples, which the compiler refuses by name.
    triple = reward(candidate(HEAD + "qsum(label * sigmoid(suffix_sum(label, pairsum(1, sigmoid(other(score) - "
                                     "score)))))\n"), 1)
    assert triple.failure == "compile" and "triples" in triple.error


def test_a_short_search_settles_and_ranks_by_the_trees_reward(fold1, tmp_path):
    search = Search(["--task", "rank", "--data", str(MQ2008), "--fold", "1", "--budget-candidates", "12",
                     "--workers", "1", "--top-k", "2", "--seed", "2", "--progress-seconds", "0",
                     "--out", str(tmp_path)])
    reward = gbdt_search.TreeReward(fold1, TREES)
    given = {}
    while not search.done:
        results = [reward(c, 1) for c in search.propose_round()]
        given.update({r.id: r.reward for r in results if not r.failure})
        search.settle_round(results)
    search.checkpoint()
    assert given, "no candidate was fitted"
    # "filtered": fitted, then left out of the controller's update for a weak reward.
    logged = {row["id"]: row["reward"] for row in map(json.loads, open(tmp_path / "candidates.jsonl"))
              if row["status"] in ("trained", "filtered")}
    assert sorted(logged) == sorted(given)
    assert all(logged[i] == pytest.approx(given[i], abs=1e-12) for i in given), (logged, given)
    best = search.best()
    assert best[0]["reward"] == max(given.values())


def test_the_held_out_reward_split_holds_out_whole_training_queries(fold1):
    train = fold1[0]
    inner, held = gbdt_search.hold_out(train, 0.25, seed=3)
    queries, inner_q, held_q = set(train[2]), set(inner[2]), set(held[2])
    assert inner_q.isdisjoint(held_q) and inner_q | held_q == queries
    assert len(held_q) == round(0.25 * len(queries))
    assert len(inner[1]) + len(held[1]) == len(train[1])
    again, _ = gbdt_search.hold_out(train, 0.25, seed=3)
    np.testing.assert_array_equal(again[0], inner[0])  # a seed gives the same split
