"""The evolution strategy a recipe names (evosax 0.3): OpenES or SNES with its params.

OpenES: antithetic sampling, Adam on the mean (``es.lrate_init``, optional
exponential ``lrate_decay``), centred-rank fitness shaping, std schedule
``sigma_init * sigma_decay**t`` bounded by ``sigma_limit``. SNES: natural-gradient
steps with either evosax's log-rank utilities or evosax 0.1's temperature weights
(the published MinAtar runs). evosax minimises; returns are negated in
``engine.tasks.control.to_es_fitness``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from hades_zoo.data.recipe import Recipe

__all__ = ["make_strategy", "snes_temperature_weights"]


def make_strategy(recipe: Recipe, solution: Any):
    """The evosax 0.3 strategy and its params for ``recipe.es``."""
    from evosax.algorithms import SNES, Open_ES

    es_cfg = recipe.es
    lrate = (es_cfg.lrate_init if es_cfg.lrate_decay == 1.0
             else optax.exponential_decay(es_cfg.lrate_init, 1, es_cfg.lrate_decay))
    if es_cfg.strategy == "OpenES":
        if es_cfg.sigma_decay == 1.0:
            std_schedule = optax.constant_schedule(es_cfg.sigma_init)
        else:
            std_schedule = optax.exponential_decay(
                es_cfg.sigma_init, 1, es_cfg.sigma_decay,
                end_value=es_cfg.sigma_limit or None)
        es = Open_ES(es_cfg.popsize, solution, use_antithetic_sampling=True,
                     optimizer=optax.adam(lrate), std_schedule=std_schedule)
        return es, es.default_params
    es = SNES(es_cfg.popsize, solution)
    params = es.default_params.replace(std_init=jnp.asarray(es_cfg.sigma_init))
    if es_cfg.temperature > 0:
        params = params.replace(weights=snes_temperature_weights(es_cfg.popsize,
                                                                 es_cfg.temperature))
    return es, params


def snes_temperature_weights(popsize: int, temperature: float) -> jax.Array:
    """evosax 0.1 SNES "temperature" weights, used by the published MinAtar runs.

    ``softmax(-temperature * (rank / (popsize - 1) - 0.5))`` over fitness ranks (rank 0
    = best), positive and summing to 1, instead of SNES's log-rank utilities with a
    baseline. evosax 0.3 indexes ``params.weights`` by rank the same way.
    """
    ranks = jnp.arange(popsize) / max(popsize - 1, 1) - 0.5
    return jax.nn.softmax(-temperature * ranks)
