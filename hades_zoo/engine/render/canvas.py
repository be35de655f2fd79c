"""Pillow drawing primitives shared by the flat drawers: fonts, the channel palette,
a supersampled canvas (smooth lines without anti-aliasing support in ``ImageDraw``).

Pillow is imported lazily; without it every drawer raises ``RenderError`` naming the
install (it ships with matplotlib, a hades_zoo dependency).
"""

from __future__ import annotations

import functools

import numpy as np

from hades_zoo.errors import RenderError

__all__ = ["PALETTE", "Canvas", "channel_colours", "font", "pil", "text_width"]

#: matplotlib's ``tab10`` colours (RGB 0-255), the dataset plots' channel colours
#: (``zoo.plotting``), so a replay and its dataset's plot agree.
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))
BACKGROUND = (250, 250, 250)
INK = (30, 30, 30)


def pil():
    """The ``PIL`` modules ``(Image, ImageDraw, ImageFont)``.

    Raises:
        RenderError: Pillow is missing (``pip install pillow``).
    """
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as err:  # pragma: no cover - matplotlib depends on pillow
        raise RenderError("drawing replays needs Pillow: pip install pillow "
                          "(or pip install 'hades_zoo[render]').") from err
    return Image, ImageDraw, ImageFont


@functools.lru_cache(maxsize=16)
def font(size: int):
    """Pillow's bundled scalable font at ``size`` pixels (its bitmap font when
    FreeType is missing)."""
    _, _, ImageFont = pil()
    try:
        return ImageFont.load_default(size=max(6, int(size)))
    except (TypeError, OSError, ImportError):  # pragma: no cover - Pillow < 10.1
        return ImageFont.load_default()


def text_width(text: str, fnt) -> int:
    """Width in pixels of ``text`` in ``fnt``."""
    left, _, right, _ = fnt.getbbox(text)
    return int(right - left)


def channel_colours(channels: int) -> np.ndarray:
    """(channels, 3) float colours in [0, 1]: :data:`PALETTE`, cycled."""
    return np.array([PALETTE[k % len(PALETTE)] for k in range(channels)], np.float64) / 255


class Canvas:
    """A ``width x height`` RGB drawing, drawn ``scale`` times larger and shrunk at the
    end (smooth edges). Coordinates given to its methods are in output pixels."""

    def __init__(self, width: int, height: int, *, scale: int = 2,
                 background=BACKGROUND):
        Image, ImageDraw, _ = pil()
        self.width, self.height, self.scale = width, height, scale
        self.image = Image.new("RGB", (width * scale, height * scale), background)
        self.draw = ImageDraw.Draw(self.image)

    def _xy(self, points):
        s = self.scale
        return [(float(x) * s, float(y) * s) for x, y in points]

    def line(self, points, *, fill=INK, width: float = 2.0) -> None:
        """A polyline through ``points`` (output pixels)."""
        self.draw.line(self._xy(points), fill=fill, width=max(1, round(width * self.scale)),
                       joint="curve")

    def rectangle(self, box, *, fill=None, outline=None, width: float = 1.0) -> None:
        """An axis-aligned rectangle ``(x0, y0, x1, y1)``."""
        (x0, y0), (x1, y1) = self._xy([box[:2], box[2:]])
        self.draw.rectangle((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)),
                            fill=fill, outline=outline,
                            width=max(1, round(width * self.scale)))

    def polygon(self, points, *, fill=INK) -> None:
        """A filled polygon."""
        self.draw.polygon(self._xy(points), fill=fill)

    def circle(self, centre, radius: float, *, fill=INK, outline=None) -> None:
        """A disc of ``radius`` output pixels."""
        (x, y), = self._xy([centre])
        r = radius * self.scale
        self.draw.ellipse((x - r, y - r, x + r, y + r), fill=fill, outline=outline)

    def text(self, xy, text: str, *, size: int = 11, fill=INK, anchor: str = "la") -> None:
        """``text`` at ``xy`` (Pillow ``anchor``: ``la`` top-left, ``mm`` centre...)."""
        (x, y), = self._xy([xy])
        self.draw.text((x, y), text, fill=fill, font=font(size * self.scale),
                       anchor=anchor)

    def array(self) -> np.ndarray:
        """The finished drawing, (height, width, 3) uint8."""
        # a box filter over scale x scale blocks: 10x cheaper than LANCZOS, as smooth
        small = self.image.reduce(self.scale) if self.scale > 1 else self.image
        return np.asarray(small, np.uint8)
