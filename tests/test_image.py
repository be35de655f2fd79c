"""Image datasets: IDX loader, CNN inner loop, eval / certify / plot CLI."""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.data.recipe_io import recipe_from_dict, recipe_to_dict
from hades_zoo.engine.image_data import (
    available_splits,
    load_split,
    read_idx,
    write_idx,
)
from hades_zoo.engine.tasks.image import (
    ImageTask,
    class_mean_images,
    fixed_image_labels,
)
from hades_zoo.errors import DataNotFoundError, DatasetFormatError, RecipeError

from .conftest import REPO, write_image_fixture_dir


@pytest.fixture
def mnist_ds():
    return hz.load("mnist-R-10")


def _short(ds, steps=50):
    r = ds.recipe
    return ds.replace(recipe=r.replace(bc=dataclasses.replace(r.bc, steps=steps)))


@pytest.fixture
def short_mnist_file(mnist_ds, tmp_path):
    """mnist-R-10 with a 20-step protocol (keeps CLI tests fast on CPU)."""
    path = tmp_path / "mnist-R-10.safetensors"
    _short(mnist_ds, 20).save(path)
    return path


# ----------------------------------------------------------------- loader
def test_loader_reads_explicit_dir(image_data_dir):
    split = load_split("MNIST", "test", data_dir=image_data_dir / "mnist")
    assert split.images.shape == (200, 28, 28) and split.images.dtype == np.uint8
    assert split.labels[:5].tolist() == [7, 2, 1, 0, 4]  # the canonical first digits
    assert split.pixels().shape == (200, 28, 28, 1) and split.pixels().max() <= 1.0


def test_loader_env_var_and_cache(image_data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("HADES_ZOO_DATA", str(image_data_dir))
    assert load_split("FashionMNIST", "train").size == 200
    monkeypatch.delenv("HADES_ZOO_DATA")
    from hades_zoo.data.cache import cache_dir

    write_image_fixture_dir(cache_dir() / "data", "fashion-mnist", train=False)
    assert load_split("FashionMNIST", "test").size == 200
    assert available_splits("FashionMNIST") == ["test"]


def test_missing_files_say_what_to_put_where(tmp_path):
    with pytest.raises(DataNotFoundError,
                       match=r"MNIST train data not found: need train-images-idx3-ubyte"
                             r"\.gz, train-labels-idx1-ubyte\.gz in .*--data-dir.*"
                             r"HADES_ZOO_DATA.*train5k"):
        load_split("MNIST", "train", data_dir=tmp_path)


def test_bad_idx_files_are_refused(tmp_path):
    bad = tmp_path / "x.gz"
    with gzip.open(bad, "wb") as fh:
        fh.write((0x999).to_bytes(4, "big") + b"\0" * 8)
    with pytest.raises(DatasetFormatError, match="magic 0x999"):
        read_idx(bad)
    write_idx(bad, np.zeros((3, 28, 28), np.uint8))
    with gzip.open(bad, "rb") as fh:
        data = fh.read()
    with gzip.open(bad, "wb") as fh:
        fh.write(data[:-10])
    with pytest.raises(DatasetFormatError, match="truncated or corrupt"):
        read_idx(bad)
    (tmp_path / "plain.gz").write_bytes(b"not gzip")
    with pytest.raises(DatasetFormatError, match="not a readable gzip"):
        read_idx(tmp_path / "plain.gz")


def test_images_and_labels_must_agree(image_data_dir):
    d = image_data_dir / "mnist"
    write_idx(d / "t10k-labels-idx1-ubyte.gz", np.zeros(10, np.uint8))
    with pytest.raises(DatasetFormatError, match=r"images \(200, 28, 28\) and labels \(10,\)"):
        load_split("MNIST", "test", data_dir=d)


# ----------------------------------------------------------------- recipes / format
def test_control_recipes_serialise_without_image_fields(cartpole_recipe, mnist_ds):
    d = recipe_to_dict(cartpole_recipe)
    assert "image" not in d and "momentum" not in d["bc"] and "lrate_decay" not in d["es"]
    img = recipe_to_dict(mnist_ds.recipe)
    assert img["image"]["height"] == 28 and img["es"]["lrate_decay"] == 0.999
    assert recipe_from_dict(img) == mnist_ds.recipe


def test_image_recipe_needs_both_backend_and_section(mnist_ds):
    with pytest.raises(RecipeError, match="needs both env.backend: image and an image"):
        mnist_ds.recipe.replace(image=None).validate()
    bad = dataclasses.replace(mnist_ds.recipe.image, num_classes=0)
    with pytest.raises(RecipeError, match="image.num_classes must be a positive"):
        mnist_ds.recipe.replace(image=bad).validate()


def test_image_dataset_round_trips(mnist_ds, tmp_path):
    mnist_ds.save(tmp_path / "m.safetensors")
    back = hz.load(f"file:{tmp_path / 'm.safetensors'}")
    np.testing.assert_array_equal(back.states, mnist_ds.states)
    assert back.recipe == mnist_ds.recipe and back.info == mnist_ds.info


# ----------------------------------------------------------------- inner loop
def test_training_fits_the_synthetic_images_and_jit_agrees(mnist_ds):
    task = ImageTask(_short(mnist_ds, 30).recipe)
    states = jnp.asarray(mnist_ds.states)
    params, losses = jax.jit(task.train)(jax.random.key(0), states)
    assert losses.shape == (30,) and float(losses[-1]) < 0.7 * float(losses[0])
    assert bool(jnp.all(jnp.diff(losses) < 0))  # full-batch SGD: monotone here
    with jax.disable_jit():
        _, eager = ImageTask(_short(mnist_ds, 3).recipe).train(jax.random.key(0), states)
    np.testing.assert_allclose(eager, losses[:3], rtol=1e-4, atol=1e-6)
    keys = jax.random.split(jax.random.key(1), 2)
    _, many = jax.jit(jax.vmap(task.train, in_axes=(0, None)))(keys, states)
    assert many.shape == (2, 30) and not np.allclose(many[0], many[1])


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_batched_scoring_equals_one_batch(mnist_ds, image_data_dir):
    task = ImageTask(_short(mnist_ds, 20).recipe)
    split = load_split("MNIST", "test", data_dir=image_data_dir / "mnist")
    params, _ = task.train(jax.random.key(0), jnp.asarray(mnist_ds.states))
    whole = task.make_score(split.pixels(), split.labels, batch_size=200)(params)
    chunked = jax.jit(task.make_score(split.pixels(), split.labels, batch_size=64))(params)
    np.testing.assert_allclose(np.array(whole), np.array(chunked), rtol=1e-5)
    assert float(whole.loss) == pytest.approx(float(whole.cross_entropy) / 10)


def test_the_published_images_beat_the_mean_init(mnist_ds, image_data_dir):
    """Real data check: the evolved images train a far better classifier than the
    ES's starting point, the class-mean images of the 200 fixture images."""
    split = load_split("MNIST", "test", data_dir=image_data_dir / "mnist")
    task = ImageTask(_short(mnist_ds, 200).recipe)
    score = task.make_score(split.pixels(), split.labels)
    mean_init = class_mean_images(split.pixels(), split.labels, 10, 10)

    @jax.jit
    def acc(states):
        return score(task.train(jax.random.key(0), states)[0]).accuracy

    evolved, start = float(acc(jnp.asarray(mnist_ds.states))), float(acc(mean_init))
    assert evolved > 0.8 and evolved > start


def test_fixed_labels_need_whole_classes():
    assert fixed_image_labels(20, 10).tolist() == sorted(list(range(10)) * 2)
    with pytest.raises(RecipeError, match="not a multiple of num_classes"):
        fixed_image_labels(15, 10)


# ----------------------------------------------------------------- CLI
def test_cli_eval_image_json(image_data_dir, short_mnist_file):
    res = CliRunner().invoke(cli, ["eval", str(short_mnist_file), "--data-dir",
                                   str(image_data_dir / "mnist"), "--seeds", "2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["dataset_id"] == "mnist-R-10" and out["backend"] == "image"
    assert out["split"] == "test" and out["examples"] == 200 and out["seeds"] == 2
    assert 0 <= out["accuracy"] <= 1 and len(out["per_seed"]["accuracy"]) == 2
    assert out["loss"] == pytest.approx(out["cross_entropy"] / 10)
    assert out["recorded_train_accuracy"] == pytest.approx(0.896, abs=1e-3)
    assert set(out["seconds"]) == {"import", "load", "train_and_evaluate"}


def test_cli_eval_image_without_data_fails_cleanly(tmp_path):
    res = CliRunner().invoke(cli, ["eval", "fashionmnist-R-10", "--data-dir", str(tmp_path)])
    assert res.exit_code == 1
    assert "DataNotFoundError: FashionMNIST test data not found" in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1


def test_cli_plot_image(tmp_path):
    pytest.importorskip("matplotlib")
    res = CliRunner().invoke(cli, ["plot", "fashionmnist-R-10.s1", "--out",
                                   str(tmp_path / "f.png")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "f.png").stat().st_size > 10_000


def test_cli_certify_image_into_a_repo_copy(tmp_path, image_data_dir, mnist_ds,
                                            monkeypatch):
    """--update-zoo (maintainers) writes a loss certificate into a temporary copy of
    results/ and the card; the zoo id loads with a 20-step protocol (fast on CPU)."""
    from hades_zoo.zoo import loading

    repo = tmp_path / "repo"
    (repo / "cards").mkdir(parents=True)
    shutil.copy(REPO / "cards" / "mnist-R-10.md", repo / "cards")
    monkeypatch.setattr(loading, "load", lambda source: _short(mnist_ds, 20))
    res = CliRunner().invoke(cli, ["certify", "mnist-R-10", "--seeds", "2",
                                   "--update-zoo", "--repo", str(repo), "--data-dir",
                                   str(image_data_dir / "mnist"), "--json"])
    assert res.exit_code == 0, res.output
    rec = json.loads(res.output)
    assert rec["metric"] == "loss" and rec["measured_split"] == "train"
    assert set(rec["splits"]) == {"train", "test"} and len(rec["returns"]) == 2
    assert rec["ratio"] == pytest.approx(rec["recorded"] / rec["mean"])
    table = json.loads((repo / "results" / "certificates.json").read_text())
    assert "mnist-R-10" in table["certificates"]
    card = (repo / "cards" / "mnist-R-10.md").read_text()
    assert "| train | 200 |" in card and "ratio = recorded / measured" in card
    assert "| mnist-R-10 | MNIST | R | 0.0352 |" in (
        repo / "results" / "CERTIFICATES.md").read_text()


# ----------------------------------------------------------------- distill
def test_distill_image_end_to_end(mnist_ds, image_data_dir, tmp_path):
    """A real (tiny) image distillation: 100 real images, pop 16, 3 generations.

    HaDES-F (one fixed init) makes the fitness a deterministic function of the
    images, so 3 OpenES steps measurably lower the loss; the run is bitwise
    reproducible on CPU, so the assertion is not flaky.
    """
    from hades_zoo.engine.distill import _image_task, distill

    r = mnist_ds.recipe
    r = r.replace(name="tiny-mnist-F-10", variant="F", num_inits=1,
                  policy=dataclasses.replace(r.policy, init_seed=0),
                  bc=dataclasses.replace(r.bc, steps=20),
                  es=dataclasses.replace(r.es, popsize=16, generations=3, log_every=1,
                                         sigma_init=0.05, sigma_decay=1.0,
                                         lrate_init=0.01, lrate_decay=1.0))
    data = image_data_dir / "mnist"
    out = distill(r, data_dir=data, image_limit=100, out_dir=tmp_path / "run")
    losses = [m["mean_loss"] for m in out.metrics]
    assert len(losses) == 3 and losses[-1] < losses[0]
    ds = out.dataset
    assert ds.states.shape == (10, 784) and ds.labels.tolist() == list(range(10))
    assert ds.info.fitness_kind == "final_population_mean_loss"
    assert ds.info.provenance["fitness_images"] == "MNIST/train"
    task = _image_task(r, data, None, 100)
    fitness = jax.jit(task.make_fitness_fn(task.real_pixels, task.real_labels))
    key = jax.random.key(5)
    start = float(fitness(key, {"states": jnp.asarray(task.initial_states)})[0])
    end = float(fitness(key, {"states": jnp.asarray(ds.states)})[0])
    assert end < start


def test_patch_conv_is_nn_conv():
    """PatchConv (the CNN's conv) has nn.Conv's params, init values and outputs."""
    import flax.linen as nn

    from hades_zoo.engine.tasks.image import PatchConv

    x = jax.random.normal(jax.random.key(2), (2, 7, 9, 3))
    for k in (3, 4):
        ref, ours = nn.Conv(5, (k, k), padding="SAME"), PatchConv(5, k, name="Conv_0")
        p_ref, p_ours = ref.init(jax.random.key(0), x), ours.init(jax.random.key(0), x)
        assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), p_ref, p_ours))
        np.testing.assert_allclose(ours.apply(p_ref, x), ref.apply(p_ref, x), atol=2e-6)


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_image_hades_r_fitness_runs_in_the_population_evaluator(mnist_ds):
    """HaDES-R (fresh inits from the traced generation key) through the population
    shard_map: nn.Conv's kernel gradient could not be batched there (jax 0.7)."""
    from hades_zoo.engine.parallel import global_mesh, make_population_evaluator
    from hades_zoo.engine.tasks.image import ImageTask

    r = mnist_ds.recipe
    r = r.replace(num_inits=2, bc=dataclasses.replace(r.bc, steps=2),
                  es=dataclasses.replace(r.es, popsize=3))
    task = ImageTask(r)
    pixels = np.random.default_rng(0).random((20, 28, 28, 1), np.float32)
    fitness = task.make_fitness_fn(pixels, np.arange(20) % 10)
    evaluate = make_population_evaluator(fitness, popsize=3, mesh=global_mesh(),
                                         common_random_numbers=True)
    pop = {"states": jnp.stack([jnp.zeros((10, 784)), jnp.ones((10, 784)),
                                jnp.zeros((10, 784))])}
    loss, aux = jax.jit(evaluate)(jax.random.key(0), pop)
    assert loss.shape == (3,) and bool(jnp.all(jnp.isfinite(loss)))
    assert float(loss[0]) == pytest.approx(float(loss[2]), rel=1e-6)  # same inits (CRN)
    assert float(loss[0]) != pytest.approx(float(loss[1]), rel=1e-3)


def test_cli_distill_image_without_data_fails_cleanly(tmp_path):
    res = CliRunner().invoke(cli, ["distill", str(REPO / "recipes" / "mnist-R-10.yaml"),
                                   "--out", str(tmp_path / "o"), "--data-dir",
                                   str(tmp_path)])
    assert res.exit_code == 1
    assert "DataNotFoundError: MNIST train data not found" in res.output
    assert "train5k" in res.output


def test_public_api_and_hub_card(mnist_ds):
    from hades_zoo.hub.cards import render_card, validate_card

    assert hz.info("mnist-R-10").env == "MNIST"
    assert hz.list_datasets("*mnist*")[-1] == "mnist-R-10.s2"
    card = render_card(mnist_ds)
    assert "image-classification" in str(card)
    assert validate_card(card)["file"] == "mnist-R-10.safetensors"


def test_image_file_with_wrong_shape_is_refused(mnist_ds, tmp_path):
    bad = mnist_ds.replace(states=np.zeros((10, 100), np.float32))
    bad.save(tmp_path / "bad.safetensors")
    with pytest.raises(hz.EnvError, match="states of size 100 but env 'MNIST'.*784"):
        hz.load(f"file:{tmp_path / 'bad.safetensors'}")


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_truncated_fitness_trains_the_first_fitness_steps(mnist_ds):
    """image.fitness_steps: the fitness's classifiers are the protocol's after its
    first fitness_steps SGD steps (same init key), while bc.steps stays the protocol."""
    r = mnist_ds.recipe
    r = r.replace(num_inits=2, bc=dataclasses.replace(r.bc, steps=12),
                  image=dataclasses.replace(r.image, fitness_steps=5))
    task = ImageTask(r)
    pixels = np.random.default_rng(0).random((30, 28, 28, 1), np.float32)
    labels = np.arange(30) % 10
    states = jnp.asarray(mnist_ds.states)
    key = jax.random.key(3)
    loss, aux = jax.jit(task.make_fitness_fn(pixels, labels))(key, {"states": states})
    score = task.make_score(pixels, labels)
    keys = jax.random.split(key, 2)
    at5 = np.mean([float(score(task.train(k, states, steps=5)[0]).loss) for k in keys])
    at12 = np.mean([float(score(task.train(k, states)[0]).loss) for k in keys])
    assert float(loss) == pytest.approx(at5, rel=1e-5)
    assert at5 != pytest.approx(at12, rel=1e-3)
    assert task.train(keys[0], states)[1].shape == (12,)  # the protocol is unchanged
    with pytest.raises(RecipeError, match="fitness_steps=13 is more than bc.steps=12"):
        r.replace(image=dataclasses.replace(r.image, fitness_steps=13)).validate()
    with pytest.raises(RecipeError, match="fitness_steps must be >= 0"):
        r.replace(image=dataclasses.replace(r.image, fitness_steps=-1)).validate()


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_fitness_batch_draws_real_images_per_key(mnist_ds):
    """image.fitness_batch: each key scores a draw of B distinct real images; the
    full batch (B = N) is the whole-set fitness, and B > N is refused."""
    r = mnist_ds.recipe
    r = r.replace(num_inits=2, bc=dataclasses.replace(r.bc, steps=3))
    pixels = np.random.default_rng(1).random((40, 28, 28, 1), np.float32)
    labels = np.arange(40) % 10
    states = {"states": jnp.asarray(mnist_ds.states)}

    def fitness(batch):
        task = ImageTask(r.replace(image=dataclasses.replace(r.image, fitness_batch=batch)))
        return jax.jit(task.make_fitness_fn(pixels, labels))

    key = jax.random.key(0)
    a, b = float(fitness(8)(key, states)[0]), float(fitness(8)(jax.random.key(1), states)[0])
    assert a != pytest.approx(b, rel=1e-4)  # another key, another draw (and inits)
    assert a == float(fitness(8)(key, states)[0])  # same key, same draw
    # B = N: every image once, so the loss is the full fitness with the same inits
    full_task = ImageTask(r)
    k_inits = jax.random.split(key)[0]  # the fitness splits the draw's key off first
    score = full_task.make_score(pixels, labels)
    want = np.mean([float(score(full_task.train(k, states["states"])[0]).loss)
                    for k in jax.random.split(k_inits, 2)])
    assert float(fitness(40)(key, states)[0]) == pytest.approx(want, rel=1e-5)
    with pytest.raises(RecipeError, match="fitness_batch=41 is more than the 40"):
        fitness(41)
    with pytest.raises(RecipeError, match="fitness_batch must be >= 0"):
        r.replace(image=dataclasses.replace(r.image, fitness_batch=-2)).validate()


def test_new_image_fields_are_omitted_at_their_defaults(mnist_ds):
    """Recipes that do not use fitness_steps / fitness_batch serialise as before (the
    published entries' recipe JSON, hence their bytes, is unchanged)."""
    data = recipe_to_dict(mnist_ds.recipe)
    assert "fitness_steps" not in data["image"] and "fitness_batch" not in data["image"]
    r = mnist_ds.recipe.replace(image=dataclasses.replace(
        mnist_ds.recipe.image, fitness_steps=7, fitness_batch=9))
    back = recipe_from_dict(recipe_to_dict(r))
    assert back.image.fitness_steps == 7 and back.image.fitness_batch == 9


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_low_resolution_search_decodes_onto_the_start(mnist_ds, image_data_dir, tmp_path):
    """image.search_resolution r: the ES searches a (D, r*r) offset, upsampled and
    added to the class-mean start; the entry holds the full decoded images."""
    from hades_zoo.engine.distill import _image_task, distill

    r = mnist_ds.recipe
    r = r.replace(name="tiny-mnist-R-10", bc=dataclasses.replace(r.bc, steps=5),
                  es=dataclasses.replace(r.es, popsize=4, generations=2, log_every=1,
                                         sigma_init=0.05, lrate_init=0.05),
                  image=dataclasses.replace(r.image, search_resolution=7))
    data = image_data_dir / "mnist"
    task = _image_task(r, data, None, 100)
    sol = task.initial_solution()
    assert sol["offset"].shape == (10, 49)
    np.testing.assert_array_equal(task.decode(sol), task.initial_states)
    shifted = np.asarray(task.decode({"offset": sol["offset"] + 0.25}))
    np.testing.assert_allclose(shifted, task.initial_states + 0.25, atol=1e-6)
    bump = np.asarray(task.decode({"offset": sol["offset"].at[3, 24].set(1.0)}))
    moved = np.abs(bump - task.initial_states).reshape(10, 28, 28)
    assert 0.5 < moved[3].max() <= 1.0 and moved[[0, 9]].max() == 0  # 4x bilinear: peak < 1
    assert 10 < int((moved[3] > 0).sum()) < 100  # a smooth bump around the centre

    out = distill(r, data_dir=data, image_limit=100, out_dir=tmp_path / "run")
    assert out.dataset.states.shape == (10, 784)
    again = distill(r, data_dir=data, image_limit=100, out_dir=tmp_path / "run")
    np.testing.assert_array_equal(again.dataset.states, out.dataset.states)
    assert not np.array_equal(out.dataset.states, task.initial_states)  # it moved
    import yaml

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe_to_dict(r.replace(image=dataclasses.replace(
        r.image, fitness_limit=100)))))
    res = CliRunner().invoke(cli, ["distill", str(path), "--out", str(tmp_path / "cli"),
                                   "--data-dir", str(data)])
    assert res.exit_code == 0, res.output
    card = (tmp_path / "cli" / "README.md").read_text()  # an image card, not a policy's
    for needle in ("10\nsynthetic 28 x 28 images with fixed labels", "evaluate_image_dataset",
                   "classifiers trained: 16 (5 SGD steps each)",
                   "searches a 7 x 7 offset per image", "one row per image"):
        assert needle in card, needle
    assert "train_policy" not in card and "environment steps simulated" not in card
    with pytest.raises(RecipeError, match="search_resolution must be in"):
        r.replace(image=dataclasses.replace(r.image, search_resolution=29)).validate()


def test_certificate_notes_a_truncated_fitness(mnist_ds, image_data_dir):
    """A dataset evolved with image.fitness_steps < bc.steps: its recorded loss is
    the truncated fitness's, and the certificate says so."""
    from hades_zoo.zoo.image_eval import certify_image_dataset

    ds = _short(mnist_ds, 6)
    r = ds.recipe
    plain = certify_image_dataset(ds, seeds=1, data_dir=image_data_dir / "mnist")
    assert "truncated" not in plain["note"]
    ds = ds.replace(recipe=r.replace(image=dataclasses.replace(
        r.image, fitness_steps=2, fitness_batch=50)))
    rec = certify_image_dataset(ds, seeds=1, data_dir=image_data_dir / "mnist")
    assert "truncated fitness (classifiers trained 2 of the protocol's 6 SGD steps, on " \
           "50 images per generation)" in rec["note"]
    assert rec["mean"] == pytest.approx(plain["mean"])  # the protocol is bc.steps


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_scoring_several_splits_trains_each_classifier_once(mnist_ds, image_data_dir):
    """image_protocol_scores_splits (what certify uses) gives, per split, exactly what
    image_protocol_scores gives on that split alone: the same classifiers."""
    from hades_zoo.engine.tasks.image import image_protocol_scores, image_protocol_scores_splits

    task = ImageTask(_short(mnist_ds, 8).recipe)
    split = load_split("MNIST", "test", data_dir=image_data_dir / "mnist")
    a = (split.pixels()[:120], split.labels[:120])
    b = (split.pixels()[120:], split.labels[120:])
    states = jnp.asarray(mnist_ds.states)
    both = image_protocol_scores_splits(task, states, [a, b], seeds=2, seed=4)
    for (pixels, labels), got in zip((a, b), both):
        alone = image_protocol_scores(task, states, pixels, labels, seeds=2, seed=4)
        for x, y in zip(got, alone):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-6)
    assert float(both[0].loss[0]) != pytest.approx(float(both[1].loss[0]), rel=1e-4)


def test_search_basis_moves_each_image_along_real_images_of_its_class(mnist_ds,
                                                                      image_data_dir):
    """image.search_basis K: the ES searches (D, K) coefficients over K real images
    of each image's class (minus the class mean, per-pixel RMS 1/sqrt(K)); zero
    coefficients decode to the start; the field is omitted at 0 and exclusive with
    search_resolution."""
    from hades_zoo.engine.distill import _image_task
    from hades_zoo.engine.tasks.image import class_basis_images

    r = mnist_ds.recipe
    r = r.replace(image=dataclasses.replace(r.image, search_basis=5))
    task = _image_task(r, image_data_dir / "mnist", None, 200)
    sol = task.initial_solution()
    assert sol["coef"].shape == (10, 5) and task.basis.shape == (10, 5, 784)
    np.testing.assert_array_equal(task.decode(sol), task.initial_states)
    pixels, labels = task.real_pixels.reshape(200, -1), np.asarray(task.real_labels)
    c = int(task.labels[3])
    first = pixels[labels == c][0] - pixels[labels == c].mean(0)
    moved = np.asarray(task.decode({"coef": sol["coef"].at[3, 0].set(2.0)}))
    change = moved - task.initial_states
    assert np.abs(change[[0, 1, 2, 4, 5, 6, 7, 8, 9]]).max() == 0  # only image 3 moved
    np.testing.assert_allclose(change[3], 2.0 * first / np.sqrt(np.mean(first ** 2))
                               / np.sqrt(5), rtol=1e-4, atol=1e-5)
    rms = np.sqrt(np.mean(task.basis ** 2, axis=-1))
    np.testing.assert_allclose(rms, 1 / np.sqrt(5), rtol=1e-5)
    with pytest.raises(RecipeError, match=r"search_basis is 30 but class \d has \d+ real images"):
        class_basis_images(pixels[:30], labels[:30], np.asarray(task.labels), 30)

    from hades_zoo.hub.cards import render_card

    card = str(render_card(mnist_ds.replace(recipe=r)))  # the card says how it searched
    assert "searches 5 coefficients per image over 5 real images of its class" in card
    assert "search_basis" not in recipe_to_dict(mnist_ds.recipe)["image"]
    assert recipe_from_dict(recipe_to_dict(r)).image.search_basis == 5
    with pytest.raises(RecipeError, match="search_basis and .*search_resolution"):
        r.replace(image=dataclasses.replace(r.image, search_resolution=7)).validate()
    with pytest.raises(RecipeError, match="search_basis must be >= 0"):
        r.replace(image=dataclasses.replace(r.image, search_basis=-1)).validate()
