"""Dataset cards: the README.md (a huggingface_hub ``DatasetCard``) of a dataset repo.

The card's YAML header carries the Hub metadata (license, pretty_name,
task_categories, tags, size_categories, a ``configs`` entry pointing the Hub viewer
and ``datasets.load_dataset`` at ``data/train-*.parquet``) plus a ``hades_zoo:`` block
with everything a loader needs: the dataset file name, its sha256, the file
``format_version``, the protocol summary and, when the dataset has one, its
reproduction certificate. The markdown body is for people.

Cards are generic: :func:`render_card` works for any ``SyntheticDataset``, so the
packaged zoo cards and pushed repos share one renderer. Nothing in a card is executed.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from hades_zoo.data.paths import check_name
from hades_zoo.errors import DatasetFormatError, UnsafeNameError

__all__ = [
    "render_card",
    "dataset_filename",
    "validate_card",
    "card_block",
    "PARQUET_GLOB",
    "PARQUET_FILE",
    "RECIPE_FILE",
    "size_category",
    "CITATION",
]

PARQUET_GLOB = "data/train-*.parquet"
PARQUET_FILE = "data/train-00000-of-00001.parquet"
RECIPE_FILE = "recipe.yaml"
REQUIRED_TAGS = ("behaviour-distillation", "hades")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}\.safetensors$")

CITATION = """@inproceedings{lupu2024behaviour,
  title={Behaviour Distillation},
  author={Lupu, Andrei and Lu, Chris and Liesen, Jarek and Lange, Robert Tjarko and Foerster, Jakob},
  booktitle={International Conference on Learning Representations},
  year={2024}
}"""


def size_category(num_pairs: int) -> str:
    """The Hub ``size_categories`` bucket for ``num_pairs`` rows (``n<1K``, ...)."""
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M")):
        if num_pairs < limit:
            return label
    return "1M<n<10M"


def dataset_filename(dataset_id: str) -> str:
    """``<id>.safetensors``, the file a dataset repo (and a distill entry) holds.

    Checked by the one gate (``hades_zoo.data.paths.check_name``), then by the card's
    stricter rule for a Hub file: letters, digits, ``.``, ``_`` and ``-``, at most 200
    characters before the suffix (so the ``.sha256`` sidecar name fits too).

    Raises:
        UnsafeNameError: naming the id and the fix.
    """
    check_name(dataset_id, what="dataset id")
    filename = f"{dataset_id}.safetensors"
    if not _FILE_RE.match(filename):
        raise UnsafeNameError(
            f"dataset id {dataset_id!r} cannot name a dataset repo file; use letters, "
            "digits, '.', '_' and '-', at most 200 characters (e.g. --set "
            "name=cartpole-R-2, or ds.replace_info(dataset_id='cartpole-R-2')).")
    return filename


def _protocol(ds: Any) -> dict[str, Any]:
    """The parts of the recipe needed to train and evaluate on the dataset."""
    r = ds.recipe
    return {
        "env": {"name": r.env.name, "backend": r.env.backend, "obs_norm": r.env.obs_norm,
                "episode_length": r.env.episode_length, "compat": r.env.compat,
                # a Playground task's implementation (jax / warp), when the recipe names
                # one: its returns differ between the two
                **({"impl": r.env.impl} if r.env.impl else {})},
        "policy": {"width": r.policy.width, "depth": r.policy.depth,
                   "activation": r.policy.activation, "init_seed": r.policy.init_seed},
        "bc": {"lr": r.bc.lr, "steps": r.bc.steps, "eps": r.bc.eps,
               "max_grad_norm": r.bc.max_grad_norm},
        "eval": {"num_envs": r.eval.num_envs, "num_steps": r.eval.num_steps,
                 "greedy": r.eval.greedy},
        "variant": r.variant,
        "num_inits": r.num_inits,
        **({} if r.inner_loop is None else {"inner_loop": _inner_loop(r.inner_loop)}),
    }


def _inner_loop(il: Any) -> dict[str, Any]:
    """HaDES-RR's ranges as plain data (lists, which YAML front matter writes)."""
    return {"widths": list(il.widths), "depths": list(il.depths),
            "activations": list(il.activations), "bc_lr": list(il.bc_lr),
            "bc_steps": list(il.bc_steps)}


def _provider_row(ds: Any) -> str:
    """The Protocol table's env-provider row ('' for a dataset that records none)."""
    record = ds.info.env_provider
    if record is None:
        return ""
    install = record.install_command()
    return (f"| env provider | `{record.name}` {record.version or '(version unknown)'}"
            + (f"; `{install}`" if install else "") + " |\n")


def _inner_loop_row(proto: dict[str, Any]) -> str:
    """The Protocol table's HaDES-RR row ('' for every other variant)."""
    il = proto.get("inner_loop")
    if il is None:
        return ""
    return (f"| inner loop (distillation only) | each BC run drew width from "
            f"{il['widths']}, depth from {il['depths']}, activation from "
            f"{il['activations']}, lr log-uniform on {il['bc_lr']}, steps on "
            f"{il['bc_steps']}; the policy and BC rows above are what training and "
            "evaluating this dataset use |\n")


def _certificate(ds: Any, certificate: dict[str, Any] | None) -> dict[str, Any] | None:
    """The explicit certificate, else the one recorded in the dataset's provenance."""
    if certificate is not None:
        return certificate
    prov = ds.info.provenance
    found = prov.get("certificate", prov.get("reproduction_certificate"))
    return found if isinstance(found, dict) else None


def render_card(
    ds: Any,
    *,
    certificate: dict[str, Any] | None = None,
    sha256: str | None = None,
    repo_id: str | None = None,
    license: str = "apache-2.0",
) -> Any:
    """Render the dataset card of ``ds``.

    Args:
        ds: a ``SyntheticDataset`` with a recipe.
        certificate: reproduction certificate (JSON-able mapping) to embed; default:
            ``ds.info.provenance["certificate"]`` when present.
        sha256: hex sha256 of the ``<id>.safetensors`` file the card describes;
            default: hash of ``hades_zoo.data.format.dataset_to_bytes(ds)``.
        repo_id: Hub repo id used in the usage snippet (``org/name``), if known.
        license: SPDX-style license id for the card header.

    Returns:
        ``huggingface_hub.DatasetCard``; ``str(card)`` is the README.md text.

    Raises:
        DatasetFormatError: the dataset has no recipe.
        UnsafeNameError: its id cannot name a file (``dataset_filename``).
    """
    from huggingface_hub import DatasetCard, DatasetCardData

    from hades_zoo.data.cache import sha256_bytes
    from hades_zoo.data.dataset import dataset_to_bytes
    from hades_zoo.data.format import FORMAT_VERSION

    if ds.recipe is None:
        raise DatasetFormatError(
            "cannot render a card for a dataset without a recipe; build it with "
            "SyntheticDataset(..., recipe=...)."
        )
    filename = dataset_filename(ds.info.dataset_id)
    if sha256 is None:
        sha256 = sha256_bytes(dataset_to_bytes(ds))
    from importlib import metadata

    try:
        version = metadata.version("hades_zoo")
    except metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        version = "0+unknown"
    env = ds.recipe.env.name
    kind = "discrete" if ds.discrete else "continuous"
    block: dict[str, Any] = {
        "dataset_id": ds.info.dataset_id,
        "file": filename,
        "sha256": sha256,
        "format_version": FORMAT_VERSION,
        "library_version": version,
        "recipe_file": RECIPE_FILE,
        "size": ds.size,
        "obs_dim": ds.obs_dim,
        "kind": kind,
        "fitness": ds.info.fitness,
        "fitness_kind": ds.info.fitness_kind,
        "protocol": _protocol(ds),
    }
    if ds.info.env_provider is not None:  # what a reader installs to use it
        block["env_provider"] = dataclasses.asdict(ds.info.env_provider)
    cert = _certificate(ds, certificate)
    if cert is not None:
        block["certificate"] = json.loads(json.dumps(cert))  # plain data only
    data = DatasetCardData(
        license=license,
        pretty_name=f"HaDES {ds.info.dataset_id} ({env})",
        task_categories=["image-classification" if ds.recipe.env.backend == "image"
                         else "reinforcement-learning"],
        tags=[*REQUIRED_TAGS, env.lower()],
        size_categories=[size_category(ds.size)],
        configs=[{"config_name": "default",
                  "data_files": [{"split": "train", "path": PARQUET_GLOB}]}],
        hades_zoo=block,
    )
    source = f"hf:{repo_id}" if repo_id else f"file:{filename}"
    cli_source = f"hf:{repo_id}" if repo_id else filename
    target = "label (int)" if ds.discrete else "action (list of floats)"
    proto = block["protocol"]
    if ds.recipe.image is not None:
        head = _image_head(ds, source)
    else:
        head = f"""
# HaDES dataset `{ds.info.dataset_id}`

A behaviour-distillation dataset (HaDES, Lupu et al., ICLR 2024): {ds.size} synthetic
state-action pairs for `{env}` ({ds.recipe.env.backend}, {kind} actions) that train a
policy from scratch by behaviour cloning. Recorded fitness: {ds.info.fitness}
({ds.info.fitness_kind or "n/a"}).

## Usage

```python
import hades_zoo as hz

ds = hz.load("{source}")   # sha256-checked against this card
policy = hz.train_policy(ds)                  # the stored protocol below
print(hz.evaluate(policy, episodes=10).mean_return)
```

Train a policy on it, keep it and share it as a Hub model repo:

```bash
hades-zoo train {cli_source} --out pol/
hades-zoo push pol/ --repo-id <your-org>/{ds.info.dataset_id}-policy
```

## Protocol

| piece | value |
|---|---|
| env | `{env}`, backend `{ds.recipe.env.backend}`, obs_norm `{ds.recipe.env.obs_norm}` |
{_provider_row(ds)}| policy | MLP width {proto["policy"]["width"]}, depth {proto["policy"]["depth"]}, {proto["policy"]["activation"]} |
| BC | lr {proto["bc"]["lr"]}, {proto["bc"]["steps"]} steps |
| eval | {proto["eval"]["num_envs"]} envs x {proto["eval"]["num_steps"]} steps, greedy={proto["eval"]["greedy"]} |
| variant | HaDES-{ds.recipe.variant}, {ds.recipe.num_inits} inits |
{_inner_loop_row(proto)}"""
    rows = "image" if ds.recipe.image is not None else "pair"
    body = head + f"""
## Files

- `{filename}`: named arrays + metadata (safetensors, format_version {FORMAT_VERSION},
  sha256 `{sha256}`).
- `{RECIPE_FILE}`: the full recipe; `hades-zoo distill {RECIPE_FILE}` regenerates the data.
- `{PARQUET_GLOB}`: one row per {rows}: `state` (list of floats), {target}, `mask`.

## Provenance

```json
{json.dumps(ds.info.provenance, indent=1, sort_keys=True)}
```
{("" if not ds.info.notes else chr(10) + "Notes: " + ds.info.notes + chr(10))}
## Citation

```bibtex
{CITATION}
```
"""
    return DatasetCard(f"---\n{data.to_yaml()}\n---\n{body}")


def _image_head(ds: Any, source: str) -> str:
    """Title, usage and protocol of an image dataset's card (Sec. 5.3's protocol)."""
    r, img = ds.recipe, ds.recipe.image
    h, w = img.height, img.width
    split = img.fitness_split + (f" (first {img.fitness_limit})" if img.fitness_limit else "")
    fitness = (f"cross-entropy / {img.num_classes} on the real `{split}` images"
               + (f", {img.fitness_batch} drawn afresh per generation" if img.fitness_batch
                  else "")
               + (f"; its classifiers train the protocol's first {img.fitness_steps} steps"
                  if img.fitness_steps and img.fitness_steps < r.bc.steps else ""))
    if img.search_resolution:
        search = (f"a {img.search_resolution} x {img.search_resolution} offset per image, "
                  f"upsampled bilinearly onto the `{img.init_mode}` start")
    elif img.search_basis:
        search = (f"{img.search_basis} coefficients per image over {img.search_basis} real "
                  f"images of its class (minus the class mean), added to the "
                  f"`{img.init_mode}` start")
    else:
        search = f"the pixels, from the `{img.init_mode}` start"
    inits = (f"{r.num_inits} fresh inits per candidate" if r.policy.init_seed is None
             else f"fixed init `key({r.policy.init_seed})`")
    data = "mnist" if r.env.name == "MNIST" else "fashion-mnist"
    return f"""
# HaDES dataset `{ds.info.dataset_id}`

A dataset-distillation dataset (HaDES, Lupu et al., ICLR 2024, Sec. 5.3): {ds.size}
synthetic {h} x {w} images with fixed labels for `{r.env.name}` that train a small CNN
classifier from scratch. Recorded fitness: {ds.info.fitness}
({ds.info.fitness_kind or "n/a"}; lower is better).

## Usage

```python
import hades_zoo as hz

ds = hz.load("{source}")   # sha256-checked against this card
images = ds.states.reshape(-1, {h}, {w})      # pixel / 255 scale, labels in ds.labels
# train the protocol's CNN on them, score it on the real test images (not shipped:
# put the IDX .gz files in $HADES_ZOO_DATA/{data}/ or pass data_dir=)
print(hz.evaluate_image_dataset(ds, split="test", seeds=3)["accuracy"])
```

## Protocol

| piece | value |
|---|---|
| task | `{r.env.name}`, {img.num_classes} classes, {h} x {w} x {img.channels} |
| classifier | Conv({img.conv_features}, {img.kernel_size}x{img.kernel_size}, SAME) -> relu -> Dense({r.policy.width}) -> relu -> Dense({img.num_classes}) |
| training | {r.bc.steps} full-batch {r.bc.optimizer} steps, lr {r.bc.lr}, on the {ds.size} images |
| fitness | {fitness} (minimised) |
| variant | HaDES-{r.variant}, {inits} |
| ES | {r.es.strategy}, population {r.es.popsize}, sigma {r.es.sigma_init}, lr {r.es.lrate_init}; searches {search} |
"""


def card_block(card: Any) -> dict[str, Any]:
    """The ``hades_zoo:`` block of a card (``DatasetCard`` or README text), unchecked.

    Raises:
        DatasetFormatError: the card has no ``hades_zoo`` mapping.
    """
    from huggingface_hub import DatasetCard

    if isinstance(card, str):
        try:
            card = DatasetCard(card, ignore_metadata_errors=True)
        except Exception as err:  # malformed YAML header
            raise DatasetFormatError(f"dataset card has an invalid YAML header: {err}") from err
    block = card.data.to_dict().get("hades_zoo")
    if not isinstance(block, dict):
        raise DatasetFormatError(
            "dataset card has no 'hades_zoo:' block; it was not written by hades_zoo. "
            "Re-push the dataset with `hades-zoo push` (in Python, "
            "load_from_hub(..., filename=, sha256=) names the file)."
        )
    return block


def validate_card(card: Any) -> dict[str, Any]:
    """Check that a card has the Hub metadata and a usable ``hades_zoo:`` block.

    Args:
        card: a ``huggingface_hub.DatasetCard`` or README.md text.

    Returns:
        The ``hades_zoo`` block (``file``, ``sha256``, ``format_version``, ...).

    Raises:
        DatasetFormatError: naming the missing or invalid key and how to fix it.
    """
    from huggingface_hub import DatasetCard

    if isinstance(card, str):
        try:
            card = DatasetCard(card, ignore_metadata_errors=True)
        except Exception as err:
            raise DatasetFormatError(f"dataset card has an invalid YAML header: {err}") from err
    data = card.data.to_dict()
    fix = "re-render it with hades_zoo.hub.cards.render_card(ds)"
    for key in ("license", "pretty_name", "task_categories", "tags", "size_categories",
                "configs"):
        if not data.get(key):
            raise DatasetFormatError(f"dataset card lacks '{key}'; {fix}.")
    if not {"reinforcement-learning", "image-classification"} & set(data["task_categories"]):
        raise DatasetFormatError(
            f"dataset card task_categories {data['task_categories']} lacks "
            f"'reinforcement-learning' (or 'image-classification'); {fix}."
        )
    missing = [t for t in REQUIRED_TAGS if t not in data["tags"]]
    if missing:
        raise DatasetFormatError(f"dataset card tags lack {missing}; {fix}.")
    paths = [
        f.get("path")
        for cfg in data["configs"] if isinstance(cfg, dict)
        for f in (cfg.get("data_files") or []) if isinstance(f, dict)
    ]
    if PARQUET_GLOB not in paths:
        raise DatasetFormatError(
            f"dataset card configs do not point at {PARQUET_GLOB!r}; {fix}."
        )
    block = card_block(card)
    file = block.get("file")
    if not isinstance(file, str) or not _FILE_RE.match(file) or ".." in file:
        raise DatasetFormatError(
            f"dataset card hades_zoo.file {file!r} is not a plain '<id>.safetensors' "
            f"name; {fix}."
        )
    sha = block.get("sha256")
    if not isinstance(sha, str) or not _SHA256_RE.match(sha):
        raise DatasetFormatError(
            f"dataset card hades_zoo.sha256 {sha!r} is not 64 lowercase hex digits; {fix}."
        )
    version = block.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise DatasetFormatError(
            f"dataset card hades_zoo.format_version {version!r} is not an integer; {fix}."
        )
    return block
