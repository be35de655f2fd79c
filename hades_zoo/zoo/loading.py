"""Open a dataset from any source: a file, a zoo id or the Hugging Face Hub.

Every path checks that the arrays fit the dataset's env (observation size, action
kind and size) before returning, so a dataset that loads can be trained and evaluated.
"""

from __future__ import annotations

from pathlib import Path

from hades_zoo.data.dataset import SyntheticDataset, read_dataset_file
from hades_zoo.data.untrusted import is_dir
from hades_zoo.engine.envs import check_dataset_fits_env
from hades_zoo.errors import UnknownDatasetError

__all__ = ["load", "load_dataset_file"]


def load_dataset_file(path: str | Path) -> SyntheticDataset:
    """Read a ``.safetensors`` dataset file and check it against its env.

    ``path`` may also be an entry folder (``hades-zoo distill --out DIR``, or
    ``save_pretrained``): its dataset is found through its card and checked against
    the sha256 the card records (``hades_zoo.hub.folder.from_pretrained``).

    Raises:
        DatasetFormatError: missing, truncated or corrupt file; unknown
            ``format_version``; invalid arrays or metadata (the key is named).
        EnvError: the arrays do not fit the env named in the recipe.
    """
    if is_dir(path):  # never raises (a name too long is read_dataset_file's to name)
        from hades_zoo.hub.folder import from_pretrained

        return from_pretrained(Path(path))
    ds = read_dataset_file(path)
    check_dataset_fits_env(ds)
    return ds


def load(source: str | Path) -> SyntheticDataset:
    """Load a dataset.

    Args:
        source: ``file:<path>`` (or a ``Path``) for a local ``.safetensors`` file or an
            entry folder (``hades-zoo distill --out DIR``); a zoo
            id such as ``hopper-R-64`` (packaged zoo, then cache); ``hf:<org>/<name>[@rev]``
            for the Hugging Face Hub.

    Raises:
        UnknownDatasetError, DatasetFormatError, EnvError, HubError.
    """
    if isinstance(source, Path):
        return load_dataset_file(source)
    if not isinstance(source, str):
        raise UnknownDatasetError(
            f"a dataset source must be a str or Path, got {type(source).__name__}: a zoo "
            "id ('cartpole-R-2'), 'file:<path>' or 'hf:<org>/<name>[@revision]'."
        )
    if source.startswith("file:"):
        return load_dataset_file(source[len("file:"):])
    if source.startswith("hf:"):
        from hades_zoo.hub import load_from_hub

        return load_from_hub(source)
    from hades_zoo.zoo.registry import load_zoo_dataset

    return load_zoo_dataset(source)
