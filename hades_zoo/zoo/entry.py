"""A zoo entry folder, as ``hades-zoo distill --out DIR`` leaves it.

``DIR`` holds everything a zoo entry needs, written again after every checkpoint so a
run stopped at any point leaves a usable, pushable entry:

- ``<id>.safetensors`` + ``<id>.safetensors.sha256``: the dataset (the ES mean);
- ``README.md``: its Hugging Face dataset card (``hades_zoo.hub.cards``) with an
  "Evolution" section: provenance (evolved by hades_zoo <version>), machine, wall
  time, generations, environment steps, the ``--set`` overrides, the learning curve
  (picture and a small table); ``hades-zoo certify DIR`` adds its certificate;
- ``recipe.yaml`` (the effective recipe, overrides applied), ``metrics.jsonl`` (one
  row per generation), ``curve.png``, ``data/train-*.parquet`` (the Hub viewer table);
- ``replay.mp4`` (or ``replay.gif``) and the card's "Replay" section, written when the
  run ends (``zoo.entry_replay``; kept when the card is rewritten);
- ``checkpoint.safetensors`` / ``checkpoint.json``: resume state (not uploaded).

For the ``ES`` baseline (policy weights, no dataset) the folder holds
``policy.safetensors``, ``recipe.yaml``, ``metrics.jsonl``, ``curve.png`` and a
``README.md`` with the same Evolution section.

A stop at any instant leaves a valid folder: :func:`write_entry` writes every file
through ``hub.folder.write_folder``, whose order keeps the dataset, its sidecar and the
card one step (``hub.folder``'s docstring); ``distill`` holds ``DIR/.lock`` while it
runs and holds Ctrl-C back while a checkpoint's files are written
(``engine.run_folder``). ``distill --no-resume`` removes :func:`previous_outputs`
first: the earlier run's files this module recognises, never any other file.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from hades_zoo.data.cache import atomic_write_bytes
from hades_zoo.data.paths import check_name
from hades_zoo.data.recipe import Recipe
from hades_zoo.data.recipe_io import dump_recipe
from hades_zoo.engine.checkpoint import CKPT_JSON, CKPT_TENSORS
from hades_zoo.engine.run_files import METRICS_FILE, POLICY_FILE, CheckpointEvent
from hades_zoo.engine.run_files import read_metrics as _read_metrics
from hades_zoo.errors import UnsafeNameError
from hades_zoo.hub.cards import PARQUET_FILE, RECIPE_FILE, card_block
from hades_zoo.hub.client import CARD_FILE
from hades_zoo.hub.folder import repo_contents, write_folder
from hades_zoo.zoo.plot_style import save_figure, styled
from hades_zoo.zoo.results import CERT_SECTION, get_card_section, set_card_section

__all__ = ["EVOLUTION_SECTION", "CURVE_FILE", "EVOLUTION_FILE", "CERTIFICATE_FILE",
           "REPLAY_SECTION", "REPLAY_FILES", "write_entry", "read_metrics", "evolution_summary", "curve_png", "plot_curve",
           "entry_generation", "previous_outputs", "remove_previous_outputs"]

log = logging.getLogger(__name__)

EVOLUTION_SECTION = "evolution"
CURVE_FILE = "curve.png"
EVOLUTION_FILE = "evolution.json"
CERTIFICATE_FILE = "certificate.json"
#: The card section that shows the replay (``zoo.entry_replay``).
REPLAY_SECTION = "replay"
#: The replay an entry folder holds, one of these (``zoo.entry_replay``).
REPLAY_FILES = ("replay.mp4", "replay.gif")
_KEEP_SECTIONS = (CERT_SECTION, "transfer", REPLAY_SECTION)


def read_metrics(directory: str | Path) -> list[dict[str, Any]]:
    """The rows of ``DIR/metrics.jsonl`` (empty list if absent; a torn last line is
    dropped, ``engine.run_files.read_metrics``)."""
    return _read_metrics(Path(directory) / METRICS_FILE)


def _version() -> str:
    try:
        return metadata.version("hades_zoo")
    except metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        return "0+unknown"


def evolution_summary(recipe: Recipe, rows: Sequence[Mapping[str, Any]], *,
                      wall_seconds: float, machine: str,
                      overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The facts of a run: provenance, cost and where the learning curve ended.

    Returns:
        JSON-able mapping (``source``, ``hades_zoo_version``, ``machine``,
        ``wall_seconds``, ``generations``, ``env_steps``, ``overrides``, and the last
        row's population mean / max / best-so-far).
    """
    last = rows[-1] if rows else {}
    loss = "mean_loss" in last
    out = {
        "source": f"evolved by hades_zoo {_version()}",
        "hades_zoo_version": _version(),
        "machine": machine,
        "wall_seconds": round(float(wall_seconds), 1),
        "generations": int(last.get("generation", 0)),
        "generations_planned": recipe.es.generations,
        "env_steps": int(last.get("env_steps_total") or 0),
        "overrides": list(overrides),
        "variant": recipe.variant,
        "eval_mode": recipe.eval.mode,
    }
    if loss:
        out.update(final_mean_loss=last.get("mean_loss"), final_min_loss=last.get("min_loss"),
                   final_accuracy=last.get("accuracy"),
                   classifier_trainings=recipe.es.popsize * recipe.num_inits
                   * out["generations"],
                   fitness_steps=recipe.image.fitness_steps or recipe.bc.steps)
    else:
        out.update(final_mean_return=last.get("mean_return"),
                   final_max_return=last.get("max_return"),
                   best_return_so_far=last.get("best_return_so_far"))
    return out


def _curve_table(rows: Sequence[Mapping[str, Any]], n: int = 8) -> str:
    if not rows:
        return "_no generation finished yet_"
    loss = "mean_loss" in rows[-1]
    idx = sorted({round(i * (len(rows) - 1) / (n - 1)) for i in range(n)}) if len(rows) > 1 else [0]
    if loss:
        head = "| generation | mean loss | min loss | accuracy |\n|---:|---:|---:|---:|\n"
        body = "".join(f"| {rows[i]['generation']} | {rows[i]['mean_loss']:.4f} | "
                       f"{rows[i]['min_loss']:.4f} | {rows[i]['accuracy']:.3f} |\n" for i in idx)
        return head + body
    head = ("| generation | env steps | population mean return | population max return |\n"
            "|---:|---:|---:|---:|\n")
    body = "".join(
        f"| {rows[i]['generation']} | {int(rows[i].get('env_steps_total') or 0):,} | "
        f"{rows[i]['mean_return']:.1f} | {rows[i]['max_return']:.1f} |\n" for i in idx)
    return head + body


def _evolution_body(summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    mins = summary["wall_seconds"] / 60
    finished = summary["generations"] >= summary["generations_planned"]
    status = ("finished" if finished else
              f"**stopped early** at generation {summary['generations']} of "
              f"{summary['generations_planned']} (the dataset is the ES mean at that point; "
              "`hades-zoo distill` with the same `--out` resumes)")
    lines = [
        f"- Source: {summary['source']} (`hades-zoo distill`), {status}.",
        f"- Machine: {summary['machine']}; wall time {mins:.1f} min.",
        (f"- Generations: {summary['generations']}; classifiers trained: "
         f"{summary['classifier_trainings']:,} ({summary['fitness_steps']} SGD steps each)."
         if summary.get("classifier_trainings") is not None else
         f"- Generations: {summary['generations']}; environment steps simulated: "
         f"{summary['env_steps']:,} (evaluation protocol `{summary['eval_mode']}`)."),
        "- Overrides: " + (", ".join(f"`{o}`" for o in summary["overrides"])
                           if summary["overrides"] else "none (the recipe as written)") + ".",
        "",
        f"![learning curve]({CURVE_FILE})",
        "",
        _curve_table(rows),
        "Population statistics are the fitness of the candidates of each generation "
        "(`metrics.jsonl` has every generation); the dataset is the ES mean.",
    ]
    return "\n".join(lines)


@styled
def curve_png(rows: Sequence[Mapping[str, Any]], *, title: str) -> bytes:
    """Learning curve PNG: population mean and max (or loss) against generations and
    against environment steps (two panels).

    Raises:
        ImportError: matplotlib is missing (``pip install matplotlib``).
    """
    import io

    from hades_zoo.zoo.plotting import pyplot

    plt = pyplot()
    loss = bool(rows) and "mean_loss" in rows[-1]
    gens = [r["generation"] for r in rows]
    steps = [r.get("env_steps_total") or 0 for r in rows]
    keys = (("mean_loss", "population mean loss"), ("min_loss", "population min loss")) if loss \
        else (("mean_return", "population mean return"), ("max_return", "population max return"))
    panels = [(gens, "generation")] + ([] if loss else [(steps, "environment steps")])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 3.6), squeeze=False)
    for ax, (x, label) in zip(axes[0], panels):
        for key, name in keys:
            ax.plot(x, [r.get(key) for r in rows], label=name, lw=1.2)
        ax.set_xlabel(label)
        ax.set_ylabel("loss" if loss else "episode return")
        ax.grid()
    axes[0][0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    save_figure(fig, buf, format="png")
    return buf.getvalue()


def plot_curve(rows: Sequence[Mapping[str, Any]], path: str | Path, *, title: str) -> Path:
    """Write :func:`curve_png` to ``path`` (atomically).

    Raises:
        ImportError: matplotlib is missing (``pip install matplotlib``).
    """
    return atomic_write_bytes(path, curve_png(rows, title=title))


def write_entry(directory: str | Path, event: CheckpointEvent, recipe: Recipe, *,
                machine: str, overrides: Sequence[str] = ()) -> Path:
    """(Re)write the entry files of a distill ``--out`` folder (module docstring).

    Every file is built first, then written by ``hub.folder.write_folder``: the
    dataset, its sidecar and the card change as one step, so a run stopped at any
    instant leaves a folder whose dataset verifies. Sections already in ``README.md``
    that other commands wrote (the reproduction certificate, transfer, the replay) are
    kept while the dataset is the same; when a resumed run changed it, they and their
    files (``certificate.json``, ``transfer*.json`` / ``.png``, the replay) are removed,
    with a warning: they measured the previous dataset.

    Args:
        directory: the ``--out`` folder (holds ``metrics.jsonl``, written by distill).
        event: the ``CheckpointEvent`` distill just passed to ``on_checkpoint``.
        recipe: the effective recipe (overrides applied).
        machine: a description of the machine (``zoo.certify.machine_description``).
        overrides: the ``--set`` strings, recorded in the card.

    Returns:
        The ``README.md`` path.
    """
    directory = Path(directory)
    rows = list(event.metrics)
    summary = evolution_summary(recipe, rows, wall_seconds=event.wall_seconds,
                                machine=machine, overrides=overrides)
    card_path = directory / CARD_FILE
    kept = {}
    if card_path.exists():
        old = card_path.read_text(encoding="utf-8")
        kept = {name: get_card_section(old, name) for name in _KEEP_SECTIONS}
    dataset_file = None
    contents: dict[str, bytes] = {}
    if event.dataset is not None:
        ds = event.dataset.replace_info(provenance_json=json.dumps(
            {**event.dataset.info.provenance, "evolution": summary}, sort_keys=True))
        dataset_file, contents = repo_contents(ds)
        text = contents[CARD_FILE].decode("utf-8")
        if (any(body is not None for body in kept.values())  # else nothing to drop:
                or (directory / CERTIFICATE_FILE).exists()) and _dataset_changed(
                    directory / dataset_file, event.dataset):  # no read per chunk
            kept = {}  # they measured the dataset this one replaces
            _remove_stale_results(directory)
    else:
        text = (f"# {recipe.name}: direct ES on policy weights (baseline)\n\n"
                f"`{POLICY_FILE}` holds the evolved policy parameters of the recipe's "
                f"policy network ({recipe.policy.depth} x {recipe.policy.width} "
                f"{recipe.policy.activation}), one tensor per parameter.\n\n")
    text = set_card_section(text, EVOLUTION_SECTION,
                            _evolution_body(summary, rows))
    for name, body in kept.items():
        if body is not None:
            text = set_card_section(text, name, body)
    contents[CARD_FILE] = text.encode()
    contents.setdefault(RECIPE_FILE, dump_recipe(recipe).encode())
    contents[EVOLUTION_FILE] = (json.dumps(summary, indent=1, sort_keys=True)
                                + "\n").encode()
    try:
        contents[CURVE_FILE] = curve_png(
            rows, title=f"{recipe.name}: {summary['source']}, {summary['generations']} "
                        "generations")
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        log.warning("matplotlib missing: no %s (pip install matplotlib)", CURVE_FILE)
    write_folder(directory, contents, dataset_file=dataset_file)
    return card_path


def _dataset_changed(path: Path, new: Any) -> bool:
    """Whether ``path`` holds a dataset whose arrays differ from ``new``'s (a resumed
    run that went on evolving); False when there is none or it cannot be read."""
    from hades_zoo.data.dataset import read_dataset_file

    if not path.is_file():
        return False
    try:
        old = read_dataset_file(path)
    except Exception:  # noqa: BLE001 - an unreadable old file: nothing to compare
        return False
    return not old.same_arrays(new)


def _remove_stale_results(directory: Path) -> None:
    """Remove what other commands wrote about the folder's previous dataset: the
    reproduction certificate (``certify DIR``), transfer scores (``transfer DIR``) and
    the replay. Their card sections are dropped by the caller. (A reviewer: a run
    extended from generation 1 to 23 kept "reproduced (>= 95% of recorded) 54.8" and a
    transfer score of the old dataset beside the new one's fitness 50.47.)"""
    stale = [directory / CERTIFICATE_FILE, *(directory / f for f in REPLAY_FILES)]
    for path in sorted(directory.glob("transfer*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(record, dict) and {"widths", "lrs", "returns"} <= set(record):
                stale += [path, path.with_suffix(".png")]
        except (OSError, ValueError):  # not ours: left alone
            continue
    removed = []
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path.name)
    if removed:
        log.warning("%s: removed %s: they measured the previous dataset (run certify / "
                    "transfer again for this one).", directory, ", ".join(removed))


def entry_generation(directory: str | Path) -> int | None:
    """The generation of the entry a distill ``--out`` folder holds: its dataset's
    (which must load and verify) or, for the ``ES`` baseline, ``evolution.json``'s;
    None when it holds no valid entry yet."""
    from hades_zoo.errors import HadesZooError
    from hades_zoo.hub.folder import from_pretrained

    directory = Path(directory)
    try:
        if (directory / POLICY_FILE).is_file():
            summary = json.loads((directory / EVOLUTION_FILE).read_text())
            return int(summary["generations"])
        ds = from_pretrained(directory)
        return int(ds.info.provenance.get("generations"))
    except (HadesZooError, OSError, ValueError, KeyError, TypeError):
        return None


def previous_outputs(directory: str | Path, names: Sequence[str] = ()) -> list[Path]:
    """The files of an earlier run in a distill ``--out`` folder, the order they are
    removed in (``distill --no-resume``).

    Recognised: the checkpoint, ``metrics.jsonl``, the card, every dataset the card,
    the checkpoint's recipe or ``names`` (dataset ids) name with its ``.sha256``
    sidecar, ``recipe.yaml``, the parquet table, ``curve.png``, ``evolution.json``,
    ``certificate.json`` (``certify DIR``), ``policy.safetensors`` and the replay
    (``replay.mp4`` / ``replay.gif``). Nothing else: a file this list does not name is
    never removed.

    Args:
        directory: the ``--out`` folder.
        names: dataset ids whose ``<id>.safetensors`` is also an output (the new run's).

    Returns:
        Existing files, the checkpoint first (so a stop while removing them never
        resumes the old run) and each dataset after its card and sidecar.
    """
    directory = Path(directory)
    ids = list(names)
    try:
        ids.append(json.loads((directory / CKPT_JSON).read_text())["recipe"]["name"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        pass
    datasets: list[str] = []
    try:
        named = card_block((directory / CARD_FILE).read_text(encoding="utf-8")).get("file")
        if isinstance(named, str):
            datasets.append(named)
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    for i in ids:
        if isinstance(i, str):
            try:
                datasets.append(check_name(f"{i}.safetensors", what="dataset id"))
            except UnsafeNameError:
                pass
    order = [CKPT_JSON, CKPT_TENSORS, METRICS_FILE, CARD_FILE]
    for name in dict.fromkeys(datasets):
        try:
            check_name(name, what="dataset file")
        except UnsafeNameError:
            continue
        order += [f"{name}.sha256", name]
    order += [RECIPE_FILE, PARQUET_FILE, CURVE_FILE, EVOLUTION_FILE, CERTIFICATE_FILE,
              POLICY_FILE, *REPLAY_FILES]
    paths = [directory / n for n in dict.fromkeys(order)]
    return [p for p in paths if p.is_file() or p.is_symlink()]


def remove_previous_outputs(directory: str | Path, names: Sequence[str] = ()
                            ) -> list[Path]:
    """Remove :func:`previous_outputs` (``distill --no-resume``); returns them.

    ``metrics.jsonl`` is emptied, not removed (right after the checkpoint): with one
    of the two there, the folder stays a run folder at every instant
    (``engine.run_folder.is_run_folder``), so a stop here is resumed, not refused.
    """
    removed = previous_outputs(directory, names)
    for path in removed:
        if path.name == METRICS_FILE and path.parent == Path(directory):
            atomic_write_bytes(path, b"")
            continue
        path.unlink(missing_ok=True)
    parquet_dir = (Path(directory) / PARQUET_FILE).parent
    with contextlib.suppress(OSError):
        parquet_dir.rmdir()  # only when empty
    if removed:
        log.info("removed the previous run's outputs in %s: %s", directory,
                 ", ".join(p.name for p in removed))
    return removed
