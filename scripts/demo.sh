#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the main job: a short loss
# search on the built-in synthetic dataset (no downloads). Results land in
# search-out/ (candidates.jsonl, best.loss, summary.json); pass flags to
# override, e.g. scripts/demo.sh --budget-minutes 30 --data ../shared/data/ml100k01-1-5
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/controller/losssearch --budget-minutes 3 --out search-out "$@"
