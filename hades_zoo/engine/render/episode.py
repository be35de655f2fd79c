"""What a drawer draws: the recorded steps of one episode (``Episode``), and what a
family of envs supplies to be drawn (``Renderer``).

A rollout (``engine.evaluation.rollout``) records every step of every episode; the
video writer (``engine.render.play``) picks the steps a video shows (one per frame, at
the video's frame rate) and hands each drawer an :class:`Episode` holding only those
steps, so a drawer draws exactly one frame per row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from hades_zoo.data.recipe import EnvConfig

__all__ = ["Episode", "Renderer", "episode_rows"]


@dataclasses.dataclass(frozen=True)
class Episode:
    """The steps of one episode a video shows, one row per frame (``T`` rows).

    Attributes:
        observations: (T, obs_dim) float32: the raw observation each action was chosen
            from (MinAtar: the flattened ``10 x 10 x C`` channels; image datasets: the
            synthetic images, flattened).
        actions: (T,) int (discrete; image datasets: the labels) or (T, act_dim)
            float32 (the policy's output; brax clips it to [-1, 1] when stepping).
        rewards: (T,) float32: each step's reward.
        states: what the family's ``Renderer.record_state`` recorded, a pytree of
            (T, ...) arrays (brax: joint positions ``q`` (T, nq)); ``None`` when the
            family draws from observations.
        steps: (T,) int: each row's step number in the episode (0 = after reset).
        running_returns: (T,) float: the return so far, this row's reward included.
        episode_return: the whole episode's return (natural sign), ``evaluate``'s
            for the same seed up to the last bits (``evaluation.rollout``'s
            ``record_state``); ``nan`` for image datasets.
        length: the episode's number of steps (``T`` or more: a video may skip steps
            or stop early).
        index: the episode's number among those played (0-based).
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    states: Any = None
    steps: np.ndarray | None = None
    running_returns: np.ndarray | None = None
    episode_return: float = float("nan")
    length: int = 0
    index: int = 0

    @property
    def frames(self) -> int:
        """Number of rows (frames to draw)."""
        return int(self.observations.shape[0])


def episode_rows(observations: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
                 states: Any, rows: np.ndarray, *, episode_return: float, index: int
                 ) -> Episode:
    """The :class:`Episode` of the selected ``rows`` (step numbers) of one recorded
    episode whose arrays have one entry per step (``(L, ...)``, ``L`` live steps)."""
    import jax

    rows = np.asarray(rows, np.int64)
    running = np.cumsum(np.asarray(rewards, np.float64))
    take = (lambda x: np.asarray(x)[rows])
    return Episode(
        observations=take(observations), actions=take(actions), rewards=take(rewards),
        states=None if states is None else jax.tree_util.tree_map(take, states),
        steps=rows, running_returns=running[rows] if len(running) else running,
        episode_return=float(episode_return), length=len(rewards), index=index)


@dataclasses.dataclass(frozen=True)
class Renderer:
    """How one family of envs is drawn.

    Attributes:
        family: its name (``brax``, ``minatar``, ``classic``, ``image``).
        draw: ``draw(env_config, episode, *, width, height) -> (T, H, W, 3) uint8``,
            one frame per row of the :class:`Episode`.
        control_rate: ``control_rate(env_config) -> float``: env steps per second of
            simulated time, the rate a video plays at by default (real time).
        record_state: a jittable function of one env state to the arrays ``draw``
            needs besides the observations (``Episode.states``); ``None``: none.
        check: ``check(env_config) -> None``, run before any work: raises
            ``RenderError`` when this machine cannot draw the family (no OpenGL
            backend for MuJoCo); ``None``: nothing to check.
        video_suffix: the format an entry's replay is kept in (``zoo.entry_replay``):
            ``.mp4`` for played episodes (2-6x smaller than a GIF of the same frames),
            ``.gif`` for a single picture (image datasets).
    """

    family: str
    draw: Callable[..., np.ndarray]
    control_rate: Callable[[EnvConfig], float]
    record_state: Callable[[Any], Any] | None = None
    check: Callable[[EnvConfig], None] | None = None
    video_suffix: str = ".mp4"
