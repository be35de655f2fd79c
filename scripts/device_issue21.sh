#!/bin/bash
# Issue 21 item 5 on a GPU machine, in one call of under 10 minutes (rerunnable):
#
#   A. s/gen of the paper's hopper HaDES-F recipe (recipes/hopper-F-64.yaml: pop 2048,
#      width 512, D 64), benchmarks/bench_gpu.py, for at most HOPPER_LIMIT seconds;
#   B. the paper's image recipe (recipes/pending/*mnist-R-10.hz.yaml: HaDES-R, all 7,840
#      pixels searched, the protocol's full 1000-step inner loop) for Fashion-MNIST and
#      MNIST, SEEDS runs each, side by side on the GPU, for at most IMAGE_LIMIT
#      seconds. Each run checkpoints into its folder; a run folder carried back here
#      (RESUME=runs/device21, see below) resumes where it stopped.
#
# Everything lands under $OUT: smoke.txt (jax version and devices), hopper/ (bench_gpu
# JSON and log), runs/<name>/ (each image run's entry folder: dataset, card, metrics,
# checkpoint) and summary.txt (each run's last generation). Nothing is written into the
# checkout except under /tmp.
#
# Carry (the `run` tool's `carry`): .whl (wheels the device image lacks, see
# scripts/device_prepare.sh), .imgdata (the IDX files), and on a rerun runs/device21
# (the run folders of the last call, copied back from $OUT/runs). Back here:
#   cp -r <files_at>/runs/. runs/device21/      # keep them for a rerun
#   hades-zoo certify runs/device21/fm_s0 --seeds 10 --data-dir ../shared/data/fashion-mnist
# (10 seeds x 2 inits = the paper's 20 classifiers; the certificate holds the test split).
#
# SMOKE=1 runs the same steps at toy size on whatever jax sees (a CPU check of this
# script, not a measurement): pop 64 hopper for 2 generations, image runs at pop 8 and
# 20 BC steps for 2 generations.
#
#   usage: [SMOKE=1] [OUT=dir] [SEEDS=3] [NO_WHL=1] [PYTHON=python] [DATA=.imgdata]
#          bash scripts/device_issue21.sh [HOPPER_LIMIT] [IMAGE_LIMIT]
# A CPU check here (the package's venv; DATA=../shared/data works too):
#   SMOKE=1 SEEDS=1 NO_WHL=1 PYTHON=.venv/bin/python OUT=/tmp/out21 \
#     bash scripts/device_issue21.sh 300 300
set -u
HOPPER_LIMIT=${1:-150}; IMAGE_LIMIT=${2:-330}
OUT=${OUT:-/tmp/out}; SEEDS=${SEEDS:-3}; RESUME=${RESUME:-runs/device21}
DATA=${DATA:-.imgdata}; WORK=${WORK:-/tmp/issue21}
mkdir -p "$OUT/hopper" "$OUT/runs" "$WORK"
if [ -d .whl ] && [ -z "${NO_WHL:-}" ]; then  # NO_WHL=1: use the installed packages
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 2
  export PYTHONPATH=/tmp/site:$PWD
fi
PY=${PYTHON:-python3}
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
$PY -c "import jax, brax, evosax, hades_zoo; print(jax.__version__, jax.devices())" \
  > "$OUT/smoke.txt" 2>&1 || { cat "$OUT/smoke.txt"; exit 3; }
cat "$OUT/smoke.txt"

# A. the paper's hopper recipe: seconds per generation (first, while the GPU is free).
if [ "${SMOKE:-0}" = 1 ]; then hopper_args=(--pop 64 --generations 2); else hopper_args=(--generations 5); fi
timeout -k 20 "$HOPPER_LIMIT" $PY benchmarks/bench_gpu.py "${hopper_args[@]}" \
  --json "$OUT/hopper/bench_gpu.json" > "$OUT/hopper/log.txt" 2>&1
echo "hopper: exit $? ($(tail -n 1 "$OUT/hopper/log.txt"))"

# B. the image runs, side by side; SIGINT at the limit so each stops at a checkpoint.
if [ "${SMOKE:-0}" = 1 ]; then
  image_sets=(--set es.popsize=8 --set es.eval_chunk=0 --set es.generations=${SMOKE_GENERATIONS:-2}
              --set bc.steps=20 --no-replay)
else
  image_sets=(--no-replay)
fi
for ds in fashionmnist:fashion-mnist:fm mnist:mnist:mn; do
  IFS=: read -r env folder tag <<< "$ds"
  for seed in $(seq 0 $((SEEDS - 1))); do
    name=${tag}_s$seed
    run=$WORK/runs/$name
    mkdir -p "$run"
    [ -d "$RESUME/$name" ] && cp -r "$RESUME/$name/." "$run/"
    sets=(--set seed=$seed)
    [ "$seed" -gt 0 ] && sets+=(--set name=$env-R-10.hz.s$seed)
    timeout -s INT -k 60 "$IMAGE_LIMIT" $PY -c \
      "import sys; from hades_zoo.cli.base import main; sys.argv[0] = 'hades-zoo'; main()" \
      distill "recipes/pending/$env-R-10.hz.yaml" --out "$run" --data-dir "$DATA/$folder" \
      "${sets[@]}" "${image_sets[@]}" > "$WORK/$name.log" 2>&1 &
  done
done
wait
for run in "$WORK"/runs/*/; do
  name=$(basename "$run")
  mkdir -p "$OUT/runs/$name" && cp -r "$run/." "$OUT/runs/$name/"
  cp "$WORK/$name.log" "$OUT/runs/$name/log.txt"
  if [ -s "$run/metrics.jsonl" ]; then
    echo "$name: $(tail -n 1 "$run/metrics.jsonl" | cut -c1-240)"
  else
    echo "$name: no generation logged: $(tail -n 1 "$WORK/$name.log")"
  fi
done | tee "$OUT/summary.txt"
command -v nvidia-smi > /dev/null && nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
exit 0
