"""HaDES-RR's randomised inner loop: one masked network and one masked BC run that stand
for every architecture and BC setting a run can draw.

Lupu et al. ("Behaviour Distillation", ICLR 2024, section 5.2) suggest that randomising
the architecture and the BC hyperparameters as well as the init (HaDES-R) gives
datasets that transfer better. Under ``variant: RR`` every BC run of every candidate
draws a width, depth, activation, BC learning rate and step count from the recipe's
``inner_loop`` ranges (``InnerLoopConfig``), with its fresh init.

A program compiled per draw would mean one compile per generation, so there is one
program, at the largest size, in which a draw only changes traced values:

- **width**: hidden units at index >= ``width`` are multiplied by 0 after the
  activation. Their init is 0 and, since they output 0, their gradients are 0, so they
  stay 0 under Adam; the net computes exactly the width-``width`` net.
- **depth**: hidden layers have the maximum width; layer ``l >= depth`` is skipped,
  ``h = where(l < depth, act(W h + b), h)``; the output layer reads the last ``h``.
  Skipped layers are initialised to 0 and get zero gradients.
- **activation**: ``lax.switch`` on an index into ``ACTIVATIONS``.
- **BC lr**: a traced scalar (``optax.inject_hyperparams``).
- **BC steps**: a ``lax.scan`` over the maximum step count that keeps the params and
  optimiser state unchanged after step ``steps``.

The draw travels with the parameters as the flax collection ``"arch"`` (``{"width",
"depth", "activation"}``), so ``module.apply(variables, obs)`` runs the drawn network
and the rollouts of ``engine.rollout`` need no change. The cost: every run computes at
the maximum width, depth and step count (``benchmarks/bench_randomised.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct
from flax.linen.initializers import constant

from hades_zoo.data.recipe import ACTIVATIONS, BCConfig, InnerLoopConfig
from hades_zoo.engine.bc import make_bc_loss
from hades_zoo.engine.orthogonal import orthogonal
from hades_zoo.engine.policy import MLPPolicy

__all__ = ["InnerLoopSample", "MaskedMLPPolicy", "RandomisedInnerLoop",
           "arch_variables", "embed_params", "make_masked_bc_train",
           "sample_inner_loop"]

_ACT_FNS = (nn.tanh, nn.relu)  # indexed like ACTIVATIONS
assert len(_ACT_FNS) == len(ACTIVATIONS)


@struct.dataclass
class InnerLoopSample:
    """One BC run's draw (int32 / float32 scalars, or stacked under ``vmap``).

    Attributes:
        width: hidden units per layer.
        depth: hidden layers.
        activation: index into ``ACTIVATIONS`` (0 tanh, 1 relu).
        lr: BC Adam learning rate.
        steps: BC steps.
    """

    width: jax.Array
    depth: jax.Array
    activation: jax.Array
    lr: jax.Array
    steps: jax.Array


def sample_inner_loop(key: jax.Array, cfg: InnerLoopConfig) -> InnerLoopSample:
    """Draw one BC run's architecture and hyperparameters from ``cfg`` (pure).

    Width, depth and activation are uniform over their lists, the learning rate is
    log-uniform on ``[bc_lr[0], bc_lr[1]]`` and the step count uniform on the integers
    ``bc_steps[0]..bc_steps[1]``.
    """
    k_w, k_d, k_a, k_lr, k_s = jax.random.split(key, 5)

    def choice(k, values):
        return jnp.asarray(values, jnp.int32)[jax.random.randint(k, (), 0, len(values))]

    act_index = tuple(ACTIVATIONS.index(a) for a in cfg.activations)
    lo, hi = math.log(cfg.bc_lr[0]), math.log(cfg.bc_lr[1])
    return InnerLoopSample(
        width=choice(k_w, cfg.widths),
        depth=choice(k_d, cfg.depths),
        activation=choice(k_a, act_index),
        lr=jnp.exp(jax.random.uniform(k_lr, (), jnp.float32, lo, hi)),
        steps=jax.random.randint(k_s, (), cfg.bc_steps[0], cfg.bc_steps[1] + 1,
                                 jnp.int32),
    )


def arch_variables(sample: InnerLoopSample) -> dict[str, jax.Array]:
    """The ``"arch"`` collection of ``MaskedMLPPolicy`` for a draw."""
    return {"width": sample.width, "depth": sample.depth,
            "activation": sample.activation}


class MaskedMLPPolicy(nn.Module):
    """``MLPPolicy`` at ``max_width`` x ``max_depth`` running the drawn sub-network.

    Reads ``width``, ``depth`` and ``activation`` from the ``"arch"`` collection (see
    the module docstring). Parameter names and shapes are those of
    ``MLPPolicy(width=max_width, depth=max_depth)``: ``Dense_0..Dense_{max_depth-1}``
    hidden, ``Dense_{max_depth}`` output, ``log_std`` (continuous heads).
    """

    action_dim: int
    discrete: bool
    max_width: int
    max_depth: int

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array | None]:
        def arch(name, default):
            init = lambda: jnp.asarray(default, jnp.int32)
            return self.variable("arch", name, init).value

        width = arch("width", self.max_width)
        depth = arch("depth", self.max_depth)
        act_index = arch("activation", 0)
        units = (jnp.arange(self.max_width) < width).astype(x.dtype)  # (max_width,)
        h = x
        for layer in range(self.max_depth):
            z = nn.Dense(self.max_width, kernel_init=orthogonal(math.sqrt(2)),
                         bias_init=constant(0.0))(h)
            new = jax.lax.switch(act_index, _ACT_FNS, z) * units
            h = new if layer == 0 else jnp.where(layer < depth, new, h)
        out = nn.Dense(self.action_dim, kernel_init=orthogonal(0.01),
                       bias_init=constant(0.0))(h)
        if self.discrete:
            return out, None
        log_std = self.param("log_std", nn.initializers.zeros, (self.action_dim,))
        return out, log_std


def embed_params(params: dict[str, Any], depth: int, max_width: int, max_depth: int
                 ) -> dict[str, Any]:
    """An ``MLPPolicy``'s ``params`` (any width <= ``max_width``, ``depth`` hidden
    layers) as ``MaskedMLPPolicy`` params: zero-padded to ``max_width``, the output
    layer moved to ``Dense_{max_depth}``, the hidden layers it lacks all zeros.

    Works on concrete or traced arrays; the width is read from the shapes.
    """
    def pad(a, shape):
        return jnp.zeros(shape, a.dtype).at[tuple(slice(0, n) for n in a.shape)].set(a)

    obs_dim = params["Dense_0"]["kernel"].shape[0]
    action_dim = params[f"Dense_{depth}"]["kernel"].shape[1]
    out: dict[str, Any] = {}
    for layer in range(max_depth + 1):
        rows = obs_dim if layer == 0 else max_width
        cols = action_dim if layer == max_depth else max_width
        if layer == max_depth or layer < depth:
            src = params[f"Dense_{depth if layer == max_depth else layer}"]
            out[f"Dense_{layer}"] = {"kernel": pad(src["kernel"], (rows, cols)),
                                     "bias": pad(src["bias"], (cols,))}
        else:
            out[f"Dense_{layer}"] = {"kernel": jnp.zeros((rows, cols)),
                                     "bias": jnp.zeros((cols,))}
    if "log_std" in params:
        out["log_std"] = params["log_std"]
    return out


def make_masked_bc_train(module: MaskedMLPPolicy, cfg: BCConfig, max_steps: int
                         ) -> Callable[..., tuple[Any, jax.Array]]:
    """``train(variables, states, targets, weights, lr, steps) -> (variables, losses)``.

    ``engine.bc``'s behaviour cloning (loss, ``clip_by_global_norm(max_grad_norm)``,
    Adam with ``cfg.eps``) with a traced learning rate ``lr`` and step count ``steps``:
    a ``lax.scan`` of ``max_steps`` steps whose updates after step ``steps`` are
    discarded, so the result is that of ``steps`` steps. ``variables`` is
    ``{"params", "arch"}``; only ``params`` is trained. ``losses (max_steps,)``: the
    loss before each step (from ``steps`` on, the loss of the final params).
    """
    loss_fn = make_bc_loss(module)

    def loss_of_params(params, arch, states, targets, weights):
        return loss_fn({"params": params, "arch": arch}, states, targets, weights)

    grad_fn = jax.value_and_grad(loss_of_params)

    def train(variables, states, targets, weights, lr, steps):
        adam = optax.inject_hyperparams(optax.adam)(learning_rate=lr, eps=cfg.eps)
        tx = adam if cfg.max_grad_norm is None else optax.chain(
            optax.clip_by_global_norm(cfg.max_grad_norm), adam)
        arch = variables["arch"]

        def update(carry, t):
            params, opt_state = carry
            loss, grads = grad_fn(params, arch, states, targets, weights)
            updates, new_state = tx.update(grads, opt_state, params)
            new = (optax.apply_updates(params, updates), new_state)
            active = t < steps
            return jax.tree.map(lambda n, o: jnp.where(active, n, o), new, carry), loss

        params = variables["params"]
        (params, _), losses = jax.lax.scan(update, (params, tx.init(params)),
                                           jnp.arange(max_steps))
        return {"params": params, "arch": arch}, losses

    return train


class RandomisedInnerLoop:
    """HaDES-RR's inner loop for one recipe: draw, init and train (pure functions).

    Args:
        cfg: the recipe's ``inner_loop`` ranges.
        bc: the recipe's ``bc`` (loss, ``eps``, ``max_grad_norm``; ``lr`` and
            ``steps`` are drawn).
        action_dim, discrete, obs_dim: the env's spaces.
    """

    def __init__(self, cfg: InnerLoopConfig, bc: BCConfig, *, action_dim: int,
                 discrete: bool, obs_dim: int):
        self.cfg = cfg
        self.obs_dim = obs_dim
        self.module = MaskedMLPPolicy(action_dim=action_dim, discrete=discrete,
                                      max_width=cfg.max_width, max_depth=cfg.max_depth)
        self._train = make_masked_bc_train(self.module, bc, cfg.max_steps)
        # One plain MLP per width at the maximum depth: a draw's init is that MLP's
        # orthogonal init, zero-padded (the distribution of a width-w net's init).
        self._plain = tuple(
            MLPPolicy(action_dim=action_dim, discrete=discrete, width=w,
                      depth=cfg.max_depth) for w in cfg.widths)

    def sample(self, key: jax.Array) -> InnerLoopSample:
        """One draw (``sample_inner_loop``)."""
        return sample_inner_loop(key, self.cfg)

    def init_params(self, key: jax.Array, sample: InnerLoopSample) -> dict[str, Any]:
        """``{"params", "arch"}`` for a draw: the orthogonal init of an MLP of the drawn
        width, hidden layers past the drawn depth zeroed."""
        x = jnp.zeros((self.obs_dim,), jnp.float32)
        cfg = self.cfg

        def branch(module):
            def init(k):
                params = module.init(k, x)["params"]
                return embed_params(params, cfg.max_depth, cfg.max_width, cfg.max_depth)
            return init

        index = jnp.argmax(jnp.asarray(cfg.widths) == sample.width)
        params = jax.lax.switch(index, [branch(m) for m in self._plain], key)
        for layer in range(1, cfg.max_depth):  # skipped layers start (and stay) at 0
            keep = (layer < sample.depth).astype(jnp.float32)
            params[f"Dense_{layer}"] = jax.tree.map(lambda a, keep=keep: a * keep,
                                                    params[f"Dense_{layer}"])
        return {"params": params, "arch": arch_variables(sample)}

    def train(self, key: jax.Array, states: jax.Array, targets: jax.Array,
              weights: jax.Array) -> tuple[dict[str, Any], jax.Array, InnerLoopSample]:
        """Draw, init and behaviour-clone once.

        Returns:
            ``(variables, final BC loss, the draw)``: ``variables`` runs with
            ``self.module.apply``; the loss is the one before the last step taken, as
            ``make_bc_train``'s ``losses[-1]``.
        """
        k_sample, k_init = jax.random.split(key)
        sample = self.sample(k_sample)
        variables = self.init_params(k_init, sample)
        variables, losses = self._train(variables, states, targets, weights,
                                        sample.lr, sample.steps)
        return variables, losses[sample.steps - 1], sample
