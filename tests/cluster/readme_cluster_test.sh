#!/usr/bin/env bash
# The README's "Run on a cluster" commands, as written, on one machine: the
# head node, one more node (its own ports, as a second node on one machine
# needs), the search through `--ray-address auto`, then `ray stop`. Only what
# cannot be the same on one machine or in a test's time is changed: HEAD_IP
# is 127.0.0.1, the budget is 6 candidates and the round 2, and the data is
# the built-in synthetic set. Then a driver killed mid-search is resumed, as
# the README says, and both searches are compared with a threads run.
#
#   tests/cluster/readme_cluster_test.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: readme_cluster_test.sh BUILD_DIR}" && pwd)
work=$(mktemp -d)
cd "$root"

# The fenced block after the README's marker comment, its commands in order.
block=$(awk '/readme_cluster_test.sh runs the commands/ {on=1; next}
             on && /^```sh/ {inside=1; next}
             inside && /^```/ {exit}
             inside && !/^#/ && NF' README.md)
search_cmd=$(grep -E 'losssearch --executor ray' <<<"$block" || true)
stop_cmd=$(grep -E 'ray stop$' <<<"$block" || true)
setup=$(grep -v -e 'losssearch --executor ray' -e 'ray stop$' <<<"$block" || true)
grep -q 'ray start --head' <<<"$setup" && grep -q 'ray start --address=HEAD_IP' <<<"$setup" && [ -n "$search_cmd" ] &&
  [ -n "$stop_cmd" ] || { echo "readme_cluster_test: the README's cluster block lacks a command"; exit 1; }

small="--workers 2 --budget-candidates 6 --top-k 1 --select-seeds 0 --effect-seeds 1 --effect-epochs 1 --no-baselines"
search_cmd=${search_cmd/--workers 32 --budget-minutes 30/$small}
search_cmd=${search_cmd/--data ..\/shared\/data\/mlsmall01-1-5/--data builtin:synthetic}
search_cmd=${search_cmd/--out search-cluster/--out $work/cluster}
search_cmd=${search_cmd/build\/tools\/losssearch/$build/tools/losssearch}
[[ $search_cmd == *"--budget-candidates 6"* && $search_cmd == *"$work/cluster"* ]] ||
  { echo "readme_cluster_test: the README's search command changed shape: $search_cmd"; exit 1; }
# A second node on the same machine needs ports of its own.
second_node="--num-cpus=2 --dashboard-agent-listen-port=52366 --metrics-export-port=52367"
setup=$(sed -e "s/HEAD_IP:6379/127.0.0.1:6379 $second_node/" <<<"$setup")

cleanup() { $stop_cmd --force >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

while read -r command; do
  echo "+ $command"
  eval "$command" >"$work/setup.log" 2>&1 || { cat "$work/setup.log"; exit 1; }
done <<<"$setup"
echo "+ $search_cmd"; $search_cmd >"$work/search.log" 2>&1 || { cat "$work/search.log"; exit 1; }
grep -q "ray: 1 nodes with 2 CPUs (auto)" "$work/search.log" ||
  { echo "readme_cluster_test: the search did not run on the started cluster"; cat "$work/search.log"; exit 1; }

# The reference: the same search on threads.
reference=${search_cmd/--executor ray --ray-address auto /}
reference=${reference/$work\/cluster/$work/threads}
$reference >"$work/threads.log" 2>&1 || { cat "$work/threads.log"; exit 1; }

# A driver killed mid-search (a longer one), resumed with --resume on the same cluster.
long=${search_cmd/--budget-candidates 6/--budget-candidates 12}
long=${long/$work\/cluster/$work/resumed}
$long >"$work/killed.log" 2>&1 &
driver=$!
for _ in $(seq 600); do
  n=$(grep -o '"candidates":[0-9]*' "$work/resumed/checkpoint/state.json" 2>/dev/null | head -1 | cut -d: -f2 || true)
  [ "${n:-0}" -ge 4 ] && break
  sleep 0.1
done
kill -9 "$driver" 2>/dev/null || { echo "readme_cluster_test: the search ended before it could be killed"; exit 1; }
wait "$driver" 2>/dev/null || true
$long --resume >"$work/resume.log" 2>&1 || { cat "$work/resume.log"; exit 1; }
long_threads=${reference/--budget-candidates 6/--budget-candidates 12}
long_threads=${long_threads/$work\/threads/$work/threads12}
$long_threads >"$work/threads12.log" 2>&1 || { cat "$work/threads12.log"; exit 1; }

echo "+ $stop_cmd"; $stop_cmd >/dev/null 2>&1

same() {  # candidates.jsonl (tokens, status, reward) and the found losses of two runs
  "$build/venv/bin/python" - "$1" "$2" <<'EOF'
import json, pathlib, sys
a, b = map(pathlib.Path, sys.argv[1:])
rows = lambda d: [(j["tokens"], j["status"], j["reward"]) for j in map(json.loads, open(d / "candidates.jsonl"))]
found = lambda d: {p.name: p.read_text() for p in sorted(d.glob("found-*.loss"))}
if rows(a) != rows(b) or found(a) != found(b) or not found(a):
    sys.exit(f"readme_cluster_test: {a} and {b} differ")
EOF
}
same "$work/threads" "$work/cluster"
same "$work/threads12" "$work/resumed"
echo "readme_cluster_test: the README's cluster commands ran; the cluster's searches, one resumed after a kill, equal the threads runs"
