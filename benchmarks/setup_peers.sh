#!/usr/bin/env bash
# Create .venv-bench in the repository root with the benchmark-only peers:
# Brian2 (runtime/cython and cpp_standalone modes) and NEST (PyPI wheel).
# These are never dependencies of neurobox itself; .venv-*/ is gitignored.
#
#   bash benchmarks/setup_peers.sh            # create or update .venv-bench
#   PYTHON=python3.12 bash benchmarks/setup_peers.sh
#
# On Python 3.11 the newest Brian2 is 2.9, which needs numpy < 2.4.
# cpp_standalone needs a C++ compiler (g++) on the machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-bench"
PY="${PYTHON:-python3}"

if ! command -v g++ >/dev/null 2>&1 && ! command -v c++ >/dev/null 2>&1; then
    echo "warning: no C++ compiler found; Brian2 cpp_standalone and runtime (cython) need one" >&2
fi

if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
# pip warns about index locations that do not exist on some machines; hide only those lines.
pip_install() {
    "$VENV/bin/python" -m pip install --quiet "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
pip_install --upgrade pip
# Brian2: 2.9 is the newest release for Python 3.11 and needs numpy < 2.4
# (brian2 2.11 needs Python >= 3.13). setuptools and cython: runtime mode
# compiles its generated code with cython.
pip_install "brian2>=2.9" "numpy<2.4; python_version < '3.13'" "cython>=3" "setuptools>=68" "nest-simulator"

"$VENV/bin/python" - <<'PY'
import os
os.environ.setdefault("PYNEST_QUIET", "1")
import brian2, numpy, Cython, nest
print(f"peers ready: brian2 {brian2.__version__}, nest {nest.__version__}, "
      f"numpy {numpy.__version__}, cython {Cython.__version__}")
PY
