"""safetensors dataset files: exact round trip, and every malformed input rejected."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hades_zoo.data.dataset import SyntheticDataset, save_dataset
from hades_zoo.data.format import read_metadata
from hades_zoo.errors import DatasetFormatError, EnvError
from hades_zoo.zoo.loading import load_dataset_file


def _assert_same(a: SyntheticDataset, b: SyntheticDataset):
    assert a.arrays().keys() == b.arrays().keys()
    for k, v in a.arrays().items():
        np.testing.assert_array_equal(v, b.arrays()[k])
        assert v.dtype == b.arrays()[k].dtype
    assert a.recipe == b.recipe
    assert a.info == b.info


@pytest.mark.parametrize("name", ["cartpole_dataset", "hopper_dataset"])
def test_roundtrip_exact(tmp_path, request, name):
    ds = request.getfixturevalue(name)
    path = save_dataset(ds, tmp_path / "d.safetensors")
    _assert_same(ds, load_dataset_file(path))
    meta = read_metadata(path)
    assert meta["format_version"] == "1"
    assert json.loads(meta["recipe"])["env"]["name"] == ds.recipe.env.name


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(states=np.zeros((2, 4, 1), np.float32)), r"'states' must have shape \(D, obs_dim\)"),
        (dict(states=np.array([[np.nan, 0, 0, 0], [0, 0, 0, 0]], np.float32)), r"NaN/inf"),
        (dict(labels=np.array([0, 1, 1], np.int32)), r"'labels' has shape \(3,\)"),
        (dict(labels=np.array([0.0, 1.0], np.float32)), r"'labels' has dtype float32"),
        (dict(mask=np.array([False, False])), r"'mask' selects no pair"),
        (dict(actions=np.zeros((2, 1), np.float32)), r"exactly one of 'actions'"),
        (dict(obs_mean=np.zeros(4, np.float32)), r"'obs_mean' and 'obs_var' must be given together"),
        (dict(states=np.zeros((2, 4), np.int32)), r"'states' must be floating point"),
    ],
)
def test_bad_arrays_rejected_and_nothing_written(tmp_path, cartpole_dataset, change, match):
    ds = cartpole_dataset.replace(**change)
    path = tmp_path / "bad.safetensors"
    with pytest.raises(DatasetFormatError, match=match):
        save_dataset(ds, path)
    assert not path.exists()


def test_overwrite_keeps_old_file_on_failure(tmp_path, cartpole_dataset):
    path = save_dataset(cartpole_dataset, tmp_path / "d.safetensors")
    before = path.read_bytes()
    with pytest.raises(DatasetFormatError):
        save_dataset(cartpole_dataset.replace(states=np.full((2, 4), np.inf, np.float32)), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["d.safetensors"]


def test_truncated_and_corrupt_files(tmp_path, cartpole_dataset):
    data = save_dataset(cartpole_dataset, tmp_path / "d.safetensors").read_bytes()
    for cut in (4, 100, len(data) - 3):
        p = tmp_path / f"cut{cut}.safetensors"
        p.write_bytes(data[:cut])
        with pytest.raises(DatasetFormatError, match="corrupt|truncated|too short"):
            load_dataset_file(p)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(DatasetFormatError, match="not valid JSON"):
        load_dataset_file(garbage)
    with pytest.raises(DatasetFormatError, match="cannot read"):
        load_dataset_file(tmp_path / "missing.safetensors")


def test_unknown_or_missing_format_version(tmp_path, cartpole_dataset):
    from safetensors.numpy import save_file

    from hades_zoo.data.dataset import dataset_metadata

    meta = dataset_metadata(cartpole_dataset)
    for version, match in (("99", r"format_version '99' is not supported.*upgrade"),
                           (None, r"no 'format_version'")):
        m = dict(meta)
        if version is None:
            m.pop("format_version")
        else:
            m["format_version"] = version
        p = tmp_path / f"v{version}.safetensors"
        save_file(cartpole_dataset.arrays(), str(p), metadata=m)
        with pytest.raises(DatasetFormatError, match=match):
            load_dataset_file(p)


def test_obs_size_mismatch_with_env(tmp_path, cartpole_dataset):
    ds = cartpole_dataset.replace(states=np.zeros((2, 5), np.float32))
    path = save_dataset(ds, tmp_path / "d.safetensors")
    with pytest.raises(EnvError, match="states of size 5 but env 'CartPole-v1'.*observes 4"):
        load_dataset_file(path)


def test_wrong_suffix(tmp_path, cartpole_dataset):
    with pytest.raises(DatasetFormatError, match="end in '.safetensors'"):
        save_dataset(cartpole_dataset, tmp_path / "d.pkl")


def _rewrite_metadata(data: bytes, **changes) -> bytes:
    """Dataset bytes with metadata values replaced by arbitrary JSON values."""
    import json

    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    header["__metadata__"].update(changes)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data[8 + n :]


@pytest.mark.parametrize("key, value, kind", [
    ("format_version", 1, "a JSON number"),
    ("format_version", 1.0, "a JSON number"),
    ("dataset_id", None, "JSON null"),
    ("env", ["CartPole-v1"], "a JSON array"),
    ("recipe", {"name": "x"}, "a JSON object"),
    ("variant", True, "a JSON boolean"),
])
def test_metadata_values_of_the_wrong_type_name_the_key(tmp_path, cartpole_dataset, key,
                                                        value, kind):
    """A hand-edited header with a non-string value is a DatasetFormatError naming the
    key (it was an AttributeError: 'int' object has no attribute 'isdigit')."""
    from hades_zoo.data.dataset import dataset_to_bytes
    from hades_zoo.data.format import read_metadata

    p = tmp_path / "d.safetensors"
    p.write_bytes(_rewrite_metadata(dataset_to_bytes(cartpole_dataset), **{key: value}))
    match = rf"metadata key '{key}' holds {kind}.*values are strings"
    with pytest.raises(DatasetFormatError, match=match):
        load_dataset_file(p)
    with pytest.raises(DatasetFormatError, match=match):
        read_metadata(p)


@pytest.mark.parametrize("key, text, match", [
    ("recipe", "[1, 2]", "'recipe' must be a JSON object, got list"),
    ("info", "not json", "'info' is not valid JSON"),
    ("library", '"1.0"', "'library' must be a JSON object, got str"),
])
def test_json_metadata_values_must_be_objects(tmp_path, cartpole_dataset, key, text, match):
    from hades_zoo.data.dataset import dataset_to_bytes

    p = tmp_path / "d.safetensors"
    p.write_bytes(_rewrite_metadata(dataset_to_bytes(cartpole_dataset), **{key: text}))
    with pytest.raises(DatasetFormatError, match=match):
        load_dataset_file(p)


def test_a_valid_file_is_untouched_by_the_type_checks(tmp_path, cartpole_dataset):
    p = save_dataset(cartpole_dataset, tmp_path / "d.safetensors")
    assert load_dataset_file(p).arrays().keys() == cartpole_dataset.arrays().keys()
