"""Benchmark: env steps/s of one physics on three simulators, side by side in one run.

Configs (``--configs``, default all four):

- ``brax-positional``: brax 0.14 ``hopper`` on brax's ``positional`` pipeline (the
  published datasets' physics);
- ``brax-mjx``: the same brax ``hopper`` env on ``backend="mjx"`` (MuJoCo's physics in
  JAX, MJX's JAX implementation);
- ``pg-hopper``: MuJoCo Playground's ``HopperHop`` (DM Control Suite hopper, another
  model: 4 actuators, 0.02 s control step of 4 x 0.005 s physics steps) on
  ``impl="jax"``;
- ``pg-cartpole``: Playground's ``CartpoleSwingup`` (one 0.01 s physics step per
  control step) on ``impl="jax"``.

Each goes through ``hades_zoo.engine.envs.make_env``, so the figures include the
adapter (auto-reset, clipping; Playground's fresh reset is computed every step). One
program per config: ``jit`` of a ``lax.scan`` over ``--steps`` control steps of
``vmap`` over ``--envs`` envs, uniform random actions in [-1, 1]. Printed: the build
time (``make_env``), the compile time (``lower().compile()``), and the warm time
(median of ``--repeats`` calls after one untimed call), as control steps/s = envs x
steps / warm seconds. The 1-minute load average is recorded before and after: on a
shared machine, compare the rows of one run only. Run by hand::

    nice -n 10 python benchmarks/bench_envs.py [--envs 64 --steps 200 --repeats 3]
        [--json benchmarks/results/envs_<date>.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

CONFIGS = {
    "brax-positional": ("hopper", "positional", ""),
    "brax-mjx": ("hopper", "mjx", ""),
    "pg-hopper": ("HopperHop", "playground", "jax"),
    "pg-cartpole": ("CartpoleSwingup", "playground", "jax"),
}


def measure(name: str, backend: str, impl: str, envs: int, steps: int, repeats: int) -> dict:
    import jax
    import jax.numpy as jnp

    from hades_zoo.data.recipe import EnvConfig
    from hades_zoo.engine.envs import make_env

    t0 = time.perf_counter()
    env = make_env(EnvConfig(name=name, backend=backend, impl=impl))
    build = time.perf_counter() - t0
    act_dim = env.spec.action_dim

    def run(key):
        k_reset, k_run = jax.random.split(key)
        _, state = jax.vmap(env.reset)(jax.random.split(k_reset, envs))

        def body(carry, k):
            state, total = carry
            k_act, k_step = jax.random.split(k)
            action = jax.random.uniform(k_act, (envs, act_dim), minval=-1.0, maxval=1.0)
            _, state, reward, done = jax.vmap(env.step)(
                jax.random.split(k_step, envs), state, action)
            return (state, total + reward), done

        (_, total), dones = jax.lax.scan(body, (state, jnp.zeros(envs)),
                                         jax.random.split(k_run, steps))
        return total, dones.sum()

    key = jax.random.PRNGKey(0)
    t0 = time.perf_counter()
    compiled = jax.jit(run).lower(key).compile()
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(compiled(key))
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(jax.random.PRNGKey(i + 1)))
        times.append(time.perf_counter() - t0)
    warm = statistics.median(times)
    return {"env": name, "backend": backend, "impl": impl, "envs": envs, "steps": steps,
            "obs_dim": env.spec.obs_dim, "action_dim": act_dim,
            "build_s": round(build, 2), "compile_s": round(compile_s, 1),
            "warm_s": round(warm, 3), "warm_all_s": [round(t, 3) for t in times],
            "steps_per_s": round(envs * steps / warm, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help=f"comma-separated, of {', '.join(CONFIGS)}")
    parser.add_argument("--envs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()

    from importlib import metadata

    import jax

    versions = {}
    for pkg in ("jax", "brax", "mujoco", "mujoco-mjx", "playground"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    rows = []
    load_before = os.getloadavg()[0]
    for key in args.configs.split(","):
        row = measure(*CONFIGS[key], args.envs, args.steps, args.repeats)
        row["config"] = key
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.processor() or
           platform.machine(), "cpus": os.cpu_count(), "jax_backend": jax.default_backend(),
           "versions": versions, "load_1min_before": load_before,
           "load_1min_after": os.getloadavg()[0], "rows": rows}
    print("| config | env | backend/impl | build s | compile s | warm s | control steps/s |")
    print("|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['config']} | {r['env']} | {r['backend']}{'/' + r['impl'] if r['impl'] else ''}"
              f" | {r['build_s']} | {r['compile_s']} | {r['warm_s']} | {r['steps_per_s']:,.0f} |")
    print(f"load average (1 min): {out['load_1min_before']:.1f} before, "
          f"{out['load_1min_after']:.1f} after; {versions}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
