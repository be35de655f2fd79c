"""Where a user's measurement goes: the entry folder it was given, or ``--out``.

``hades-zoo certify`` and ``hades-zoo transfer`` measure a dataset. Their results
belong to the user, never to the installed package or the source checkout:

- an **entry folder** (``hades-zoo distill --out DIR``, ``pull --out DIR``,
  ``save_pretrained``): its ``README.md`` card gains the section ("Reproduction
  certificate", "Transfer") and the folder the JSON (and plot) beside the dataset:
  ``certificate.json``; ``transfer.json`` + ``transfer.png`` for the ``common`` grid,
  ``transfer-<grid>.json`` + ``.png`` for any other;
- an ``--out DIR`` the user named: ``DIR/<id>.certificate.json``;
  ``DIR/<id>.json`` + ``DIR/<id>.png`` for the ``common`` grid and
  ``DIR/<grid>/<id>.{json,png}`` for any other (the layout of ``results/transfer/``,
  so a maintainer files a result measured elsewhere by copying it there).

Updating the packaged zoo (``cards/``, ``results/``, ``hades_zoo/zoo/entries/
transfer.json``) is the maintainer's step: ``--update-zoo`` from a source checkout
(``results.repo_root``) or ``scripts/``; see ``transfer_zoo`` and ``certify``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hades_zoo.data.cache import atomic_write_bytes
from hades_zoo.data.paths import child_path
from hades_zoo.errors import HadesZooError
from hades_zoo.zoo import results
from hades_zoo.zoo.transfer import (
    COMMON_GRID,
    TransferResult,
    plot_transfer,
    render_transfer_section,
)

__all__ = [
    "entry_card",
    "folder_transfer_path",
    "record_transfer_in_folder",
    "record_certificate_record_in_folder",
    "out_transfer_path",
    "write_transfer_out",
    "write_certificate_out",
]

CERTIFICATE_FILE = "certificate.json"


def entry_card(directory: str | Path) -> Path:
    """The ``README.md`` card of an entry folder (checked before anything is measured).

    Raises:
        HadesZooError: the folder has no card.
    """
    card = Path(directory) / "README.md"
    if not card.is_file():
        raise HadesZooError(
            f"{directory} has no README.md card, so it is not an entry folder to "
            "record into; give an entry folder written by `hades-zoo distill --out "
            "DIR` (or save_pretrained / pull --out), write elsewhere with --out DIR, "
            "or pass --no-write.")
    return card


def folder_transfer_path(directory: str | Path, grid: str) -> Path:
    """``transfer.json`` (grid ``common``) or ``transfer-<grid>.json`` in
    ``directory``."""
    if grid == COMMON_GRID:
        return Path(directory) / "transfer.json"
    return child_path(directory, f"transfer-{grid}", suffix=".json", what="grid name")


def _write_transfer(res: TransferResult, path: Path) -> Path | None:
    """JSON at ``path``, plot beside it (None when matplotlib is missing)."""
    atomic_write_bytes(path, json.dumps(res.to_dict(), indent=1).encode())
    try:
        return Path(plot_transfer(res, path.with_suffix(".png")))
    except ImportError:  # the JSON is the result; plots need hades_zoo[plot]
        return None


def record_transfer_in_folder(res: TransferResult, directory: str | Path) -> Path:
    """File ``res`` in an entry folder: its JSON and plot, and the card's Transfer
    section (the ``common`` result in full, one line per other grid measured there).

    Returns:
        The JSON path.

    Raises:
        HadesZooError: the folder has no README.md card.
    """
    directory = Path(directory)
    card = entry_card(directory)
    path = folder_transfer_path(directory, res.grid_name)
    _write_transfer(res, path)
    found = {}
    for p in sorted(directory.glob("transfer*.json")):
        try:
            other = TransferResult.from_dict(json.loads(p.read_text()))
        except (ValueError, KeyError, TypeError):  # not ours: leave it out of the card
            continue
        if folder_transfer_path(directory, other.grid_name) == p:
            found[other.grid_name] = (other, p)
    shown, shown_path = found.get(COMMON_GRID) or found[res.grid_name]
    others = [(r, p.name) for g, (r, p) in sorted(found.items()) if r is not shown]
    png = shown_path.with_suffix(".png")
    body = render_transfer_section(shown, png.name if png.is_file() else None,
                                   others=others)
    body = body.replace(f"`hades-zoo transfer {shown.dataset_id} ",
                        f"`hades-zoo transfer {directory} ")
    text = results.set_card_section(card.read_text(encoding="utf-8"),
                                    results.TRANSFER_SECTION, body)
    atomic_write_bytes(card, text.encode())
    return path


def record_certificate_record_in_folder(rec: Mapping[str, Any],
                                        directory: str | Path) -> dict:
    """File a certificate record (``Certificate.to_dict()`` + env, variant, protocol,
    or an image record of ``image_eval.certify_image_dataset``) in an entry folder:
    the card's "Reproduction certificate" section and ``certificate.json``.

    Args:
        rec: the record.
        directory: the entry folder.

    Raises:
        HadesZooError: the folder has no README.md card.
    """
    directory = Path(directory)
    card = entry_card(directory)
    rec = dict(rec)
    body = results.render_certificate_section(rec, protocol=rec.get("protocol", ""))
    body = body.replace(f"`hades-zoo certify {rec['dataset_id']}",
                        f"`hades-zoo certify {directory}")
    text = results.set_card_section(card.read_text(encoding="utf-8"),
                                    results.CERT_SECTION, body)
    atomic_write_bytes(card, text.encode())
    atomic_write_bytes(directory / CERTIFICATE_FILE,
                       (json.dumps(rec, indent=1, sort_keys=True) + "\n").encode())
    return rec


def out_transfer_path(out: str | Path, dataset_id: str, grid: str) -> Path:
    """``OUT/<id>.json`` (grid ``common``) or ``OUT/<grid>/<id>.json``."""
    folder = (Path(out) if grid == COMMON_GRID
              else child_path(out, grid, what="grid name"))
    return child_path(folder, dataset_id, suffix=".json", what="dataset id")


def write_transfer_out(res: TransferResult,
                       out: str | Path) -> tuple[Path, Path | None]:
    """Write ``res``'s JSON and plot under ``out`` (``out_transfer_path``).

    Returns:
        (the JSON path, the plot path or None when matplotlib is missing).
    """
    path = out_transfer_path(out, res.dataset_id, res.grid_name)
    return path, _write_transfer(res, path)


def out_certificate_path(out: str | Path, dataset_id: str) -> Path:
    """``OUT/<id>.certificate.json`` (through the one name gate)."""
    return child_path(out, dataset_id, suffix=".certificate.json", what="dataset id")


def write_certificate_out(rec: Mapping[str, Any], out: str | Path) -> Path:
    """Write a certificate record to ``OUT/<id>.certificate.json``."""
    path = out_certificate_path(out, rec["dataset_id"])
    atomic_write_bytes(path, (json.dumps(dict(rec), indent=1, sort_keys=True)
                              + "\n").encode())
    return path
