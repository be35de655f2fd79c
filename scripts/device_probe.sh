#!/bin/bash
# Probe recipe variants side by side on the device machine (a GPU): every line of
# PROBES ("name|recipe|--set ... --set ...") is run as `hades-zoo distill` for at most
# LIMIT seconds, all at once; their metrics.jsonl / logs land in $OUT/<name>/.
# Used to choose CPU recipes (the runs that ship are measured on the CPU).
#   usage: PROBES=file bash scripts/device_probe.sh [LIMIT]
set -u
LIMIT=${1:-400}; OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
WHL=${WHL:-.whl}
. scripts/device_env.sh && device_env || exit 2
python3 -c "import jax, gymnax, evosax, hades_zoo; print(jax.__version__, jax.devices())" \
  > "$OUT/smoke.txt" 2>&1 || exit 3
while IFS='|' read -r name recipe sets; do
  [ -z "$name" ] && continue
  mkdir -p "$OUT/$name"
  # shellcheck disable=SC2086
  timeout "$LIMIT" python3 -m hades_zoo.cli distill "$recipe" --out "/tmp/runs/$name" $sets \
    > "$OUT/$name/log.txt" 2>&1 &
done < "${PROBES:?set PROBES to a probe list file}"
wait
for d in /tmp/runs/*; do cp -r "$d"/. "$OUT/$(basename "$d")/"; done
nvidia-smi --query-gpu=name,memory.used --format=csv > "$OUT/nvidia-smi.txt" 2>&1
for d in "$OUT"/*/; do echo "$(basename "$d"): $(tail -n 1 "$d/log.txt")"; done
