#!/bin/bash
# Measure the transfer scores still missing (scripts/transfer_all.py, grid `common`) on a
# bigger machine: N processes side by side, each writing only its entries' JSONs, for at
# most LIMIT seconds; the JSONs and logs land in $OUT/transfer.tgz. Back here: untar into
# the checkout, then `python scripts/transfer_all.py --rerender`; whatever did not finish
# is measured by running scripts/transfer_all.py again (it skips finished entries).
# Packages missing on that machine travel as wheels in .whl/ (see docs/SCALING.md).
#   usage: bash scripts/device_transfer.sh [N] [LIMIT]
set -u
N=${1:-12}; LIMIT=${2:-450}; OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/logs
. scripts/device_env.sh && device_env || exit 2
python3 -c "import jax, brax, gymnax, evosax, hades_zoo; print(jax.__version__, jax.devices())" \
  > /tmp/logs/smoke.txt 2>&1 || { cp /tmp/logs/smoke.txt "$OUT/"; exit 3; }
python3 scripts/transfer_all.py --list > /tmp/logs/todo.txt 2>&1
for k in $(seq 1 "$N"); do
  timeout "$LIMIT" python3 scripts/transfer_all.py --shard "$k/$N" --json-only \
    > "/tmp/logs/shard$k.txt" 2>&1 &
done
wait
nvidia-smi > /tmp/logs/nvidia-smi.txt 2>&1
tar czf "$OUT/transfer.tgz" results/transfer/*.json -C /tmp logs
ls results/transfer/*.json | wc -l
tail -n 3 /tmp/logs/shard*.txt
