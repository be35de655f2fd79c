"""Error hierarchy: every failure a user can cause raises a ``HadesZooError``.

Messages name the input, what is wrong with it and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "HadesZooError",
    "DatasetFormatError",
    "RecipeError",
    "RecipeMismatchError",
    "EnvError",
    "MissingEnvProviderError",
    "UnknownDatasetError",
    "HubError",
    "HubSourceError",
    "DataNotFoundError",
    "DistributedError",
    "MemoryBudgetError",
    "UnsafeNameError",
    "StorageError",
    "OutputFormatError",
    "OutputPathError",
    "NotARunFolderError",
    "PolicyFormatError",
    "RunFolderBusyError",
    "DivergedError",
    "CatalogueError",
    "RenderError",
    "NoRendererError",
    "MissingRenderExtraError",
    "close_matches",
]


class HadesZooError(Exception):
    """Base class of every error hades_zoo raises on bad input."""


class DatasetFormatError(HadesZooError, ValueError):
    """A dataset file or array is malformed (shape, dtype, NaN, metadata, version)."""


class RecipeError(HadesZooError, ValueError):
    """A recipe (YAML or dataclass) has an unknown key, a wrong type or a bad value."""


class RecipeMismatchError(RecipeError, DatasetFormatError):
    """A run folder's checkpoint was written by another recipe, so a resume would mix
    two runs. The message names the differing fields (``es.popsize: 8 in the
    checkpoint, 16 now``) and the fix (``--no-resume`` / ``resume=False`` to start
    over, or another ``--out``). Also a ``DatasetFormatError``, which it was raised as
    before, so existing ``except`` clauses still catch it."""


class EnvError(HadesZooError, ValueError):
    """Unknown environment/backend, or a dataset that does not fit its environment."""


class MissingEnvProviderError(EnvError):
    """No env provider serves a recipe's ``env.backend`` (its package is not installed,
    or its env was registered by another program). For a dataset that recorded its
    provider, the message names the package and the command that installs it."""


class UnknownDatasetError(HadesZooError, KeyError):
    """A dataset id is not in the zoo, the cache or the Hub."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class HubError(HadesZooError, RuntimeError):
    """The Hugging Face Hub (or a mirror) refused or failed a request.

    ``reason`` names the kind for code that reacts to it (``hades_zoo.hub.client``
    sets it): ``offline``, ``connection``, ``timeout``, ``server``, ``not_found_repo``,
    ``not_found_revision``, ``not_found_entry``, ``unauthorized``, ``forbidden``,
    ``gated``, ``rate_limited``, ``conflict``, ``http`` or ``other``.
    """

    reason: str = "other"


class HubSourceError(HubError, ValueError):
    """A Hub repo id, revision or file name is malformed; raised before any request."""


class DataNotFoundError(HadesZooError, FileNotFoundError):
    """Real image data (MNIST / Fashion-MNIST IDX files) is not where it was looked for."""


class DistributedError(HadesZooError, RuntimeError):
    """A multi-process launch is misconfigured: coordinator address, process count or
    id, an unreachable coordinator, or a process that could not join the run."""


class MemoryBudgetError(HadesZooError, ValueError):
    """A memory budget (``--max-memory``) is malformed, or no evaluation chunk fits it."""


class UnsafeNameError(HadesZooError, ValueError):
    """A dataset id, recipe name, tag or file name cannot become a file name safely:
    it holds ``/``, ``\\``, ``..``, a control character, is absolute, empty or over
    255 bytes. Raised by ``hades_zoo.data.paths`` before anything is written."""


class StorageError(HadesZooError, OSError):
    """A file could not be written: the disk is full, the folder is read-only or not
    writable, or a path component is a file. ``filename`` is the path; ``errno`` the
    OS error number. Raised by ``hades_zoo.data.cache``'s atomic writes (the
    destination is left as it was and no temporary file remains)."""

    def __str__(self) -> str:  # OSError would prefix "[Errno N]" and append the path
        return self.strerror if self.strerror else super().__str__()


class OutputFormatError(HadesZooError, ValueError):
    """An output file's suffix names a format hades_zoo cannot write (``plot --out
    x.xyz``); raised before any work, listing the formats that can be written."""


class OutputPathError(HadesZooError, ValueError):
    """A user-given output path (``--out``) names no place a command may write: it
    is empty, a folder where a file belongs, or inside the installed package
    (``hades_zoo.data.destinations``); raised before any work."""


class NotARunFolderError(HadesZooError, ValueError):
    """``distill --out DIR`` names an existing folder that holds files and is not a
    distill run folder (no ``checkpoint.json``): its files would be overwritten or,
    with ``--no-resume``, removed (``hades_zoo.engine.run_folder``); raised before
    any work."""


class PolicyFormatError(HadesZooError, ValueError):
    """A saved policy (folder, ``config.json``, ``model.safetensors``, model card) is
    missing, unreadable, altered (sha256), of an unknown ``format_version``, or its
    weights do not fit its config; or a folder is not a policy folder."""


class RunFolderBusyError(HadesZooError, RuntimeError):
    """Another process is writing the run folder: it holds ``DIR/.lock``
    (``hades_zoo.engine.run_folder``); the message names it (pid, host, start)."""


class DivergedError(HadesZooError, RuntimeError):
    """A distill run's ES state became NaN/inf (too large a search step): nothing of
    it is written, and a checkpoint that holds such values is not resumed; the message
    names ``--no-resume``."""


class CatalogueError(HadesZooError, ValueError):
    """``hades-zoo catalogue`` was given a place it may not write or a choice that
    selects nothing: ``--out`` is a file, a folder of other files (not an earlier
    catalogue) or inside the installed package; ``--replays`` is a file; ``--only``
    matches no zoo id. Raised before anything is built."""
class RenderError(HadesZooError, RuntimeError):
    """A replay cannot be drawn or written: no OpenGL backend for MuJoCo's offscreen
    renderer (headless: ``apt-get install libosmesa6`` and ``MUJOCO_GL=osmesa``), the
    video writer is not installed (``pip install 'hades_zoo[render]'``), an env without
    a renderer, or frame options out of range (``hades_zoo.engine.render``)."""


class NoRendererError(RenderError):
    """No drawer exists for this env (no family draws it and no renderer is
    registered for it), or its observations do not fit its family's drawer: asking
    again cannot help until one is given (``hades_zoo.engine.render.register_renderer``,
    or an env provider's ``render=``, docs/ENVIRONMENTS.md)."""


class MissingRenderExtraError(RenderError, ImportError):
    """An MP4 was asked for without the ``render`` extra (imageio-ffmpeg): ``pip install
    'hades_zoo[render]'``. Also an ``ImportError``, so a caller that falls back to GIF
    when a package is missing (the catalogue) can catch it as one."""


def close_matches(word: str, options: Iterable[str], n: int = 3) -> str:
    """Return a ' Did you mean: a, b?' suffix, or '' when nothing is close."""
    matches = difflib.get_close_matches(word, list(options), n=n, cutoff=0.5)
    return f" Did you mean: {', '.join(matches)}?" if matches else ""
