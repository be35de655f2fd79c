"""What ``hades-zoo show`` tells about a dataset, gathered without training anything.

:func:`describe` reads a source (zoo id, file, entry folder or ``hf:``, resolved by
``zoo.loading.resolve_source`` as ``hz.load`` does) and collects: the protocol, the
sizes, the recorded fitness, the reproduction certificate and transfer score where
one is recorded (and where it was found), the provenance, the files (size, sha256)
and the commands that load, train, evaluate, certify and share it. The CLI renders
it (``hades_zoo.cli.show``); nothing here writes to the terminal.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path
from typing import Any

from hades_zoo.data.cache import sha256_file
from hades_zoo.data.dataset import SyntheticDataset
from hades_zoo.errors import DatasetFormatError, HadesZooError
from hades_zoo.zoo.loading import Source, load, resolve_source
from hades_zoo.zoo.registry import ZooEntry

__all__ = ["FileInfo", "Summary", "describe"]

_MAX_FILES = 40  # an entry folder's data/ and checkpoints: enough to see them all


@dataclasses.dataclass(frozen=True)
class FileInfo:
    """One file of a dataset: its name (relative to its folder), size and sha256."""

    name: str
    size: int
    sha256: str


@dataclasses.dataclass(frozen=True)
class Summary:
    """Everything ``show`` prints about one dataset.

    Attributes:
        source: what the argument named (``zoo.loading.Source``).
        dataset: the loaded (checked) dataset.
        location: where its data is: a path, or ``hf:org/name@commit``.
        entry: the zoo registry entry (zoo ids only).
        certificate / certificate_from: the recorded reproduction certificate and
            where it was found (None: not certified here).
        transfer / transfer_from: the transfer-robustness result (``score``,
            ``top50_mean``, ``grid``) and where it was found.
        files: the dataset's files.
        commands: ``(what, command)`` pairs to copy and paste.
    """

    source: Source
    dataset: SyntheticDataset
    location: str
    entry: ZooEntry | None = None
    certificate: dict[str, Any] | None = None
    certificate_from: str = ""
    transfer: dict[str, Any] | None = None
    transfer_from: str = ""
    files: tuple[FileInfo, ...] = ()
    commands: tuple[tuple[str, str], ...] = ()

    def protocol(self) -> list[tuple[str, str]]:
        """``(part, setting)`` rows: env, obs normalisation, network, BC, eval, ..."""
        r = self.dataset.recipe
        rows = [("env", f"{r.env.name} ({r.env.backend})"
                 + (f", episodes of {r.env.episode_length} steps"
                    if r.image is None else "")
                 + (f", compat {r.env.compat}" if r.env.compat else ""))]
        if self.dataset.info.env_provider is not None:
            rows.append(("env provider", self.dataset.info.env_provider.describe()))
        if r.image is not None:
            im = r.image
            rows += [("images", f"{im.height} x {im.width} x {im.channels}, "
                      f"{im.num_classes} classes"),
                     ("network", f"CNN: conv {im.conv_features} {im.kernel_size}x"
                      f"{im.kernel_size} -> dense {r.policy.width} -> "
                      f"{im.num_classes}")]
        else:
            init = (f"fixed init (seed {r.policy.init_seed})"
                    if r.policy.init_seed is not None else "fresh init per seed")
            rows += [("obs norm", r.env.obs_norm + {
                         "const": " (the dataset's obs_mean / obs_var)",
                         "running": " (running mean / var during the episode)",
                     }.get(r.env.obs_norm, "")),
                     ("network", f"MLP {r.policy.depth} x {r.policy.width} "
                      f"{r.policy.activation}, {r.policy.init} init, {init}")]
        clip = ("no grad clip" if r.bc.max_grad_norm is None
                else f"grad clip {r.bc.max_grad_norm}")
        rows.append(("BC", f"{r.bc.steps} full-batch {r.bc.optimizer} steps, lr "
                     f"{r.bc.lr:g}, eps {r.bc.eps:g}, {clip}, loss {r.bc.loss}"))
        if r.image is None:
            e = r.eval
            rows.append(("eval", f"{e.mode}: {e.num_envs} envs x {e.num_steps} steps, "
                         f"{'greedy' if e.greedy else 'sampled'} actions"))
        rows.append(("variant", f"HaDES-{r.variant}, {r.num_inits} BC init(s) per "
                     f"candidate, seed {r.seed}"))
        if r.inner_loop is not None:
            il = r.inner_loop
            rows.append(("inner loop", f"widths {list(il.widths)}, depths "
                         f"{list(il.depths)}, {list(il.activations)}, lr "
                         f"{list(il.bc_lr)}, steps {list(il.bc_steps)} (distillation "
                         "only)"))
        rows.append(("ES", f"{r.es.strategy}, population {r.es.popsize}, "
                     f"{r.es.generations} generations, sigma {r.es.sigma_init:g}"))
        return rows

    def sizes(self) -> list[tuple[str, str]]:
        """``(what, size)`` rows: pairs, observation and action sizes."""
        ds = self.dataset
        rows = [("D (pairs)", str(ds.size))]
        if ds.mask is not None:
            import numpy as np

            used = int(np.asarray(ds.mask).sum())
            if used != ds.size:
                rows.append(("pairs in use (mask)", str(used)))
        rows.append(("obs dim", str(ds.obs_dim)))
        if ds.recipe.image is not None:
            rows.append(("labels", f"{ds.recipe.image.num_classes} classes"))
        elif ds.discrete:
            rows.append(("actions", f"discrete, {_num_actions(ds)} choices"))
        else:
            rows.append(("actions", f"continuous, dim {ds.actions.shape[1]}"))
        return rows


def _num_actions(ds: SyntheticDataset) -> str:
    from hades_zoo.engine.envs import env_spec

    try:
        return str(env_spec(ds.recipe.env).action_dim)
    except HadesZooError:
        return "?"


def _file(path: Path, root: Path) -> FileInfo:
    return FileInfo(str(path.relative_to(root)), path.stat().st_size, sha256_file(path))


def _folder_files(directory: Path) -> tuple[FileInfo, ...]:
    found = sorted(p for p in directory.rglob("*")
                   if p.is_file() and not any(x.startswith(".") for x in
                                              p.relative_to(directory).parts))
    return tuple(_file(p, directory) for p in found[:_MAX_FILES])


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _card_names(path: Path) -> bool:
    """Whether the README.md card beside ``path`` describes that file."""
    from hades_zoo.hub.cards import card_block

    card = path.parent / "README.md"
    try:
        return card.is_file() and card_block(card.read_text(encoding="utf-8")).get(
            "file") == path.name
    except (DatasetFormatError, OSError):
        return False


def _card_certificate(directory: Path) -> dict[str, Any] | None:
    from hades_zoo.hub.cards import card_block

    card = directory / "README.md"
    if not card.is_file():
        return None
    try:
        found = card_block(card.read_text(encoding="utf-8")).get("certificate")
    except (DatasetFormatError, OSError):
        return None
    return found if isinstance(found, dict) else None


def _provenance_certificate(ds: SyntheticDataset) -> dict[str, Any] | None:
    prov = ds.info.provenance
    found = prov.get("certificate", prov.get("reproduction_certificate"))
    return found if isinstance(found, dict) else None


def _zoo_certificate(dataset_id: str) -> tuple[dict[str, Any] | None, str]:
    """The source checkout's results/certificates.json record (maintainers' table)."""
    from hades_zoo.zoo.results import TABLE_JSON, load_table, repo_root

    try:
        root = repo_root()
        rec = load_table(root).get(dataset_id)
    except (HadesZooError, OSError, ValueError):
        return None, ""
    return rec, str(root / TABLE_JSON) if rec else ""


def _folder_transfer(directory: Path) -> dict[str, Any] | None:
    data = _read_json(directory / "transfer.json")
    if data is None:
        return None
    return {"score": data.get("score"), "top50_mean": data.get("top50_mean"),
            "grid": data.get("grid_name")}


def _commands(src: Source, ds: SyntheticDataset, has: set[str]) -> tuple:
    """Copy-paste commands, only those of commands this installation has."""
    arg = shlex.quote(src.given)
    ident = ds.dataset_id
    out = "" if src.kind == "folder" else " --out results"
    rows = [("load (Python)", None,
             f"import hades_zoo as hz; ds = hz.load({json.dumps(src.given)})"),
            ("train + evaluate", "eval", f"hades-zoo eval {arg} --episodes 10"),
            ("train, keep the policy", "train",
             f"hades-zoo train {arg} --out {shlex.quote(ident + '-policy')}"),
            ("certify", "certify", f"hades-zoo certify {arg}{out}"),
            ("transfer", "transfer", f"hades-zoo transfer {arg}{out}"),
            ("render", "render", f"hades-zoo render {arg} --out replay.mp4")]
    if src.kind == "hf":
        rows.append(("pull", "pull",
                     f"hades-zoo pull {arg} --out {shlex.quote(ident)}"))
    else:
        rows.append(("push", "push",
                     f"hades-zoo push {arg} --repo-id {shlex.quote('ORG/' + ident)}"))
    return tuple((what, text) for what, name, text in rows
                 if name is None or name in has)


def describe(source: str | Path, *, commands: set[str] | frozenset[str] = frozenset(
        {"eval", "train", "certify", "transfer", "push", "pull"})) -> Summary:
    """Load ``source`` and gather what ``hades-zoo show`` prints (no training).

    Args:
        source: a zoo id, a ``.safetensors`` file, an entry folder or
            ``hf:<org>/<name>[@rev]`` (``zoo.loading.resolve_source``).
        commands: the CLI commands that exist (a ``render`` row is listed only when
            ``"render"`` is among them).

    Returns:
        The :class:`Summary`.

    Raises:
        UnknownDatasetError: an unknown zoo id (with close matches), a missing path
            or an ambiguous one; DatasetFormatError, EnvError, HubError: as ``load``.
    """
    src = resolve_source(source)
    has = set(commands)
    cert, cert_from, transfer, transfer_from = None, "", None, ""
    entry = None
    if src.kind == "hf":
        from hades_zoo.hub.folder import from_pretrained
        from hades_zoo.hub.pull import pull_from_hub

        pulled = pull_from_hub(src.value)  # into the cache: offline next time
        ds = from_pretrained(pulled.directory, filename=pulled.dataset_file.name)
        location = f"{pulled.source} (copy: {pulled.directory})"
        files = _folder_files(pulled.directory)
        cert = _card_certificate(pulled.directory)
        cert_from = "the repo's card" if cert else ""
    elif src.kind == "zoo":
        from hades_zoo.zoo.registry import info, packaged_file

        ds = load("zoo:" + src.value)
        entry = info(ds.dataset_id)
        found = packaged_file(entry)
        packaged = Path(str(found)) if found is not None else None
        location = (str(packaged) if packaged is not None else
                    f"hf:{entry.hub.repo_id}@{entry.hub.revision}" if entry.hub else "")
        files = (_file(packaged, packaged.parent),) if packaged is not None else ()
        cert, cert_from = _zoo_certificate(ds.dataset_id)
        if entry.transfer_grid is not None:
            transfer = {"score": entry.transfer_score,
                        "top50_mean": entry.transfer_top50_mean,
                        "grid": entry.transfer_grid}
            transfer_from = "the packaged zoo (entries/transfer.json)"
    else:
        ds = load(src.path)
        path = src.path
        location = str(path.resolve())
        directory = path if src.kind == "folder" else None
        if directory is None and _card_names(path):
            directory = path.parent  # the dataset file of an entry folder
        if src.kind == "folder":
            files = _folder_files(path)
        else:
            files = tuple(_file(p, path.parent) for p in
                          (path, path.with_name(path.name + ".sha256")) if p.is_file())
        if directory is not None:
            cert = _read_json(directory / "certificate.json")
            cert_from = "certificate.json" if cert else ""
            if cert is None:
                cert = _card_certificate(directory)
                cert_from = "the folder's card" if cert else ""
            transfer = _folder_transfer(directory)
            transfer_from = "transfer.json" if transfer else ""
    if cert is None:
        cert = _provenance_certificate(ds)
        cert_from = "the dataset's provenance" if cert else ""
    return Summary(source=src, dataset=ds, location=location, entry=entry,
                   certificate=cert, certificate_from=cert_from, transfer=transfer,
                   transfer_from=transfer_from, files=files,
                   commands=_commands(src, ds, has))
