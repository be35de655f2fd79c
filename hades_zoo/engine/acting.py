"""A trained policy: its parameters, its protocol, and how it acts on observations.

``TrainedPolicy`` is what ``hz.train_policy`` returns. It acts functionally, in the
protocol it was trained for::

    state = policy.init_state()
    action, state = policy.act(obs, state)            # greedy (the mode)
    action, state = policy.act(obs, state, key=key)   # sampled

``state`` is the observation normaliser's state (``ActState``). With ``obs_norm:
running`` it holds the running statistics, which ``act`` updates with every batch of
observations before normalising it, exactly as the evaluation does (``engine.rollout``:
statistics start at mean 0, var 1, count 1e-4 and are shared by the envs stepped
together); with ``const`` the dataset's fixed statistics (carried by the policy) are
used and ``state`` passes through unchanged; with ``none`` observations go in raw.

``make_env`` hands back the env a dataset's or policy's protocol builds (same backend,
wrapper and episode length as ``evaluate`` uses), for a loop of one's own.

``TrainedPolicy.save_pretrained`` / ``from_pretrained`` / ``push_to_hub`` are supplied by
``hades_zoo.hub`` (a higher layer) through :func:`register_policy_sharing`, as
``SyntheticDataset``'s are: engine/ never imports hub/.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from hades_zoo.data.recipe import EnvConfig, Recipe
from hades_zoo.engine.envs import Env
from hades_zoo.engine.envs import make_env as _make_env
from hades_zoo.engine.policy import MLPPolicy, select_action
from hades_zoo.engine.rollout import RunningNorm, policy_obs
from hades_zoo.errors import EnvError

__all__ = [
    "ActState",
    "PolicyInfo",
    "TrainedPolicy",
    "make_env",
    "register_policy_sharing",
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class PolicyInfo:
    """Where a policy came from and how it measured (static, hashable).

    Attributes:
        dataset_id: id of the dataset it was trained on.
        dataset_sha256: sha256 of that dataset as hades_zoo encodes it
            (``data.dataset.dataset_to_bytes``: a file hades_zoo wrote has this sha256).
        dataset_source: where the dataset was loaded from (``hf:org/name@commit``, a
            zoo id), when known; ``None`` for a local file or an in-memory dataset.
        seed: the BC seed (``None`` when a key was passed instead).
        overrides: ``(name, value)`` pairs of the protocol overrides applied
            (``width``, ``depth``, ``activation``, ``lr``, ``steps``).
        eval_mean, eval_std: mean and standard deviation of the episode returns of
            one evaluation (``None``: not evaluated).
        eval_episodes: how many episodes that evaluation played.
        eval_seed: its seed (``None``: unknown, e.g. a caller's key).
        eval_greedy: whether it acted greedily.
    """

    dataset_id: str = "unnamed"
    dataset_sha256: str | None = None
    dataset_source: str | None = None
    seed: int | None = None
    overrides: tuple[tuple[str, Any], ...] = ()
    eval_mean: float | None = None
    eval_std: float | None = None
    eval_episodes: int | None = None
    eval_seed: int | None = None
    eval_greedy: bool | None = None


class ActState(NamedTuple):
    """What ``TrainedPolicy.act`` carries from one call to the next.

    Attributes:
        norm: the running observation statistics (``obs_norm: running``); unused and
            passed through unchanged otherwise.
    """

    norm: RunningNorm


_SHARING: dict[str, Any] = {}


def register_policy_sharing(**functions: Any) -> None:
    """Install the functions behind ``TrainedPolicy.save_pretrained`` & co.

    Called once by ``hades_zoo.hub`` at import (the engine layer defines the methods,
    the hub layer supplies them).
    """
    _SHARING.update(functions)


def _sharing(name: str):
    try:
        return _SHARING[name]
    except KeyError:
        raise ImportError(
            f"TrainedPolicy.{name} is provided by hades_zoo.hub; `import hades_zoo` "
            "(or hades_zoo.hub) first."
        ) from None


@struct.dataclass
class TrainedPolicy:
    """A policy trained on a dataset, with what is needed to run it in its env.

    Attributes:
        params: flax parameters (``{"params": {"Dense_0": {"kernel", "bias"}, ...}}``;
            continuous policies also ``log_std``).
        bc_losses: (steps,) BC loss curve.
        obs_mean, obs_var: (obs_dim,) constant normalisation statistics (used by the
            ``const`` protocol) or None.
        module: the flax module (static).
        recipe: the protocol used (static; overrides applied).
        info: provenance and the last recorded evaluation (static, ``PolicyInfo``).
    """

    params: Any
    bc_losses: Any
    obs_mean: Any = None
    obs_var: Any = None
    module: MLPPolicy = struct.field(pytree_node=False, default=None)
    recipe: Recipe = struct.field(pytree_node=False, default=None)
    info: PolicyInfo = struct.field(pytree_node=False, default_factory=PolicyInfo)

    # ------------------------------------------------------------------ facts
    @property
    def obs_norm(self) -> str:
        """``none``, ``const`` or ``running``: the protocol's observation normalisation."""
        return self.recipe.env.obs_norm

    @property
    def obs_dim(self) -> int:
        """Size of one observation (the first layer's input)."""
        return int(self.params["params"]["Dense_0"]["kernel"].shape[0])

    @property
    def action_dim(self) -> int:
        """Number of actions (discrete) or action size (continuous)."""
        return int(self.module.action_dim)

    @property
    def discrete(self) -> bool:
        return bool(self.module.discrete)

    def norm_arrays(self) -> tuple[jax.Array, jax.Array]:
        """``(mean, var)`` (obs_dim,) float32: the const statistics, or (0, 1)."""
        d = self.obs_dim
        mean = (jnp.zeros(d) if self.obs_mean is None
                else jnp.asarray(self.obs_mean, jnp.float32))
        var = (jnp.ones(d) if self.obs_var is None
               else jnp.asarray(self.obs_var, jnp.float32))
        return mean, var

    # ------------------------------------------------------------------ acting
    def init_state(self) -> ActState:
        """The state before the first observation: running statistics at (0, 1, 1e-4)."""
        return ActState(RunningNorm.create(self.obs_dim))

    def act(self, obs: jax.Array, state: ActState, key: jax.Array | None = None, *,
            greedy: bool | None = None) -> tuple[jax.Array, ActState]:
        """The action for ``obs``, and the next state. Pure and jittable.

        Args:
            obs: raw env observations, ``(obs_dim,)`` or ``(batch, obs_dim)`` float32
                (what ``env.reset`` / ``env.step`` return; normalisation is done here).
            state: from :meth:`init_state` or the previous call.
            key: a PRNG key: the action is sampled from the policy's distribution
                (categorical over logits, or mean + exp(log_std) * N(0, 1)), as the
                evaluation samples it. ``None``: the mode (argmax / mean).
            greedy: force the mode (True) or sampling (False, needs ``key``); a Python
                bool (static under ``jax.jit``: ``static_argnames="greedy"``).

        Returns:
            ``(action, state)``: action ``()`` int32 / ``(batch,)`` for discrete
            policies, ``(action_dim,)`` / ``(batch, action_dim)`` float32 (unclipped;
            brax envs clip to [-1, 1]) for continuous ones.

        With ``obs_norm: running`` a ``(batch, obs_dim)`` call updates the statistics
        with the whole batch (as the envs of one evaluation share them); ``jax.vmap``
        over single observations with a shared state would not. For ``none`` / ``const``
        ``jax.vmap(policy.act, in_axes=(0, None))`` equals the batched call.

        Raises:
            ValueError: ``greedy=False`` without a key, or ``obs`` of the wrong size.
        """
        obs = jnp.asarray(obs, jnp.float32)
        if obs.ndim not in (1, 2) or obs.shape[-1] != self.obs_dim:
            raise ValueError(
                f"act takes observations of shape ({self.obs_dim},) or (batch, "
                f"{self.obs_dim}) for env {self.recipe.env.name!r}, got {obs.shape}.")
        greedy = (key is None) if greedy is None else bool(greedy)
        if not greedy and key is None:
            raise ValueError("sampling an action needs a key: act(obs, state, key).")
        norm = state.norm
        if self.obs_norm == "running":
            norm = norm.update(obs.reshape(-1, obs.shape[-1]))
        mean, var = self.norm_arrays()
        out = self.module.apply(self.params, policy_obs(self.obs_norm, obs, norm, mean,
                                                        var))
        action = select_action(out, key, discrete=self.module.discrete, greedy=greedy)
        return action, ActState(norm)

    # ------------------------------------------------------------------ provenance
    def with_evaluation(self, returns: Any, *, seed: int | None = None,
                        greedy: bool | None = None) -> TrainedPolicy:
        """This policy recording an evaluation (``EpisodeReturns`` or an array of
        returns): its model card's ``model-index`` reports it."""
        import numpy as np

        r = np.asarray(getattr(returns, "returns", returns), np.float64).ravel()
        info = dataclasses.replace(
            self.info, eval_mean=float(r.mean()), eval_std=float(r.std()),
            eval_episodes=int(r.size), eval_seed=seed,
            eval_greedy=self.recipe.eval.greedy if greedy is None else bool(greedy))
        return self.replace(info=info)

    # ------------------------------------------------------------------ sharing
    # Supplied by hades_zoo.hub (register_policy_sharing): engine/ never imports hub/.
    def save_pretrained(self, directory, **kwargs: Any):
        """Write a policy folder (see ``hades_zoo.hub.policy_repo.save_policy``)."""
        return _sharing("save_pretrained")(self, directory, **kwargs)

    @classmethod
    def from_pretrained(cls, source, **kwargs: Any) -> TrainedPolicy:
        """Load a policy (see ``hades_zoo.hub.policy_repo.load_policy``)."""
        return _sharing("from_pretrained")(source, **kwargs)

    def push_to_hub(self, repo_id: str, **kwargs: Any):
        """Upload to a Hub model repo (see ``hades_zoo.hub.policy_repo.push_policy``)."""
        return _sharing("push_to_hub")(self, repo_id, **kwargs)

    def __repr__(self) -> str:
        env = self.recipe.env.name if self.recipe else "?"
        kind = "discrete" if self.module is not None and self.discrete else "continuous"
        return (f"TrainedPolicy(dataset={self.info.dataset_id!r}, env={env!r}, {kind}, "
                f"obs_norm={self.obs_norm if self.recipe else '?'!r})")


def make_env(source: Any) -> Env:
    """The env of a dataset's or policy's protocol, built as ``evaluate`` builds it.

    Args:
        source: a ``SyntheticDataset``, a ``TrainedPolicy``, a ``Recipe`` or an
            ``EnvConfig``.

    Returns:
        ``Env`` with ``spec`` (``obs_dim``, ``action_dim``, ``discrete``,
        ``max_episode_steps``) and pure, jittable single-env functions
        ``reset(key) -> (obs (obs_dim,), env_state)`` and
        ``step(key, env_state, action) -> (obs, env_state, reward (), done ())``.
        ``step`` auto-resets: after ``done`` the returned obs starts the next
        episode. Observations are raw (``policy.act`` normalises them); brax clips
        actions to [-1, 1]. ``jax.vmap`` them for a batch of envs.

    Raises:
        EnvError: an image dataset (no env), an unknown env or backend.
    """
    cfg = source
    if not isinstance(source, (EnvConfig, Recipe)):
        cfg = getattr(source, "recipe", None)
        if cfg is None:
            raise EnvError(
                f"make_env takes a dataset, a trained policy, a Recipe or an EnvConfig; "
                f"got {type(source).__name__} (without a recipe).")
    if isinstance(cfg, Recipe):
        cfg = cfg.env
    return _make_env(cfg)
