"""Multi-task merge: zero padding (disjoint by default), exact split, clear errors."""

import numpy as np
import pytest

import hades_zoo as hz
from hades_zoo.errors import DatasetFormatError


def _same(a, b):
    assert a.arrays().keys() == b.arrays().keys()
    for k, v in a.arrays().items():
        np.testing.assert_array_equal(b.arrays()[k], v)
    assert a.recipe == b.recipe and a.info == b.info


def test_continuous_merge_pads_and_splits():
    parts = [hz.load("hopper-R-64"), hz.load("humanoid-F-64"), hz.load("hopper-R-4")]
    m = hz.merge(parts, layout="shared")
    assert m.layout == "shared" and m.states.shape == (132, 244) and m.actions.shape == (132, 17)
    assert list(m.obs_dims) == [11, 244, 11] and list(m.act_dims) == [3, 17, 3]
    assert np.all(m.states[:64, 11:] == 0) and np.all(m.actions[:64, 3:] == 0)
    assert list(np.bincount(m.task_ids)) == [64, 64, 4]
    assert m.dataset_ids == ("hopper-R-64", "humanoid-F-64", "hopper-R-4")
    for a, b in zip(parts, m.split(), strict=True):
        _same(a, b)


def test_discrete_merge_keeps_labels_and_masks():
    parts = [hz.load("breakout-minatar-F-16"), hz.load("spaceinvaders-minatar-R-16")]
    m = hz.merge(parts)  # default layout: disjoint, 400 + 600 input columns
    assert m.discrete and m.states.shape == (32, 1000) and list(m.offsets) == [0, 400]
    assert list(m.act_dims) == [3, 4] and int(m.mask.sum()) == 31
    for a, b in zip(parts, m.split(), strict=True):
        _same(a, b)


def test_mixed_kinds_are_refused():
    with pytest.raises(
        DatasetFormatError, match="cannot merge discrete-label and continuous"
    ):
        hz.merge([hz.load("hopper-R-4"), hz.load("pong-misc-F-3")])


def test_empty_and_wrong_types():
    with pytest.raises(DatasetFormatError, match="at least one"):
        hz.merge([])
    with pytest.raises(DatasetFormatError, match="SyntheticDatasets"):
        hz.merge([np.zeros(3)])
    with pytest.raises(IndexError):
        hz.merge([hz.load("hopper-R-4")]).task(1)


def test_disjoint_layout_gives_each_task_its_own_columns():
    parts = [hz.load("hopper-R-64"), hz.load("humanoid-F-64"), hz.load("hopper-R-4")]
    m = hz.merge(parts, layout="disjoint")
    assert m.layout == "disjoint" and list(m.offsets) == [0, 11, 255]
    assert m.states.shape == (132, 11 + 244 + 11) and m.actions.shape == (132, 17)
    cols = [(0, 11), (11, 255), (255, 266)]
    for t, (lo, hi) in enumerate(cols):
        rows = np.asarray(m.task_ids) == t
        block = np.asarray(m.states)[rows]
        np.testing.assert_array_equal(block[:, lo:hi], np.asarray(parts[t].states))
        assert not np.delete(block, np.s_[lo:hi], axis=1).any()
    for a, b in zip(parts, m.split(), strict=True):
        _same(a, b)
    assert "layout=disjoint" in repr(m) and hz.merge(parts).layout == "disjoint"
    assert hz.merge(parts, layout="shared").layout == "shared"


def test_padded_policy_places_obs_at_its_offset():
    import jax
    import jax.numpy as jnp

    from hades_zoo.data.recipe import PolicyConfig
    from hades_zoo.engine.policy import init_policy_params, make_policy
    from hades_zoo.zoo.multitask_train import _PaddedPolicy

    module = make_policy(PolicyConfig(width=8), 5, False)
    params = init_policy_params(module, jax.random.key(0), 9)
    x = jnp.arange(1.0, 4.0)[None]  # a 3-dim observation at columns 4..6 of 9
    out, log_std = _PaddedPolicy(module, 9, 2, offset=4).apply(params, x)
    ref, ref_std = module.apply(params, jnp.pad(x, ((0, 0), (4, 2))))
    np.testing.assert_allclose(out, ref[:, :2])
    np.testing.assert_allclose(log_std, ref_std[..., :2])


def test_unknown_layout_is_refused():
    with pytest.raises(DatasetFormatError,
                       match="unknown merge layout 'stacked'; use one of disjoint, shared"):
        hz.merge([hz.load("hopper-R-4")], layout="stacked")
