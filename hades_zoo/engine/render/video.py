"""Video files: the format a path names, frame rates a format can play, and the
writers (MP4 through imageio-ffmpeg's ffmpeg, GIF through Pillow), written atomically.

- ``.mp4``: H.264 (``libx264``, ``yuv420p``, ``+faststart`` so a browser starts playing
  before the whole file arrived), any frame rate up to :data:`MAX_FPS`. Needs the
  ``render`` extra (``pip install 'hades_zoo[render]'``: ``imageio-ffmpeg``, which
  ships its own ffmpeg binary); checked by :func:`check_video_path` before any work.
- ``.gif``: Pillow (a hades_zoo dependency through matplotlib), looping. A GIF's frame
  delay is a whole number of hundredths of a second and browsers slow delays under
  0.02 s down to 0.1 s, so a GIF plays at most :data:`GIF_MAX_FPS` frames per second and
  at ``100 / round(100 / fps)``: 50, 33.3, 25, 20, ... Pillow stores a run of
  identical frames as one frame shown as long (same playback, fewer frames read back).

A video is encoded in memory (MP4: ffmpeg writes it into a temporary folder first),
then written beside its destination under a hidden temporary name and renamed
(``data.cache.atomic_write_bytes``): a reader never sees half a video, and a failure
leaves the old file as it was.
"""

from __future__ import annotations

import io
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from hades_zoo.data.paths import name_only_extension_message
from hades_zoo.errors import MissingRenderExtraError, OutputFormatError, RenderError

__all__ = [
    "GIF_MAX_FPS",
    "MAX_FPS",
    "MIN_FPS",
    "RENDER_EXTRA",
    "VIDEO_SUFFIXES",
    "check_video_path",
    "encode_video",
    "mp4_available",
    "playable_fps",
    "write_video",
]

VIDEO_SUFFIXES = (".mp4", ".gif")
GIF_MAX_FPS = 50.0
MAX_FPS = 240.0
#: the slowest frame rate written: a frame every 10 s (a GIF stores a frame's delay in
#: hundredths of a second as 16 bits, at most 655 s; ``--fps 1e-9`` overflowed PIL, and
#: ffmpeg was given ``-r 0``)
MIN_FPS = 0.1
#: Colours of a GIF's one palette.
GIF_COLOURS = 128
RENDER_EXTRA = "pip install 'hades_zoo[render]'"


def mp4_available() -> bool:
    """Whether the MP4 writer (``imageio-ffmpeg``) is installed."""
    import importlib.util

    return importlib.util.find_spec("imageio_ffmpeg") is not None


def check_video_path(path: str | Path) -> tuple[Path, str]:
    """``(path, suffix)`` when ``path`` names a video format hades_zoo writes.

    Raises:
        OutputFormatError: no suffix, one other than ``.mp4`` / ``.gif``, or a
            name that is only an extension (``.gif``).
        MissingRenderExtraError: ``.mp4`` without ``imageio-ffmpeg`` (a
            ``RenderError`` and an ``ImportError``; the message names ``pip install
            'hades_zoo[render]'``).
    """
    path = Path(path)
    bare = name_only_extension_message(path, "replay", VIDEO_SUFFIXES)  # --out .gif
    if bare:
        raise OutputFormatError(bare)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        what = (f"suffix {path.suffix!r} is not a video format hades_zoo writes"
                if path.suffix else "no suffix names the video format")
        raise OutputFormatError(
            f"{path}: {what}; end the file name in .mp4 (H.264) or .gif (e.g. "
            f"{path.with_suffix('.mp4').name}).")
    if suffix == ".mp4" and not mp4_available():
        raise MissingRenderExtraError(
            f"{path}: writing MP4 needs imageio-ffmpeg: {RENDER_EXTRA} (or write a .gif, "
            "which needs nothing more).")
    return path, suffix


def playable_fps(suffix: str, fps: float) -> float:
    """The frame rate a ``suffix`` file plays ``fps`` at (GIF: whole centiseconds).

    Raises:
        RenderError: ``fps`` not in [0.1, 240], or over 50 for a GIF.
    """
    if not (MIN_FPS <= fps <= MAX_FPS):
        raise RenderError(f"fps must be in [{MIN_FPS:g}, {MAX_FPS:g}], got {fps:g}.")
    if suffix == ".gif":
        if fps > GIF_MAX_FPS:
            raise RenderError(
                f"a GIF plays at most {GIF_MAX_FPS:g} frames/s (its frame delays are "
                "whole hundredths of a second and browsers slow faster ones down); got "
                f"fps {fps:g}: give --fps {GIF_MAX_FPS:g} or less, or write .mp4.")
        return 100.0 / max(2, round(100.0 / fps))
    return float(fps)


def _encode_mp4(frames: Iterable[np.ndarray], fps: float, folder: Path) -> Path:
    import imageio_ffmpeg

    target = folder / "video.mp4"
    writer = None
    for chunk in frames:
        if writer is None:
            h, w = chunk.shape[1:3]
            writer = imageio_ffmpeg.write_frames(
                str(target), (w, h), fps=fps, codec="libx264", pix_fmt_in="rgb24",
                pix_fmt_out="yuv420p", quality=7, macro_block_size=2,
                ffmpeg_log_level="error", output_params=["-movflags", "+faststart"])
            with warnings.catch_warnings():
                # JAX warns about any fork; this one execs ffmpeg at once (no Python
                # runs in the child), which is safe
                warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called")
                writer.send(None)  # start ffmpeg
        for frame in chunk:
            writer.send(np.ascontiguousarray(frame, np.uint8))
    if writer is None:
        raise RenderError("no frames to write.")
    writer.close()
    return target


def _encode_gif(frames: Iterable[np.ndarray], fps: float) -> bytes:
    """One palette for the whole GIF, taken from the first chunk's frames: 6x faster
    and half the size of a palette per frame (CartPole, 150 frames at 320 x 240)."""
    from hades_zoo.engine.render.canvas import pil

    Image, _, _ = pil()
    images, palette = [], None
    for chunk in frames:
        if palette is None:
            step = max(1, len(chunk) // 8)
            mosaic = Image.fromarray(np.concatenate(list(chunk[::step][:8]), axis=0))
            palette = mosaic.quantize(GIF_COLOURS, method=Image.Quantize.MEDIANCUT,
                                      dither=Image.Dither.NONE)
        images += [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE)
                   for f in chunk]
    if not images:
        raise RenderError("no frames to write.")
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=round(1000.0 / fps), loop=0)
    return buf.getvalue()


def encode_video(frames: Iterable[np.ndarray], suffix: str, fps: float) -> bytes:
    """The bytes of a ``suffix`` video of ``frames`` at ``fps``.

    Args:
        frames: chunks of (t, H, W, 3) uint8 frames, all of one size (H and W even
            for MP4), consumed as they come.
        suffix: ``.mp4`` or ``.gif``.
        fps: frames per second (:func:`playable_fps` of it).

    Raises:
        RenderError: no frames; the writer is missing; ffmpeg failed.
    """
    if suffix == ".gif":
        return _encode_gif(frames, fps)
    with tempfile.TemporaryDirectory(prefix="hades_zoo-video-") as tmp:
        try:
            return _encode_mp4(frames, fps, Path(tmp)).read_bytes()
        except (OSError, RuntimeError) as err:
            if isinstance(err, RenderError):
                raise
            raise RenderError(f"ffmpeg could not write the MP4: {err}") from err


def write_video(path: str | Path, frames: Iterable[np.ndarray], *, fps: float) -> Path:
    """Encode ``frames`` (chunks of (t, H, W, 3) uint8) at ``fps`` into ``path``,
    atomically (module docstring); the format is ``path``'s suffix.

    Returns:
        ``path``.

    Raises:
        OutputFormatError / RenderError: see :func:`check_video_path`,
            :func:`encode_video`.
        StorageError: the file cannot be written (the old one is left as it was).
    """
    from hades_zoo.data.cache import atomic_write_bytes

    path, suffix = check_video_path(path)
    return atomic_write_bytes(path, encode_video(frames, suffix, playable_fps(suffix, fps)))
