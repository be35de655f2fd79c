"""Behaviour cloning: full-batch Adam on a synthetic dataset, steps by ``lax.scan``.

Continuous: Gaussian negative log-likelihood, mean over (weighted) pairs.
Discrete: ``-mean(log_softmax(logits) * target)`` over pairs *and* actions, i.e. the
cross-entropy divided by the number of actions, exactly the reference's loss.
Optimiser: optional ``clip_by_global_norm`` then ``adam(lr, eps)``. The reference
permutes the batch every step; with a full batch that changes nothing, so we do not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from hades_zoo.data.recipe import BCConfig
from hades_zoo.engine.policy import MLPPolicy, log_prob

__all__ = ["make_optimizer", "make_bc_loss", "make_bc_train", "make_bc_train_sweep"]


def make_optimizer(cfg: BCConfig) -> optax.GradientTransformation:
    """``clip_by_global_norm(max_grad_norm)`` (if set) followed by Adam(lr, eps)."""
    adam = optax.adam(cfg.lr, eps=cfg.eps)
    if cfg.max_grad_norm is None:
        return adam
    return optax.chain(optax.clip_by_global_norm(cfg.max_grad_norm), adam)


def make_bc_loss(module: MLPPolicy) -> Callable[..., jax.Array]:
    """``loss(params, states (D, obs), targets, weights (D,)) -> scalar``."""

    def loss_fn(params, states, targets, weights):
        out = module.apply(params, states)
        if module.discrete:
            per_pair = -jnp.mean(jax.nn.log_softmax(out[0], axis=-1) * targets, axis=-1)
        else:
            per_pair = -log_prob(out, targets)
        return jnp.sum(per_pair * weights) / jnp.maximum(jnp.sum(weights), 1.0)

    return loss_fn


def make_bc_train(module: MLPPolicy, cfg: BCConfig) -> Callable[..., tuple[Any, jax.Array]]:
    """``train(params, states, targets, weights) -> (params, losses (steps,))``.

    Pure and jittable; vmap it over inits or candidates.
    """
    tx = make_optimizer(cfg)
    grad_fn = jax.value_and_grad(make_bc_loss(module))

    def train(params, states, targets, weights):
        def update(carry, _):
            params, opt_state = carry
            loss, grads = grad_fn(params, states, targets, weights)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, _), losses = jax.lax.scan(update, (params, tx.init(params)), None, cfg.steps)
        return params, losses

    return train


def make_bc_train_sweep(module: MLPPolicy, cfg: BCConfig, checkpoints: tuple[int, ...]
                        ) -> Callable[..., tuple[Any, jax.Array]]:
    """``train(params, states, targets, weights, lr) -> (params_at, losses)``.

    One BC run of ``max(checkpoints)`` steps with a *traced* learning rate (so a sweep
    over lrs is a ``vmap``, not a recompile) that also returns the parameters after each
    of ``checkpoints`` steps, stacked on a leading axis ``(len(checkpoints), ...)``.
    With ``lr = cfg.lr`` and ``checkpoints = (cfg.steps,)`` it is ``make_bc_train``.
    """
    ckpts = tuple(sorted(set(int(c) for c in checkpoints)))
    if not ckpts or ckpts[0] < 1:
        raise ValueError(f"checkpoints must be positive step counts, got {checkpoints}")
    grad_fn = jax.value_and_grad(make_bc_loss(module))

    def train(params, states, targets, weights, lr):
        adam = optax.inject_hyperparams(optax.adam)(learning_rate=lr, eps=cfg.eps)
        tx = adam if cfg.max_grad_norm is None else optax.chain(
            optax.clip_by_global_norm(cfg.max_grad_norm), adam)

        def update(carry, _):
            params, opt_state = carry
            loss, grads = grad_fn(params, states, targets, weights)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        carry, saved, losses, done = (params, tx.init(params)), [], [], 0
        for c in ckpts:  # a few static segments, each one lax.scan
            carry, seg = jax.lax.scan(update, carry, None, c - done)
            saved.append(carry[0])
            losses.append(seg)
            done = c
        stacked = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *saved)
        return stacked, jnp.concatenate(losses)

    return train
