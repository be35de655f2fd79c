"""Image fitness: train the reference CNN on the synthetic images, score it on real ones.

The supervised inner loop of HaDES's dataset-distillation experiments (Lupu et al.,
"Behaviour Distillation", ICLR 2024, Sec. 5.3): a freshly initialised CNN is trained
by full-batch SGD on the D synthetic images with fixed labels, then its loss on the
real training images is the candidate's fitness (minimised).

Protocol facts, as run for the published MNIST / FashionMNIST datasets (config
``NET=CNN, WIDTH=128, LR=0.1, MOMENTUM=0, UPDATE_EPOCHS=1000, NORMALIZE=true``):

- network: Conv(16, 3x3, SAME, stride 1) -> relu -> flatten -> Dense(WIDTH) -> relu
  -> Dense(10); flax default lecun-normal kernels, U[0, 0.05) biases on the conv and
  hidden layers, zero output bias;
- training: ``UPDATE_EPOCHS`` full-batch SGD steps (lr ``LR``, momentum ``MOMENTUM``)
  on ``-mean(log_softmax(logits) * onehot)``, i.e. cross-entropy / num_classes;
- pixels: real images divided by 255 (``NORMALIZE``); the synthetic images live in
  that scale;
- fitness: the same loss on all real training images, averaged over ``num_inits``
  fresh initialisations (HaDES-R) or from one fixed init (HaDES-F).

Everything here is a pure function over arrays (jit / vmap / scan); real data is
scored in fixed-size batches with ``lax.map`` so memory does not grow with N.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from hades_zoo.data.cache import use_compilation_cache
from hades_zoo.data.recipe import BCConfig, ImageConfig, Recipe
from hades_zoo.engine.tasks.image_start import (
    class_basis_images,
    class_mean_images,
    fixed_image_labels,
)
from hades_zoo.errors import RecipeError

__all__ = ["ImageCNN", "PatchConv", "ImageTask", "ImageScores", "fixed_image_labels", "class_mean_images",
           "class_basis_images",
           "image_protocol_scores", "image_protocol_scores_splits",
           "EVAL_BATCH"]

EVAL_BATCH = 1000


class PatchConv(nn.Module):
    """``nn.Conv`` (stride 1, SAME padding, no dilation) as patches x kernel matmul.

    Same parameters (``kernel`` (k, k, C, F), ``bias`` (F,)), same initialisers and,
    named ``Conv_0``, the same init values as ``nn.Conv``; outputs agree to float
    rounding. Why not ``nn.Conv``: inside the population ``shard_map`` a vmapped
    ``conv_general_dilated`` whose kernel depends on the traced per-generation key
    (HaDES-R's fresh inits) cannot be differentiated with respect to the kernel:
    jax 0.7's conv batching rule raises ``NotImplementedError`` once the transposed
    conv carries an ``out_sharding`` (jax/_src/lax/convolution.py,
    ``_conv_general_dilated_batch_rule``). Slices and an einsum batch anywhere.
    """

    features: int
    kernel_size: int = 3
    bias_init: Callable[..., Any] = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:  # (N, H, W, C) -> (N, H, W, F)
        k, c = self.kernel_size, x.shape[-1]
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (k, k, c, self.features))
        bias = self.param("bias", self.bias_init, (self.features,))
        lo = (k - 1) // 2  # lax's SAME padding: the extra pixel goes after
        xp = jnp.pad(x, ((0, 0), (lo, k - 1 - lo), (lo, k - 1 - lo), (0, 0)))
        h, w = x.shape[1], x.shape[2]
        patches = jnp.stack([xp[:, i:i + h, j:j + w, :] for i in range(k) for j in range(k)],
                            axis=3)  # (N, H, W, k*k, C), row-major over (i, j)
        return jnp.einsum("nhwpc,pcf->nhwf", patches,
                          kernel.reshape(k * k, c, self.features)) + bias


class ImageCNN(nn.Module):
    """The reference image classifier (see module doc); returns logits (N, classes)."""

    num_classes: int
    width: int = 128
    conv_features: int = 16
    kernel_size: int = 3

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:  # (N, H, W, C)
        bias = nn.initializers.uniform(0.05)
        k = self.kernel_size
        x = PatchConv(self.conv_features, k, bias_init=bias, name="Conv_0")(x)
        x = nn.relu(x)
        x = x.reshape((x.shape[0], -1))
        x = nn.relu(nn.Dense(self.width, bias_init=bias)(x))
        return nn.Dense(self.num_classes)(x)


class ImageScores(NamedTuple):
    """Scores of a classifier on real images (scalars, or stacked over seeds).

    Attributes:
        loss: ``-mean(log_softmax * onehot)`` = cross-entropy / num_classes (the
            reference fitness, minimised).
        cross_entropy: mean cross-entropy in nats.
        accuracy: fraction classified correctly.
    """

    loss: jax.Array
    cross_entropy: jax.Array
    accuracy: jax.Array


def _optimizer(bc: BCConfig) -> optax.GradientTransformation:
    if bc.optimizer == "sgd":
        return optax.sgd(bc.lr, momentum=bc.momentum or None)
    return optax.adam(bc.lr, eps=bc.eps)


def _loss_terms(logits: jax.Array, onehot: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Per-example (cross-entropy, correct) for (N, C) logits and targets."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    ce = -jnp.sum(logp * onehot, axis=-1)
    correct = (jnp.argmax(logits, -1) == jnp.argmax(onehot, -1)).astype(jnp.float32)
    return ce, correct


class ImageTask:
    """The static image protocol of a recipe, as pure jittable functions."""

    def __init__(self, recipe: Recipe):
        if recipe.image is None:
            raise RecipeError(
                f"recipe {recipe.name!r} has no image section; ImageTask needs an "
                "image-classification recipe (env.backend: image).")
        use_compilation_cache()  # every program built on a task: once per process
        self.recipe = recipe
        self.image: ImageConfig = recipe.image
        self.module = ImageCNN(num_classes=self.image.num_classes, width=recipe.policy.width,
                               conv_features=self.image.conv_features,
                               kernel_size=self.image.kernel_size)
        self.tx = _optimizer(recipe.bc)
        self.labels = fixed_image_labels(recipe.dataset.size, self.image.num_classes)
        self.initial_states: np.ndarray | None = None  # (D, H*W*C): the ES start
        self.basis: np.ndarray | None = None  # (D, K, H*W*C): image.search_basis
        self.fixed_params: Any | None = None
        if recipe.policy.init_seed is not None:
            self.fixed_params = self.module.init(jax.random.key(recipe.policy.init_seed),
                                                 self._dummy())

    def set_real_images(self, pixels: np.ndarray, labels: np.ndarray) -> None:
        """Attach the real fitness images and what the ES start is built from them:
        ``real_pixels`` / ``real_labels``, ``initial_states`` (class means, or zeros for
        ``init_mode: zero``) and, with ``image.search_basis``, ``basis``.

        Args:
            pixels: (N, H, W, C) float, in the protocol's scale; labels: (N,) int.

        Raises:
            RecipeError: a class has no real image (mean start) or too few (basis).
        """
        img, d = self.image, self.recipe.dataset.size
        self.real_pixels, self.real_labels = pixels, labels
        self.initial_states = (
            class_mean_images(pixels, labels, d, img.num_classes)
            if img.init_mode == "mean" else np.zeros((d, img.num_pixels), np.float32))
        if img.search_basis:
            self.basis = class_basis_images(pixels, labels, np.asarray(self.labels),
                                            img.search_basis)

    def _dummy(self) -> jax.Array:
        return jnp.zeros((1, *self.image.shape), jnp.float32)

    @property
    def onehot(self) -> jax.Array:
        """(D, C) one-hot BC targets of the fixed labels."""
        return jax.nn.one_hot(self.labels, self.image.num_classes)

    def initial_solution(self) -> dict[str, jax.Array]:
        """The ES start: ``{"states": (D, H*W*C)}`` (the ``initial_states``), or with
        ``image.search_resolution`` r > 0 ``{"offset": (D, r*r*C)}`` zeros, or with
        ``image.search_basis`` K > 0 ``{"coef": (D, K)}`` zeros.

        Raises:
            RecipeError: ``initial_states`` was not set (the real images give it).
        """
        if self.initial_states is None:
            raise RecipeError("the image task has no initial_states (class means of the "
                              "real images); set them before distilling.")
        if self.image.search_basis:
            if self.basis is None:
                raise RecipeError("image.search_basis is set but the task has no basis "
                                  "images (class_basis_images of the real images).")
            return {"coef": jnp.zeros(self.basis.shape[:2], jnp.float32)}
        r = self.image.search_resolution
        if r:
            d = self.recipe.dataset.size
            return {"offset": jnp.zeros((d, r * r * self.image.channels), jnp.float32)}
        return {"states": jnp.asarray(self.initial_states, jnp.float32)}

    def decode(self, solution: dict[str, jax.Array]) -> jax.Array:
        """(D, H*W*C) images of an ES solution (pure; see ``initial_solution``).

        ``{"offset"}`` is upsampled bilinearly (``jax.image.resize``, ``linear``) from
        (r, r) to (H, W) and added to ``initial_states``; ``{"coef"}`` (D, K) weighs
        each image's K ``basis`` directions, added to ``initial_states``.
        """
        if "states" in solution:
            return solution["states"]
        if "coef" in solution:  # image.search_basis
            moved = jnp.einsum("dk,dkp->dp", solution["coef"],
                               jnp.asarray(self.basis, jnp.float32))
            return jnp.asarray(self.initial_states, jnp.float32) + moved
        r, img = self.image.search_resolution, self.image
        offset = jnp.reshape(solution["offset"], (-1, r, r, img.channels))
        up = jax.image.resize(offset, (offset.shape[0], *img.shape), method="linear")
        return jnp.asarray(self.initial_states, jnp.float32) + up.reshape(offset.shape[0], -1)

    def to_images(self, states: jax.Array) -> jax.Array:
        """(D, H*W*C) flat states -> (D, H, W, C) images."""
        return jnp.reshape(states, (-1, *self.image.shape))

    # ----------------------------------------------------------------- inner loop
    def init_params(self, key: jax.Array) -> Any:
        """Fresh CNN params from ``key`` (HaDES-R) or the fixed init (HaDES-F)."""
        if self.fixed_params is not None:
            return self.fixed_params
        return self.module.init(key, self._dummy())

    def loss(self, params: Any, images: jax.Array, onehot: jax.Array) -> jax.Array:
        """The reference loss: ``-mean(log_softmax(logits) * onehot)`` (= CE / C)."""
        logits = self.module.apply(params, images)
        return -jnp.mean(jax.nn.log_softmax(logits, -1) * onehot)

    def train(self, key: jax.Array, states: jax.Array, onehot: jax.Array | None = None,
              steps: int | None = None) -> tuple[Any, jax.Array]:
        """Train a CNN on the synthetic images (pure; vmap over ``key`` for seeds).

        Args:
            key: init key (ignored by a HaDES-F fixed init).
            states: (D, H*W*C) synthetic images, flattened.
            onehot: (D, C) targets; default the fixed one-hot labels.
            steps: SGD steps (static); default the protocol's ``bc.steps``.

        Returns:
            (params, losses (steps,)): trained params and the loss before each step.
        """
        images = self.to_images(states)
        onehot = self.onehot if onehot is None else onehot
        params = self.init_params(key)
        opt_state = self.tx.init(params)
        grad_fn = jax.value_and_grad(self.loss)

        def step(carry, _):
            params, opt_state = carry
            value, grads = grad_fn(params, images, onehot)
            updates, opt_state = self.tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), value

        (params, _), losses = jax.lax.scan(step, (params, opt_state), None,
                                           length=self.recipe.bc.steps if steps is None
                                           else steps)
        return params, losses

    # ----------------------------------------------------------------- real data
    def make_score(self, pixels: np.ndarray, labels: np.ndarray, *,
                   batch_size: int = EVAL_BATCH) -> Callable[[Any], ImageScores]:
        """``score(params) -> ImageScores`` on fixed real images (pure, jittable).

        The images are padded to a multiple of ``batch_size`` and scored batch by
        batch with ``lax.map`` (padding has zero weight), so memory is bounded.

        Args:
            pixels: (N, H, W, C) float real images in the protocol's scale.
            labels: (N,) int class indices.
        """
        n = int(labels.shape[0])
        if n == 0:
            raise ValueError("no real images to score on")
        if tuple(pixels.shape[1:]) != self.image.shape:
            raise RecipeError(
                f"real images have shape {tuple(pixels.shape[1:])} but the recipe's "
                f"image shape is {self.image.shape}.")
        b = min(batch_size, n)
        pad = -n % b
        x = np.concatenate([pixels, np.zeros((pad, *pixels.shape[1:]), pixels.dtype)])
        y = np.concatenate([np.asarray(labels), np.zeros(pad, np.int64)])
        w = np.concatenate([np.ones(n, np.float32), np.zeros(pad, np.float32)])
        nb = (n + pad) // b
        xb = jnp.asarray(x, jnp.float32).reshape(nb, b, *pixels.shape[1:])
        yb = jax.nn.one_hot(jnp.asarray(y).reshape(nb, b), self.image.num_classes)
        wb = jnp.asarray(w).reshape(nb, b)
        classes = self.image.num_classes

        def score(params: Any) -> ImageScores:
            def one(batch):
                xi, yi, wi = batch
                ce, correct = _loss_terms(self.module.apply(params, xi), yi)
                return jnp.sum(ce * wi), jnp.sum(correct * wi)

            ce_sum, correct_sum = jax.lax.map(one, (xb, yb, wb))
            ce = jnp.sum(ce_sum) / n
            return ImageScores(loss=ce / classes, cross_entropy=ce,
                               accuracy=jnp.sum(correct_sum) / n)

        return score

    def make_fitness_fn(self, pixels: np.ndarray, labels: np.ndarray, *,
                        batch_size: int = EVAL_BATCH):
        """``fitness(key, solution) -> (loss, aux)`` for one candidate (pure).

        ``solution`` is ``{"states": (D, H*W*C)}`` or a low-resolution
        ``{"offset"}`` (``decode``); the loss is averaged over
        ``num_inits`` trainings (fresh inits from ``key``, or the fixed init), each of
        ``image.fitness_steps`` SGD steps when set (a truncated inner loop), else
        ``bc.steps``. With ``image.fitness_batch`` B > 0 the classifiers are scored
        on B of the real images drawn without replacement from a key split off
        ``key`` (the same draw for every candidate under common random numbers).

        Raises:
            RecipeError: ``image.fitness_batch`` is larger than the real images given.
        """
        k = self.recipe.num_inits
        steps = self.image.fitness_steps or self.recipe.bc.steps
        batch = self.image.fitness_batch
        if batch:
            score = self._batch_score(pixels, labels, batch)
        else:
            fixed = self.make_score(pixels, labels, batch_size=batch_size)

            def score(params, _key):
                return fixed(params)

        def fitness(key, sol):
            k_batch = None
            if batch:
                key, k_batch = jax.random.split(key)

            def one(kk):
                params, losses = self.train(kk, self.decode(sol), steps=steps)
                return score(params, k_batch), losses[-1]

            scores, bc_loss = jax.vmap(one)(jax.random.split(key, k))
            return jnp.mean(scores.loss), {"accuracy": jnp.mean(scores.accuracy),
                                           "bc_loss": jnp.mean(bc_loss)}

        return fitness

    def _batch_score(self, pixels: np.ndarray, labels: np.ndarray, batch: int
                     ) -> Callable[[Any, jax.Array], ImageScores]:
        """``score(params, key)`` on ``batch`` real images drawn by ``key``."""
        n = int(labels.shape[0])
        if batch > n:
            raise RecipeError(
                f"image.fitness_batch={batch} is more than the {n} real fitness images; "
                f"set it to at most {n} (0: score on all of them).")
        x_all = jnp.asarray(pixels, jnp.float32)
        y_all = jax.nn.one_hot(jnp.asarray(labels), self.image.num_classes)
        classes = self.image.num_classes

        def score(params: Any, key: jax.Array) -> ImageScores:
            idx = jax.random.choice(key, n, (batch,), replace=False)
            ce, correct = _loss_terms(self.module.apply(params, x_all[idx]), y_all[idx])
            return ImageScores(loss=jnp.mean(ce) / classes, cross_entropy=jnp.mean(ce),
                               accuracy=jnp.mean(correct))

        return score


def image_protocol_scores(task: ImageTask, states: jax.Array, pixels: np.ndarray,
                          labels: np.ndarray, *, seeds: int = 5, seed: int = 0,
                          batch_size: int = EVAL_BATCH) -> ImageScores:
    """Retrain on ``states`` for ``seeds`` seeds and score on real images.

    Each seed trains ``num_inits`` classifiers (keys split from the seed's key; the
    fixed init for HaDES-F) and averages their scores, exactly as the fitness does.
    Seeds run one after another (``lax.map``) to bound memory.

    Returns:
        ImageScores of (seeds,) arrays.
    """
    return image_protocol_scores_splits(task, states, [(pixels, labels)], seeds=seeds,
                                        seed=seed, batch_size=batch_size)[0]


def image_protocol_scores_splits(task: ImageTask, states: jax.Array,
                                 splits: Sequence[tuple[np.ndarray, np.ndarray]], *,
                                 seeds: int = 5, seed: int = 0,
                                 batch_size: int = EVAL_BATCH) -> list[ImageScores]:
    """``image_protocol_scores`` on several real splits with the same classifiers.

    Each classifier is trained once and scored on every ``(pixels, labels)`` split;
    the result for a split equals ``image_protocol_scores`` on it alone (same keys,
    same classifiers), at the cost of one training instead of one per split.

    Returns:
        One ImageScores of (seeds,) arrays per split, in order.
    """
    scores = [task.make_score(p, y, batch_size=batch_size) for p, y in splits]
    k = task.recipe.num_inits

    def one_seed(key):
        def one_init(kk):
            params = task.train(kk, states)[0]
            return [score(params) for score in scores]

        per_init = jax.lax.map(one_init, jax.random.split(key, k))
        return [ImageScores(*(jnp.mean(v) for v in s)) for s in per_init]

    keys = jax.random.split(jax.random.key(seed), seeds)
    return jax.jit(lambda ks: jax.lax.map(one_seed, ks))(keys)
