"""engine.orthogonal: flax's orthogonal init, bit for bit, without jaxlib's batched-QR deadlock."""

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest
from jax.nn.initializers import orthogonal as reference

from hades_zoo.engine.orthogonal import orthogonal

SHAPES = [((4, 64), 2**0.5), ((64, 64), 2**0.5), ((64, 2), 0.01), ((3, 5, 4), 1.0)]


def _layers(init, key):
    keys = jax.random.split(key, len(SHAPES))
    return [init(scale)(k, shape) for k, (shape, scale) in zip(keys, SHAPES)]


def test_unbatched_equals_jax_initializer():
    key = jax.random.PRNGKey(3)
    for a, b in zip(_layers(orthogonal, key), _layers(reference, key)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_vmapped_and_nested_equal_the_batched_kernel():
    keys = jax.random.split(jax.random.PRNGKey(0), 16)
    ours = jax.jit(jax.vmap(lambda k: _layers(orthogonal, k)))(keys)
    theirs = jax.jit(jax.vmap(lambda k: _layers(reference, k)))(keys)
    nested = jax.jit(jax.vmap(jax.vmap(lambda k: _layers(orthogonal, k))))(
        keys.reshape(4, 4, -1))
    for a, b, c in zip(ours, theirs, nested):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        np.testing.assert_array_equal(np.asarray(c).reshape(a.shape), np.asarray(a))


def test_orthogonality_and_errors():
    w = np.asarray(orthogonal(2.0)(jax.random.PRNGKey(1), (8, 32)))
    np.testing.assert_allclose(w @ w.T, 4.0 * np.eye(8), atol=1e-5)
    with pytest.raises(ValueError, match="2D"):
        orthogonal()(jax.random.PRNGKey(0), (5,))
    assert orthogonal()(jax.random.PRNGKey(0), (0, 3)).shape == (0, 3)


def test_population_init_does_not_deadlock():
    """256 candidates x 3 layers vmapped on 2 CPU devices: with flax's initializer this
    froze at 0 % CPU on jaxlib 0.10.2 (both XLA pool threads in ParallelBatchMap)."""
    code = textwrap.dedent("""
        import jax
        from hades_zoo.engine.orthogonal import orthogonal
        def init(k):
            k1, k2, k3 = jax.random.split(k, 3)
            return (orthogonal(2**0.5)(k1, (4, 64)), orthogonal(2**0.5)(k2, (64, 64)),
                    orthogonal(0.01)(k3, (64, 2)))
        for i in range(3):
            jax.block_until_ready(jax.jit(jax.vmap(init))(
                jax.random.split(jax.random.PRNGKey(i), 256)))
        print("done")
    """)
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                         timeout=300, env={**os.environ, **env})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "done" in out.stdout
