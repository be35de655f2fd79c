"""Benchmark: evaluation that stops when the episodes end, vs the pooled window.

Config: the zoo's own hopper recipe (``recipes/hopper-F-4.hz.yaml``: HaDES-F, pop 64,
D 4, W 64, 100 BC steps, 2 greedy eval envs, 1000-step episodes, positional brax) on
all local CPU devices. Two populations:

- early: random datasets (states and actions ~ N(0, 1)): the hoppers fall within
  tens of steps;
- late: the dataset of a finished run (``--dataset``, default the packaged
  ``hopper-F-4.hz``) plus the recipe's sigma of noise: most hoppers run the whole
  1000-step episode.

For each population it times one population fitness call (BC + evaluation of every
candidate; compiled once, median of ``--repeats`` runs) with three protocols:

- ``pooled``: 2 envs x 1000 steps with auto-reset, the reference window;
- ``episodes``: one episode per env; each device stops when its candidates' episodes
  have ended (one vmapped batch per device);
- ``episodes, chunk 1``: ``es.eval_chunk = 1``: every candidate stops on its own.

It reports env steps simulated per second (``EvalResult.env_steps`` / wall time) and
the generation's wall time, beside the floor measured in the same run: the pure
rollout of pop x 2 envs for 1000 steps (vmapped ``lax.scan`` with the policy forward,
no BC, no early stop). Ratios printed are of figures measured in this run only.
Run by hand::

    python benchmarks/bench_episodes.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", default="recipes/hopper-F-4.hz.yaml")
    parser.add_argument("--dataset", default="hopper-F-4.hz")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()

    import os

    os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count="
                                       f"{min(os.cpu_count() or 1, 8)}")
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import Mesh

    import hades_zoo as hz
    from hades_zoo.data.recipe_io import load_recipe
    from hades_zoo.engine.distill import make_population_fitness
    from hades_zoo.engine.policy import init_policy_params
    from hades_zoo.engine.rollout import make_evaluate
    from hades_zoo.engine.tasks.control import ControlTask

    base = load_recipe(args.recipe)
    mesh = Mesh(np.array(jax.local_devices()), ("pop",))
    pop = base.es.popsize
    key = jax.random.key(0)
    template = ControlTask(base).solution_template()
    early = {k: jax.random.normal(jax.random.fold_in(key, i), (pop, *v.shape))
             for i, (k, v) in enumerate(sorted(template.items()))}
    trained = hz.load(args.dataset)
    late = {"states": jnp.asarray(trained.states)[None]
            + base.es.sigma_init * jax.random.normal(key, (pop, *trained.states.shape)),
            "actions": jnp.asarray(trained.actions)[None]
            + base.es.sigma_init * jax.random.normal(key, (pop, *trained.actions.shape))}

    def timed(fn, *a):
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn(*a))
        compile_s = time.perf_counter() - t0
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            out = jax.block_until_ready(fn(*a))
            times.append(time.perf_counter() - t0)
        return out, compile_s, statistics.median(times)

    protocols = {
        "pooled": dict(mode="pooled", chunk=0),
        "episodes": dict(mode="episodes", chunk=0),
        "episodes, chunk 1": dict(mode="episodes", chunk=1),
    }
    rows = []
    for name, p in protocols.items():
        recipe = base.replace(eval=dataclasses.replace(base.eval, mode=p["mode"]),
                              es=dataclasses.replace(base.es, eval_chunk=p["chunk"]))
        task = ControlTask(recipe)
        fit = jax.jit(make_population_fitness(recipe, task.make_fitness_fn(), mesh))
        for phase, population in (("early", early), ("late", late)):
            (ret, aux), c, s = timed(fit, key, population)
            steps = float(jnp.sum(aux["env_steps"]))
            rows.append({"protocol": name, "phase": phase, "seconds": s, "compile_s": c,
                         "env_steps": steps, "steps_per_s": steps / s,
                         "mean_return": float(jnp.mean(ret))})
            print(json.dumps(rows[-1]), flush=True)

    # The floor: the pure rollout of the same env batch (pop x envs x 1000 steps).
    task = ControlTask(base.replace(eval=dataclasses.replace(base.eval, mode="pooled")))
    ev = make_evaluate(task.env, task.module, task.recipe.eval, base.env.obs_norm)
    params = jax.vmap(lambda k: init_policy_params(task.module, k, task.spec.obs_dim))(
        jax.random.split(key, pop))
    mean, var = task.norm_arrays()
    floor = jax.jit(jax.vmap(lambda p: ev(key, p, mean, var)))
    res, c, s = timed(floor, params)
    floor_steps = float(jnp.sum(res.env_steps))
    floor_rate = floor_steps / s
    print(json.dumps({"floor": "pure rollout", "seconds": s, "compile_s": c,
                      "env_steps": floor_steps, "steps_per_s": floor_rate}), flush=True)

    print(f"\n{jax.device_count()} devices, pop {pop}, {base.eval.num_envs} envs, "
          f"{base.eval.num_steps}-step episodes, median of {args.repeats}\n")
    print("| protocol | phase | s / generation | env steps | steps/s | steps/s vs floor "
          "| s/gen vs pooled |")
    print("|---|---|---:|---:|---:|---:|---:|")
    pooled = {r["phase"]: r["seconds"] for r in rows if r["protocol"] == "pooled"}
    for r in rows:
        print(f"| {r['protocol']} | {r['phase']} | {r['seconds']:.2f} | "
              f"{r['env_steps']:,.0f} | {r['steps_per_s']:,.0f} | "
              f"{r['steps_per_s'] / floor_rate:.2f} | "
              f"{r['seconds'] / pooled[r['phase']]:.2f} |")
    print(f"| floor: pure rollout | - | {s:.2f} | {floor_steps:,.0f} | {floor_rate:,.0f} "
          "| 1.00 | - |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows, "floor": {"seconds": s, "env_steps": floor_steps,
                                               "steps_per_s": floor_rate},
                       "devices": jax.device_count()}, fh, indent=1)


if __name__ == "__main__":
    main()
