#!/usr/bin/env bash
# Every number of docs/RESULTS-ltr.md on MQ2008, in the order the document
# gives them, from a built tree (scripts/setup.sh): the classic losses on five
# folds, allRank's and LightGBM's peers, the fold-1 search and its finds, RL
# against random search, the five nested searches (plain, with selection, and
# in the space with the listwise operators), the losses inside
# gradient-boosted trees, the reward's fidelity and the valid-sample fraction.
# Each step writes under benchmarks/results/ and skips what is already there
# (run_ltr.py, ltr_peers.py, gbdt.py, gbdt_search.py, nested.py and
# variants.py resume; the other steps are skipped when their result exists
# or are quick); delete a result to measure it again. On the 2-core machine
# the whole run takes several hours (RESULTS-ltr.md gives each step's time).
# A benchmark, never a test.
#
#   benchmarks/ltr/reproduce.sh                 # everything
#   PEER_PY=/path/to/python benchmarks/ltr/reproduce.sh
#
# PY runs losscc's module, LightGBM and XGBoost (default build/venv's);
# PEER_PY runs allRank (benchmarks/peers/requirements-ltr.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=${PY:-build/venv/bin/python}
PEER_PY=${PEER_PY:-$PY}
DATA=${DATA:-../shared/data/MQ2008}
R=benchmarks/results
export PYTHONPATH=build/python

step() { printf '\n== %s\n' "$*"; }

step "build"
cmake --build build --target lossrank lossrank-eval losssearch bench_rank_reward bench_valid losscc_python

step "every example ranking loss x linear/MLP x folds 1-5, and ListMLE with shuffled documents"
"$PY" benchmarks/ltr/run_ltr.py --tool build/tools/lossrank --data "$DATA" --out $R/ltr-mq2008
"$PY" benchmarks/ltr/run_ltr.py --tool build/tools/lossrank --data "$DATA" --out $R/ltr-mq2008 \
  --losses listmle --tag=-shuffled -- --shuffle-docs

step "the peers: allRank's losses and LightGBM's LambdaMART (seed 1)"
"$PEER_PY" benchmarks/peers/ltr_peers.py --eval-tool build/tools/lossrank-eval --data "$DATA" \
  --out $R/ltr-mq2008

step "the search on fold 1, then its best loss on every fold"
if [ ! -f $R/ltr-search-mq2008/summary.json ]; then
  build/tools/losssearch --task rank --data "$DATA" --fold 1 --model mlp --budget-minutes 8 \
    --effect-epochs 200 --effect-patience 20 --fit-seed 1 --effect-seeds 1 --out $R/ltr-search-mq2008
fi
"$PY" benchmarks/ltr/run_ltr.py --tool build/tools/lossrank --data "$DATA" --out $R/ltr-mq2008 \
  --losses $R/ltr-search-mq2008/found-1.loss
"$PY" benchmarks/ltr/run_ltr.py --out $R/ltr-mq2008 --summarize --json $R/ltr-mq2008.json
"$PY" benchmarks/ltr/summarize_ltr_search.py $R/ltr-search-mq2008/summary.json

step "RL against random search (fold 1, 3 seeds each, 5 minutes)"
if [ ! -f $R/rl-vs-random-mq2008.json ]; then
  "$PY" benchmarks/search/rl_vs_random.py --task rank --data "$DATA" --minutes 5 --arms rl,random \
    --no-baselines --work "$(mktemp -d)" --json $R/rl-vs-random-mq2008.json \
    --png benchmarks/search/rl-vs-random-mq2008.png
fi

step "losses inside gradient-boosted trees (5 folds x 3 seeds)"
S=$R/ltr-search-mq2008
"$PY" benchmarks/ltr/gbdt.py --eval-tool build/tools/lossrank-eval --data "$DATA" --out $R/gbdt-mq2008 \
  --seeds 1,2,3 --loss examples/lambdarank.loss --loss examples/ranknet.loss --loss examples/listnet.loss \
  --loss examples/listmle.loss --loss examples/lambdaloss.loss --loss examples/approx_ndcg.loss \
  --loss $S/found-1.loss --loss $S/found-2.loss --loss $S/found-5.loss \
  --methods lambdamart,xgb-ndcg,lgb:lambdarank,lgb:ranknet,lgb:listnet,lgb:listmle,lgb:lambdaloss,lgb:approx_ndcg,lgb:found-1,lgb:found-2,lgb:found-5,xgb:lambdarank
"$PY" benchmarks/ltr/gbdt.py --out $R/gbdt-mq2008 --summarize --json $R/gbdt-mq2008.json

step "five nested searches: plain, with selection, and in the space with the listwise operators"
for variant in "ltr-nested" "ltr-nested-select --select-seeds 3" "ltr-nested-listwise --select-seeds 3" \
               "ltr-nested-holdout --select-seeds 3 --reward-holdout 0.25" \
               "ltr-nested-wide --select-seeds 5 --finalists 12 --reward-holdout 0.25 --budget-minutes 5"; do
  set -- $variant
  out=$1
  shift
  "$PY" benchmarks/ltr/nested.py --data "$DATA" --out $R/$out --budget-minutes 6 "$@"
  "$PY" benchmarks/ltr/nested.py --data "$DATA" --out $R/$out --summarize --json $R/$out.json
done

step "LambdaLoss aimed at NDCG@10, by hand, paired with ltr-nested-wide's LambdaLoss fits"
"$PY" benchmarks/ltr/variants.py --data "$DATA" --nested $R/ltr-nested-wide --json $R/ltr-variants.json \
  examples/lambdaloss.loss benchmarks/ltr/variants/*.loss

step "five nested searches for the trees (LightGBM's validation NDCG@10 as the reward), plain and held out"
for variant in "gbdt-nested" "gbdt-nested-holdout --reward-holdout 0.25"; do
  set -- $variant
  out=$1
  shift
  "$PY" benchmarks/ltr/gbdt_search.py --data "$DATA" --out $R/$out --budget-minutes 10 "$@"
  "$PY" benchmarks/ltr/gbdt.py --out $R/$out --summarize --json $R/$out.json --png benchmarks/ltr/$out.png
  "$PY" benchmarks/ltr/gbdt.py --out $R/$out --summarize --baseline lgb:lambdarank
done
step "the ranking reward's fidelity (31 losses, 5 folds, 3 seeds)"
[ -f $R/reward-spearman-ranking.json ] ||
  build/benchmarks/search/bench_rank_reward --data "$DATA" --json $R/reward-spearman-ranking.json
"$PY" benchmarks/search/reward_subsets.py $R/reward-spearman-ranking.json --thresholds 0,0.6,0.65

step "valid samples in the ranking space (10,000 per row)"
[ -f $R/valid-fraction-ranking.json ] ||
  build/benchmarks/search/bench_valid --ranking --layers 6 --samples 10000 --json $R/valid-fraction-ranking.json
