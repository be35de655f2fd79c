"""Continuous batching of ``episodes`` evaluations: a fixed pool of env slots, refilled.

The ``episodes`` protocol (``engine.rollout``) plays ``num_envs`` episodes per trained
policy and stops when they have ended. Run as one ``vmap`` over a device's block of
policies, the block keeps stepping (masked) until its *longest* episode ends: early in
a HaDES run one standing hopper among 64 candidates makes all of them pay 1000 steps.

``make_continuous_evaluate`` runs the same evaluations through a pool of ``slots``
evaluation slots inside ``lax.while_loop``: every iteration steps every occupied slot
(one ``vmap``), and a slot whose evaluation has ended is written out and refilled with
the next pending one (continuous batching, as LLM servers batch requests). Each slot
carries its evaluation's index, gathers that evaluation's policy parameters by index,
and replays exactly the steps of :func:`engine.rollout._make_episodes_evaluate`: the
same reset and run keys derived from the evaluation's key, the same step function
(``rollout.episode_step``), so every evaluation's ``EvalResult`` is the one the
``episodes`` mode computes (bit for bit on CPU: ``tests/test_continuous.py``).

The unit of scheduling is one evaluation (its ``num_envs`` envs step together), not one
episode: with ``obs_norm: running`` the statistics the policy sees are shared by the
envs of one evaluation and updated with the observations of *all* of them, including
envs whose episode has ended (they keep stepping, auto-reset, as in the ``episodes``
mode), so an evaluation's envs cannot be separated without changing its returns. A
slot therefore costs ``num_envs x`` its longest episode, which is what the ``episodes``
mode's ``env_steps`` has always counted.

When no evaluation is pending the pool drains and fewer slots are busy; the loop then
moves the busy slots to the front and continues with a pool ``shrink`` times smaller
(``levels``: one ``while_loop`` per pool size, each compiled with its own batch), so
the tail of a few long episodes does not step a mostly empty pool.

Pending evaluations start from states reset in one batch before the loop (reset is
the same function of the key either way), so refilling a slot is a gather, not a reset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from hades_zoo.data.recipe import EvalConfig
from hades_zoo.engine.envs import Env
from hades_zoo.engine.policy import MLPPolicy
from hades_zoo.engine.rollout import (
    EpisodeCarry,
    EvalResult,
    episode_cap,
    episode_start,
    episode_step,
    episodes_result,
)

__all__ = ["MAX_LEVELS", "SHRINK", "SLOTS_FRACTION", "SchedulerStats", "make_continuous_evaluate",
           "pool_settings", "pool_sizes"]


# The pool the population fitness uses on CPU: SLOTS_FRACTION of a block's evaluations
# (at least 1), shrunk by SHRINK as it drains, in at most MAX_LEVELS sizes (see
# benchmarks/README.md, "Continuous batching"; benchmarks set these to compare).
SLOTS_FRACTION = 0.25
SHRINK = 2
MAX_LEVELS = 4


def pool_settings(num_evals: int) -> tuple[int, int]:
    """``(slots, shrink)`` for a block of ``num_evals`` evaluations.

    On CPU an env step costs about the same per env at any batch size, so a pool of
    ``SLOTS_FRACTION`` of the evaluations, kept full by refilling, wastes the least; on
    an accelerator a batch costs about the same whatever its size, so the pool holds
    every evaluation at once (refilling would only add iterations) and shrinks as it
    drains.
    """
    if jax.default_backend() != "cpu":
        return max(1, num_evals), SHRINK
    return max(1, round(num_evals * SLOTS_FRACTION)), SHRINK


class SchedulerStats(NamedTuple):
    """What one continuous evaluation simulated (scalars).

    Attributes:
        iterations: loop iterations (batched env steps, over all pool sizes).
        slot_steps: env steps simulated, busy or not (``num_envs`` x pool size, summed
            over the iterations).
        busy_steps: env steps of slots holding an evaluation (the rest stepped idle
            slots while the pool drained).
    """

    iterations: jax.Array
    slot_steps: jax.Array
    busy_steps: jax.Array


class _Pool(NamedTuple):
    group: EpisodeCarry  # leading axis (slots,)
    index: jax.Array  # (slots,) evaluation in the slot; num_evals = empty
    pending: jax.Array  # next evaluation to start
    ep_return: jax.Array  # (num_evals, n) results, written as evaluations end
    ep_length: jax.Array  # (num_evals, n)
    t: jax.Array  # (num_evals,)
    stats: SchedulerStats


def pool_sizes(num_evals: int, slots: int, shrink: int) -> list[int]:
    """The pool sizes the scheduler runs through: ``min(slots, num_evals)``, then
    divided by ``shrink`` while that is >= 1 (``shrink <= 1``: one size only).

    At most ``MAX_LEVELS`` sizes (each is one more compiled copy of the env step): a
    larger first pool is divided by a larger factor, so the last size is still small.
    """
    first = max(1, min(slots, num_evals))
    if shrink > 1:
        while shrink ** (MAX_LEVELS - 1) < first and first // shrink ** (MAX_LEVELS - 1) > 1:
            shrink += 1
    sizes = [first]
    while shrink > 1 and sizes[-1] // shrink >= 1 and len(sizes) < MAX_LEVELS:
        sizes.append(sizes[-1] // shrink)
    return sizes


def _compact(pool: _Pool, num: int, size: int) -> _Pool:
    """The pool's first ``size`` slots after moving the busy ones to the front (in
    slot order); the caller ensures at most ``size`` are busy."""
    order = jnp.argsort(pool.index >= num, stable=True)[:size]
    return pool._replace(group=jax.tree.map(lambda a: a[order], pool.group),
                         index=pool.index[order])


def make_continuous_evaluate(env: Env, module: MLPPolicy, cfg: EvalConfig, obs_norm: str,
                             *, slots: int, shrink: int
                             ) -> Callable[..., tuple[EvalResult, SchedulerStats]]:
    """``evaluate(keys, params, obs_mean, obs_var, policy=None) -> (EvalResult, stats)``.

    Runs ``E = keys.shape[0]`` evaluations of the ``episodes`` protocol; evaluation
    ``e`` uses key ``keys[e]`` and the policy ``params[policy[e]]`` (``params`` a
    pytree with leading axis ``P``; ``policy`` an ``(E,)`` int array, default
    ``arange(E)``: one policy per evaluation). Returns the ``EvalResult`` of every
    evaluation, leading axis ``(E,)``, equal to ``vmap`` of the ``episodes`` mode's
    ``evaluate(keys[e], params[policy[e]], obs_mean, obs_var)``, and the scheduler's
    ``SchedulerStats``. Pure and jittable; ``E`` and ``P`` are static shapes.

    Args:
        env, module, cfg, obs_norm: the protocol (``cfg.mode`` is not read: this is the
            ``episodes`` protocol whatever it says).
        slots: evaluations stepped at once (each ``cfg.num_envs`` envs); capped at E.
        shrink: when nothing is pending and at most ``1/shrink`` of the pool is busy,
            continue with a pool that much smaller (``<= 1``: never shrink).
    """
    if slots < 1:
        raise ValueError(f"slots must be >= 1, got {slots}")
    n = cfg.num_envs
    cap = episode_cap(env, cfg)
    start = episode_start(env, n, obs_norm)
    step = episode_step(env, module, n, cfg.greedy, obs_norm)
    step_pool = jax.vmap(step, in_axes=(0, 0, None, None))

    def evaluate(keys, params, obs_mean, obs_var, policy=None):
        num = keys.shape[0]
        if policy is None:
            policy = jnp.arange(num)
        fresh = jax.vmap(start)(keys)  # (E, ...): every evaluation's reset state
        sizes = pool_sizes(num, slots, shrink)

        def level(pool: _Pool, size: int, next_size: int) -> _Pool:
            def busy(p: _Pool) -> jax.Array:
                return p.index < num

            def more(p: _Pool) -> jax.Array:
                count = jnp.sum(busy(p))
                if next_size == 0:  # the last pool runs until every slot is empty
                    return count > 0
                return (p.pending < num) | (count > next_size)

            def body(p: _Pool) -> _Pool:
                occupied = busy(p)
                which = policy[jnp.minimum(p.index, num - 1)]
                slot_params = jax.tree.map(lambda a: a[which], params)
                g = step_pool(p.group, slot_params, obs_mean, obs_var)
                ended = occupied & ((g.t >= cap) | jnp.all(g.finished, axis=1))
                out = jnp.where(ended, p.index, num)  # num: out of bounds, dropped
                ep_return = p.ep_return.at[out].set(g.ep_return, mode="drop")
                ep_length = p.ep_length.at[out].set(g.ep_length, mode="drop")
                t = p.t.at[out].set(g.t, mode="drop")
                # Refill: the k-th ended slot takes the k-th pending evaluation.
                nxt = p.pending + jnp.cumsum(ended) - 1
                refill = ended & (nxt < num)
                index = jnp.where(ended, jnp.where(refill, nxt, num), p.index)
                new = jax.tree.map(lambda a: a[jnp.clip(nxt, 0, num - 1)], fresh)
                group = jax.tree.map(
                    lambda a, b: jnp.where(refill.reshape((-1,) + (1,) * (a.ndim - 1)),
                                           a, b), new, g)
                pending = jnp.minimum(p.pending + jnp.sum(ended), num)
                stats = SchedulerStats(
                    p.stats.iterations + 1,
                    p.stats.slot_steps + n * size,
                    p.stats.busy_steps + n * jnp.sum(occupied))
                return _Pool(group, index, pending, ep_return, ep_length, t, stats)

            return jax.lax.while_loop(more, body, pool)

        first = sizes[0]
        pool = _Pool(
            group=jax.tree.map(lambda a: a[:first], fresh),
            index=jnp.arange(first),
            pending=jnp.asarray(first),
            ep_return=jnp.zeros((num, n)),
            ep_length=jnp.zeros((num, n), jnp.int32),
            t=jnp.zeros((num,), jnp.int32),
            stats=SchedulerStats(jnp.asarray(0), jnp.asarray(0), jnp.asarray(0)),
        )
        for i, size in enumerate(sizes):
            if i:  # busy slots to the front, then a smaller pool
                pool = _compact(pool, num, size)
            next_size = sizes[i + 1] if i + 1 < len(sizes) else 0
            pool = level(pool, size, next_size)
        result = jax.vmap(episodes_result)(pool.ep_return, pool.ep_length, pool.t)
        return result, pool.stats

    return evaluate

