"""Reference importer: protocol mapping, safetensors round trip, clear format errors."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hades_zoo.cli import cli
from hades_zoo.data.dataset import dataset_to_bytes, save_dataset
from hades_zoo.errors import DatasetFormatError, UnknownDatasetError
from hades_zoo.zoo.importer import import_reference
from hades_zoo.zoo.loading import load_dataset_file
from hades_zoo.zoo.reference import read_reference, reference_dataset_id

FIXTURES = Path(__file__).parent / "fixtures"
HOPPER = FIXTURES / "brax__distill__hopper__D4__seed0.npz"
IDP = (
    FIXTURES
    / "brax__no_virtual_batch_norm__overfit__inverted_double_pendulum__D64__seed0.npz"
)
BREAKOUT = FIXTURES / (
    "minatar__virtual_batch_norm__overfit__Breakout-MinAtar__D16__"
    "greedy_actFalse__seed0__trimmed.npz"
)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference-datasets" / "npz"


def _npz(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _write(tmp_path, arrays, name="x.npz"):
    out = tmp_path / name
    np.savez(out, **arrays)
    return out


def test_brax_const_hades_r():
    ds = import_reference(HOPPER)
    raw = _npz(HOPPER)
    r = ds.recipe
    assert ds.dataset_id == "hopper-R-4" == r.name
    assert (r.variant, r.num_inits, r.seed) == ("R", 2, 0)
    assert (r.env.name, r.env.backend, r.env.episode_length) == (
        "hopper",
        "positional",
        1000,
    )
    assert (r.env.obs_norm, r.env.compat) == ("const", "")
    assert (r.policy.width, r.policy.depth, r.policy.activation) == (512, 2, "tanh")
    assert r.policy.init_seed is None
    assert (r.bc.lr, r.bc.steps, r.bc.eps, r.bc.max_grad_norm) == (
        0.005,
        200,
        1e-5,
        0.5,
    )
    assert (r.eval.num_envs, r.eval.num_steps, r.eval.greedy) == (4, 1024, False)
    assert (r.es.strategy, r.es.popsize, r.es.generations) == ("OpenES", 2048, 2000)
    assert (r.es.sigma_init, r.es.lrate_init) == (0.03, 0.05)
    np.testing.assert_array_equal(
        ds.states, raw["states"]
    )  # the ES mean, not best member
    np.testing.assert_array_equal(ds.actions, raw["actions"])
    np.testing.assert_array_equal(ds.obs_mean, raw["obs_mean"])
    np.testing.assert_array_equal(ds.obs_var, raw["obs_var"])
    assert ds.info.fitness == pytest.approx(
        float(raw["final_population_fitness"].mean())
    )
    assert ds.info.fitness == pytest.approx(1742.12, abs=0.01)
    assert ds.info.fitness_kind == "final_population_mean_return"
    prov = ds.info.provenance
    assert prov["commit"] == "a600a5ab24674f5a5552699b835ddef34531c10f"
    assert prov["license"] == "Apache-2.0"
    assert prov["source"].endswith(
        "results/ICLR/brax/distill/hopper/D4/seed0/data_final.pkl"
    )
    assert prov["es_best_fitness"] == pytest.approx(float(raw["best_fitness"]))
    assert prov["es_generation"] == 2000
    assert "FOLDER" not in prov["reference_config"]


def test_brax_running_hades_f_with_compat():
    ds = import_reference(IDP)
    r = ds.recipe
    assert ds.dataset_id == "inverted_double_pendulum-F-64"
    assert (r.variant, r.num_inits, r.policy.init_seed) == ("F", 1, 420)
    assert r.policy.legacy_threefry
    assert (r.env.obs_norm, r.env.compat) == ("running", "brax-0.9")
    assert ds.obs_mean is None and ds.obs_var is None
    assert "running observation normaliser" in ds.info.notes
    assert "brax-0.9" in ds.info.notes


def test_minatar_fixed_labels_and_mask():
    ds = import_reference(BREAKOUT)
    raw = _npz(BREAKOUT)
    r = ds.recipe
    assert ds.dataset_id == "breakout-minatar-F-16"
    assert (r.env.name, r.env.backend, r.env.obs_norm) == (
        "Breakout-MinAtar",
        "gymnax",
        "const",
    )
    assert r.bc.max_grad_norm is None  # the reference MinAtar BC did not clip
    assert (r.bc.lr, r.bc.steps) == (0.03, 64)
    assert (r.policy.activation, r.policy.depth, r.policy.init_seed) == ("relu", 2, 420)
    assert (r.es.strategy, r.es.sigma_init, r.es.sigma_limit, r.es.temperature) == (
        "SNES",
        0.5,
        0.01,
        20.0,
    )
    assert r.eval.num_envs == 8
    assert ds.discrete and ds.actions is None
    np.testing.assert_array_equal(ds.labels[:15], raw["action_labels"])
    np.testing.assert_array_equal(ds.labels[:15], np.repeat(np.arange(3), 5))
    np.testing.assert_array_equal(ds.mask, raw["state_used_in_bc"])
    assert ds.mask.sum() == 15 and not ds.mask[15]
    assert "first 15 of 16" in ds.info.notes


@pytest.mark.parametrize("path", [HOPPER, IDP, BREAKOUT], ids=lambda p: p.name[:30])
def test_safetensors_round_trip(tmp_path, path):
    ds = import_reference(path)
    out = save_dataset(ds, tmp_path / "d.safetensors")
    back = load_dataset_file(out)
    assert back.recipe == ds.recipe and back.info == ds.info
    assert back.arrays().keys() == ds.arrays().keys()
    for k, v in ds.arrays().items():
        np.testing.assert_array_equal(back.arrays()[k], v)
    assert dataset_to_bytes(back) == dataset_to_bytes(ds) == out.read_bytes()


def test_explicit_id(tmp_path):
    assert (
        import_reference(HOPPER, dataset_id="hopper-R-4.s9").dataset_id
        == "hopper-R-4.s9"
    )
    with pytest.raises(UnknownDatasetError, match="file:"):
        import_reference(HOPPER, dataset_id="../evil")
    # an id may add tags, not name another env, variant or size (a reviewer:
    # --id walker2d-R-4 on hopper data gave a walker2d id to a hopper dataset)
    for wrong, field in (("walker2d-R-4", "env"), ("hopper-F-4", "variant"),
                         ("hopper-R-64", "size")):
        with pytest.raises(UnknownDatasetError, match=f"{field} .*Its own id is 'hopper-R-4'"):
            import_reference(HOPPER, dataset_id=wrong)


def test_unseen_size_and_env(tmp_path):
    """A file the zoo never saw: D=8, another brax env; built from its config only."""
    raw = _npz(HOPPER)
    cfg = json.loads(str(raw["config_json"]))
    es = json.loads(str(raw["es_config_json"]))
    cfg.update(
        ENV_NAME="walker2d", SEED=3, CONST_NORMALIZE_OBS=False, NORMALIZE_OBS=False
    )
    es["dataset_size"] = 8
    rng = np.random.default_rng(0)
    arrays = {k: v for k, v in raw.items() if k not in ("obs_mean", "obs_var")}
    arrays.update(
        states=rng.normal(size=(8, 17)).astype(np.float32),
        actions=rng.normal(size=(8, 6)).astype(np.float32),
        config_json=np.array(json.dumps(cfg)),
        es_config_json=np.array(json.dumps(es)),
    )
    ds = import_reference(_write(tmp_path, arrays))
    assert ds.dataset_id == "walker2d-R-8.s3"
    assert ds.recipe.env.obs_norm == "none" and ds.size == 8


@pytest.mark.parametrize(
    "drop", ["config_json", "es_config_json", "final_population_fitness"]
)
def test_missing_top_level_key(tmp_path, drop):
    arrays = {k: v for k, v in _npz(HOPPER).items() if k != drop}
    with pytest.raises(DatasetFormatError, match=f"missing key.*{drop}"):
        import_reference(_write(tmp_path, arrays))


@pytest.mark.parametrize(
    "drop, match",
    [
        ("actions", "missing array.*actions"),
        ("obs_mean", "missing array.*obs_mean"),
        ("states", "missing array.*states"),
    ],
)
def test_missing_dataset_arrays(tmp_path, drop, match):
    arrays = {k: v for k, v in _npz(HOPPER).items() if k != drop}
    with pytest.raises(DatasetFormatError, match=match):
        import_reference(_write(tmp_path, arrays))


def test_missing_minatar_arrays(tmp_path):
    arrays = {k: v for k, v in _npz(BREAKOUT).items() if k != "state_used_in_bc"}
    with pytest.raises(DatasetFormatError, match="state_used_in_bc"):
        import_reference(_write(tmp_path, arrays))


def test_config_missing_fields(tmp_path):
    raw = _npz(HOPPER)
    cfg = json.loads(str(raw["config_json"]))
    del cfg["WIDTH"], cfg["LR"]
    raw["config_json"] = np.array(json.dumps(cfg))
    with pytest.raises(DatasetFormatError, match="config_json lacks WIDTH, LR"):
        import_reference(_write(tmp_path, raw))


def test_bad_json_and_not_npz(tmp_path):
    raw = _npz(HOPPER)
    raw["es_config_json"] = np.array("{not json")
    with pytest.raises(DatasetFormatError, match="es_config_json is not valid JSON"):
        import_reference(_write(tmp_path, raw))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"definitely not a zip")
    with pytest.raises(DatasetFormatError, match="not an .npz archive: it is a text file"):
        import_reference(junk)
    junk.write_bytes(b"PK\x03\x04 a damaged zip")
    with pytest.raises(DatasetFormatError, match="not a readable reference"):
        import_reference(junk)
    with pytest.raises(DatasetFormatError, match="no such file"):
        import_reference(tmp_path / "absent.npz")


@pytest.mark.parametrize("content, match", [
    (b"hello\n", "it is a text file"),
    (b"", "the file is empty"),
    (None, r"it is a single \.npy array"),
    (bytes(range(256)), "it does not start as a zip archive does"),
])
def test_a_file_that_is_not_an_npz_is_named_so(tmp_path, content, match):
    """numpy's guess for a text file was 'This file contains pickled (object) data'."""
    path = tmp_path / "x.npz"
    if content is None:
        with open(path, "wb") as f:
            np.save(f, np.zeros(3))
    else:
        path.write_bytes(content)
    with pytest.raises(DatasetFormatError, match="not an .npz archive: " + match) as err:
        import_reference(path)
    assert "pickle" not in str(err.value)


def test_object_arrays_are_never_unpickled(tmp_path):
    raw = _npz(HOPPER)
    raw["states"] = np.array([{"evil": 1}], dtype=object)
    with pytest.raises(DatasetFormatError, match="not a readable reference"):
        import_reference(_write(tmp_path, raw))


def test_complex_arrays_are_refused_not_cast(tmp_path, recwarn):
    raw = _npz(HOPPER)
    raw["states"] = raw["states"].astype(np.complex64) + 1j
    with pytest.raises(DatasetFormatError, match=r"states \(complex64\) are not real"):
        import_reference(_write(tmp_path, raw))
    assert not [w for w in recwarn if "Complex" in type(w.message).__name__]


IMAGE_NPZ = Path("/work/shared/reference-datasets/npz/mnist__MNIST__D10__seed1.npz")


def _image_arrays(**cfg_changes):
    cfg = {"DATASET": "MNIST", "SEED": 0, "OVERFIT": False, "WIDTH": 128, "NET": "CNN",
           "LR": 0.1, "MOMENTUM": 0, "UPDATE_EPOCHS": 1000, "NORMALIZE": True,
           "ACTIVATION": "relu", **cfg_changes}
    es = {"dataset_size": 10, "n_generations": 1000, "popsize": 8, "sigma_init": 0.02,
          "lrate_init": 0.01, "lrate_decay": 0.999, "rollouts_per_candidate": 2,
          "init_mode": "mean"}
    return {
        "images": np.full((10, 28, 28), 0.5, np.float32),
        "labels": np.arange(10, dtype=np.int32),
        "final_mean_train_accuracy": np.array(0.9, np.float32),
        "config_json": np.array(json.dumps(cfg)),
        "es_config_json": np.array(json.dumps(es)),
        "final_population_fitness": np.full(8, 0.04, np.float32),
        "best_fitness": np.array(0.03, np.float32),
        "es_generation": np.array(1000, np.int32),
    }


def test_image_dataset_imports_with_its_protocol(tmp_path):
    path = _write(tmp_path, _image_arrays())
    assert reference_dataset_id(read_reference(path)) == "mnist-R-10"
    ds = import_reference(path)
    r = ds.recipe
    assert ds.states.shape == (10, 784) and ds.labels.tolist() == list(range(10))
    assert (r.env.name, r.env.backend, r.variant, r.num_inits) == ("MNIST", "image", "R", 2)
    assert (r.bc.optimizer, r.bc.lr, r.bc.momentum, r.bc.steps) == ("sgd", 0.1, 0.0, 1000)
    assert (r.policy.width, r.policy.init, r.es.lrate_decay) == (128, "lecun", 0.999)
    assert r.image.shape == (28, 28, 1) and r.image.normalize
    assert ds.info.fitness == pytest.approx(0.04)
    assert ds.info.fitness_kind == "final_population_mean_loss"
    assert ds.info.provenance["final_mean_train_accuracy"] == pytest.approx(0.9)
    assert "cross-entropy / 10" in ds.info.notes


@pytest.mark.skipif(not IMAGE_NPZ.exists(), reason="shared reference data not mounted")
def test_real_image_file_imports():
    ds = import_reference(IMAGE_NPZ)
    assert ds.dataset_id == "mnist-R-10.s1" and ds.recipe.seed == 1
    # pixel/255 scale; evolution pushes some pixels outside [0, 1]
    assert -1 < float(ds.states.min()) < 0 and 1 < float(ds.states.max()) < 2


@pytest.mark.parametrize("changes, match", [
    ({"NET": "mlp"}, "only the reference CNN"),
    ({"DATA_NOISE": 0.1}, "DATA_NOISE"),
])
def test_unsupported_image_runs_are_refused(tmp_path, changes, match):
    with pytest.raises(DatasetFormatError, match=match):
        import_reference(_write(tmp_path, _image_arrays(**changes)))


def test_image_file_without_protocol_keys_is_refused(tmp_path):
    arrays = _image_arrays()
    arrays["config_json"] = np.array(json.dumps({"DATASET": "MNIST", "SEED": 0}))
    with pytest.raises(DatasetFormatError, match="config_json lacks NET, WIDTH"):
        import_reference(_write(tmp_path, arrays))


def test_image_labels_must_be_the_fixed_ones(tmp_path):
    arrays = _image_arrays()
    arrays["labels"] = np.arange(10, dtype=np.int32)[::-1].copy()
    with pytest.raises(DatasetFormatError, match="not the fixed labels"):
        import_reference(_write(tmp_path, arrays))


def test_all_zero_fitness_is_flagged(tmp_path):
    raw = _npz(BREAKOUT)
    for k in (
        "final_population_fitness",
        "max_fitness_per_generation",
        "mean_fitness_per_generation",
    ):
        raw[k] = np.zeros_like(raw[k])
    raw["best_fitness"] = np.array(0.0, np.float32)
    ds = import_reference(_write(tmp_path, raw))
    assert "exactly 0" in ds.info.notes


def test_cli_import_reference(tmp_path):
    out = tmp_path / "h.safetensors"
    res = CliRunner().invoke(cli, ["import-reference", str(HOPPER), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "hopper-R-4" in res.output and out.exists()
    assert load_dataset_file(out).dataset_id == "hopper-R-4"
    bad = _write(
        tmp_path, {k: v for k, v in _npz(HOPPER).items() if k != "config_json"}
    )
    res = CliRunner().invoke(cli, ["import-reference", str(bad), "--out", str(out)])
    assert res.exit_code == 1
    assert "DatasetFormatError" in res.output and "config_json" in res.output


@pytest.mark.skipif(not SHARED.is_dir(), reason="reference datasets not available")
def test_every_reference_file_maps_to_a_unique_id():
    ids = {}
    for path in sorted(SHARED.glob("*.npz")):
        ids.setdefault(reference_dataset_id(read_reference(path)), []).append(path.name)
    assert all(len(v) == 1 for v in ids.values())
    assert len(ids) == len(list(SHARED.glob("*.npz")))


def _bomb(tmp_path, shape=(20000, 20000), name="bomb.npz"):
    """The hopper export with its ``states.npy`` replaced by a member whose header
    declares ``shape`` float32 (1.6 GB for the default) and holds 1 MB of zeros:
    built in milliseconds, as a 1.5 MB zip of a real 20000 x 20000 array would read."""
    import io
    import zipfile

    raw = _npz(HOPPER)
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for key, value in raw.items():
            buf = io.BytesIO()
            if key == "states":
                np.lib.format.write_array_header_1_0(
                    buf, {"descr": "<f4", "fortran_order": False, "shape": shape})
                buf.write(bytes(1 << 20))
            else:
                np.lib.format.write_array(buf, value, allow_pickle=False)
            zf.writestr(f"{key}.npy", buf.getvalue())
    return path


def test_an_npz_bomb_is_refused_from_its_header_before_decompressing(tmp_path,
                                                                     monkeypatch):
    """A 1.5 MB zip holding a 20000 x 20000 float32 states.npy took 3.3 GB and 20 s
    before the shape error; a bigger one exhausted memory."""
    import tracemalloc

    path = _bomb(tmp_path)
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(DatasetFormatError, match=(
                r"member 'states.npy' \(shape \(20000, 20000\), dtype float32\) brings "
                r"the archive's arrays over 268,435,456 bytes.*nothing was decompressed")):
            read_reference(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, peak  # the header and the small members only
    out = tmp_path / "x.safetensors"
    res = CliRunner().invoke(cli, ["import-reference", str(path), "--out", str(out)])
    assert res.exit_code == 1, res.output
    (line,) = res.output.strip().splitlines()
    assert "DatasetFormatError:" in line and "'states.npy'" in line and "(20000, 20000)" in line
    assert "not a readable" not in line  # said once, not wrapped in the generic message
    assert not out.exists()
    # a real, highly compressible array over a (lowered) bound: the same refusal
    import hades_zoo.zoo.reference as reference

    raw = _npz(HOPPER)
    raw["states"] = np.zeros((1000, 1000), np.float32)  # 4 MB, about 4 KB zipped
    real = tmp_path / "real.npz"
    np.savez_compressed(real, **raw)
    monkeypatch.setattr(reference, "MAX_NPZ_BYTES", 2**20)
    with pytest.raises(DatasetFormatError, match=r"'states.npy' \(shape \(1000, 1000\)"):
        read_reference(real)
    monkeypatch.undo()
    with pytest.raises(DatasetFormatError, match="states"):  # in bounds: the shape check
        import_reference(real)
