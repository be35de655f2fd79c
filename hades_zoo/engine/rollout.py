"""Policy evaluation: ``lax.scan`` (or ``lax.while_loop``) over env steps of ``vmap``-ed envs.

Protocol ``pooled`` (the reference's): ``num_envs`` envs are reset once, then stepped
``num_steps`` times with auto-reset. The return is the mean over all episodes that
*completed* inside that window; unfinished episodes do not count. Protocol
``episodes``: each env plays one episode from reset and the loop stops when every
episode has ended (``EvalConfig``). With
``obs_norm='running'`` the mean/var start at (0, 1, count 1e-4) and are updated with
the batch of observations of all envs at reset and after every step (purejaxrl's
``NormalizeVecObservation``), so statistics are shared across the envs of one
evaluation. ``const`` uses the dataset's fixed ``obs_mean``/``obs_var``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from hades_zoo.data.recipe import EvalConfig
from hades_zoo.engine.envs import Env
from hades_zoo.engine.policy import MLPPolicy, select_action

__all__ = ["EvalResult", "make_evaluate", "make_episode_evaluate", "make_episode_rollout",
           "RunningNorm", "policy_obs", "EpisodeCarry", "episode_start", "episode_step", "episodes_result",
           "episode_cap"]

_NORM_EPS = 1e-8


@struct.dataclass
class EvalResult:
    """Outcome of one evaluation (all scalars unless vmapped).

    Attributes:
        mean_return: mean return of completed episodes (partial-episode mean if none).
        episodes: number of completed episodes.
        return_sum: sum of completed-episode returns.
        mean_length: mean length of completed episodes (0 if none).
        partial_return: mean return of the episodes still running at the end.
        env_steps: env steps of this evaluation's episodes (``num_envs`` x loop
            iterations). Under ``vmap`` a batch keeps stepping (masked) until its
            longest episode ends; those masked steps are not counted here.
    """

    mean_return: jax.Array
    episodes: jax.Array
    return_sum: jax.Array
    mean_length: jax.Array
    partial_return: jax.Array
    env_steps: jax.Array


class RunningNorm(NamedTuple):
    """Running observation statistics shared by a batch of envs."""

    mean: jax.Array
    var: jax.Array
    count: jax.Array

    @classmethod
    def create(cls, obs_dim: int) -> RunningNorm:
        return cls(jnp.zeros(obs_dim), jnp.ones(obs_dim), jnp.asarray(1e-4))

    def update(self, batch: jax.Array) -> RunningNorm:
        """Parallel (Chan et al.) mean/var update with a (num_envs, obs_dim) batch."""
        b_mean, b_var, b_count = jnp.mean(batch, 0), jnp.var(batch, 0), batch.shape[0]
        delta = b_mean - self.mean
        tot = self.count + b_count
        m2 = self.var * self.count + b_var * b_count + delta**2 * self.count * b_count / tot
        return RunningNorm(self.mean + delta * b_count / tot, m2 / tot, tot)

    def normalize(self, obs: jax.Array) -> jax.Array:
        return (obs - self.mean) / jnp.sqrt(self.var + _NORM_EPS)


def policy_obs(obs_norm: str, raw, norm: RunningNorm, obs_mean, obs_var):
    """What the policy sees: raw, const-normalised or running-normalised observations
    (``norm`` already updated with ``raw``; ``obs_mean`` / ``obs_var`` for ``const``)."""
    if obs_norm == "running":
        return norm.normalize(raw)
    if obs_norm == "const":
        return (raw - obs_mean) / jnp.sqrt(obs_var + _NORM_EPS)
    return raw


class _Carry(NamedTuple):
    env_state: Any
    obs: jax.Array  # raw observations (num_envs, obs_dim)
    norm: RunningNorm
    ep_return: jax.Array
    ep_length: jax.Array
    return_sum: jax.Array
    length_sum: jax.Array
    episodes: jax.Array
    key: jax.Array


def make_evaluate(env: Env, module: MLPPolicy, cfg: EvalConfig, obs_norm: str
                  ) -> Callable[..., EvalResult]:
    """``evaluate(key, params, obs_mean, obs_var) -> EvalResult`` (pure, jittable).

    ``obs_mean``/``obs_var`` are used only when ``obs_norm == 'const'`` (pass zeros and
    ones otherwise). ``cfg.mode`` picks the protocol (module docstring).
    """
    if cfg.mode == "episodes":
        return _make_episodes_evaluate(env, module, cfg, obs_norm)
    n = cfg.num_envs
    reset_v = jax.vmap(env.reset)
    step_v = jax.vmap(env.step)

    def evaluate(key, params, obs_mean, obs_var) -> EvalResult:
        k_reset, k_run = jax.random.split(key)
        obs, env_state = reset_v(jax.random.split(k_reset, n))
        norm = RunningNorm.create(env.spec.obs_dim)
        if obs_norm == "running":
            norm = norm.update(obs)

        def step(c: _Carry, _):
            key, k_act, k_step = jax.random.split(c.key, 3)
            out = module.apply(params, policy_obs(obs_norm, c.obs, c.norm, obs_mean, obs_var))
            action = select_action(out, k_act, discrete=module.discrete, greedy=cfg.greedy)
            obs, env_state, reward, done = step_v(jax.random.split(k_step, n), c.env_state,
                                                  action)
            norm = c.norm.update(obs) if obs_norm == "running" else c.norm
            ep_return = c.ep_return + reward
            ep_length = c.ep_length + 1
            done_f = done.astype(jnp.float32)
            c = _Carry(
                env_state=env_state,
                obs=obs,
                norm=norm,
                ep_return=ep_return * (1.0 - done_f),
                ep_length=ep_length * (1 - done.astype(jnp.int32)),
                return_sum=c.return_sum + jnp.sum(ep_return * done_f),
                length_sum=c.length_sum + jnp.sum(ep_length * done),
                episodes=c.episodes + jnp.sum(done.astype(jnp.int32)),
                key=key,
            )
            return c, None

        zero = jnp.zeros((n,))
        carry = _Carry(env_state, obs, norm, zero, jnp.zeros((n,), jnp.int32),
                       jnp.asarray(0.0), jnp.asarray(0), jnp.asarray(0), k_run)
        carry, _ = jax.lax.scan(step, carry, None, cfg.num_steps)
        episodes = carry.episodes
        denom = jnp.maximum(episodes, 1)
        partial = jnp.mean(carry.ep_return)
        completed_mean = carry.return_sum / denom
        return EvalResult(
            mean_return=jnp.where(episodes > 0, completed_mean, partial),
            episodes=episodes,
            return_sum=carry.return_sum,
            mean_length=jnp.where(episodes > 0, carry.length_sum / denom, 0.0),
            partial_return=partial,
            env_steps=jnp.asarray(n * cfg.num_steps),
        )

    return evaluate


class EpisodeCarry(NamedTuple):
    """Loop state of one ``episodes`` evaluation (its ``num_envs`` envs)."""

    t: jax.Array
    env_state: Any
    obs: jax.Array  # raw observations (num_envs, obs_dim)
    norm: RunningNorm
    ep_return: jax.Array  # (num_envs,)
    ep_length: jax.Array  # (num_envs,) int
    finished: jax.Array  # (num_envs,) bool
    key: jax.Array


def episode_start(env: Env, n: int, obs_norm: str) -> Callable[[jax.Array], EpisodeCarry]:
    """``start(key) -> carry``: ``n`` envs reset for one ``episodes`` evaluation.

    The first half of the protocol of :func:`_make_episodes_evaluate` (and of the
    continuous scheduler, ``engine.continuous``): ``key`` is split into the reset key
    (one env key each, ``split(k_reset, n)``) and the run key the steps consume.
    """
    reset_v = jax.vmap(env.reset)

    def start(key) -> EpisodeCarry:
        k_reset, k_run = jax.random.split(key)
        obs, env_state = reset_v(jax.random.split(k_reset, n))
        norm = RunningNorm.create(env.spec.obs_dim)
        if obs_norm == "running":
            norm = norm.update(obs)
        return EpisodeCarry(jnp.asarray(0), env_state, obs, norm, jnp.zeros((n,)),
                             jnp.zeros((n,), jnp.int32), jnp.zeros((n,), bool), k_run)

    return start


def episode_step(env: Env, module: MLPPolicy, n: int, greedy: bool, obs_norm: str
                 ) -> Callable[..., EpisodeCarry]:
    """``step(carry, params, obs_mean, obs_var) -> carry``: one step of the ``n`` envs
    of one ``episodes`` evaluation; finished envs keep stepping (their observations
    feed the running normalisation) but add nothing to their return or length."""
    step_v = jax.vmap(env.step)

    def step(c: EpisodeCarry, params, obs_mean, obs_var) -> EpisodeCarry:
        key, k_act, k_step = jax.random.split(c.key, 3)
        out = module.apply(params, policy_obs(obs_norm, c.obs, c.norm, obs_mean, obs_var))
        action = select_action(out, k_act, discrete=module.discrete, greedy=greedy)
        obs, env_state, reward, done = step_v(jax.random.split(k_step, n), c.env_state,
                                              action)
        norm = c.norm.update(obs) if obs_norm == "running" else c.norm
        live = ~c.finished
        return EpisodeCarry(
            t=c.t + 1,
            env_state=env_state,
            obs=obs,
            norm=norm,
            ep_return=c.ep_return + jnp.where(live, reward, 0.0),
            ep_length=c.ep_length + live.astype(jnp.int32),
            finished=c.finished | done,
            key=key,
        )

    return step


def episodes_result(ep_return: jax.Array, ep_length: jax.Array, t: jax.Array) -> EvalResult:
    """The ``EvalResult`` of one ``episodes`` evaluation from its envs' returns and
    lengths ``(n,)`` and its loop iterations ``t``."""
    n = ep_return.shape[-1]
    total = jnp.sum(ep_return)
    return EvalResult(
        mean_return=total / n,
        episodes=jnp.asarray(n),
        return_sum=total,
        mean_length=jnp.mean(ep_length.astype(jnp.float32)),
        partial_return=total / n,
        env_steps=n * t,
    )


def _make_episodes_evaluate(env: Env, module: MLPPolicy, cfg: EvalConfig, obs_norm: str
                            ) -> Callable[..., EvalResult]:
    """The ``episodes`` protocol: one episode per env, stop when all have ended.

    An episode still running at the cap (``min(num_steps, max_episode_steps)``) counts
    as a finished (truncated) episode with the return it has. Finished envs are
    masked, not stepped separately: a batch of ``num_envs`` envs runs as long as its
    longest episode.
    """
    n = cfg.num_envs
    cap = episode_cap(env, cfg)
    start = episode_start(env, n, obs_norm)
    step = episode_step(env, module, n, cfg.greedy, obs_norm)

    def evaluate(key, params, obs_mean, obs_var) -> EvalResult:
        def running(c: EpisodeCarry):
            return (c.t < cap) & ~jnp.all(c.finished)

        c = jax.lax.while_loop(running, lambda c: step(c, params, obs_mean, obs_var),
                               start(key))
        return episodes_result(c.ep_return, c.ep_length, c.t)

    return evaluate


def episode_cap(env: Env, cfg: EvalConfig) -> int:
    """Steps an ``episodes`` evaluation runs at most: ``min(num_steps, env's cap)``."""
    return min(cfg.num_steps, env.spec.max_episode_steps)


# On CPU, ``lax.map`` over the envs (one unbatched env step, looped) traces in ~2/3 the
# time and compiles in ~1/2 the time of ``vmap`` (whose compile grows with the batch),
# but runs ~3x slower per episode; for hopper it wins up to ~64 episodes end to end.
# See benchmarks/bench_eval.py.
MAP_MAX_EPISODES = 32


# The quick-compile tier ("map" on CPU) also compiles with XLA's older fusion codegen:
# ~45% less compile time for the episode evaluation, the same run time, returns that
# agree in distribution (8 episodes x 3 BC seeds, hopper-R-64: 1777.7 vs 1779.8).
FAST_COMPILE_OPTIONS = {"xla_cpu_use_fusion_emitters": False}


def fast_tier(batching: str, num_episodes: int) -> bool:
    """Whether :func:`compile_fast` compiles these episodes with
    ``FAST_COMPILE_OPTIONS`` (``map`` batching on CPU).

    In that tier XLA fuses a program that also outputs its steps
    (``make_episode_rollout(record=True)``) differently from one that outputs only the
    returns, and the returns differ in the last bits (hopper, 20-step episodes:
    31.414100 vs 31.413986, 2026-12-03); ``engine.programs.episodes_runner`` therefore
    runs the recording program for ``evaluate`` too there.
    """
    return _env_batching(batching, num_episodes) == "map" and jax.default_backend() == "cpu"


def compile_fast(lowered: Any, batching: str, num_episodes: int) -> Any:
    """Compile an episode evaluation; the quick-compile tier on CPU (see above).

    Falls back to the default compile if this XLA build rejects the option.
    """
    if fast_tier(batching, num_episodes):
        try:
            return lowered.compile(FAST_COMPILE_OPTIONS)
        except Exception:  # noqa: BLE001 - an XLA without the option: default codegen
            pass
    return lowered.compile()


def _env_batching(batching: str, num_episodes: int) -> str:
    if batching not in ("auto", "vmap", "map"):
        raise ValueError(f"batching must be 'auto', 'vmap' or 'map', got {batching!r}.")
    if batching != "auto":
        return batching
    cpu = jax.default_backend() == "cpu"
    return "map" if cpu and num_episodes <= MAP_MAX_EPISODES else "vmap"


def make_episode_evaluate(env: Env, module: MLPPolicy, *, num_episodes: int, greedy: bool,
                          obs_norm: str, batching: str = "auto") -> Callable[..., jax.Array]:
    """``evaluate(key, params, obs_mean, obs_var) -> returns (num_episodes,)``.

    Runs ``num_episodes`` envs side by side for one full episode each (up to the env's
    episode cap) and returns each env's first-episode return. Running normalisation
    statistics are shared across these envs, as in the distillation protocol.

    ``batching`` says how the envs are stepped together: ``"vmap"`` (one batched env
    step: fastest to run, slowest to compile), ``"map"`` (``lax.map`` of the unbatched
    step: about half the compile time, ~3x the run time on CPU), or ``"auto"`` (``map``
    on CPU for <= ``MAP_MAX_EPISODES`` episodes, else ``vmap``). Same keys and
    semantics either way; returns agree up to float rounding, which a chaotic rollout
    can amplify.
    """
    return make_episode_rollout(env, module, num_episodes=num_episodes, greedy=greedy,
                                obs_norm=obs_norm, batching=batching, record=False)


def make_episode_rollout(env: Env, module: MLPPolicy, *, num_episodes: int, greedy: bool,
                         obs_norm: str, batching: str = "auto", record: bool = True,
                         record_state: Callable[[Any], Any] | None = None
                         ) -> Callable[..., Any]:
    """``run(key, params, obs_mean, obs_var) -> (returns, steps)``: the episodes of
    :func:`make_episode_evaluate`, recording every step.

    One step function serves both (``record=False`` is ``make_episode_evaluate``), so
    the returns are computed by the same operations from the same keys. ``steps`` is
    ``(obs, action, reward, done, live)``, each with leading axes ``(T, num_episodes)``
    where ``T = env.spec.max_episode_steps``: the raw observation the action was chosen
    from, the action, the reward and ``done`` of that step, and ``live`` (the step
    belongs to the env's first episode; later steps run on the auto-reset episode and
    are not counted).

    ``record_state`` (with ``record``): a jittable function of one env's state (the
    adapter's state, e.g. brax's ``State``) to a pytree of arrays, applied to the state
    each action was taken in; its output is appended to ``steps`` with leading axes
    ``(T, num_episodes)`` (``engine.render`` records brax's joint positions ``q`` this
    way). It only reads the state, so the returns are unchanged.
    """
    n, max_steps = num_episodes, env.spec.max_episode_steps
    if _env_batching(batching, n) == "map":
        def reset_v(keys):
            return jax.lax.map(env.reset, keys)

        def step_v(keys, states, actions):
            return jax.lax.map(lambda x: env.step(*x), (keys, states, actions))
    else:
        reset_v, step_v = jax.vmap(env.reset), jax.vmap(env.step)

    def run(key, params, obs_mean, obs_var):
        k_reset, key = jax.random.split(key)
        obs, env_state = reset_v(jax.random.split(k_reset, n))
        norm = RunningNorm.create(env.spec.obs_dim)
        norm = norm.update(obs) if obs_norm == "running" else norm

        def step(carry, _):
            env_state, obs, norm, ret, finished, key = carry
            # what record_state reads: the state the action below is taken in
            seen = (jax.vmap(record_state)(env_state)
                    if record and record_state is not None else None)
            key, k_act, k_step = jax.random.split(key, 3)
            x = policy_obs(obs_norm, obs, norm, obs_mean, obs_var)
            action = select_action(module.apply(params, x), k_act,
                                   discrete=module.discrete, greedy=greedy)
            new_obs, env_state, reward, done = step_v(jax.random.split(k_step, n),
                                                      env_state, action)
            norm = norm.update(new_obs) if obs_norm == "running" else norm
            ret = ret + jnp.where(finished, 0.0, reward)
            out = None
            if record:
                out = (obs, action, reward, done, ~finished)
                if seen is not None:
                    out += (seen,)
            return (env_state, new_obs, norm, ret, finished | done, key), out

        carry = (env_state, obs, norm, jnp.zeros(n), jnp.zeros(n, bool), key)
        carry, steps = jax.lax.scan(step, carry, None, max_steps)
        return (carry[3], steps) if record else carry[3]

    return run
