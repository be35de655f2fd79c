"""Multi-task merge: zero padding, exact split, clear errors."""

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
    m = hz.merge(parts)
    assert m.states.shape == (132, 244) and m.actions.shape == (132, 17)
    assert list(m.obs_dims) == [11, 244, 11] and list(m.act_dims) == [3, 17, 3]
    assert np.all(m.states[:64, 11:] == 0) and np.all(m.actions[:64, 3:] == 0)
    assert list(np.bincount(m.task_ids)) == [64, 64, 4]
    assert m.dataset_ids == ("hopper-R-64", "humanoid-F-64", "hopper-R-4")
    for a, b in zip(parts, m.split(), strict=True):
        _same(a, b)


def test_discrete_merge_keeps_labels_and_masks():
    parts = [hz.load("breakout-minatar-F-16"), hz.load("spaceinvaders-minatar-R-16")]
    m = hz.merge(parts)
    assert m.discrete and m.states.shape == (32, 600)
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
