#!/usr/bin/env bash
# The authors' HaDES code beside hades_zoo, same config, one session
# (benchmarks/bench_reference.py). Makes the throwaway venv with the authors' pinned
# stack on first use (needs PyPI only), then runs both.
#
#   benchmarks/bench_reference.sh CODE_DIR [bench_reference.py options]
#
# CODE_DIR: the authors' repository (github.com/FLAIROx/behaviour-distillation), e.g.
#   git -C <mirror> archive HEAD | tar -x -C /tmp/behaviour-distillation
# REF_VENV (default /work/venv-ref): where the venv goes (never inside the checkout).
# PYTHON (default python): hades_zoo's interpreter.
set -euo pipefail
code=${1:?usage: bench_reference.sh CODE_DIR [options]}
shift
venv=${REF_VENV:-/work/venv-ref}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$venv/bin/python" ]; then
  base=${REF_BASE_PYTHON:-python3.11}  # jax 0.4.23 has wheels for Python 3.9-3.12
  "$base" -m venv "$venv"
  "$venv/bin/pip" install -q "pip<25"
  # The authors' stack (their requirements.txt is unpinned; these are the versions of
  # their runs), plus the transitive pins that keep pip from pulling releases that need
  # a newer jax.
  "$venv/bin/pip" install -q "jax==0.4.23" "jaxlib==0.4.23" "brax==0.9.4" \
    "evosax==0.1.4" "flax==0.7.5" "optax==0.1.7" "gymnax==0.0.6" "distrax==0.1.5" \
    "mujoco==3.1.1" "numpy<2" "scipy<1.12" "chex<0.1.86" "orbax-checkpoint<0.5" \
    "ml_dtypes<0.4" "tensorflow-probability<0.24"
fi
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
exec "${PYTHON:-python}" "$here/bench_reference.py" --code "$code" \
  --ref-python "$venv/bin/python" "$@"
