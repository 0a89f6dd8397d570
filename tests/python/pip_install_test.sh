#!/usr/bin/env bash
# The README's Python route, as a user runs it after scripts/setup.sh: a
# virtual environment that sees Debian's python3-torch, `pip install .`
# (scikit-build-core and pybind11 come from PyPI), the README's one-liner,
# then the module's tests against the installed package. Run by
# scripts/test.sh; the build is kept in build/pip/, so a rerun is quick.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${LOSSCC_PYTHON:-/usr/bin/python3}
"$python" -m venv --system-site-packages build/venv
build/venv/bin/pip install --quiet --disable-pip-version-check .
build/venv/bin/python -c "import losscc, torch; f = losscc.compile('examples/bce.loss'); p = torch.rand(8, requires_grad=True); l = f(p, torch.ones(8)); l.backward(); print(l.item(), p.grad[:3])"
# The tests against the installed package (the repository root holds no
# `losscc` package, the build tree's is not on the path).
build/venv/bin/python -c "import losscc, sys; sys.exit(0 if '/build/venv/' in losscc.__file__ else f'imported {losscc.__file__}')"
# The search (test_search.py, test_gbdt_search.py) is not in the pip package: its
# extension links the project's LibTorch, so it comes with the source build,
# where ctest runs it.
build/venv/bin/python -m pytest -q -p no:cacheprovider tests/python --ignore=tests/python/test_search.py \
  --ignore=tests/python/test_gbdt_search.py
