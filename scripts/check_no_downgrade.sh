#!/usr/bin/env bash
# A user who already has today's releases installs hades_zoo and keeps them:
# a fresh venv gets the newest jax / flax / huggingface_hub / datasets / safetensors
# first, then `pip install .`; the script prints what pip changed (nothing may be
# downgraded) and runs `pip check`. Needs the package index. Usage:
#   bash scripts/check_no_downgrade.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-$(mktemp -d)/venv}"
python3 -m venv "$venv"
pip="$venv/bin/pip"
"$pip" install -q -U pip
"$pip" install -q 'jax[cpu]' flax optax huggingface_hub datasets safetensors
"$pip" freeze | sort > "$venv/before.txt"
start=$(date +%s)
"$pip" install -q .
echo "pip install . took $(( $(date +%s) - start )) s"
"$pip" freeze | sort > "$venv/after.txt"
echo "--- packages pip changed (< before, > after):"
diff "$venv/before.txt" "$venv/after.txt" | grep -E '^[<>]' | grep -v 'hades.zoo' || echo "(none besides the new packages)"
"$pip" check
"$venv/bin/python" - "$venv/before.txt" "$venv/after.txt" <<'PY'
import sys
from packaging.version import Version
before = dict(l.strip().split("==") for l in open(sys.argv[1]) if "==" in l)
after = dict(l.strip().split("==") for l in open(sys.argv[2]) if "==" in l)
down = [f"{k} {v} -> {after[k]}" for k, v in before.items()
        if k in after and Version(after[k]) < Version(v)]
print("downgraded:", ", ".join(down) if down else "none")
sys.exit(1 if down else 0)
PY
