#!/bin/bash
# Issue 21 item 5 on a GPU machine, in one call of under 10 minutes (rerunnable):
#
#   A. s/gen of the paper's hopper HaDES-F recipe (recipes/hopper-F-64.yaml: pop 2048,
#      width 512, D 64), benchmarks/bench_gpu.py, for at most HOPPER_LIMIT seconds;
#   B. the zoo's GPU image recipes (recipes/pending/*mnist-R-10.hz.yaml: HaDES-R, all
#      7,840 pixels searched, the protocol's full 1000-step inner loop, pop 256 where the
#      paper used 512; MNIST's fitness on the train5k split) for Fashion-MNIST and MNIST,
#      SEEDS runs each, side by side, for at most IMAGE_LIMIT seconds, then SIGINT: each
#      run stops at its last checkpoint (every es.log_every = 10 generations) with a
#      valid entry, or is killed KILL_AFTER seconds later. A run folder carried back
#      (RESUME) resumes where it stopped.
#
# Worst case HOPPER_LIMIT + 20 + IMAGE_LIMIT + KILL_AFTER seconds plus the wheels'
# install and imports: ~9.5 min with the defaults (120, 300, 90); give the `run` tool
# timeout_s 600. Everything lands under $OUT: smoke.txt (jax version and devices),
# hopper/ (bench_gpu JSON and log), runs/<name>/ (each image run's entry folder:
# dataset, card, metrics, checkpoint; log.txt with every call's distill output
# appended) and summary.txt (per run: exit status, generation before and after). The
# runs work in WORK (default: a fresh temporary folder); besides $OUT and WORK, only
# /tmp/site (the wheels) and JAX's compilation cache (~/.cache/hades_zoo) are written.
# Exit status: 0 when hopper and every run finished or stopped at the limit, 1
# otherwise (summary.txt says which), 2 bad arguments, 3 the imports failed.
#
# Carry (the `run` tool's `carry`): .whl (wheels the device image lacks) and .imgdata
# (the IDX files), both built by scripts/device_prepare.sh, and on a rerun
# runs/device21 (the run folders the last call returned). Back here:
#   mkdir -p runs/device21 && cp -r <files_at>/runs/. runs/device21/
#   hades-zoo certify runs/device21/fm_s0 --seeds 10 --data-dir ../shared/data/fashion-mnist
# (10 seeds x 2 inits = the paper's 20 classifiers; the test accuracy is
# splits.test.accuracy in the folder's certificate.json).
#
# SMOKE=1 runs the same steps at toy size on whatever jax sees (a CPU check of this
# script, not a measurement): pop 64 hopper for 2 generations, image runs at pop 8 and
# 20 BC steps for SMOKE_GENERATIONS (default 2) generations.
#
#   usage: [SMOKE=1] [OUT=dir] [SEEDS=3] [RESUME=runs/device21] [NO_WHL=1]
#          [PYTHON=python3] [DATA=.imgdata] [WORK=dir] [KILL_AFTER=90]
#          bash scripts/device_issue21.sh [HOPPER_LIMIT] [IMAGE_LIMIT]
# A CPU check here (the package's venv; DATA=../shared/data works too):
#   SMOKE=1 SEEDS=1 NO_WHL=1 PYTHON=.venv/bin/python OUT=/tmp/out21 \
#     bash scripts/device_issue21.sh 300 300
set -u
HOPPER_LIMIT=${1:-120}; IMAGE_LIMIT=${2:-300}; KILL_AFTER=${KILL_AFTER:-90}
OUT=${OUT:-/tmp/out}; SEEDS=${SEEDS:-3}; DATA=${DATA:-.imgdata}; PY=${PYTHON:-python3}
for v in HOPPER_LIMIT IMAGE_LIMIT KILL_AFTER SEEDS; do
  if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
    echo "$v must be a whole number >= 1, got '${!v}'" >&2; exit 2
  fi
done
if [ -n "${RESUME+set}" ] && [ ! -d "$RESUME" ]; then
  echo "RESUME=$RESUME is not a folder: carry the run folders of the last call (or unset RESUME to start over)" >&2
  exit 2
fi
RESUME=${RESUME:-runs/device21}
for folder in fashion-mnist mnist; do
  [ -d "$DATA/$folder" ] || { echo "no $DATA/$folder: build it with scripts/device_prepare.sh and carry .imgdata (or set DATA)" >&2; exit 2; }
done
WORK=${WORK:-$(mktemp -d /tmp/issue21.XXXXXX)}
mkdir -p "$OUT/hopper" "$OUT/runs" "$WORK/runs"
. scripts/device_env.sh && device_env || exit 3
"$PY" -c "import jax, brax, evosax, hades_zoo; print(jax.__version__, jax.devices())" \
  > "$OUT/smoke.txt" 2>&1 || { cat "$OUT/smoke.txt"; exit 3; }
cat "$OUT/smoke.txt"
failed=0

# A. the paper's hopper recipe: seconds per generation (first, while the GPU is free).
if [ "${SMOKE:-0}" = 1 ]; then hopper_args=(--pop 64 --generations 2); else hopper_args=(--generations 5); fi
timeout -k 20 "$HOPPER_LIMIT" "$PY" benchmarks/bench_gpu.py "${hopper_args[@]}" \
  --json "$OUT/hopper/bench_gpu.json" > "$OUT/hopper/log.txt" 2>&1
code=$?
echo "hopper: exit $code ($(tail -n 1 "$OUT/hopper/log.txt"))" | tee "$OUT/summary.txt"
[ "$code" = 0 ] || failed=1

# B. the image runs, side by side; SIGINT at the limit so each stops at a checkpoint.
if [ "${SMOKE:-0}" = 1 ]; then
  image_sets=(--set es.popsize=8 --set es.eval_chunk=0 --set es.generations=${SMOKE_GENERATIONS:-2}
              --set bc.steps=20 --no-replay)
else
  image_sets=(--no-replay)
fi
last_generation() {  # the last generation a run folder logged (0: none)
  tail -n 1 "$1/metrics.jsonl" 2>/dev/null | sed -n 's/.*"generation": \([0-9]*\).*/\1/p' | grep . || echo 0
}
names=(); pids=(); starts=()
for ds in fashionmnist:fashion-mnist:fm mnist:mnist:mn; do
  IFS=: read -r env folder tag <<< "$ds"
  for seed in $(seq 0 $((SEEDS - 1))); do
    name=${tag}_s$seed
    run=$WORK/runs/$name
    rm -rf "$run" && mkdir -p "$run"
    [ -d "$RESUME/$name" ] && cp -r "$RESUME/$name/." "$run/"
    sets=(--set seed=$seed)
    [ "$seed" -gt 0 ] && sets+=(--set name=$env-R-10.hz.s$seed)
    timeout --preserve-status -s INT -k "$KILL_AFTER" "$IMAGE_LIMIT" "$PY" -m hades_zoo.cli \
      distill "recipes/pending/$env-R-10.hz.yaml" --out "$run" --data-dir "$DATA/$folder" \
      "${sets[@]}" "${image_sets[@]}" > "$WORK/$name.log" 2>&1 &
    names+=("$name"); pids+=($!); starts+=("$(last_generation "$run")")
  done
done
for i in "${!names[@]}"; do
  wait "${pids[$i]}"; code=$?
  name=${names[$i]}; run=$WORK/runs/$name
  case $code in
    0) state=finished ;;
    130) state="stopped at the limit" ;;
    *) state=failed; failed=1 ;;
  esac
  mkdir -p "$OUT/runs/$name" && cp -r "$run/." "$OUT/runs/$name/"
  { echo "--- $(date -u +%FT%TZ) exit $code"; cat "$WORK/$name.log"; } >> "$OUT/runs/$name/log.txt"
  echo "$name: exit $code ($state), generation ${starts[$i]} -> $(last_generation "$run"): $(tail -n 1 "$WORK/$name.log" | cut -c1-200)" \
    | tee -a "$OUT/summary.txt"
done
command -v nvidia-smi > /dev/null && nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
exit $failed
