#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks, then configures and builds
# losscc into build/. Safe to re-run: installed packages are skipped and the
# build is incremental.
#
# The CUDA backend is built when the CUDA toolkit is under /usr/local/cuda
# (NVRTC needs no GPU); the driver is loaded at run time, so every binary also
# runs on machines without one.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Python module (python/) needs pybind11-dev and python3-dev; its tests
# and `losscc --emit-torch`'s need python3-torch (LibTorch's Python side, the
# same 1.13 as libtorch-dev) and python3-pytest; `pip install .` needs python3-venv;
# a search report's plots need python3-matplotlib.
packages=(cmake ninja-build g++ clang-14 llvm-dev libfmt-dev doctest-dev libtorch-dev
          libcli11-dev nlohmann-json3-dev libxxhash-dev libbenchmark-dev zlib1g-dev python3
          python3-dev python3-venv pybind11-dev python3-torch python3-pytest python3-matplotlib)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -d /usr/local/cuda/bin ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
# The project's venv: Debian's interpreter and packages (python3-torch, the
# LibTorch the search extension is built with) plus what a feature or a test
# needs from PyPI, at the versions the tests ran with: Ray for `losssearch
# --executor ray`; allRank, a peer the ranking examples are checked against
# (its loss files only, so without its dependencies, which would replace torch);
# LightGBM and XGBoost, the gradient-boosted trees that losscc's ranking
# objectives train (tests/python/test_gbdt.py, benchmarks/ltr/gbdt.py): binary
# wheels, XGBoost as its CPU-only build xgboost-cpu (a 5.6 MB wheel), numpy and
# scipy from Debian.
/usr/bin/python3 -m venv --system-site-packages build/venv
if ! build/venv/bin/python -c "import ray" 2>/dev/null; then
  echo "setup: installing ray into build/venv"
  build/venv/bin/pip install --quiet --disable-pip-version-check "ray==2.60.0"
fi
if ! build/venv/bin/python -c "import importlib.util as u; assert u.find_spec('allrank')" 2>/dev/null; then
  echo "setup: installing allRank into build/venv"
  build/venv/bin/pip install --quiet --disable-pip-version-check --no-deps "allRank==1.4.3"
fi
if ! build/venv/bin/python -c "import lightgbm" 2>/dev/null; then
  echo "setup: installing lightgbm into build/venv"
  build/venv/bin/pip install --quiet --disable-pip-version-check --only-binary :all: "lightgbm==4.7.0"
fi
if ! build/venv/bin/python -c "import xgboost" 2>/dev/null; then
  echo "setup: installing xgboost-cpu into build/venv"
  build/venv/bin/pip install --quiet --disable-pip-version-check --only-binary :all: "xgboost-cpu==3.2.0"
fi

# Debian's interpreter, the one the packages above installed into (a pyenv or
# conda python3 earlier on PATH would not see python3-torch).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=/usr/bin/python3
cmake --build build -j "$(nproc)"
