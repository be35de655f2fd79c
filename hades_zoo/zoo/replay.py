"""Watch a source: the policy a SOURCE stands for, playing, written as a video.

What a SOURCE names is decided as everywhere else (``zoo.loading.resolve_source``): a
zoo id, a ``.safetensors`` file, an entry / run folder, ``hf:<org>/<name>[@rev]`` (a
dataset repo; when no dataset repo has that name, a model repo of a saved policy), or
a saved policy folder (``hades-zoo train --out DIR``: ``config.json`` +
``model.safetensors``). A dataset is trained with its own protocol (``train_policy``,
BC seed ``seed``), so the episodes and returns are those of ``hades-zoo eval SOURCE
--seed S --episodes N``; a saved policy plays as saved. An image dataset has no
episodes: its synthetic images are drawn as one labelled grid.

:func:`render_source` is what ``hades-zoo render`` runs and the catalogue calls;
:func:`render` (``hz.render``) also takes a ``TrainedPolicy`` or ``SyntheticDataset``.
Everything that can be checked without training is checked first: the file's format,
the frame size, the source, whether this machine can draw the env (OpenGL for brax).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hades_zoo.data.dataset import SyntheticDataset
from hades_zoo.engine.acting import TrainedPolicy
from hades_zoo.engine.render import renderer_for
from hades_zoo.engine.render.play import (
    RenderResult,
    check_render_options,
    render_images,
    render_policy,
)
from hades_zoo.errors import HubError

__all__ = ["RenderResult", "render", "render_source", "source_to_player"]


def _policy_folder(source: Any) -> Path | None:
    """``source`` as a saved policy folder (or a file in one), else None."""
    from hades_zoo.hub.policy_repo import POLICY_FILES, is_policy_folder

    text = str(source)
    if text.startswith(("hf:", "zoo:")):
        return None
    path = Path(text.removeprefix("file:")).expanduser()
    if path.name in POLICY_FILES and is_policy_folder(path.parent):
        return path.parent
    return path if is_policy_folder(path) else None


def _load(source: Any) -> TrainedPolicy | SyntheticDataset:
    """The saved policy or the dataset ``source`` names (nothing trained yet)."""
    from hades_zoo.hub.policy_repo import load_policy
    from hades_zoo.zoo.loading import load, resolve_source

    folder = _policy_folder(source)
    if folder is not None:
        return load_policy(folder)
    src = resolve_source(source)
    if src.kind != "hf":
        return load(source)
    try:
        return load(source)
    except HubError as err:
        # the Hub answers 401 for a repo that does not exist, to a request without
        # a token: no dataset repo of that name, maybe a model repo
        if err.reason not in ("not_found_repo", "not_found_entry", "unauthorized"):
            raise
        try:  # a Hub model repo of a saved policy
            return load_policy(src.value)
        except HubError:
            raise err from None


def source_to_player(source: Any, *, seed: int = 0) -> TrainedPolicy | SyntheticDataset:
    """What to play for ``source``: a policy (a dataset's trained with its protocol,
    BC seed ``seed``), or an image dataset (drawn, not played).

    Args:
        source: a SOURCE (module docstring), a ``TrainedPolicy`` or a
            ``SyntheticDataset``.
        seed: the BC seed for a dataset.

    Raises:
        UnknownDatasetError, DatasetFormatError, EnvError, HubError,
        PolicyFormatError: as ``hz.load`` / ``hz.load_policy``.
        RenderError: this machine cannot draw the env (checked before training).
    """
    from hades_zoo.engine.evaluation import train_policy

    found = source if isinstance(source, TrainedPolicy | SyntheticDataset) else _load(source)
    if isinstance(found, TrainedPolicy) or found.recipe.image is not None:
        return found
    renderer = renderer_for(found.recipe.env)
    if renderer.check is not None:
        renderer.check(found.recipe.env)  # before the training, not after
    return train_policy(found, seed=seed)


def render(source_or_policy: Any, out: str | Path, *, episodes: int = 1, seed: int = 0,
           width: int = 320, height: int = 240, fps: float | None = None,
           max_seconds: float | None = None) -> RenderResult:
    """Play a policy and write the video (``hz.render``).

    Args:
        source_or_policy: a ``TrainedPolicy``, a ``SyntheticDataset`` (trained with its
            protocol, BC seed ``seed``) or a SOURCE string / path (module docstring).
        out: ``.mp4`` (``pip install 'hades_zoo[render]'``) or ``.gif``.
        episodes: episodes played (side by side) and shown one after the other.
        seed: BC seed of a dataset's policy and the evaluation seed: the episodes
            and returns of ``hades-zoo eval SOURCE --seed S --episodes N``.
        width, height: frame size in pixels (MP4: even).
        fps: frames per second (default: the env's control rate; GIF at most 50).
        max_seconds: cut the video after this many seconds (default None, or inf:
            whole episodes).

    Returns:
        RenderResult: the path, each episode's return, frames, fps, seconds, size.

    Raises:
        OutputFormatError: ``out`` is not ``.mp4`` / ``.gif`` (before any work).
        RenderError: no renderer or no OpenGL backend for the env, the MP4 writer
            missing, a size or rate out of range (before training).
        UnknownDatasetError, DatasetFormatError, EnvError, HubError,
        PolicyFormatError: the source (as ``hz.load`` / ``hz.load_policy``).
        StorageError: ``out`` cannot be written.

    Example:
        >>> hz.render("cartpole-F-2.hz", "cartpole.gif", max_seconds=5)
    """
    check_render_options(out, width=width, height=height, episodes=episodes, fps=fps,
                         max_seconds=max_seconds)  # before any work
    player = source_to_player(source_or_policy, seed=seed)
    if isinstance(player, SyntheticDataset):
        return render_images(player.recipe.env, player.states, player.labels, out,
                             width=width, height=height,
                             title=f"{player.dataset_id}: {player.size} synthetic images")
    title = None
    if isinstance(source_or_policy, str | Path) and _policy_folder(source_or_policy):
        title = f"{player.info.dataset_id} (saved policy)"
    return render_policy(player, out, episodes=episodes, seed=seed, width=width,
                         height=height, fps=fps, max_seconds=max_seconds, title=title)


def render_source(source: Any, out_path: str | Path, *, episodes: int = 1, seed: int = 0,
                  width: int = 320, height: int = 240, fps: float | None = None,
                  max_seconds: float | None = 10.0) -> RenderResult:
    """:func:`render` of a SOURCE, cut at ``max_seconds`` (10 s) by default: what
    ``hades-zoo render`` runs and the catalogue calls for each entry.

    Args and Raises: as :func:`render`.
    """
    return render(source, out_path, episodes=episodes, seed=seed, width=width,
                  height=height, fps=fps, max_seconds=max_seconds)
