#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the main job: a short loss
# search on the built-in synthetic dataset (no downloads), then the
# effectiveness test of what it found against the classic losses. Each run
# writes a new folder search-out/<date-time>/ (candidates.jsonl, best.loss,
# summary.json), so earlier results are never overwritten.
#
# With arguments, they replace the demo's flags and go to losssearch as they
# are, e.g.  scripts/demo.sh --data ../shared/data/ml100k01-1-5 --budget-minutes 30
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if (($# == 0)); then
  # losssearch's defaults: masked sampling, the from-scratch reward on two
  # workers, Adam lr 0.01, an effectiveness test over 3 seeds.
  set -- --budget-minutes 3 --effect-epochs 10 --out "search-out/$(date +%Y%m%d-%H%M%S)"
fi
exec build/tools/losssearch "$@"
