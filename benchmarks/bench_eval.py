"""Wall time of ``hades-zoo eval hopper-R-64`` (W=512, 200 BC steps, 4 episodes of up
to 1000 steps), cold and warm, with the split import / load / trace / compile / run.

For each env batching (``vmap``: one batched env step; ``map``: ``lax.map`` of the
unbatched step, the CPU default for <= 32 episodes, compiled with the quick-compile
XLA options ``rollout.FAST_COMPILE_OPTIONS``), side by side in one run, each
cold (empty JAX compilation cache) then warm (the cache the cold run filled):

1. ``cli``: the real command in a fresh Python process, end to end (what a user waits
   for), ``python -m hades_zoo.cli eval hopper-R-64 --episodes 4 --batching B --json``.
2. ``split``: the same work in a fresh process, timed stage by stage with explicit
   ``jit(...).lower(...)`` and ``.compile()`` so trace, compile and run are separated
   (sequential here, so its sum exceeds the CLI, which overlaps the two compiles).

The last lines print the map / vmap ratios.

    PYTHONPATH=$PWD python benchmarks/bench_eval.py [--id hopper-R-64] [--json out.json]

Machine load matters on a shared CPU: the script prints the 1-minute load average.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

SPLIT = r"""
import json, sys, time
t0 = time.perf_counter()
import jax
import hades_zoo.engine.evaluation as api
from hades_zoo.data.cache import enable_compilation_cache
from hades_zoo.engine.rollout import compile_fast, make_episode_evaluate
enable_compilation_cache()
t_import = time.perf_counter()
ds = api.load(sys.argv[1])
t_load = time.perf_counter()
task, states, targets, weights = api._task_and_arrays(ds, ds.recipe)
run = make_episode_evaluate(task.env, task.module, num_episodes=4,
                            greedy=ds.recipe.eval.greedy, obs_norm=ds.recipe.env.obs_norm,
                            batching=sys.argv[2])
mean, var = task.norm_arrays(ds.obs_mean, ds.obs_var)
key = jax.random.key(0)
t_build = time.perf_counter()
train_l = jax.jit(task.train).lower(key, states, targets, weights)
eval_l = jax.jit(run).lower(key, train_l.out_info[0], mean, var)
t_trace = time.perf_counter()
train_c, eval_c = train_l.compile(), compile_fast(eval_l, sys.argv[2], 4)
t_compile = time.perf_counter()
params, losses = train_c(key, states, targets, weights)
jax.block_until_ready(params)
t_train = time.perf_counter()
returns = eval_c(jax.random.key(1), params, mean, var)
jax.block_until_ready(returns)
t_eval = time.perf_counter()
print(json.dumps({"import": t_import - t0, "load": t_load - t_import,
                  "build_env": t_build - t_load, "trace_lower": t_trace - t_build,
                  "compile": t_compile - t_trace,
                  "train": t_train - t_compile, "evaluate": t_eval - t_train,
                  "mean_return": float(returns.mean())}))
"""


def _run(cmd: list[str], env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, out.stdout.strip().splitlines()[-1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--id", default="hopper-R-64")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    rows: dict = {"dataset": args.id, "load_avg_1min_before": os.getloadavg()[0],
                  "cpus": os.cpu_count()}
    for batching in ("vmap", "map"):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "HADES_ZOO_CACHE": cache, "JAX_PLATFORMS": "cpu"}
            for phase in ("cold", "warm"):
                wall, line = _run([sys.executable, "-m", "hades_zoo.cli", "eval", args.id,
                                   "--episodes", "4", "--batching", batching, "--json"],
                                  env)
                out = json.loads(line)
                rows[f"cli_{batching}_{phase}"] = {
                    "wall_s": round(wall, 2), "inner": out["seconds"],
                    "mean_return": out["mean_return"]}
                print(f"cli   {batching:4s} {phase}: {wall:6.2f} s wall  {out['seconds']}",
                      flush=True)
        with tempfile.TemporaryDirectory() as cache2:
            env2 = {**os.environ, "HADES_ZOO_CACHE": cache2, "JAX_PLATFORMS": "cpu"}
            for phase in ("cold", "warm"):
                wall, line = _run([sys.executable, "-c", SPLIT, args.id, batching], env2)
                split = {k: round(v, 2) for k, v in json.loads(line).items()}
                rows[f"split_{batching}_{phase}"] = {"wall_s": round(wall, 2), **split}
                print(f"split {batching:4s} {phase}: {wall:6.2f} s wall  {split}", flush=True)
    ratios = {
        "cli_cold_map/vmap": rows["cli_map_cold"]["wall_s"] / rows["cli_vmap_cold"]["wall_s"],
        "cli_warm_map/vmap": rows["cli_map_warm"]["wall_s"] / rows["cli_vmap_warm"]["wall_s"],
        "compile_cold_map/vmap": (rows["split_map_cold"]["compile"]
                                  / rows["split_vmap_cold"]["compile"]),
        "trace_map/vmap": (rows["split_map_cold"]["trace_lower"]
                           / rows["split_vmap_cold"]["trace_lower"]),
        "run_map/vmap": (rows["split_map_cold"]["evaluate"]
                         / rows["split_vmap_cold"]["evaluate"]),
    }
    rows["ratios"] = {k: round(v, 3) for k, v in ratios.items()}
    for k, v in rows["ratios"].items():
        print(f"ratio {k}: {v:.3f}")
    rows["load_avg_1min_after"] = os.getloadavg()[0]
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
