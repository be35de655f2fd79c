"""Play a policy's episodes and write them as a video; draw an image dataset as a grid.

:func:`render_policy` checks everything it can before any work (the file's format,
the frame size and rate, whether this machine can draw the env), plays the episodes
with ``engine.evaluation.rollout`` (the same episodes ``evaluate`` scores: same keys,
the same returns up to the last bits) recording what the env's drawer needs, picks one step per frame, draws
the frames in chunks, captions them and writes the file atomically.

Timing: a video plays in simulated real time. Episode steps are ``1 / rate`` seconds
apart (``rate``: the env's control rate, ``Renderer.control_rate``: brax ``1 / dt``,
hopper 125 steps/s; classic control and MinAtar: a fixed rate, see their modules);
frame ``k`` at ``fps`` frames/s shows step ``floor(k * rate / fps)``, so a lower
``fps`` skips steps (cheaper: only shown steps are drawn) and ``fps = rate`` shows every
step. Episodes follow each other; ``max_seconds`` cuts the whole video.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from hades_zoo.engine.render.episode import Episode, Renderer, episode_rows
from hades_zoo.errors import RenderError

__all__ = [
    "CHUNK_FRAMES",
    "MAX_SIDE",
    "RenderResult",
    "check_frame_size",
    "check_render_options",
    "default_fps",
    "frame_steps",
    "render_images",
    "render_policy",
]

#: Largest frame side in pixels.
MAX_SIDE = 1920
#: Frames drawn and encoded at a time (bounds memory: 64 x 320 x 240 x 3 = 15 MB).
CHUNK_FRAMES = 64


@dataclasses.dataclass(frozen=True)
class RenderResult:
    """A video written by :func:`render_policy` / :func:`render_images`.

    Attributes:
        path: the file written.
        returns: (episodes,) float: each episode's full return (natural sign), that
            of ``evaluate``'s episodes for the same policy and seed, up to the last
            bits (``evaluation.rollout``'s ``record_state``; empty for an image grid).
        lengths: (episodes,) int: each episode's steps.
        frames: frames in the video.
        fps: frames per second it plays at.
        seconds: its duration (``frames / fps``).
        width, height: frame size in pixels.
        size: the file's size in bytes.
        steps_shown: (episodes,) int: steps of each episode the video shows (fewer
            than ``lengths`` when ``max_seconds`` cut it).
    """

    path: Path
    returns: np.ndarray
    lengths: np.ndarray
    frames: int
    fps: float
    seconds: float
    width: int
    height: int
    size: int
    steps_shown: np.ndarray

    @property
    def mean_return(self) -> float:
        """Mean of :attr:`returns` (``nan`` for an image grid)."""
        return float(np.mean(self.returns)) if self.returns.size else float("nan")


def check_frame_size(width: int, height: int, suffix: str = ".gif") -> tuple[int, int]:
    """Validated ``(width, height)``; MP4 (``yuv420p``) needs even sides.

    Raises:
        RenderError: a side that is not an int in [32, 1920], or odd for MP4.
    """
    for name, v in (("width", width), ("height", height)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or not (
                32 <= v <= MAX_SIDE):
            raise RenderError(f"{name} must be an integer number of pixels in "
                              f"[32, {MAX_SIDE}], got {v!r}.")
        if suffix == ".mp4" and v % 2:
            raise RenderError(f"an MP4 (H.264, yuv420p) needs even frame sides; {name} "
                              f"is {v}: use {v + 1} or {v - 1}.")
    return int(width), int(height)


def check_render_options(out: str | Path, *, width: int, height: int, episodes: int = 1,
                         fps: float | None = None, max_seconds: float | None = None
                         ) -> tuple[Path, str, int, int]:
    """Every option of a render checked, before any work: ``(path, suffix, width,
    height)``.

    Raises:
        OutputFormatError: ``out``'s suffix is not ``.mp4`` / ``.gif``.
        RenderError: MP4 writer missing; a size, ``fps`` or ``max_seconds`` out of range.
        RecipeError: ``episodes`` not an integer >= 1.
    """
    from hades_zoo.engine.render.video import check_video_path, playable_fps
    from hades_zoo.errors import RecipeError

    path, suffix = check_video_path(out)
    width, height = check_frame_size(width, height, suffix)
    if isinstance(episodes, bool) or not isinstance(episodes, int | np.integer) or (
            episodes < 1):
        raise RecipeError(f"episodes must be an integer >= 1, got {episodes!r}.")
    if fps is not None:
        playable_fps(suffix, fps)
    if max_seconds is not None and not (isinstance(max_seconds, int | float)
                                        and max_seconds > 0):
        raise RenderError(f"max_seconds must be a number > 0, got {max_seconds!r}.")
    return path, suffix, width, height


def default_fps(suffix: str, rate: float) -> float:
    """The env's control rate (every step, real time); for a GIF at most 50."""
    from hades_zoo.engine.render.video import GIF_MAX_FPS

    return min(rate, GIF_MAX_FPS) if suffix == ".gif" else rate


def frame_steps(length: int, rate: float, fps: float) -> np.ndarray:
    """The step each frame of an episode of ``length`` steps shows (module docstring).

    Returns:
        (ceil(length * fps / rate),) int step numbers in [0, length).
    """
    if length <= 0:
        return np.zeros((0,), np.int64)
    n = max(1, math.ceil(length * fps / rate - 1e-9))
    return np.minimum((np.arange(n) * rate / fps + 1e-9).astype(np.int64), length - 1)


def _chunks(ep: Episode) -> Iterator[Episode]:
    """``ep`` in pieces of at most :data:`CHUNK_FRAMES` rows."""
    import jax

    for lo in range(0, ep.frames, CHUNK_FRAMES):
        sl = slice(lo, lo + CHUNK_FRAMES)
        yield dataclasses.replace(
            ep, observations=ep.observations[sl], actions=ep.actions[sl],
            rewards=ep.rewards[sl], steps=ep.steps[sl],
            running_returns=ep.running_returns[sl],
            states=None if ep.states is None else jax.tree_util.tree_map(
                lambda x, sl=sl: x[sl], ep.states))


def _drawn(renderer: Renderer, env_config, episodes: list[Episode], *, title: str,
           total: int, width: int, height: int) -> Iterator[np.ndarray]:
    """Captioned frames of ``episodes`` (of ``total`` played), chunk by chunk."""
    from hades_zoo.engine.render.caption import add_caption, caption_text, strip_height

    inner = height - strip_height(height)
    for ep in episodes:
        for part in _chunks(ep):
            frames = renderer.draw(env_config, part, width=width, height=inner)
            if frames.shape != (part.frames, inner, width, 3) or frames.dtype != np.uint8:
                raise RenderError(
                    f"the {renderer.family} drawer returned frames of shape "
                    f"{frames.shape} {frames.dtype}, expected "
                    f"{(part.frames, inner, width, 3)} uint8.")
            texts = [caption_text(title, part, i, total) for i in range(part.frames)]
            yield add_caption(frames, texts, height)


def render_policy(policy, out: str | Path, *, episodes: int = 1, seed: int = 0,
                  width: int = 320, height: int = 240, fps: float | None = None,
                  max_seconds: float | None = None, greedy: bool | None = None,
                  title: str | None = None) -> RenderResult:
    """Play ``episodes`` episodes of ``policy`` in its env and write them as a video.

    Args:
        policy: a ``TrainedPolicy`` (trained or loaded).
        out: the video file: ``.mp4`` (needs ``pip install 'hades_zoo[render]'``) or
            ``.gif``.
        episodes: episodes played side by side, shown one after the other.
        seed: the evaluation seed (the episodes ``evaluate(policy, seed=seed)`` plays).
        width, height: frame size in pixels, the caption strip included.
        fps: frames per second; default the env's control rate (a GIF: at most 50).
        max_seconds: cut the video after this many seconds (default None, or inf:
            whole episodes).
        greedy: act with the mode; default the protocol's ``eval.greedy``.
        title: the caption's first word (default the policy's dataset id).

    Returns:
        RenderResult.

    Raises:
        OutputFormatError: ``out``'s suffix is not ``.mp4`` / ``.gif`` (before any work).
        RenderError: no renderer for the env, no OpenGL backend for a brax env, the MP4
            writer missing, a size or rate out of range (before any work).
        RecipeError: ``episodes`` < 1.
        StorageError: the file cannot be written.
    """
    from hades_zoo.engine.evaluation import rollout
    from hades_zoo.engine.render import renderer_for
    from hades_zoo.engine.render.video import playable_fps, write_video

    path, suffix, width, height = check_render_options(
        out, width=width, height=height, episodes=episodes, fps=fps,
        max_seconds=max_seconds)
    env = policy.recipe.env
    renderer = renderer_for(env)
    if renderer.check is not None:
        renderer.check(env)
    rate = renderer.control_rate(env)
    fps = playable_fps(suffix, default_fps(suffix, rate) if fps is None else fps)
    traj = rollout(policy, episodes=episodes, seed=seed, greedy=greedy,
                   record_state=renderer.record_state)
    frames = math.inf if max_seconds is None else max_seconds * fps
    budget = math.inf if frames > 2**53 else max(1, math.floor(frames))  # 1e308 s too
    shown, chosen = [], []
    for i in range(traj.episodes):
        length = int(traj.lengths[i])
        rows = frame_steps(length, rate, fps)
        rows = rows[: int(max(0, min(budget, len(rows))))]
        budget -= len(rows)
        shown.append(int(rows[-1]) + 1 if len(rows) else 0)
        if len(rows):
            states = None if traj.states is None else _episode(traj.states, i, length)
            chosen.append(episode_rows(
                traj.observations[i, :length], traj.actions[i, :length],
                traj.rewards[i, :length], states, rows,
                episode_return=float(traj.returns[i]), index=i))
    frames_n = sum(ep.frames for ep in chosen)
    write_video(path, _drawn(renderer, env, chosen, title=title or policy.info.dataset_id,
                             total=traj.episodes, width=width, height=height), fps=fps)
    return RenderResult(path=path, returns=np.asarray(traj.returns, np.float64),
                        lengths=np.asarray(traj.lengths), frames=frames_n, fps=fps,
                        seconds=frames_n / fps, width=width, height=height,
                        size=path.stat().st_size, steps_shown=np.asarray(shown))


def _episode(states, i: int, length: int):
    import jax

    return jax.tree_util.tree_map(lambda x: np.asarray(x)[i, :length], states)


def render_images(env_config, images: np.ndarray, labels: np.ndarray, out: str | Path,
                  *, width: int = 320, height: int = 240, title: str = "") -> RenderResult:
    """Write an image dataset's synthetic images as a one-frame labelled grid
    (``engine.render.images``), shown for one second.

    Args:
        env_config: the dataset's env (``MNIST``, ``FashionMNIST``).
        images: (D, pixels) float images as stored.
        labels: (D,) int labels.
        out: ``.gif`` or ``.mp4``.
        width, height, title: frame size and caption.

    Raises:
        OutputFormatError / RenderError: as :func:`render_policy`.
    """
    from hades_zoo.engine.render import renderer_for
    from hades_zoo.engine.render.caption import add_caption, strip_height
    from hades_zoo.engine.render.video import write_video

    path, _, width, height = check_render_options(out, width=width, height=height)
    renderer = renderer_for(env_config)
    ep = Episode(observations=np.asarray(images, np.float32),
                 actions=np.asarray(labels).reshape(-1), rewards=np.zeros(len(labels)))
    inner = height - strip_height(height)
    frame = renderer.draw(env_config, ep, width=width, height=inner)[:1]
    text = title or f"{env_config.name}: {len(labels)} synthetic images"
    write_video(path, [add_caption(frame, [text], height)], fps=1.0)
    return RenderResult(path=path, returns=np.zeros((0,)), lengths=np.zeros((0,), int),
                        frames=1, fps=1.0, seconds=1.0, width=width, height=height,
                        size=path.stat().st_size, steps_shown=np.zeros((0,), int))
