#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the main job: a short loss
# search on the built-in MovieLens data (latest-small, shipped in data/; no
# downloads), then the effectiveness test of what it found against the
# classic losses. Each run writes a new folder search-out/<date-time>/
# (candidates.jsonl, best.loss, summary.json, report.md with its pictures),
# so earlier results are never overwritten.
#
# With arguments, they replace the demo's flags and go to losssearch as they
# are, e.g.  scripts/demo.sh --data ../shared/data/ml100k01-1-5 --budget-minutes 30
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if (($# == 0)); then
  # losssearch's defaults: masked sampling, the from-scratch reward on two
  # workers, Adam lr 0.01. A budget in candidates, not minutes, so that every
  # machine finds the same losses; 6 seeds in the effectiveness test, the
  # fewest whose paired Wilcoxon test can show a difference (p = 2/2^6).
  set -- --budget-candidates 60 --top-k 2 --effect-epochs 10 --effect-seeds 6 \
    --out "search-out/$(date +%Y%m%d-%H%M%S)"
fi
exec build/tools/losssearch "$@"
