"""losscc objectives for gradient-boosted trees: `losscc.lightgbm_objective` and
`losscc.xgboost_objective` against hand-computed gradients, and training on
MQ2008 Fold 1 against LightGBM's own LambdaMART and a random scorer.

LightGBM and XGBoost come from PyPI (scripts/setup.sh installs lightgbm and
xgboost-cpu into build/venv); a missing one fails this file, it is not skipped.
MQ2008 is read from ../shared/data/MQ2008 beside the repository; the tests that
need it are skipped where it is absent, as the C++ tests do (LOSSCC_SHARED_DATA).
"""
import math
import pathlib
import sys

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb

import losscc

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
MQ2008 = REPO.parent / "shared" / "data" / "MQ2008"
sys.path.insert(0, str(REPO / "benchmarks" / "peers"))
import ltr_peers  # noqa: E402  (the LETOR reader and fold layout of the ranking benchmarks)

# LightGBM as benchmarks/peers/ltr_peers.py runs it, for a fixed number of rounds.
LGB_PARAMS = {**ltr_peers.LIGHTGBM_PARAMS, "num_threads": 1, "verbose": -1, "seed": 1, "deterministic": True}
ROUNDS = 100

# Two queries by hand: distinct scores (ranks without ties), a query with equal labels.
SIZES = [3, 4]
LABELS = np.array([2, 0, 1, 1, 0, 1, 0], dtype=np.float64)
SCORES = np.array([0.3, -0.2, 0.5, 0.1, 0.4, -0.3, 0.2])


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def reference_grad(scores, labels, sizes, lambda_weights):
    """d/ds of Σ_queries Σ_{pairs i, j of the query with label_i > label_j} w_ij · log(1 + exp(s_j − s_i)):
    RankNet with w_ij = 1 (examples/ranknet.loss), LambdaRank with w_ij = |ΔNDCG_ij| (examples/lambdarank.loss:
    gains 2^label − 1, discounts 1/log2(1 + rank) at the ranks by score, over the query's ideal DCG). The
    queries' losses are summed, not averaged: the per-document gradient a boosting round fits."""
    grad = np.zeros(len(scores))
    start = 0
    for n in sizes:
        s, y = scores[start:start + n], labels[start:start + n]
        by_score = sorted(range(n), key=lambda i: -s[i])
        rank = {doc: r + 1 for r, doc in enumerate(by_score)}
        gain = [2 ** y[i] - 1 for i in range(n)]
        ideal = sum(g / math.log2(1 + r) for r, g in enumerate(sorted(gain, reverse=True), 1))
        for i in range(n):
            for j in range(n):
                if y[i] <= y[j]:
                    continue
                w = 1.0
                if lambda_weights:
                    w = abs((gain[i] - gain[j]) * (1 / math.log2(1 + rank[i]) - 1 / math.log2(1 + rank[j]))) / ideal
                rho = sigmoid(s[j] - s[i])  # d/ds_i of log(1 + exp(s_j − s_i)) is −rho
                grad[start + i] -= w * rho
                grad[start + j] += w * rho
        start += n
    return grad


def lightgbm_dataset():
    data = lgb.Dataset(np.arange(len(LABELS), dtype=np.float64)[:, None], LABELS, group=SIZES,
                       params={"verbose": -1, "min_data_in_bin": 1, "min_data_in_leaf": 1})
    return data.construct()


def xgboost_dmatrix():
    return xgb.DMatrix(np.arange(len(LABELS), dtype=np.float64)[:, None], LABELS, group=SIZES)


@pytest.mark.parametrize("name,lambda_weights", [("ranknet", False), ("lambdarank", True)])
@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_objective_grad_is_the_losss_gradient_and_hess_is_positive(library, name, lambda_weights):
    loss = losscc.compile(EXAMPLES / f"{name}.loss")
    make, data = {"lightgbm": (losscc.lightgbm_objective, lightgbm_dataset),
                  "xgboost": (losscc.xgboost_objective, xgboost_dmatrix)}[library]
    expected = reference_grad(SCORES, LABELS, SIZES, lambda_weights)
    for min_hessian in (1e-6, 0.25):
        grad, hess = make(loss, min_hessian=min_hessian)(SCORES.copy(), data())
        grad, hess = np.asarray(grad), np.asarray(hess)
        assert grad.shape == hess.shape == (len(LABELS),)
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)  # float32 kernels
        assert np.all(np.isfinite(hess)) and np.all(hess > 0) and np.all(hess >= min_hessian * (1 - 1e-6))
    grad, hess = make(loss)(SCORES.copy(), data())  # the default min_hessian
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)
    assert np.all(np.asarray(hess) > 0)


def ndcg10(scores, labels, qids):
    """Mean NDCG@10, standard convention (gains 2^label − 1, discounts 1/log2(1 + rank), k cut to the
    query's length, ties in file order), queries with ideal DCG 0 skipped: lossrank-eval's default."""
    values = []
    for idx in ltr_peers.groups(qids):
        y = labels[idx].astype(np.float64)
        k = min(10, len(idx))
        disc = 1 / np.log2(np.arange(2, k + 2))
        ideal = ((2 ** np.sort(y)[::-1][:k] - 1) * disc).sum()
        if ideal > 0:
            order = np.argsort(-np.asarray(scores)[idx], kind="stable")[:k]
            values.append(((2 ** y[order] - 1) * disc).sum() / ideal)
    return float(np.mean(values))


@pytest.fixture(scope="module")
def fold1():
    if not (MQ2008 / "S1.txt").exists():
        pytest.skip(f"{MQ2008} not present")
    train, _, test, _, _ = ltr_peers.load_fold(MQ2008, 1)
    x, y, q = train
    idx = np.concatenate(ltr_peers.groups(q))  # each query's rows contiguous
    sizes = [len(g) for g in ltr_peers.groups(q)]
    return x[idx], y[idx], sizes, test


def test_lightgbm_with_lambdarank_loss_grows_lightgbms_lambdarank_trees(fold1):
    """LightGBM's lambdarank without its normalisation (lambdarank_norm) and truncation computes the
    gradient and Hessian of examples/lambdarank.loss, so both grow the same trees. 8 leaves, 10 rounds:
    with 16 or 31 leaves the two models part within 5 rounds (a near-tie split going the other way on
    rounding), after which only the NDCG can be compared."""
    x, y, sizes, _ = fold1
    params = {**LGB_PARAMS, "num_leaves": 8}
    own = lgb.train({**params, "objective": "lambdarank", "lambdarank_norm": False,
                     "lambdarank_truncation_level": max(sizes)}, lgb.Dataset(x, y, group=sizes), 10)
    ours = lgb.train({**params, "objective": losscc.lightgbm_objective(losscc.compile(EXAMPLES / "lambdarank.loss"))},
                     lgb.Dataset(x, y, group=sizes), 10)
    a, b = own.predict(x), ours.predict(x)
    # Measured: max |a − b| 6.6e-6, max |a| 0.68.
    assert np.abs(a - b).max() < 1e-3, (np.abs(a - b).max(), np.abs(a).max())


def test_lightgbm_with_lambdarank_loss_matches_lightgbms_lambdamart(fold1):
    x, y, sizes, (tx, ty, tq) = fold1
    got = {}
    for name, objective in [("lambdamart", "lambdarank"),
                            ("losscc", losscc.lightgbm_objective(losscc.compile(EXAMPLES / "lambdarank.loss")))]:
        booster = lgb.train({**LGB_PARAMS, "objective": objective}, lgb.Dataset(x, y, group=sizes), ROUNDS)
        got[name] = ndcg10(booster.predict(tx), ty, tq)
    # LightGBM's default lambdarank normalises each query's lambdas and divides each pair's by its
    # score gap, so it is not the same gradient. Measured: 0.6926 (losscc) vs 0.7161 (lambdamart) on
    # Fold 1; on Folds 2-5 the gap is −0.0225, −0.0054, +0.0085, +0.0034.
    assert abs(got["losscc"] - got["lambdamart"]) < 0.03, got


def test_xgboost_with_losscc_objective_beats_random_scores(fold1):
    x, y, sizes, (tx, ty, tq) = fold1
    params = {"tree_method": "hist", "grow_policy": "lossguide", "max_leaves": 31, "max_depth": 0, "eta": 0.05,
              "reg_lambda": 0.0, "min_child_weight": 1e-3, "nthread": 1, "seed": 1,
              "disable_default_eval_metric": 1}
    booster = xgb.train(params, xgb.DMatrix(x, y, group=sizes), ROUNDS,
                        obj=losscc.xgboost_objective(losscc.compile(EXAMPLES / "lambdarank.loss")))
    trained = ndcg10(booster.predict(xgb.DMatrix(tx)), ty, tq)
    rng = np.random.default_rng(1)
    random = np.mean([ndcg10(rng.random(len(ty)), ty, tq) for _ in range(20)])
    # Measured: 0.7168 trained, 0.4898 random.
    assert trained > random + 0.15, (trained, random)


def test_constant_hessian_and_the_errors_a_user_sees():
    # A hinge (examples/rank_hinge.loss) has Hessian 0 almost everywhere: with constant_hessian every row's
    # h is that constant and the gradient is the exact one's.
    loss = losscc.compile(EXAMPLES / "rank_hinge.loss")
    exact_grad, exact_hess = losscc.lightgbm_objective(loss, min_hessian=0.0)(SCORES.copy(), lightgbm_dataset())
    assert np.all(np.asarray(exact_hess) == 0)
    grad, hess = losscc.lightgbm_objective(loss, constant_hessian=2.0)(SCORES.copy(), lightgbm_dataset())
    np.testing.assert_array_equal(grad, exact_grad)
    np.testing.assert_array_equal(hess, np.full(len(LABELS), 2.0))
    with pytest.raises(ValueError, match="constant_hessian must be > 0"):
        losscc.xgboost_objective(loss, constant_hessian=0)
    with pytest.raises(ValueError, match="query groups"):
        no_groups = lgb.Dataset(np.arange(len(LABELS), dtype=np.float64)[:, None], LABELS,
                                params={"verbose": -1}).construct()
        losscc.lightgbm_objective(loss)(SCORES.copy(), no_groups)
    with pytest.raises(ValueError, match="one raw score per row"):
        losscc.lightgbm_objective(loss)(np.zeros((len(LABELS), 2)), lightgbm_dataset())
