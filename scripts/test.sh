#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), runs the whole test suite, then the
# README's `pip install .` route for the Python module (into build/venv/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
tests/python/pip_install_test.sh
