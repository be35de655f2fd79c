"""Reference files: read a FLAIROx/behaviour-distillation ``.npz`` export and translate
its stored configs into a zoo id and a ``Recipe``.

The published HaDES datasets (Lupu et al., "Behaviour Distillation", ICLR 2024;
github.com/FLAIROx/behaviour-distillation, Apache-2.0) were pickles of evosax 0.1
states. Their plain-numpy ``.npz`` exports hold the ES mean as named arrays plus the
run's ``config_json`` / ``es_config_json``. This module turns one such file into a
``SyntheticDataset`` whose recipe is the complete protocol the data was evolved with,
using nothing but what the file stores (so it works on files it has never seen).

Protocol mapping (reference config key -> recipe field):

- Brax (``ENV_NAME`` a brax env): backend ``positional``, ``episode_length`` 1000;
  ``obs_norm`` ``const`` if ``CONST_NORMALIZE_OBS`` (stats: the file's ``obs_mean`` /
  ``obs_var``), else ``running`` if ``NORMALIZE_OBS``, else ``none``; MLP depth 2,
  ``WIDTH``, ``ACTIVATION``; BC ``LR``, ``UPDATE_EPOCHS`` steps, Adam eps 1e-5, global
  clip ``MAX_GRAD_NORM``; eval ``NUM_ENVS`` x ``NUM_STEPS``, ``GREEDY_ACT``.
  ``inverted_double_pendulum`` gets ``compat: brax-0.9`` (brax 0.14 changed its tip
  site and termination; the published data was evolved on brax 0.9).
- ``SpaceInvaders-MinAtar`` gets ``compat: gymnax-0.0.6`` (gymnax 1.0 changed its
  first wave and bullet-hit test; the published data was evolved on gymnax 0.0.6).
- gymnax / MinAtar (``NET == "mlp"``): backend ``gymnax``, depth ``FFWD_LAYERS``;
  the fixed labels are ``action_labels`` padded to D and the BC mask is
  ``state_used_in_bc``. The reference MinAtar BC did not clip gradients, whatever
  ``MAX_GRAD_NORM`` says, so ``max_grad_norm`` is ``None``.
- ``OVERFIT`` -> HaDES-F (``policy.init_seed = OVERFIT_SEED``, jax<0.5 threefry),
  else HaDES-R; ``num_inits = rollouts_per_candidate``. ES: ``strategy`` (default
  OpenES), ``popsize``, ``n_generations``, ``sigma_init``, ``sigma_decay``,
  ``sigma_limit``, ``lrate_init``, ``temperature``.

- Images (``DATASET`` MNIST / FashionMNIST, ``NET == "CNN"``): backend ``image``,
  ``ImageConfig`` (28x28x1, 10 classes, ``NORMALIZE`` -> pixels / 255,
  ``init_mode``), CNN dense width ``WIDTH``; BC is full-batch SGD (``LR``,
  ``MOMENTUM``, ``UPDATE_EPOCHS`` steps, no clipping); ES adds ``lrate_decay``. The
  ``(10, 28, 28)`` images become ``states (10, 784)`` with ``labels`` 0..9. The
  recorded fitness is the final population's mean loss on the real training images
  (``final_population_mean_loss``, minimised); ``final_mean_train_accuracy`` is kept
  in the provenance.

The dataset is the ES mean (``states`` / ``actions``; never ``best_member_*``), stored
in the space the policy sees. The recorded fitness is the mean fitness of the last
generation's population (a training-time number, ``final_population_mean_return``).
Files are read with ``allow_pickle=False``; nothing is unpickled.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hades_zoo.data.ids import (
    DEFAULT_GENERATIONS,
    DEFAULT_WIDTH,
    DatasetId,
    env_slug,
    format_dataset_id,
)
from hades_zoo.data.limits import MAX_NPZ_BYTES
from hades_zoo.data.recipe import (
    BCConfig,
    DatasetConfig,
    EnvConfig,
    ESConfig,
    EvalConfig,
    ImageConfig,
    PolicyConfig,
    Recipe,
)
from hades_zoo.data.untrusted import (
    MAX_DATASET_BYTES,
    check_path_given,
    load_json,
    read_npz,
    read_regular_file,
    show_path,
)
from hades_zoo.errors import DatasetFormatError, RecipeError

__all__ = ["ReferenceFile", "read_reference", "reference_dataset_id", "reference_recipe"]


REFERENCE_REPO = "https://github.com/FLAIROx/behaviour-distillation"


REFERENCE_COMMIT = "a600a5ab24674f5a5552699b835ddef34531c10f"


PAPER = "Lupu, Lu, Liesen, Lange, Foerster. Behaviour Distillation. ICLR 2024."


FITNESS_KIND = "final_population_mean_return"


IMAGE_FITNESS_KIND = "final_population_mean_loss"


_IMAGE_CONFIG_KEYS = ("DATASET", "NET", "WIDTH", "LR", "UPDATE_EPOCHS", "NORMALIZE", "SEED")


# Envs whose installed version changed since the published data was evolved.
REFERENCE_COMPAT = {"inverted_double_pendulum": "brax-0.9",
                    "SpaceInvaders-MinAtar": "gymnax-0.0.6"}


# Keys every export has; family-specific keys are checked where they are used.
_COMMON_KEYS = (
    "config_json",
    "es_config_json",
    "final_population_fitness",
    "best_fitness",
    "es_generation",
)


_CONFIG_KEYS = (
    "ENV_NAME",
    "WIDTH",
    "ACTIVATION",
    "LR",
    "UPDATE_EPOCHS",
    "NUM_ENVS",
    "NUM_STEPS",
    "GREEDY_ACT",
    "CONST_NORMALIZE_OBS",
    "NORMALIZE_OBS",
    "OVERFIT",
    "OVERFIT_SEED",
    "SEED",
)


_ES_KEYS = (
    "popsize",
    "n_generations",
    "sigma_init",
    "lrate_init",
    "rollouts_per_candidate",
    "dataset_size",
)


@dataclasses.dataclass(frozen=True)
class ReferenceFile:
    """The parts of a reference ``.npz`` the importer uses (validated, numpy only)."""

    path: Path
    arrays: dict[str, np.ndarray]
    config: dict[str, Any]
    es_config: dict[str, Any]
    source: str

    @property
    def family(self) -> str:
        """``brax``, ``gymnax`` or ``images`` (MNIST-style)."""
        if "images" in self.arrays or "DATASET" in self.config:
            return "images"
        from hades_zoo.engine.envs import BRAX_SPECS

        return "brax" if self.config["ENV_NAME"] in BRAX_SPECS else "gymnax"


#: The first bytes of a zip archive (an .npz is one): a local file header, or the end
#: record of an empty archive.
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def _not_an_npz(data: bytes) -> str | None:
    """Why ``data`` cannot be an .npz archive (what it looks like instead), or None
    when it starts as a zip archive does. Decided from the first bytes, before
    ``np.load``, whose own guess names pickles for any other file."""
    if data.startswith(_ZIP_MAGIC):
        return None
    if not data:
        return "the file is empty"
    if data.startswith(b"\x93NUMPY"):
        return "it is a single .npy array (np.save), not an archive of named arrays"
    head = data[:512]
    if all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "it is a text file"
    return "it does not start as a zip archive does"


def _fail(path: Path, msg: str) -> DatasetFormatError:
    return DatasetFormatError(f"{show_path(path)}: {msg}")


def read_reference(path: str | Path) -> ReferenceFile:
    """Open and validate a reference ``.npz`` (``allow_pickle=False``).

    Raises:
        DatasetFormatError: unreadable/not-npz file, missing keys, bad JSON configs,
            or object arrays (which would need unpickling).
    """
    check_path_given(path, what="reference .npz", error=DatasetFormatError)
    path = Path(path)
    if not os.path.lexists(path):
        raise _fail(path, "no such file; check the path.")
    # a regular file of sane size (a FIFO would block np.load forever)
    data = read_regular_file(path, what="reference .npz", error=DatasetFormatError,
                             max_bytes=MAX_DATASET_BYTES)
    not_npz = _not_an_npz(data)
    if not_npz:  # numpy would guess: a text file is "pickled (object) data"
        raise _fail(path, f"not an .npz archive: {not_npz}; a reference export is a "
                          "numpy .npz file (np.savez), e.g. "
                          "brax__distill__hopper__D4__seed0.npz.")
    # each member's size from its .npy header before it is decompressed (a zip bomb)
    arrays = read_npz(data, source=show_path(path), error=DatasetFormatError,
                      what="reference .npz", max_bytes=MAX_NPZ_BYTES)
    odd = [f"{k} ({v.dtype})" for k, v in arrays.items() if v.dtype.kind in "cmMV"]
    if odd:  # complex values were cast to float32 with a ComplexWarning (a reviewer)
        raise _fail(path, f"array(s) {', '.join(odd)} are not real numbers; a reference "
                          "export holds float / int arrays and JSON strings only.")
    missing = [k for k in _COMMON_KEYS if k not in arrays]
    if missing:
        raise _fail(
            path,
            f"missing key(s) {', '.join(missing)}; this is not a "
            "FLAIROx/behaviour-distillation export (it must hold "
            f"{', '.join(_COMMON_KEYS)} plus the dataset arrays).",
        )
    config = _json(path, arrays, "config_json")
    es_config = _json(path, arrays, "es_config_json")
    source = str(arrays["source"]) if "source" in arrays else f"file:{path.name}"
    ref = ReferenceFile(path, arrays, config, es_config, source)
    config_keys = _IMAGE_CONFIG_KEYS if ref.family == "images" else _CONFIG_KEYS
    for what, cfg, keys in (
        ("config_json", config, config_keys),
        ("es_config_json", es_config, _ES_KEYS),
    ):
        lost = [k for k in keys if k not in cfg]
        if lost:
            raise _fail(
                path,
                f"{what} lacks {', '.join(lost)}; cannot rebuild the "
                "distillation protocol without them.",
            )
    return ref


def _json(path: Path, arrays: Mapping[str, np.ndarray], key: str) -> dict[str, Any]:
    value = load_json(str(arrays[key]), source=str(path), what=key,
                      error=DatasetFormatError)
    if not isinstance(value, dict):
        raise _fail(path, f"{key} must hold a JSON object, got {type(value).__name__}.")
    return value


def _require(ref: ReferenceFile, *keys: str) -> None:
    missing = [k for k in keys if k not in ref.arrays]
    if missing:
        raise _fail(
            ref.path,
            f"missing array(s) {', '.join(missing)} needed for a {ref.family} dataset.",
        )


def reference_dataset_id(ref: ReferenceFile) -> str:
    """The zoo id implied by a file's own config (see ``hades_zoo.data.ids``)."""
    cfg, es = ref.config, ref.es_config
    if ref.family == "images":
        env, size = cfg.get("DATASET", "images"), int(es.get("dataset_size", 10))
    else:
        env, size = cfg["ENV_NAME"], int(es["dataset_size"])
    width = int(cfg.get("WIDTH", DEFAULT_WIDTH))
    gens = int(es.get("n_generations", DEFAULT_GENERATIONS))
    return format_dataset_id(
        DatasetId(
            env=env_slug(env),
            variant="F" if cfg.get("OVERFIT") else "R",
            size=size,
            # Image runs have one protocol (WIDTH 128, 1000 generations): no tags.
            width=None if ref.family == "images" or width == DEFAULT_WIDTH else width,
            generations=None if ref.family == "images" or gens == DEFAULT_GENERATIONS
            else gens,
            greedy=bool(cfg.get("GREEDY_ACT", False)),
            seed=int(cfg.get("SEED", 0)),
        )
    )


def reference_recipe(ref: ReferenceFile, dataset_id: str) -> Recipe:
    """The full protocol of a reference run, from its stored configs only.

    Raises:
        DatasetFormatError: unsupported run (image datasets, learned labels) or a
            config that does not make a valid recipe.
    """
    cfg, es = ref.config, ref.es_config
    if es.get("learn_labels"):
        raise _fail(
            ref.path,
            "the run evolved its labels (learn_labels=true) but the "
            "export stores no label logits; it cannot be imported.",
        )
    if ref.family == "images":
        return _image_recipe(ref, dataset_id)
    brax = ref.family == "brax"
    if cfg.get("CONST_NORMALIZE_OBS"):
        obs_norm = "const"
    elif cfg.get("NORMALIZE_OBS"):
        obs_norm = "running"
    else:
        obs_norm = "none"
    overfit = bool(cfg["OVERFIT"])
    try:
        recipe = Recipe(
            name=dataset_id,
            variant="F" if overfit else "R",
            env=EnvConfig(
                name=cfg["ENV_NAME"],
                backend="positional" if brax else "gymnax",
                episode_length=1000,
                obs_norm=obs_norm,
                compat=REFERENCE_COMPAT.get(cfg["ENV_NAME"], ""),
            ),
            dataset=DatasetConfig(
                size=int(es["dataset_size"]), learn_labels=False, init_std=0.0
            ),
            policy=PolicyConfig(
                width=int(cfg["WIDTH"]),
                depth=int(cfg.get("FFWD_LAYERS", 2)),
                activation=cfg["ACTIVATION"],
                init_seed=int(cfg["OVERFIT_SEED"]) if overfit else None,
                legacy_threefry=True,
            ),
            bc=BCConfig(
                lr=float(cfg["LR"]),
                steps=int(cfg["UPDATE_EPOCHS"]),
                eps=1e-5,
                # The reference MinAtar BC had no clipping (MAX_GRAD_NORM unused there).
                max_grad_norm=float(cfg.get("MAX_GRAD_NORM", 0.5)) if brax else None,
            ),
            eval=EvalConfig(
                num_envs=int(cfg["NUM_ENVS"]),
                num_steps=int(cfg["NUM_STEPS"]),
                greedy=bool(cfg["GREEDY_ACT"]),
            ),
            es=_es_config(es, temperature=float(es.get("temperature", 0.0))),
            num_inits=int(es["rollouts_per_candidate"]),
            seed=int(cfg["SEED"]),
        )
        return recipe.validate()
    except (RecipeError, TypeError, ValueError) as err:
        raise _fail(
            ref.path, f"its config does not make a valid recipe: {err}"
        ) from err


def _es_config(es: Mapping[str, Any], **extra: Any) -> ESConfig:
    """The ES fields every reference run stores, plus family-specific ``extra``."""
    return ESConfig(
        strategy=es.get("strategy", "OpenES"),
        popsize=int(es["popsize"]),
        generations=int(es["n_generations"]),
        sigma_init=float(es["sigma_init"]),
        sigma_decay=float(es.get("sigma_decay", 1.0)),
        sigma_limit=float(es.get("sigma_limit", 0.0)),
        lrate_init=float(es["lrate_init"]),
        **extra,
    )


def _image_recipe(ref: ReferenceFile, dataset_id: str) -> Recipe:
    """The protocol of a reference MNIST / FashionMNIST run (see module doc)."""
    cfg, es = ref.config, ref.es_config
    if str(cfg["NET"]).lower() != "cnn":
        raise _fail(ref.path, f"NET={cfg['NET']!r}: only the reference CNN image "
                    "protocol is supported.")
    if cfg.get("ANNEAL_LR") or float(cfg.get("DATA_NOISE", 0.0)):
        raise _fail(ref.path, "ANNEAL_LR / DATA_NOISE runs are not supported (the "
                    "published image runs used neither).")
    overfit = bool(cfg.get("OVERFIT", False))
    try:
        recipe = Recipe(
            name=dataset_id,
            variant="F" if overfit else "R",
            env=EnvConfig(name=cfg["DATASET"], backend="image", obs_norm="none"),
            dataset=DatasetConfig(size=int(es["dataset_size"]), learn_labels=False),
            policy=PolicyConfig(
                width=int(cfg["WIDTH"]), depth=1,
                activation=cfg.get("ACTIVATION", "relu"),
                init_seed=int(cfg["OVERFIT_SEED"]) if overfit else None,
                legacy_threefry=False, init="lecun",
            ),
            bc=BCConfig(lr=float(cfg["LR"]), steps=int(cfg["UPDATE_EPOCHS"]),
                        max_grad_norm=None, loss="softmax_ce", optimizer="sgd",
                        momentum=float(cfg.get("MOMENTUM", 0.0))),
            es=_es_config(es, lrate_decay=float(es.get("lrate_decay", 1.0))),
            num_inits=int(es["rollouts_per_candidate"]),
            seed=int(cfg["SEED"]),
            image=ImageConfig(normalize=bool(cfg["NORMALIZE"]),
                              init_mode=es.get("init_mode", "mean")),
        )
        return recipe.validate()
    except (RecipeError, TypeError, ValueError) as err:
        raise _fail(ref.path, f"its config does not make a valid recipe: {err}") from err
