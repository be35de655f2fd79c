"""Score every constant-action policy under a recipe's evaluation protocol.

The Freeway-MinAtar target of the own entries is "above the best constant-action policy
measured under the same protocol". This script builds, for each discrete action ``a``,
the recipe's policy network with zero kernels and an output bias of +1e4 on ``a`` (so
the greedy and the sampled policy both always play ``a``), and scores it on exactly the episodes a
certificate of a dataset made by this recipe plays: same env, episode mode, episode
length and eval envs, and the same reset keys (per seed ``key``, for each of the
``num_inits`` BC runs ``split(key, num_inits)[i]``, evaluated with its second half as
``ControlTask.train_and_evaluate`` does), so constant policy and dataset are compared
on paired episodes. Output: one JSON with the per-seed returns of each action and the
best one.

Usage::

    python scripts/constant_action_baseline.py recipes/freeway-minatar-F-16.hz.yaml \\
        --seeds 20 --out results/own/constant_freeway-minatar-F-16.hz.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from hades_zoo.data.recipe_io import load_recipe
from hades_zoo.engine.tasks.control import ControlTask


def constant_params(template, action: int, num_actions: int):
    """Zero every weight, then bias the output layer to ``action`` (+1e4 logit)."""
    leaves = jax.tree_util.tree_leaves_with_path(template)
    last_bias = [p for p, x in leaves if x.ndim == 1 and x.shape[0] == num_actions][-1]

    def one(path, x):
        if path == last_bias:
            return jnp.zeros_like(x).at[action].set(1e4)
        return jnp.zeros_like(x)

    return jax.tree_util.tree_map_with_path(one, template)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipe", type=Path)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    recipe = load_recipe(args.recipe)
    task = ControlTask(recipe)
    if not task.spec.discrete:
        raise SystemExit(f"{recipe.env.name} has continuous actions: no constant-action "
                         "baseline to take.")
    num_actions = task.spec.action_dim
    template = task.init_params(jax.random.PRNGKey(0))
    mean, var = task.norm_arrays()  # irrelevant: every kernel is zero

    def protocol_return(key, params):
        """The certificate's episodes (``make_fitness_fn`` / ``train_and_evaluate``)."""
        def one(kk):
            return task.evaluate(jax.random.split(kk)[1], params, mean, var)

        res = jax.vmap(one)(jax.random.split(key, recipe.num_inits))
        episodes = jnp.sum(res.episodes)
        return jnp.where(episodes > 0, jnp.sum(res.return_sum) / jnp.maximum(episodes, 1),
                         jnp.mean(res.partial_return))

    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    score = jax.jit(lambda params: jax.vmap(lambda k: protocol_return(k, params))(keys))
    results = {}
    for a in range(num_actions):
        returns = np.asarray(score(constant_params(template, a, num_actions)))
        results[str(a)] = [float(x) for x in returns]
        print(f"action {a}: mean return {returns.mean():.2f} "
              f"(seeds {', '.join(f'{x:.1f}' for x in returns)})", flush=True)
    best = max(results, key=lambda a: np.mean(results[a]))
    record = {
        "env": recipe.env.name,
        "recipe": str(args.recipe),
        "protocol": {"mode": recipe.eval.mode, "num_envs": recipe.eval.num_envs,
                     "num_steps": recipe.eval.num_steps, "seeds": args.seeds,
                     "seed": args.seed},
        "returns": results,
        "best_action": int(best),
        "best_mean_return": float(np.mean(results[best])),
    }
    print(f"best constant action: {best} ({record['best_mean_return']:.2f})")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
