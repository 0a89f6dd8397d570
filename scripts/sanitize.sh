#!/usr/bin/env bash
# The pre-merge check for anything that touches the search's threads: builds
# the search tools and their tests with ThreadSanitizer (build-tsan/) and with
# AddressSanitizer + UBSan (build-asan/), then runs under each the search
# tests and short searches of every task family on 2 and 4 workers. Any
# report fails the script (exit 1) and is left in sanitize-out/<kind>/.
#
#   scripts/sanitize.sh            # both (about 40 minutes on 2 cores, most of it building)
#   scripts/sanitize.sh thread     # or: address
#
# Only the project is instrumented. LibTorch, LLVM and the JIT's kernels are
# not, so the runs set OMP_NUM_THREADS=1 (LibTorch's OpenMP pool hands work
# between threads in ways TSan cannot see) and read the suppressions in
# scripts/sanitize/, each of which says why it is there. The CUDA backend is
# left out (LOSSCC_WITH_NVRTC=OFF): no GPU runs here.
set -euo pipefail
cd "$(dirname "$0")/.."
kinds=("$@")
((${#kinds[@]})) || kinds=(thread address)
scripts/setup.sh >/dev/null  # the packages the sanitizer builds need

run_kind() {
  local kind=$1 dir=build-${1:0:1}san out=sanitize-out/$1
  rm -rf "$out" && mkdir -p "$out"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOSSCC_SANITIZE="$kind" \
    -DLOSSCC_WITH_NVRTC=OFF -DLOSSCC_BUILD_PYTHON=OFF -DLOSSCC_BUILD_BENCHMARKS=OFF \
    -DPython3_EXECUTABLE=/usr/bin/python3 >"$out/configure.log"
  cmake --build "$dir" -j "$(nproc)" --target losssearch test_search test_models >"$out/build.log"

  local supp=$PWD/scripts/sanitize
  export OMP_NUM_THREADS=1
  # handle_segv=0: the resume test kills a search with SIGSEGV on purpose,
  # and must see it die of the signal, not of the sanitizer's report.
  export TSAN_OPTIONS="suppressions=$supp/tsan.supp halt_on_error=0 exitcode=66 second_deadlock_stack=1 handle_segv=0 log_path=$PWD/$out/report"
  export ASAN_OPTIONS="halt_on_error=0 exitcode=66 detect_leaks=1 handle_segv=0 log_path=$PWD/$out/report"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp"
  export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1 exitcode=66 log_path=$PWD/$out/report"

  local failed=0 search=(--budget-candidates 16 --reward-epochs 1 --top-k 1 --progress-seconds 0)
  local quick=(--no-baselines --effect-seeds 1 --effect-epochs 1)
  step() {  # step NAME COMMAND...: runs it, its output in $out/NAME.log
    local name=$1; shift
    if "$@" >"$out/$name.log" 2>&1; then echo "[sanitize:$kind] $name: ok"; else
      echo "[sanitize:$kind] $name: FAILED (exit $?; $out/$name.log)"; failed=1; fi
  }
  step test_search "$dir/tests/search/test_search"
  step test_models "$dir/tests/models/test_models"
  for w in 2 4; do
    step "rec-w$w" "$dir/tools/losssearch" "${search[@]}" "${quick[@]}" --workers $w --seed $w --out "$out/rec-w$w"
    step "rank-w$w" "$dir/tools/losssearch" --task rank "${search[@]}" "${quick[@]}" \
      --workers $w --seed $w --out "$out/rank-w$w"
    step "mtl-w$w" "$dir/tools/losssearch" --task mtl --target pay "${search[@]}" "${quick[@]}" --workers $w \
      --seed $w --out "$out/mtl-w$w"
  done
  if compgen -G "$out/report*" >/dev/null; then
    echo "[sanitize:$kind] reports: $(ls "$out"/report* | tr '\n' ' ')"
    failed=1
  fi
  ((failed == 0)) && echo "[sanitize:$kind] clean"
  return $failed
}

status=0
for kind in "${kinds[@]}"; do
  case $kind in
    thread | address) run_kind "$kind" || status=1 ;;
    *) echo "sanitize.sh: unknown kind '$kind' (thread, address)" >&2; exit 2 ;;
  esac
done
exit $status
