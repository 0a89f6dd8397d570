#!/usr/bin/env python3
"""Nested loss searches for gradient-boosted trees: the ranking search with the trees' own reward.

For each MQ2008 fold F, on fold F's training and validation queries only:

  1. search   the ranking search (`losssearch --task rank --fold F`: its space, masks and RL
              controller, driven from Python by losscc.search) proposes candidates; each is
              fitted as a LightGBM objective (losscc.lightgbm_objective) on the training
              queries with gbdt.py's settings, early stopping on validation NDCG@10, bagging
              seed --reward-seed; its reward is that best validation NDCG@10 (standard
              convention). With --reward-holdout P the reward fits train on the training
              queries less a random P of them, which take the validation's place, so that
              the selection below reads validation queries the search did not.
  2. select   the --top-k best distinct losses are fitted again with --select-seeds more
              bagging seeds (1001, 1002, ...); the one with the best mean − std of
              validation NDCG@10 is fold F's searched loss, OUT/fold-F/searched.loss.
  3. test     the searched loss, LambdaMART (LightGBM's lambdarank) and LightGBM with our
              LambdaRank are trained with seeds 1–3 and tested on fold F's test queries,
              which no step above read, as gbdt.py trains them; each run is written as
              gbdt.py writes it (OUT/METHOD-fF-sS.json), so that

                  gbdt.py --out OUT --summarize --json OUT.json

              compares every method with LambdaMART, paired over (fold, seed) and over
              (fold, seed, query), with bootstrap intervals and Wilcoxon p.

OUT/fold-F/search/ holds the search's candidates (candidates.jsonl.gz, the tree rewards) and
reward.png (its checkpoint while it runs); OUT/fold-F/selection.json the finalists' refits. Every step resumes:
a fold whose search is done is not searched again, a run whose file exists is skipped.

    PYTHONPATH=build/python build/venv/bin/python benchmarks/ltr/gbdt_search.py \\
        --out benchmarks/results/gbdt-nested --budget-minutes 10 --folds 1,3,5   # one process per core
    PYTHONPATH=build/python build/venv/bin/python benchmarks/ltr/gbdt.py \\
        --out benchmarks/results/gbdt-nested --summarize --json benchmarks/results/gbdt-nested.json

Requires lightgbm and the search extension (a source build: scripts/setup.sh). A benchmark,
never a test (tests/python/test_gbdt_search.py tests the reward and a short search).
"""
import argparse
import gzip
import json
import math
import pathlib
import shutil
import statistics
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# gbdt.py: the trees' settings, fits and run files.
from gbdt import ValidNdcg10, fit_lightgbm, hessian_choice, load_fold, run_one  # noqa: E402

import losscc  # noqa: E402
from losscc.search import Result, Search  # noqa: E402

REPO = HERE.parents[1]
TEST_SEEDS = [1, 2, 3]
SELECT_SEED0 = 1001
BASELINES = {"lambdamart": None, "lgb:lambdarank": str(REPO / "examples" / "lambdarank.loss")}
SEARCHED = "lgb:searched"


class TreeReward:
    """A ranking loss's reward as a LightGBM objective: the best validation NDCG@10 (standard) of
    a fit on the training queries. `args` carries gbdt.py's tree settings (trees, bagging_fraction)."""

    def __init__(self, split, args):
        self.train, self.valid = split[0], split[1]
        self.metric = ValidNdcg10(self.valid[1], self.valid[2])
        self.args = args

    def fit(self, source, seed):
        """The validation NDCG@10 of `source` (.loss text or path) as the trees' objective."""
        loss = losscc.compile(source)
        derivatives = losscc.lightgbm_objective(loss, constant_hessian=hessian_choice(loss, self.train))

        def objective(preds, data):
            grad, hess = derivatives(preds, data)
            if not (np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))):
                raise FloatingPointError("non-finite gradient or Hessian")
            return grad, hess

        scorer, _ = fit_lightgbm(objective, self.train, self.valid, seed, self.args)
        scores = scorer(self.valid[0])
        if not np.all(np.isfinite(scores)):
            raise FloatingPointError("non-finite scores")
        return self.metric(scores)

    def __call__(self, candidate, seed):
        """The search's Result for a Candidate: its reward, or its failure."""
        result = Result()
        result.id = candidate.id
        start = time.perf_counter()
        try:
            result.reward = self.fit(candidate.source, seed)
        except (ValueError, RuntimeError) as error:  # a loss the compiler or its Hessian refuses
            result.failure, result.error = "compile", str(error).splitlines()[0]
        except (FloatingPointError, ArithmeticError) as error:
            result.failure, result.error = "non_finite", str(error)
        else:
            if not math.isfinite(result.reward):
                result.failure, result.error = "non_finite", "validation NDCG@10 is not finite"
        result.train_seconds = time.perf_counter() - start
        return result


def hold_out(train, fraction, seed):
    """(inner training, inner validation): a random `fraction` of the training queries held out, whole
    queries, rows in file order."""
    x, y, q = train
    queries = np.unique(q)
    held = np.random.default_rng(seed).permutation(queries)[:max(1, round(fraction * len(queries)))]
    inner = np.isin(q, held)
    return (x[~inner], y[~inner], q[~inner]), (x[inner], y[inner], q[inner])


def search_fold(fold, split, args):
    """Runs (or resumes) fold's search with the trees' reward; its best distinct losses, best first."""
    folder = pathlib.Path(args.out) / f"fold-{fold}" / "search"
    flags = ["--task", "rank", "--data", args.data, "--fold", str(fold), "--budget-minutes", str(args.budget_minutes),
             "--seed", str(fold), "--workers", "1", "--top-k", str(args.top_k), "--layers", str(args.layers),
             "--progress-seconds", "60", "--out", str(folder)]
    resume = (folder / "checkpoint").exists()
    search = Search(flags, resume=resume)
    search.set_executor_note("reward: LightGBM's validation NDCG@10")
    reward = TreeReward(hold_out(split[0], args.reward_holdout, fold) if args.reward_holdout else split, args)
    while not search.done:
        search.settle_round([reward(c, args.reward_seed) for c in search.propose_round()])
    search.checkpoint()
    best = search.best()
    try:
        from losscc.plots import draw_reward
        draw_reward(folder / "candidates.jsonl", folder / "reward.png")
    except ImportError:  # matplotlib is optional here
        pass
    return best


def select(fold, finalists, split, args):
    """Refits the finalists with the selection seeds; writes selection.json and searched.loss."""
    folder = pathlib.Path(args.out) / f"fold-{fold}"
    reward = TreeReward(split, args)
    rows = []
    for rank, finalist in enumerate(finalists, 1):
        seeds = [SELECT_SEED0 + i for i in range(args.select_seeds)]
        scores = [reward.fit(finalist["source"], seed) for seed in seeds]
        mean, std = statistics.mean(scores), statistics.stdev(scores) if len(scores) > 1 else 0.0
        rows.append({"finalist": rank, "id": finalist["id"], "search_reward": finalist["reward"], "seeds": seeds,
                     "valid_ndcg@10": scores, "mean": mean, "std": std, "score": mean - std,
                     "source": finalist["source"]})
        print(f"fold {fold} finalist {rank} (candidate {finalist['id']}): reward {finalist['reward']:.4f}, "
              f"refits {mean:.4f} ± {std:.4f}", flush=True)
    chosen = max(rows, key=lambda r: r["score"])
    settings = {k: getattr(args, k) for k in ("budget_minutes", "layers", "reward_seed", "reward_holdout", "trees",
                                              "bagging_fraction")}
    (folder / "selection.json").write_text(json.dumps({"chosen": chosen["finalist"], "settings": settings,
                                                       "finalists": rows}, indent=1) + "\n")
    (folder / "searched.loss").write_text(chosen["source"])
    return folder / "searched.loss"


def archive(folder):
    """A finished search as losssearch leaves one: candidates.jsonl gzipped, no checkpoint."""
    log = folder / "candidates.jsonl"
    if log.exists():
        with open(log, "rb") as raw, gzip.open(folder / "candidates.jsonl.gz", "wb") as packed:
            shutil.copyfileobj(raw, packed)
        log.unlink()
    shutil.rmtree(folder / "checkpoint", ignore_errors=True)


def test(fold, searched, split, args):
    """The searched loss and the baselines, seeds 1-3, tested on the fold's test queries (gbdt.py's runs)."""
    out = pathlib.Path(args.out)
    for method, path in [*BASELINES.items(), (SEARCHED, str(searched))]:
        for seed in TEST_SEEDS:
            file = out / f"{method.replace(':', '-')}-f{fold}-s{seed}.json"
            if file.exists():
                continue
            result = run_one(method, path, fold, seed, split, args)
            file.write_text(json.dumps(result, indent=1) + "\n")
            print(f"{method} fold {fold} seed {seed}: test ndcg@10 {result['test']['standard']['ndcg@10']:.4f}",
                  flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "MQ2008"))
    p.add_argument("--eval-tool", default=str(REPO / "build" / "tools" / "lossrank-eval"))
    p.add_argument("--out", required=True)
    p.add_argument("--folds", default="1,2,3,4,5")
    p.add_argument("--budget-minutes", type=float, default=10, help="each fold's search (fits included)")
    p.add_argument("--layers", type=int, default=6, help="the ranking space's program length")
    p.add_argument("--top-k", type=int, default=8, help="finalists refitted before the searched loss is chosen")
    p.add_argument("--select-seeds", type=int, default=3)
    p.add_argument("--reward-seed", type=int, default=101, help="the search's bagging seed")
    p.add_argument("--reward-holdout", type=float, default=0.0,
                   help="fit the search's rewards on the training queries less this fraction of them, held out as "
                        "their validation (early stopping and reward); selection still uses the fold's validation")
    p.add_argument("--trees", type=int, default=1000, help="the most boosting rounds (early stopping ends most fits)")
    p.add_argument("--bagging-fraction", type=float, default=0.8)
    args = p.parse_args()
    if args.select_seeds < 1 or args.top_k < 1:
        sys.exit("gbdt_search.py: --top-k and --select-seeds must be at least 1")
    if not 0 <= args.reward_holdout < 1:
        sys.exit(f"gbdt_search.py: --reward-holdout must be in [0, 1), got {args.reward_holdout}")
    for fold in [int(f) for f in args.folds.split(",")]:
        split = load_fold(args.data, fold)
        folder = pathlib.Path(args.out) / f"fold-{fold}"
        searched = folder / "searched.loss"
        if not searched.exists():
            folder.mkdir(parents=True, exist_ok=True)
            searched = select(fold, search_fold(fold, split, args), split, args)
            archive(folder / "search")
        test(fold, searched, split, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
