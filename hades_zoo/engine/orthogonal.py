"""The orthogonal initializer of the reference MLP, safe to ``vmap`` over a population.

``orthogonal(scale)`` draws the same matrices as ``jax.nn.initializers.orthogonal(scale)``
(flax's ``orthogonal``): a standard normal matrix, its QR factorisation, Q with the
signs of R's diagonal (Mezzadri 2007, https://arxiv.org/abs/math-ph/0609050), times
``scale``. The difference is what happens under ``jax.vmap``.

Why: on jaxlib 0.10 a batched QR on CPU (``lapack_sgeqrf_ffi``) splits its batch over
XLA's intra-op thread pool and blocks the calling pool thread until the pieces finish
(``jax::ParallelBatchMap``). When as many batched QRs run at once as the pool has
threads -- the three layers of a policy initialised for a whole population on a 2-core
machine, or one per device with ``--xla_force_host_platform_device_count`` -- every
thread waits for work that no thread is left to run: ``hades-zoo distill`` froze at 0 %
CPU (found 2026-12-02; a batched init of (4, 64), (64, 64), (64, 2) matrices for 256
candidates reproduces it).

Here the init is a ``jax.custom_batching.custom_vmap`` function of the key whose batching
rule maps the unbatched init over the batch with ``lax.map``: each QR is then a single
matrix, which jaxlib factorises on the calling thread. Every matrix is the same
LAPACK factorisation of the same normal draw as in the batched kernel, so the values
are bit-identical to flax's (``tests/test_orthogonal.py``); nested ``vmap`` maps again.
The cost is that a population's QRs run one after another, which for the widths used
here (<= 512) is a few milliseconds per generation.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_batching import custom_vmap

__all__ = ["orthogonal"]


def _unbatched(key: jax.Array, shape: tuple[int, ...], dtype: Any,
               column_axis: int) -> jax.Array:
    init = jax.nn.initializers.orthogonal(1.0, column_axis=column_axis, dtype=dtype)
    return init(key, shape, dtype)


def _mapped(shape: tuple[int, ...], dtype: Any, column_axis: int):
    @custom_vmap
    def draw(key):
        return _unbatched(key, shape, dtype, column_axis)

    @draw.def_vmap
    def _rule(axis_size, in_batched, key):
        (batched,) = in_batched
        if not batched:
            return draw(key), False
        return jax.lax.map(draw, key), True

    return draw


def orthogonal(scale: float = 1.0, column_axis: int = -1, dtype: Any = None):
    """An initializer of (semi-)orthogonal matrices times ``scale``.

    Same signature and values as ``jax.nn.initializers.orthogonal`` (and flax's
    ``nn.initializers.orthogonal``): ``init(key, shape, dtype) -> Array`` of ``shape``
    (at least 2-D; orthonormal along ``column_axis`` or the other side, whichever is
    smaller). Under ``vmap`` the QR factorisations run one matrix at a time (see the
    module docstring for the jaxlib deadlock this avoids).

    Raises:
        ValueError: ``shape`` has fewer than two dimensions.
    """

    def init(key: jax.Array, shape, dtype_: Any = dtype) -> jax.Array:
        dt = jnp.float32 if dtype_ is None else dtype_
        shape = tuple(int(d) for d in shape)
        if len(shape) < 2:
            raise ValueError("orthogonal initializer requires at least a 2D shape")
        if math.prod(shape) == 0:
            return jnp.zeros(shape, dt)
        q = _mapped(shape, np.dtype(dt), column_axis)(key)
        return jnp.array(scale, dt) * q

    return init
