"""Use a dataset: train a policy on it by behaviour cloning, measure its episode returns,
record its episodes.

Every function uses the protocol stored in the dataset (env, backend, normalisation,
network, BC, evaluation); keyword overrides change one piece of it explicitly.
``evaluate`` and ``rollout`` play the same episodes from the same keys with one step
function (``engine.rollout.make_episode_rollout``): ``rollout(...).returns`` equals
``evaluate(...).returns`` for the same arguments, bit for bit (with ``record_state``,
up to the last bits: see ``rollout``). On CPU with <= 32 episodes both run one program
(``engine.programs.episodes_runner``): XLA's quick-compile codegen fuses a program
that records its steps differently from one that does not. Elsewhere the two
programs differ only in what they output, and gave the same bits where measured
(hopper, ``vmap`` and ``map`` with XLA's default codegen, 2026-12-03).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades_zoo.data.dataset import SyntheticDataset
from hades_zoo.data.limits import (
    MAX_BC_STEPS,
    MAX_EPISODES,
    MAX_SEEDS,
    check_count,
    check_policy_size,
)
from hades_zoo.data.recipe import Recipe
from hades_zoo.engine import programs
from hades_zoo.engine.acting import PolicyInfo, TrainedPolicy
from hades_zoo.engine.envs import env_spec
from hades_zoo.engine.policy import init_policy_params, make_policy
from hades_zoo.engine.progress import Steps
from hades_zoo.engine.rollout import compile_fast, make_episode_rollout
from hades_zoo.engine.tasks.control import ControlTask
from hades_zoo.errors import DatasetFormatError, RecipeError

__all__ = ["train_policy", "evaluate", "rollout", "train_and_evaluate",
           "protocol_returns", "TrainedPolicy", "EpisodeReturns", "Trajectories"]


@dataclasses.dataclass(frozen=True)
class EpisodeReturns:
    """Returns of ``episodes`` full episodes (natural sign)."""

    returns: np.ndarray

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std_return(self) -> float:
        return float(np.std(self.returns))

    @property
    def episodes(self) -> int:
        return int(self.returns.size)


# width and depth: data.limits (the limit a recipe's policy: section has too)
_OVERRIDE_LIMITS = {"steps": (1, MAX_BC_STEPS), "lr": (1e-7, 10.0)}


def with_overrides(recipe: Recipe, *, width: int | None = None, depth: int | None = None,
                   activation: str | None = None, lr: float | None = None,
                   steps: int | None = None) -> Recipe:
    """Recipe with policy/BC overrides applied (and range-checked).

    A different width/depth/activation cannot reuse a HaDES-F fixed init, so the init
    becomes a fresh one (``init_seed=None``).

    Raises:
        RecipeError: an override outside its valid range.
    """
    for name, value in (("width", width), ("depth", depth)):
        if value is not None:
            check_policy_size(name, value, f"{name}={value!r}")
    for name, value in (("lr", lr), ("steps", steps)):
        if value is None:
            continue
        lo, hi = _OVERRIDE_LIMITS[name]
        if isinstance(value, bool) or not (lo <= value <= hi):
            raise RecipeError(f"{name}={value!r} is out of range [{lo}, {hi}].")
    if activation is not None and activation not in ("tanh", "relu"):
        raise RecipeError(f"activation must be 'tanh' or 'relu', got {activation!r}.")
    policy = recipe.policy
    changed_arch = any(v is not None and v != getattr(policy, k) for k, v in
                       (("width", width), ("depth", depth), ("activation", activation)))
    policy = dataclasses.replace(
        policy,
        width=width if width is not None else policy.width,
        depth=depth if depth is not None else policy.depth,
        activation=activation if activation is not None else policy.activation,
        init_seed=None if changed_arch else policy.init_seed,
    )
    bc = dataclasses.replace(recipe.bc, lr=lr if lr is not None else recipe.bc.lr,
                             steps=steps if steps is not None else recipe.bc.steps)
    variant = "R" if (changed_arch and recipe.variant == "F") else recipe.variant
    return dataclasses.replace(recipe, policy=policy, bc=bc, variant=variant)


def _task_and_arrays(ds: SyntheticDataset, recipe: Recipe):
    task = ControlTask(recipe)
    states = jnp.asarray(ds.states, jnp.float32)
    targets = ds.bc_targets(task.spec.action_dim)
    weights = ds.bc_weights()
    return task, states, targets, weights


def train_policy(ds: SyntheticDataset, *, seed: int = 0, key: jax.Array | None = None,
                 **overrides: Any) -> TrainedPolicy:
    """Train a policy from scratch on ``ds`` by behaviour cloning (its own protocol).

    Args:
        ds: the dataset.
        seed / key: init randomness (ignored by a HaDES-F fixed init).
        **overrides: ``width``, ``depth``, ``activation``, ``lr``, ``steps``.

    Returns:
        TrainedPolicy; ``evaluate`` runs it in the dataset's env.
    """
    recipe = with_overrides(ds.recipe, **overrides)
    spec = env_spec(recipe.env)  # the stored BC program needs no env (engine.programs)
    info = _policy_info(ds, None if key is not None else seed, overrides)
    args = (jax.random.key(seed) if key is None else key, *programs.bc_arrays(ds, spec))
    params, losses = programs.train_program(recipe, args).lower(*args).compile()(*args)
    return TrainedPolicy(params=params, bc_losses=losses, obs_mean=ds.obs_mean,
                         obs_var=ds.obs_var, recipe=recipe, info=info,
                         module=make_policy(recipe.policy, spec.action_dim, spec.discrete))


def _policy_info(ds: SyntheticDataset, seed: int | None, overrides: dict) -> PolicyInfo:
    """Provenance of a policy trained on ``ds`` (its id and sha256, the BC seed)."""
    from hades_zoo.data.cache import sha256_bytes
    from hades_zoo.data.dataset import dataset_to_bytes

    try:
        sha = sha256_bytes(dataset_to_bytes(ds))
    except DatasetFormatError:  # an in-memory dataset that cannot be a file
        sha = None
    return PolicyInfo(dataset_id=ds.info.dataset_id, dataset_sha256=sha, seed=seed,
                      overrides=tuple(sorted((k, v) for k, v in overrides.items()
                                             if v is not None)))


def evaluate(policy: TrainedPolicy, *, episodes: int = 10, greedy: bool | None = None,
             seed: int = 0, key: jax.Array | None = None, batching: str = "auto"
             ) -> EpisodeReturns:
    """Run ``episodes`` full episodes of ``policy`` in its dataset's env.

    Args:
        greedy: act with the mode; default: the dataset's eval protocol.
        batching: ``"vmap"`` / ``"map"`` / ``"auto"`` (see
            ``rollout.make_episode_evaluate``): how the episodes are stepped together;
            a compile-time versus run-time trade, not a change of protocol.
    """
    key = jax.random.key(seed + 1_000_003) if key is None else key
    run = programs.episodes_runner(policy.recipe, policy.module, policy.obs_mean,
                                   policy.obs_var, episodes=episodes, greedy=greedy,
                                   batching=batching, key=key, params=policy.params)
    return EpisodeReturns(np.asarray(run(policy.params)))


@dataclasses.dataclass(frozen=True)
class Trajectories:
    """The episodes :func:`rollout` played, as numpy arrays, episode-major.

    ``N`` episodes, ``T = env.spec.max_episode_steps`` steps each (the env's episode
    cap: 500 for CartPole, the recipe's ``episode_length`` for brax). Each env plays
    one episode from reset; an env whose episode ended keeps being stepped (on its
    auto-reset next episode) until the longest one ends, and those steps have
    ``mask`` False.

    Attributes:
        observations: (N, T, obs_dim) float32: the raw observation each action was
            chosen from (``[:, 0]`` is the reset observation).
        actions: (N, T) int32 (discrete) or (N, T, action_dim) float32 (the policy's
            output, unclipped; brax clips it to [-1, 1] when stepping).
        rewards: (N, T) float32: the reward of each step.
        dones: (N, T) bool: the episode ended at this step.
        mask: (N, T) bool: the step belongs to the env's first episode (True up to
            and including its first ``done``).
        returns: (N,) float32: each first episode's return (natural sign), equal to
            ``evaluate(...).returns`` for the same arguments; the sum of ``rewards``
            over ``mask`` up to float rounding.
        lengths: (N,) int: steps in each first episode (``mask.sum(1)``); ``T`` for
            an episode cut at the cap.
        states: what ``rollout(record_state=f)`` recorded: ``f`` of the env state
            each action was taken in, a pytree of (N, T, ...) arrays (brax's joint
            positions ``q`` for ``engine.render``); ``None`` without ``record_state``.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    mask: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray
    states: Any = None

    @property
    def episodes(self) -> int:
        return int(self.returns.size)

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns))


def _episode_program(policy: TrainedPolicy, episodes: int, greedy: bool | None,
                     batching: str, *, record: bool, record_state=None):
    """(the jittable program, its const-stat arguments) for ``policy``'s episodes."""
    check_count(episodes, "episodes", MAX_EPISODES, "number of episodes")
    recipe = policy.recipe
    task = ControlTask(recipe)
    greedy = recipe.eval.greedy if greedy is None else greedy
    run = make_episode_rollout(task.env, policy.module, num_episodes=episodes,
                               greedy=greedy, obs_norm=recipe.env.obs_norm,
                               batching=batching, record=record,
                               record_state=record_state)
    return run, task.norm_arrays(policy.obs_mean, policy.obs_var)


def rollout(policy: TrainedPolicy, *, episodes: int = 10, greedy: bool | None = None,
            seed: int = 0, key: jax.Array | None = None, batching: str = "auto",
            record_state: Callable[[Any], Any] | None = None) -> Trajectories:
    """Play ``episodes`` full episodes of ``policy`` in its env and record them.

    The same episodes as :func:`evaluate` with the same arguments (same keys, same
    step function): ``rollout(p, episodes=N, seed=S).returns`` equals
    ``evaluate(p, episodes=N, seed=S).returns``.

    Args:
        policy: a ``TrainedPolicy`` (trained or loaded).
        episodes: how many envs play one episode each, side by side.
        greedy: act with the mode; default: the protocol's ``eval.greedy``.
        seed / key: the evaluation randomness (``key`` wins; ``seed`` S uses
            ``jax.random.key(S + 1_000_003)``, as ``evaluate``).
        batching: see :func:`evaluate`.
        record_state: also record a jittable function of each env state (one env's,
            before each step; e.g. ``lambda s: s.pipeline_state.q`` for brax) into
            ``Trajectories.states``. The same episodes, from the same keys and step
            function; but on CPU with <= 32 episodes (``rollout.fast_tier``) this is
            another program, which XLA may fuse differently, and its returns can
            differ from ``evaluate``'s in the last bits (measured 2026-12-03: hopper,
            20-step episodes, 6.6e-6 relative; hopper-R-64's 1000-step episodes
            equal), more over a long chaotic episode. Without ``record_state`` the
            program is ``evaluate``'s own (``engine.programs``), so the returns are
            equal bit for bit.

    Returns:
        Trajectories (shapes in its docstring). Memory: ``N x T x obs_dim`` floats.

    Raises:
        RecipeError: ``episodes`` < 1.
        EnvError: the policy's env cannot be built (an image dataset's policy).
    """
    key = jax.random.key(seed + 1_000_003) if key is None else key
    if record_state is None:  # evaluate's program (engine.programs), stored like it
        run = programs.episodes_runner(policy.recipe, policy.module, policy.obs_mean,
                                       policy.obs_var, episodes=episodes, greedy=greedy,
                                       batching=batching, key=key, params=policy.params,
                                       steps=True)
        returns, steps = run(policy.params)
    else:
        program, (mean, var) = _episode_program(policy, episodes, greedy, batching,
                                                record=True, record_state=record_state)
        lowered = jax.jit(program).lower(key, policy.params, mean, var)
        returns, steps = compile_fast(lowered, batching, episodes)(
            key, policy.params, mean, var)
    obs, action, reward, done, live = steps[:5]

    def episode_major(x) -> np.ndarray:
        return np.swapaxes(np.asarray(x), 0, 1)

    mask = episode_major(live)
    states = (jax.tree_util.tree_map(episode_major, steps[5])
              if record_state is not None else None)
    return Trajectories(observations=episode_major(obs), actions=episode_major(action),
                        rewards=episode_major(reward), dones=episode_major(done),
                        mask=mask, returns=np.asarray(returns), lengths=mask.sum(1),
                        states=states)


def train_and_evaluate(ds: SyntheticDataset, *, seed: int = 0, episodes: int = 10,
                       greedy: bool | None = None, batching: str = "auto", **overrides: Any
                       ) -> tuple[TrainedPolicy, EpisodeReturns]:
    """``train_policy`` then ``evaluate`` (same keys, same numbers), compiled together.

    The evaluation program (the long compile) is traced first and compiles in a
    background thread while the BC program is traced, compiled and run; this is what
    the CLI runs. ``batching``: see ``evaluate``.
    """
    from concurrent.futures import ThreadPoolExecutor

    check_count(episodes, "episodes", MAX_EPISODES, "number of episodes")
    recipe = with_overrides(ds.recipe, **overrides)
    spec = env_spec(recipe.env)
    module = make_policy(recipe.policy, spec.action_dim, spec.discrete)
    greedy = recipe.eval.greedy if greedy is None else greedy
    train_args = (jax.random.key(seed), *programs.bc_arrays(ds, spec))
    # Critical path: (build env -> trace) eval -> compile eval (the long one) -> run.
    # The BC program is (traced,) compiled and run while the evaluation compiles. Both
    # programs stored (engine.programs): nothing is traced, no env is built, and with
    # JAX's cache nothing is compiled. (Tracing BC first and compiling it during the
    # env build measured no faster on 2 cores: XLA's compile uses both, so it slows
    # the single-threaded Python work down.)
    train = programs.train_program(recipe, train_args)
    params_shape = jax.eval_shape(  # cheap: no BC trace
        lambda k: init_policy_params(module, k, spec.obs_dim), train_args[0])
    pool = ThreadPoolExecutor(1)
    try:
        run = programs.episodes_runner(
            recipe, module, ds.obs_mean, ds.obs_var, episodes=episodes, greedy=greedy,
            batching=batching, key=jax.random.key(seed + 1_000_003), params=params_shape,
            compile_in=pool)
        params, losses = train.lower(*train_args).compile()(*train_args)
        returns = run(params)
    finally:  # a stop (Ctrl-C) need not wait for the compile in the thread to end
        pool.shutdown(wait=False)
    policy = TrainedPolicy(params=params, bc_losses=losses, obs_mean=ds.obs_mean,
                           obs_var=ds.obs_var, module=module, recipe=recipe,
                           info=_policy_info(ds, seed, overrides))
    res = EpisodeReturns(np.asarray(returns))
    return policy.with_evaluation(res, seed=seed, greedy=greedy), res


def protocol_returns(ds: SyntheticDataset, *, seeds: int = 5, seed: int = 0,
                     **overrides: Any) -> np.ndarray:
    """The dataset's fitness as measured during distillation, for ``seeds`` BC seeds.

    Each seed trains ``num_inits`` policies (a fixed init for HaDES-F) and evaluates
    them with the recipe's eval protocol (``num_envs`` x ``num_steps``, pooled
    completed episodes). Comparable to the recorded fitness. A HaDES-RR dataset is
    trained with its nominal ``policy`` / ``bc`` (fresh inits, as HaDES-R), not with
    draws from its ``inner_loop`` ranges, so its recorded fitness (a population mean
    over random architectures) is not the same quantity.

    Progress (compile, then run, with the seconds so far) is logged to
    ``hades_zoo.progress`` (``hades_zoo.engine.progress``); the CLI shows it.

    Returns:
        (seeds,) mean returns.
    """
    check_count(seeds, "seeds", MAX_SEEDS, "number of BC seeds")
    recipe = with_overrides(ds.recipe, **overrides)
    # the clock starts before the env is built: the steps' seconds add up to the call's
    steps = Steps(f"{ds.dataset_id}: protocol returns, {seeds} seeds x "
                  f"{recipe.num_inits} inits", total=2)
    with steps.step(f"build the env, compile BC ({recipe.bc.steps} steps) + evaluation "
                    f"({recipe.eval.num_envs} envs x {recipe.eval.num_steps} steps)"):
        task, states, targets, weights = _task_and_arrays(ds, recipe)
        mean, var = task.norm_arrays(ds.obs_mean, ds.obs_var)
        keys = jax.random.split(jax.random.key(seed), seeds)

        # The dataset, its normalisation stats and the fixed init are arguments, not
        # constants: datasets of one protocol share one program (and its cache entry).
        def run(keys, states, mean, var, targets, weights, init):
            fitness = task.make_fitness_fn(mean, var, targets, weights, init_params=init,
                                           randomised=False)  # RR: the nominal net
            return jax.vmap(fitness, in_axes=(0, None))(keys, {"states": states})[0]

        args = (keys, states, mean, var, targets, weights, task.fixed_params)
        compiled = jax.jit(run).lower(*args).compile()  # the jit call's program
    with steps.step(f"train {seeds * recipe.num_inits} policies and evaluate them"):
        returns = jax.block_until_ready(compiled(*args))
    return np.asarray(returns)
