"""Build the packaged zoo from the reference HaDES ``.npz`` exports (re-runnable).

For every published dataset in ``--npz-dir`` this writes

- ``hades_zoo/zoo/entries/<id>.safetensors``  the dataset with its full protocol;
- ``hades_zoo/zoo/entries/index.json``        id -> file, sha256, env, variant, fitness, source;
- ``cards/<id>.md``                           Hugging Face dataset card;
- ``recipes/<id>.yaml``                       the exact config the dataset was evolved with.

Freeway (fitness always 0: episodes are longer than the eval window) is recorded
under ``excluded`` in the index, with the reason, instead of being packaged. The
image datasets (MNIST / FashionMNIST) are packaged with image-classification cards. Existing certificate
sections of cards are preserved. Usage::

    PYTHONPATH=$PWD python scripts/build_zoo.py \
        --npz-dir ../shared/reference-datasets/npz
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import logging
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hades_zoo.data.cache import atomic_write_bytes  # noqa: E402
from hades_zoo.data.dataset import dataset_to_bytes  # noqa: E402
from hades_zoo.data.ids import parse_dataset_id  # noqa: E402
from hades_zoo.data.recipe_io import dump_recipe  # noqa: E402
from hades_zoo.errors import DatasetFormatError  # noqa: E402
from hades_zoo.zoo.importer import import_reference  # noqa: E402
from hades_zoo.zoo.reference import (  # noqa: E402
    PAPER,
    REFERENCE_COMMIT,
    REFERENCE_REPO,
    read_reference,
    reference_dataset_id,
)
from hades_zoo.zoo.registry import INDEX_VERSION  # noqa: E402

log = logging.getLogger("build_zoo")

FREEWAY_REASON = (
    "Freeway is excluded from the zoo: every published Freeway run has fitness exactly "
    "0. Freeway-MinAtar episodes last 2500 steps (gymnax max_steps_in_episode) but the "
    "reference evaluated each candidate for only 1024 steps, so no episode ever "
    "completed, the ES had no signal and the stored states are pure drift. Import the "
    "raw file with `hades-zoo import-reference` if you need it anyway. The zoo's own "
    "Freeway entries, evolved with every episode played to its end, are "
    "`freeway-minatar-F-16.hz` and `freeway-minatar-R-16.hz`."
)
EXCLUDED_PATTERNS = [
    {"pattern": "freeway-minatar-*", "reason": FREEWAY_REASON},
]
CERT_START = "<!-- reproduction-certificate:start -->"
CERT_END = "<!-- reproduction-certificate:end -->"
CERT_DEFAULT = (
    "**Status: not yet certified.** No independent retraining run has been recorded "
    "for this dataset yet. `certify` fills this section with the returns measured by "
    "re-training policies on the dataset with its stored protocol."
)


def _family(env: str) -> str:
    return (
        "minatar" if env.endswith("-MinAtar") else ("gymnax" if "-" in env else "brax")
    )


def _size_category(n: int) -> str:
    return "n<1K"


_CITATION = """## Citation

```bibtex
@inproceedings{lupu2024behaviour,
  title={Behaviour Distillation},
  author={Lupu, Andrei and Lu, Chris and Liesen, Jarek and
            Lange, Robert Tjarko and Foerster, Jakob},
  booktitle={The Twelfth International Conference on Learning Representations},
  year={2024}
}
```
"""
_REAL_DATA = {
    "MNIST": ("mnist", "MNIST (LeCun, Cortes, Burges; CC BY-SA 3.0)"),
    "FashionMNIST": ("fashion_mnist", "Fashion-MNIST (Zalando SE; MIT)"),
}


def render_image_card(ds, entry: dict, certificate: str = CERT_DEFAULT) -> str:
    """A Hugging Face dataset card for an image-classification zoo entry."""
    r, img = ds.recipe, ds.recipe.image
    prov = ds.info.provenance
    hub_name, real = _REAL_DATA[r.env.name]
    acc = prov.get("final_mean_train_accuracy")
    front = [
        "---",
        "license: apache-2.0",
        f"pretty_name: 'HaDES {ds.dataset_id}'",
        "task_categories:",
        "- image-classification",
        "tags:",
        *[f"- {t}" for t in ("behaviour-distillation", "hades", "synthetic-data",
                             "dataset-distillation", "image-classification",
                             entry["env"].lower())],
        "size_categories:",
        f"- {_size_category(ds.size)}",
        "source_datasets:",
        f"- {hub_name}",
        "---",
    ]
    notes = f"\n## Caveats\n\n{ds.info.notes}\n" if ds.info.notes else ""
    init = ("a fresh random init per training run "
            f"({r.num_inits} per ES candidate)" if r.policy.init_seed is None
            else f"fixed init `key({r.policy.init_seed})`")
    body = f"""
# {ds.dataset_id}

A synthetic image dataset from **{PAPER}**: {ds.size} images of
{img.height} x {img.width}, one per class of `{r.env.name}`, evolved with
{r.es.strategy} so that a small CNN trained *from scratch* on these {ds.size} images
alone classifies the real {r.env.name} images well (dataset distillation, the
paper's supervised experiment).

| | |
|---|---|
| task | `{r.env.name}` image classification ({img.num_classes} classes) |
| variant | HaDES-R (fresh classifier initialisations) |
| size D | {ds.size} images ({img.num_pixels} pixels each) |
| seed | {r.seed} |
| recorded fitness | {ds.info.fitness:.6g} ({ds.info.fitness_kind}; lower is better) |
| recorded train accuracy | {"n/a" if acc is None else f"{acc:.3f}"} (mean over the final ES population) |

## Contents

One `{ds.dataset_id}.safetensors` file: `states` ({ds.size} x {img.num_pixels})
float32, the images flattened row-major in pixel / 255 scale (reshape to
({ds.size}, {img.height}, {img.width}); evolution leaves values in
[{float(ds.states.min()):.2f}, {float(ds.states.max()):.2f}], not clipped to [0, 1]), and `labels` ({ds.size},) the fixed
class labels 0..{img.num_classes - 1}. The metadata embeds the full protocol (recipe)
as JSON, including the image shape.

```python
import hades_zoo as hz
ds = hz.load("{ds.dataset_id}")
images = ds.states.reshape(-1, {img.height}, {img.width})
```

Training and scoring a classifier needs the real test images (not shipped):
`hades-zoo eval {ds.dataset_id} --data-dir DIR` with the standard IDX `.gz` files
in `DIR` (or in `$HADES_ZOO_DATA/{"mnist" if r.env.name == "MNIST" else "fashion-mnist"}/`).

## Protocol

- Classifier: Conv({img.conv_features}, {img.kernel_size}x{img.kernel_size}, SAME)
  -> relu -> flatten -> Dense({r.policy.width}) -> relu -> Dense({img.num_classes});
  lecun-normal kernels, U[0, 0.05) hidden biases; {init}.
- Training: {r.bc.steps} full-batch SGD steps on the {ds.size} images, lr
  {r.bc.lr}, momentum {r.bc.momentum}; loss -mean(log_softmax(logits) * onehot)
  (cross-entropy / {img.num_classes}).
- Real pixels are divided by 255{"" if img.normalize else " (not: NORMALIZE=false)"}.
- Fitness: that loss on the 60k real training images, averaged over the
  {r.num_inits} trained classifiers (minimised).
- ES: {r.es.strategy}, population {r.es.popsize}, {r.es.generations} generations,
  sigma_init {r.es.sigma_init} (decay {r.es.sigma_decay}, floor {r.es.sigma_limit}),
  Adam lr {r.es.lrate_init} (decay {r.es.lrate_decay}); started from the per-class
  mean real training images (`init_mode: {img.init_mode}`).

The full recipe is `recipes/{ds.dataset_id}.yaml`.
{notes}
## Provenance

- Authors and data: Lupu, Lu, Liesen, Lange, Foerster, *Behaviour Distillation*,
  ICLR 2024 ({REFERENCE_REPO}, Apache-2.0). The images were evolved from {real}.
- Source: `{prov.get("source", "")}` (commit `{REFERENCE_COMMIT}`). The dataset is the
  ES search-distribution mean at the end of the run (not the best member).
- Recorded fitness: mean over the {prov.get("popsize", "?")} candidates of the final
  generation ({prov.get("final_population_mean_fitness", float("nan")):.6g}; the
  run's best single noisy candidate had {prov.get("es_best_fitness", float("nan")):.6g}).
  A training-time number, not a paper evaluation number.
- Converted to safetensors by `hades_zoo` (`hades-zoo import-reference`); no code from
  the reference repository was copied.

## Reproduction certificate

{CERT_START}
{certificate}
{CERT_END}

""" + _CITATION
    return "\n".join(front) + "\n" + body


def render_card(ds, entry: dict, certificate: str = CERT_DEFAULT) -> str:
    """A Hugging Face dataset card (YAML front matter + prose) for a zoo entry."""
    if ds.recipe.image is not None:
        return render_image_card(ds, entry, certificate)
    r = ds.recipe
    prov = ds.info.provenance
    fam = _family(r.env.name)
    variant = {
        "F": "HaDES-F (fixed policy initialisation)",
        "R": "HaDES-R (fresh policy initialisations)",
    }[r.variant]
    used = ds.size if ds.mask is None else int(ds.arrays()["mask"].sum())
    kind = (
        f"`actions` ({ds.size} x {ds.actions.shape[1]}) continuous BC targets"
        if not ds.discrete
        else f"`labels` ({ds.size},) fixed class labels and "
        f"`mask` ({ds.size},): BC uses {used} pairs"
    )
    norm = {
        "const": "constant normalisation (x - mean) / sqrt(var + 1e-8) with the stored "
        "`obs_mean` / `obs_var`",
        "running": "a running normaliser re-estimated online over the eval envs "
        "(purejaxrl `NormalizeVecObservation`); there is no fixed inverse",
        "none": "no normalisation",
    }[r.env.obs_norm]
    init = (
        f"fixed init `PRNGKey({r.policy.init_seed})` (jax<0.5 threefry)"
        if r.policy.init_seed is not None
        else f"a fresh random init per run ({r.num_inits} per ES candidate)"
    )
    clip = (
        f"global-norm clip {r.bc.max_grad_norm}"
        if r.bc.max_grad_norm
        else "no gradient clipping"
    )
    tags = [
        "behaviour-distillation",
        "hades",
        "synthetic-data",
        "dataset-distillation",
        fam,
        entry["env"],
    ]
    front = [
        "---",
        "license: apache-2.0",
        f"pretty_name: 'HaDES {ds.dataset_id}'",
        "task_categories:",
        "- reinforcement-learning",
        "tags:",
        *[f"- {t}" for t in tags],
        "size_categories:",
        f"- {_size_category(ds.size)}",
        "source_datasets:",
        "- original",
        "---",
    ]
    notes = f"\n## Caveats\n\n{ds.info.notes}\n" if ds.info.notes else ""
    compat = f", compat shim `{r.env.compat}`" if r.env.compat else ""
    engine = f"brax, backend `{r.env.backend}`" if fam == "brax" else "gymnax"
    stats = ", plus `obs_mean` / `obs_var`" if ds.obs_mean is not None else ""
    temp = f", temperature {r.es.temperature}" if r.es.temperature else ""
    body = f"""
# {ds.dataset_id}

A synthetic behaviour-distillation dataset from **{PAPER}**: {ds.size}
state-action pairs, evolved with {r.es.strategy} so that a policy trained *from
scratch* on them by behaviour cloning performs well in `{r.env.name}`.

| | |
|---|---|
| env | `{r.env.name}` ({engine}{compat}) |
| variant | {variant} |
| size D | {ds.size} |
| observation dim | {ds.obs_dim} |
| seed | {r.seed} |
| recorded fitness | {ds.info.fitness:.6g} ({ds.info.fitness_kind}) |
| ES best candidate | {prov.get("es_best_fitness", float("nan")):.6g} |

## Contents

One `{ds.dataset_id}.safetensors` file: `states` ({ds.size} x {ds.obs_dim}) in the
space the policy sees, {kind}{stats}.
The metadata embeds the full protocol (recipe) as JSON.

```python
import hades_zoo as hz
ds = hz.load("{ds.dataset_id}")
print(hz.protocol_returns(ds, seeds=5))   # comparable to the recorded fitness
```

## Protocol

- Observations: {norm}.
- Policy: MLP, {r.policy.depth} x {r.policy.width} {r.policy.activation}, {init}.
- Behaviour cloning: Adam lr {r.bc.lr}, eps {r.bc.eps}, {r.bc.steps} full-batch steps,
  {clip}.
- Evaluation: {r.eval.num_envs} envs x {r.eval.num_steps} steps,
  {"greedy" if r.eval.greedy else "sampled"} actions; fitness = mean return of the
  episodes completed in that window.
- ES: {r.es.strategy}, population {r.es.popsize}, {r.es.generations} generations,
  sigma_init {r.es.sigma_init}{temp}.

The full recipe is `recipes/{ds.dataset_id}.yaml`.
{notes}
## Provenance

- Authors and data: Lupu, Lu, Liesen, Lange, Foerster, *Behaviour Distillation*,
  ICLR 2024 ({REFERENCE_REPO}, Apache-2.0).
- Source: `{prov.get("source", "")}` (commit `{REFERENCE_COMMIT}`). The dataset is the
  ES search-distribution mean at the end of the run (not the best member).
- Recorded fitness: mean over the {prov.get("popsize", "?")} candidates of the final
  generation ({prov.get("final_population_mean_fitness", float("nan")):.6g}; max
  {prov.get("final_population_max_fitness", float("nan")):.6g}). This is a
  training-time number, not a paper evaluation number.
- Converted to safetensors by `hades_zoo` (`hades-zoo import-reference`); no code from
  the reference repository was copied.

## Reproduction certificate

{CERT_START}
{certificate}
{CERT_END}

## Citation

```bibtex
@inproceedings{{lupu2024behaviour,
  title={{Behaviour Distillation}},
  author={{Lupu, Andrei and Lu, Chris and Liesen, Jarek and
            Lange, Robert Tjarko and Foerster, Jakob}},
  booktitle={{The Twelfth International Conference on Learning Representations}},
  year={{2024}}
}}
```
"""
    return "\n".join(front) + "\n" + body


def _existing_certificate(card_path: Path) -> str:
    if not card_path.exists():
        return CERT_DEFAULT
    m = re.search(
        re.escape(CERT_START) + r"\n(.*?)\n" + re.escape(CERT_END),
        card_path.read_text(),
        re.S,
    )
    return m.group(1) if m else CERT_DEFAULT


def _write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def build(npz_dir: Path, repo: Path = REPO) -> dict:
    zoo, cards, recipes = repo / "hades_zoo" / "zoo" / "entries", repo / "cards", repo / "recipes"
    datasets, excluded = {}, {}
    for npz in sorted(npz_dir.glob("*.npz")):
        ref = read_reference(npz)
        dataset_id = reference_dataset_id(ref)
        reason = next(
            (
                p["reason"]
                for p in EXCLUDED_PATTERNS
                if fnmatch.fnmatchcase(dataset_id, p["pattern"])
            ),
            None,
        )
        if reason is not None:
            excluded[dataset_id] = reason
            log.info("skip %s (%s)", dataset_id, reason.split(":")[0])
            continue
        try:
            ds = import_reference(npz)
        except DatasetFormatError as err:
            excluded[dataset_id] = str(err)
            log.warning("skip %s: %s", dataset_id, err)
            continue
        if dataset_id in datasets:
            raise SystemExit(f"duplicate id {dataset_id} from {npz.name}")
        data = dataset_to_bytes(ds)
        file = f"{dataset_id}.safetensors"
        atomic_write_bytes(zoo / file, data)
        pid = parse_dataset_id(dataset_id)
        entry = {
            "file": file,
            "sha256": hashlib.sha256(data).hexdigest(),
            "env": ds.recipe.env.name,
            "backend": ds.recipe.env.backend,
            "variant": ds.recipe.variant,
            "size": ds.size,
            "seed": pid.seed,
            "fitness": ds.info.fitness,
            "fitness_kind": ds.info.fitness_kind,
            "source": ds.info.provenance["source"],
            "notes": ds.info.notes,
            "card": f"cards/{dataset_id}.md",
            "recipe": f"recipes/{dataset_id}.yaml",
        }
        datasets[dataset_id] = entry
        card_path = cards / f"{dataset_id}.md"
        text = render_card(ds, entry, _existing_certificate(card_path))
        if card_path.exists():  # keep measured sections added after the build
            from hades_zoo.zoo.results import (
                TRANSFER_SECTION,
                get_card_section,
                set_card_section,
            )

            kept = get_card_section(card_path.read_text(), TRANSFER_SECTION)
            if kept is not None:
                text = set_card_section(text, TRANSFER_SECTION, kept)
        _write_text(card_path, text)
        header = (
            f"# {dataset_id}: the exact config this dataset was evolved with,\n"
            f"# imported from {ds.info.provenance['source']}.\n"
            "# `hades-zoo distill` on it re-runs the same protocol (hades_zoo's "
            "evosax 0.3 ES, so not bit-identical to the original run).\n"
        )
        _write_text(recipes / f"{dataset_id}.yaml", header + dump_recipe(ds.recipe))
        log.info("built %s (fitness %.4g)", dataset_id, ds.info.fitness)
    # The zoo's own entries (evolved by hades_zoo, tag .hz) are not built from the
    # reference files: carry them over from the current index.
    old_index = zoo / "index.json"
    if old_index.exists():
        for dataset_id, entry in json.loads(old_index.read_text())["datasets"].items():
            if entry.get("origin") == "hades_zoo":
                datasets[dataset_id] = entry
    # Drop packaged files of ids no longer produced (re-runs after exclusions change).
    for stale in zoo.glob("*.safetensors"):
        if stale.stem not in datasets:
            stale.unlink()
    index = {
        "index_version": INDEX_VERSION,
        "source": {
            "repository": REFERENCE_REPO,
            "commit": REFERENCE_COMMIT,
            "license": "Apache-2.0",
            "paper": PAPER,
        },
        "datasets": dict(sorted(datasets.items())),
        "excluded": dict(sorted(excluded.items())),
        "excluded_patterns": EXCLUDED_PATTERNS,
    }
    _write_text(zoo / "index.json", json.dumps(index, indent=1, sort_keys=False) + "\n")
    return index


def add_own_entry(folder: Path, repo: Path = REPO) -> dict:
    """Package an entry folder of `hades-zoo distill --out DIR` as an own zoo entry.

    The dataset (checked against its card's sha256, format and env) becomes
    ``hades_zoo/zoo/entries/<id>.safetensors``; the folder's README.md becomes
    ``cards/<id>.md`` (its learning curve ``cards/<id>.curve.png``); the entry's
    effective recipe must equal ``recipes/<id>.yaml``; ``index.json`` gets the entry
    with ``origin: hades_zoo``.
    """
    from hades_zoo.data.recipe_io import load_recipe
    from hades_zoo.hub.folder import from_pretrained

    ds = from_pretrained(folder)
    dataset_id = ds.info.dataset_id
    pid = parse_dataset_id(dataset_id)
    if not pid.own:
        raise SystemExit(f"{folder}: {dataset_id} is not an own entry id (tag .hz)")
    recipe_path = repo / "recipes" / f"{dataset_id}.yaml"
    if load_recipe(recipe_path) != ds.recipe:
        raise SystemExit(f"{folder}: its recipe differs from {recipe_path}")
    zoo = repo / "hades_zoo" / "zoo" / "entries"
    data = dataset_to_bytes(ds)
    atomic_write_bytes(zoo / f"{dataset_id}.safetensors", data)
    curve = folder / "curve.png"
    card = (folder / "README.md").read_text()
    if curve.exists():
        atomic_write_bytes(repo / "cards" / f"{dataset_id}.curve.png", curve.read_bytes())
        card = card.replace("](curve.png)", f"]({dataset_id}.curve.png)")
    # the folder's certificate names the folder: in the zoo it is certified by id
    card = re.sub(r"`hades-zoo certify [^`]*`", f"`hades-zoo certify {dataset_id}`", card)
    # the folder's replay.mp4 stays out of the repository (the catalogue renders every
    # entry's replay, `hades-zoo catalogue`): the card says how to watch it instead
    card = re.sub(
        r"<!-- replay:start -->.*?<!-- replay:end -->",
        "<!-- replay:start -->\nWatch its policy: `hades-zoo render "
        f"{dataset_id} --out replay.mp4`, or its page in the catalogue "
        "(`hades-zoo catalogue --out site/`).\n<!-- replay:end -->",
        card, flags=re.S)
    _write_text(repo / "cards" / f"{dataset_id}.md", card)
    evo = ds.info.provenance.get("evolution", {})
    entry = {
        "file": f"{dataset_id}.safetensors",
        "sha256": hashlib.sha256(data).hexdigest(),
        "env": ds.recipe.env.name,
        "backend": ds.recipe.env.backend,
        "variant": ds.recipe.variant,
        "size": ds.size,
        "seed": pid.seed,
        "fitness": ds.info.fitness,
        "fitness_kind": ds.info.fitness_kind,
        "source": f"{evo.get('source', 'evolved by hades_zoo')} from recipes/{dataset_id}.yaml",
        "origin": "hades_zoo",
        "notes": ds.info.notes,
        "card": f"cards/{dataset_id}.md",
        "recipe": f"recipes/{dataset_id}.yaml",
    }
    index_path = zoo / "index.json"
    index = json.loads(index_path.read_text())
    index["datasets"][dataset_id] = entry
    index["datasets"] = dict(sorted(index["datasets"].items()))
    _write_text(index_path, json.dumps(index, indent=1, sort_keys=False) + "\n")
    return entry


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--npz-dir",
        type=Path,
        default=REPO.parent / "shared" / "reference-datasets" / "npz",
    )
    parser.add_argument("--add-own", type=Path, nargs="+", default=None, metavar="DIR",
                        help="package these distill --out folders as own entries (.hz) "
                             "instead of rebuilding from the reference files")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.add_own:
        for folder in args.add_own:
            entry = add_own_entry(folder)
            print(f"packaged {folder} -> {entry['file']} (fitness {entry['fitness']:.4g})")
        return
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    index = build(args.npz_dir)
    print(
        f"{len(index['datasets'])} datasets packaged, {len(index['excluded'])} excluded"
    )


if __name__ == "__main__":
    main()
