"""Policy networks: the reference BC MLP with a discrete or Gaussian head.

``depth`` hidden Dense layers (orthogonal(sqrt 2) kernels, zero bias) with tanh/relu,
then a Dense output (orthogonal(0.01)). Continuous policies add a state-independent
``log_std`` parameter (init 0). Module and parameter names (``Dense_0``..``Dense_n``,
``log_std``) match the reference's flax modules, so ``init(PRNGKey(seed))`` gives the
same weights it did (HaDES-F datasets are fit to that exact init).
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct
from flax.linen.initializers import constant

from hades_zoo.data.recipe import PolicyConfig
from hades_zoo.engine.orthogonal import orthogonal

__all__ = [
    "MLPPolicy",
    "TrainedPolicy",
    "fixed_init_params",
    "init_policy_params",
    "log_prob",
    "make_policy",
    "select_action",
]


class MLPPolicy(nn.Module):
    """MLP returning ``(logits, None)`` (discrete) or ``(mean, log_std)`` (continuous)."""

    action_dim: int
    discrete: bool
    width: int = 512
    depth: int = 2
    activation: str = "tanh"

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array | None]:
        act = nn.relu if self.activation == "relu" else nn.tanh
        for _ in range(self.depth):
            x = act(nn.Dense(self.width, kernel_init=orthogonal(math.sqrt(2)),
                             bias_init=constant(0.0))(x))
        out = nn.Dense(self.action_dim, kernel_init=orthogonal(0.01), bias_init=constant(0.0))(x)
        if self.discrete:
            return out, None
        log_std = self.param("log_std", nn.initializers.zeros, (self.action_dim,))
        return out, log_std


def make_policy(cfg: PolicyConfig, action_dim: int, discrete: bool) -> MLPPolicy:
    """The flax module for a policy config and action space."""
    return MLPPolicy(action_dim=action_dim, discrete=discrete, width=cfg.width,
                     depth=cfg.depth, activation=cfg.activation)


def init_policy_params(module: MLPPolicy, key: jax.Array, obs_dim: int) -> Any:
    """Fresh parameters from ``key`` (jittable; used by HaDES-R per BC run)."""
    return module.init(key, jnp.zeros((obs_dim,), jnp.float32))


def fixed_init_params(module: MLPPolicy, cfg: PolicyConfig, obs_dim: int) -> Any:
    """HaDES-F fixed initialisation: ``module.init(PRNGKey(cfg.init_seed))``.

    With ``cfg.legacy_threefry`` the key is consumed with
    ``jax_threefry_partitionable=False``, the jax < 0.5 default the published HaDES-F
    datasets were evolved with (jax >= 0.5 changed the default and thus the weights).
    Computed eagerly on the host; pass the result into jitted code as an array.
    """
    if cfg.init_seed is None:
        raise ValueError("fixed_init_params needs policy.init_seed")
    with jax.threefry_partitionable(not cfg.legacy_threefry):
        return jax.jit(module.init)(jax.random.PRNGKey(cfg.init_seed),
                                    jnp.zeros((obs_dim,), jnp.float32))


def log_prob(out: tuple[jax.Array, jax.Array | None], target: jax.Array) -> jax.Array:
    """Diagonal-Gaussian log-density of ``target`` (continuous heads), summed over dims."""
    mean, log_std = out
    z = (target - mean) * jnp.exp(-log_std)
    return jnp.sum(-0.5 * z**2 - log_std - 0.5 * jnp.log(2 * jnp.pi), axis=-1)


def select_action(out: tuple[jax.Array, jax.Array | None], key: jax.Array, *,
                  discrete: bool, greedy: bool) -> jax.Array:
    """Sample (or take the mode of) the policy's action distribution."""
    first, log_std = out
    if discrete:
        return jnp.argmax(first, axis=-1) if greedy else jax.random.categorical(key, first)
    if greedy:
        return first
    return first + jnp.exp(log_std) * jax.random.normal(key, first.shape)


@struct.dataclass
class TrainedPolicy:
    """Parameters of a trained policy plus the static facts needed to run it."""

    params: Any
    module: MLPPolicy = struct.field(pytree_node=False)
    bc_loss: Any = None
