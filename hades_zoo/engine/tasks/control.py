"""Control fitness: train a policy on a candidate dataset by BC, return its episode return.

This is HaDES's inner loop (Lupu et al., 2024, Alg. 1). ``ControlTask`` closes over a
recipe's static protocol (env, policy module, BC optimiser, evaluation) and exposes
pure functions:

- ``train(key, ds_arrays) -> (params, bc_losses)``: one BC run from the variant's init;
- ``fitness(key, solution) -> (return, aux)``: the ES fitness of one candidate. For
  HaDES-F / -R the candidate is a dataset ``{"states", "actions" | "label_logits"}``;
  for the ``ES`` baseline it is the policy parameters themselves.

HaDES-R trains ``num_inits`` policies from fresh inits (keys shared by the whole
population within a generation: common random numbers, as the reference) and pools
their completed episodes; HaDES-F trains from the one fixed init. HaDES-RR is HaDES-R
whose every BC run also draws its width, depth, activation, BC lr and BC steps from the
recipe's ``inner_loop`` ranges (``engine.randomised``), from the same keys, so under
common random numbers every candidate gets the same draws. Only the fitness during
distillation is randomised: ``train`` and ``make_fitness_fn(randomised=False)`` use the
nominal ``policy`` / ``bc``, which is how a HaDES-RR dataset is trained and evaluated.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades_zoo.data.cache import use_compilation_cache
from hades_zoo.data.recipe import Recipe
from hades_zoo.engine.bc import make_bc_train
from hades_zoo.engine.continuous import make_continuous_evaluate, pool_settings
from hades_zoo.engine.envs import Env, make_env
from hades_zoo.engine.parallel import BlockFitness
from hades_zoo.engine.policy import fixed_init_params, init_policy_params, make_policy
from hades_zoo.engine.randomised import InnerLoopSample, RandomisedInnerLoop
from hades_zoo.engine.rollout import EvalResult, make_evaluate
from hades_zoo.errors import EnvError, RecipeError

__all__ = ["ControlTask", "fixed_labels", "to_es_fitness"]


def to_es_fitness(returns: jax.Array) -> jax.Array:
    """evosax minimises: the one place where returns are negated."""
    return -returns


def fixed_labels(size: int, num_actions: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference fixed labels ``repeat(arange(A), D // A)`` padded to D, and the BC mask.

    Only the first ``A * (D // A)`` pairs are used by BC; the remainder are masked.

    Raises:
        RecipeError: ``size`` < ``num_actions`` (an action would have no state).
    """
    k = size // num_actions
    if k == 0:
        raise RecipeError(
            f"dataset.size={size} is smaller than the env's {num_actions} actions: the "
            "fixed labels give every action at least one state. Fix: a dataset size of "
            f"at least {num_actions} (--set dataset.size={num_actions}).")
    labels = np.zeros(size, np.int32)
    labels[: k * num_actions] = np.repeat(np.arange(num_actions), k)
    mask = np.zeros(size, bool)
    mask[: k * num_actions] = True
    return labels, mask


class ControlTask:
    """The static protocol of a recipe, as pure jittable functions (see module doc)."""

    def __init__(self, recipe: Recipe, *, env: Env | None = None):
        use_compilation_cache()  # every program built on a task: once per process
        self.recipe = recipe
        # Built eagerly, outside any trace: a brax env built lazily inside a jit trace
        # would capture tracers in ``make_env``'s cache (see envs.make_env).
        self.env = env if env is not None else make_env(recipe.env)
        spec = self.env.spec
        self.spec = spec
        wanted = "softmax_ce" if spec.discrete else "gaussian_nll"
        if recipe.bc.loss not in ("auto", wanted):
            raise EnvError(
                f"bc.loss={recipe.bc.loss!r} does not fit env {recipe.env.name!r} "
                f"({'discrete' if spec.discrete else 'continuous'} actions); use "
                f"'{wanted}' or 'auto'."
            )
        if spec.discrete:  # a dataset too small for the fixed labels: said before any run
            fixed_labels(recipe.dataset.size, spec.action_dim)
        self.module = make_policy(recipe.policy, spec.action_dim, spec.discrete)
        self._bc_train = make_bc_train(self.module, recipe.bc)
        # HaDES-F init, built eagerly on the host (never inside a trace).
        self.fixed_params: Any | None = None
        if recipe.policy.init_seed is not None:
            self.fixed_params = fixed_init_params(self.module, recipe.policy, spec.obs_dim)

    @functools.cached_property
    def evaluate(self) -> Callable[..., EvalResult]:
        """``evaluate(key, params, obs_mean, obs_var) -> EvalResult``: the eval protocol."""
        return make_evaluate(self.env, self.module, self.recipe.eval,
                             self.recipe.env.obs_norm)

    @functools.cached_property
    def randomised(self) -> RandomisedInnerLoop:
        """HaDES-RR's inner loop (``engine.randomised``), from ``recipe.inner_loop``."""
        if self.recipe.inner_loop is None:
            raise RecipeError(
                f"recipe {self.recipe.name!r} has no inner_loop: section, so there is "
                "no randomised inner loop; use variant: RR with inner_loop: ranges.")
        spec = self.spec
        return RandomisedInnerLoop(self.recipe.inner_loop, self.recipe.bc,
                                   action_dim=spec.action_dim, discrete=spec.discrete,
                                   obs_dim=spec.obs_dim)

    @functools.cached_property
    def evaluate_randomised(self) -> Callable[..., EvalResult]:
        """``evaluate`` for the randomised inner loop's masked network."""
        return make_evaluate(self.env, self.randomised.module, self.recipe.eval,
                             self.recipe.env.obs_norm)

    # ----------------------------------------------------------------- datasets
    def solution_template(self) -> dict[str, jax.Array]:
        """Zero arrays with the structure the ES evolves (dataset variants)."""
        d, spec = self.recipe.dataset.size, self.spec
        sol = {"states": jnp.zeros((d, spec.obs_dim))}
        if not spec.discrete:
            sol["actions"] = jnp.zeros((d, spec.action_dim))
        elif self.recipe.dataset.learn_labels:
            sol["label_logits"] = jnp.zeros((d, spec.action_dim))
        return sol

    def static_arrays(self) -> dict[str, np.ndarray]:
        """Arrays fixed by the protocol (discrete fixed labels and their mask)."""
        if not self.spec.discrete:
            return {}
        d, a = self.recipe.dataset.size, self.spec.action_dim
        labels, mask = fixed_labels(d, a)
        if self.recipe.dataset.learn_labels:
            return {"labels": labels, "mask": np.ones(d, bool)}
        return {"labels": labels, "mask": mask}

    def targets_and_weights(self, sol: dict[str, jax.Array]) -> tuple[jax.Array, jax.Array]:
        """BC targets and per-pair weights for a candidate (pure)."""
        if not self.spec.discrete:
            return sol["actions"], jnp.ones(sol["states"].shape[0])
        static = self.static_arrays()
        if "label_logits" in sol:
            targets = jax.nn.softmax(sol["label_logits"], axis=-1)
        else:
            targets = jax.nn.one_hot(static["labels"], self.spec.action_dim)
        return targets, jnp.asarray(static["mask"], jnp.float32)

    # ----------------------------------------------------------------- inner loop
    def init_params(self, key: jax.Array) -> Any:
        """Initial policy params: the fixed HaDES-F init, or fresh from ``key``."""
        if self.fixed_params is not None:
            return self.fixed_params
        return init_policy_params(self.module, key, self.spec.obs_dim)

    def train(self, key, states, targets, weights, init_params=None):
        """One BC run. Returns ``(params, losses (steps,))``."""
        params = self.init_params(key) if init_params is None else init_params
        return self._bc_train(params, states, targets, weights)

    def train_and_evaluate(self, key, states, targets, weights, obs_mean, obs_var,
                           init_params=None) -> tuple[EvalResult, jax.Array]:
        """Train from this task's init (or ``init_params``) with ``key`` and evaluate
        with a split of it."""
        k_init, k_eval = jax.random.split(key)
        params, losses = self.train(k_init, states, targets, weights, init_params)
        return self.evaluate(k_eval, params, obs_mean, obs_var), losses[-1]

    def train_and_evaluate_randomised(self, key, states, targets, weights, obs_mean,
                                      obs_var
                                      ) -> tuple[EvalResult, jax.Array, InnerLoopSample]:
        """HaDES-RR: draw an architecture and BC setting, init, train and evaluate,
        all from ``key``. Returns ``(EvalResult, final BC loss, the draw)``."""
        k_train, k_eval = jax.random.split(key)
        variables, loss, sample = self.randomised.train(k_train, states, targets,
                                                        weights)
        result = self.evaluate_randomised(k_eval, variables, obs_mean, obs_var)
        return result, loss, sample

    def norm_arrays(self, obs_mean=None, obs_var=None) -> tuple[jax.Array, jax.Array]:
        """Const-normalisation stats, or (0, 1) placeholders."""
        d = self.spec.obs_dim
        mean = jnp.zeros(d) if obs_mean is None else jnp.asarray(obs_mean, jnp.float32)
        var = jnp.ones(d) if obs_var is None else jnp.asarray(obs_var, jnp.float32)
        return mean, var

    def make_fitness_fn(self, obs_mean=None, obs_var=None, targets=None, weights=None,
                        init_params=None, *, randomised: bool | None = None):
        """``fitness(key, solution) -> (mean_return, aux)`` for one candidate (pure).

        Returns are pooled over ``num_inits`` BC runs: sum of completed-episode returns
        divided by the number of completed episodes, as the reference. ``aux`` holds
        ``episodes``, the final ``bc_loss`` and ``env_steps`` (simulated, all inits). ``targets`` /
        ``weights`` fix the BC targets (a stored dataset's labels) instead of deriving
        them from the candidate. ``init_params`` replaces the task's init (every BC run
        starts from it), e.g. the HaDES-F init passed as a traced argument rather than
        baked into the program as a constant. ``randomised`` (default: the recipe is
        ``variant: RR``) runs HaDES-RR's randomised inner loop; ``aux`` then also
        holds ``inner_loop``, the ``num_inits`` draws (an ``InnerLoopSample`` of
        ``(num_inits,)`` arrays). ``randomised=False`` is the nominal protocol.

        With ``eval.mode: episodes`` and ``eval.scheduler: continuous`` the result is a
        ``BlockFitness`` (callable as the fitness): a population evaluator trains a
        block of candidates, then plays all their episodes through one pool of env
        slots (``engine.continuous``), with the same returns and ``aux`` as the
        per-candidate function, plus ``aux["simulated_steps"]`` (the block's env
        steps, idle slots included, shared equally by its candidates).
        """
        mean, var = self.norm_arrays(obs_mean, obs_var)
        k = self.recipe.num_inits
        if randomised is None:
            randomised = self.recipe.variant == "RR"

        if self.recipe.variant == "ES":
            def fitness_es(key, params):
                res = jax.vmap(lambda kk: self.evaluate(kk, params, mean, var))(
                    jax.random.split(key, k))
                return _pool(res), {"episodes": jnp.sum(res.episodes),
                                    "bc_loss": jnp.asarray(0.0),
                                    "env_steps": jnp.sum(res.env_steps)}
            if self._continuous:
                return BlockFitness(fitness_es, self._block_fitness(mean, var, None, None,
                                                                    None, False))
            return fitness_es

        def fitness(key, sol):
            if targets is None:
                y, w = self.targets_and_weights(sol)
            else:
                y, w = targets, weights
            keys, extra = jax.random.split(key, k), {}
            if randomised:
                res, loss, extra["inner_loop"] = jax.vmap(
                    lambda kk: self.train_and_evaluate_randomised(
                        kk, sol["states"], y, w, mean, var))(keys)
            else:
                res, loss = jax.vmap(
                    lambda kk: self.train_and_evaluate(kk, sol["states"], y, w, mean, var,
                                                       init_params))(keys)
            return _pool(res), {"episodes": jnp.sum(res.episodes), "bc_loss": jnp.mean(loss),
                                "env_steps": jnp.sum(res.env_steps), **extra}

        if self._continuous:
            return BlockFitness(fitness, self._block_fitness(mean, var, targets, weights,
                                                             init_params, randomised))
        return fitness

    @property
    def _continuous(self) -> bool:
        ev = self.recipe.eval
        return ev.mode == "episodes" and ev.scheduler == "continuous"

    def _block_fitness(self, mean, var, targets, weights, init_params, randomised):
        """``block(keys (B,), solutions (B, ...)) -> (fitness (B,), aux)``: the
        fitness of ``make_fitness_fn`` for a block of candidates, their episodes
        played through one pool of env slots (``engine.continuous``).

        Every candidate's BC runs are those of the per-candidate fitness (the same
        keys split the same way, the same ``vmap`` nesting), and its ``num_inits``
        evaluations are the ``episodes`` mode's, so fitness and ``aux`` are equal.
        """
        k = self.recipe.num_inits
        module = self.randomised.module if randomised else self.module
        cfg, norm = self.recipe.eval, self.recipe.env.obs_norm

        def evaluator(num_evals: int):
            slots, shrink = pool_settings(num_evals)
            return make_continuous_evaluate(self.env, module, cfg, norm, slots=slots,
                                            shrink=shrink)

        def pooled(res: EvalResult, stats, b: int, loss, extra):
            res = jax.tree.map(lambda a: a.reshape(b, k), res)
            simulated = jnp.full((b,), stats.slot_steps / b, jnp.float32)
            return jax.vmap(_pool)(res), {"episodes": jnp.sum(res.episodes, axis=1),
                                          "bc_loss": loss,
                                          "env_steps": jnp.sum(res.env_steps, axis=1),
                                          "simulated_steps": simulated, **extra}

        if self.recipe.variant == "ES":
            def block_es(keys, params):  # keys (B,), params (B, ...)
                b = keys.shape[0]
                eval_keys = jax.vmap(lambda key: jax.random.split(key, k))(keys)
                res, stats = evaluator(b * k)(eval_keys.reshape(b * k), params, mean, var,
                                             jnp.repeat(jnp.arange(b), k))
                return pooled(res, stats, b, jnp.zeros((b,)), {})
            return block_es

        def train_one(key, sol):
            """One candidate's ``num_inits`` BC runs: (params, eval keys, loss, draws)."""
            if targets is None:
                y, w = self.targets_and_weights(sol)
            else:
                y, w = targets, weights

            def per_init(kk):
                k_train, k_eval = jax.random.split(kk)
                if randomised:
                    variables, loss, sample = self.randomised.train(k_train, sol["states"],
                                                                    y, w)
                    return variables, k_eval, loss, sample
                params, losses = self.train(k_train, sol["states"], y, w, init_params)
                return params, k_eval, losses[-1], None

            return jax.vmap(per_init)(jax.random.split(key, k))

        def block(keys, sols):
            b = keys.shape[0]
            params, eval_keys, loss, sample = jax.vmap(train_one)(keys, sols)
            flat = jax.tree.map(lambda a: a.reshape(b * k, *a.shape[2:]), params)
            res, stats = evaluator(b * k)(eval_keys.reshape(b * k), flat, mean, var)
            extra = {} if sample is None else {"inner_loop": sample}
            return pooled(res, stats, b, jnp.mean(loss, axis=1), extra)

        return block


def _pool(res: EvalResult) -> jax.Array:
    """Pool completed episodes over a leading axis of evaluations."""
    episodes = jnp.sum(res.episodes)
    return jnp.where(episodes > 0, jnp.sum(res.return_sum) / jnp.maximum(episodes, 1),
                     jnp.mean(res.partial_return))
