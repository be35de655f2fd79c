"""The caption strip above every frame: what is playing, the step, the return so far
and the episode's final return.

The strip is added above the drawing (never over it), so no drawer has to leave room:
a frame of ``height`` pixels is a strip of :func:`strip_height` plus a drawing of the
rest. Text is shrunk until it fits the width.
"""

from __future__ import annotations

import numpy as np

from hades_zoo.engine.render.canvas import font, pil, text_width
from hades_zoo.engine.render.episode import Episode

__all__ = ["add_caption", "caption_text", "strip_height"]

_BAR = (24, 24, 28)
_TEXT = (245, 245, 245)


def strip_height(height: int) -> int:
    """Pixels of the caption strip in a frame ``height`` tall (about 7.5%, >= 12)."""
    return max(12, round(height * 0.075))


def caption_text(title: str, episode: Episode, row: int, episodes: int) -> str:
    """``hopper-R-64 | ep 1/2 | step 120/1000 | return 310.2 (final 1795.4)``; image
    grids (no episode) get the title alone."""
    if episode.steps is None or episode.running_returns is None:
        return title
    step = int(episode.steps[row]) + 1
    return (f"{title} | ep {episode.index + 1}/{episodes} | step {step}/{episode.length}"
            f" | return {episode.running_returns[row]:.1f} (final "
            f"{episode.episode_return:.1f})")


def _fitting_font(texts: list[str], width: int, size: int):
    """The largest font (<= ``size``) in which the longest text fits ``width``."""
    longest = max(texts, key=len)  # measured once per size, not every text
    while size > 7:
        fnt = font(size)
        if text_width(longest, fnt) <= width - 6:
            return fnt
        size -= 1
    return font(7)


def add_caption(frames: np.ndarray, texts: list[str], height: int) -> np.ndarray:
    """``frames`` (T, h, W, 3) with a caption strip on top: (T, ``height``, W, 3).

    Args:
        frames: the drawings, ``h = height - strip_height(height)`` pixels tall.
        texts: one caption per frame.
        height: the full frame height.
    """
    Image, ImageDraw, _ = pil()
    t, _, width, _ = frames.shape
    strip = height - frames.shape[1]
    fnt = _fitting_font(texts, width, max(7, strip - 4))
    out = np.empty((t, height, width, 3), np.uint8)
    out[:, strip:] = frames
    for i, text in enumerate(texts):
        bar = Image.new("RGB", (width, strip), _BAR)
        ImageDraw.Draw(bar).text((4, strip / 2), text, fill=_TEXT, font=fnt, anchor="lm")
        out[i, :strip] = np.asarray(bar)
    return out
