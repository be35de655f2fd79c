"""Image-classification datasets (MNIST, FashionMNIST): no env, no episodes, so their
"replay" is one picture, a labelled grid of the synthetic images.

Each image is shown on one grey scale shared by the grid (the dataset's min to max,
as ``zoo.plotting`` does), titled with its class (FashionMNIST: the class name).
"""

from __future__ import annotations

import math

import numpy as np

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.render.canvas import INK, font, pil, text_width
from hades_zoo.engine.render.episode import Episode

__all__ = ["CLASS_NAMES", "draw_images", "image_rate"]

#: Class names by dataset (MNIST classes are the digits themselves).
CLASS_NAMES = {
    "FashionMNIST": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                     "Shirt", "Sneaker", "Bag", "Ankle boot"),
}


def image_rate(cfg: EnvConfig) -> float:
    """An image grid is one frame, shown for one second."""
    return 1.0


def draw_images(env_config: EnvConfig, episode: Episode, *, width: int, height: int
                ) -> np.ndarray:
    """One frame: the grid of ``episode.observations`` (D flattened images), each
    titled with its label ``episode.actions[i]``.

    Args:
        env_config: the image dataset's env (``MNIST``, ``FashionMNIST``).
        episode: ``observations`` (D, h*w*c) pixel/255 images, ``actions`` (D,) labels.
        width, height: frame size in pixels.

    Returns:
        (1, height, width, 3) uint8.

    Raises:
        NoRendererError: images that are not square and single-channel.
    """
    Image, ImageDraw, _ = pil()
    images = np.asarray(episode.observations, np.float64)
    d = images.shape[0]
    side = math.isqrt(images.shape[1])
    if side * side != images.shape[1]:
        from hades_zoo.errors import NoRendererError

        raise NoRendererError(f"{env_config.name}: images of {images.shape[1]} pixels are "
                          "not square single-channel images; no grid drawing for them.")
    images = images.reshape(d, side, side)
    lo, hi = float(images.min()), float(images.max())
    grey = ((images - lo) / (hi - lo if hi > lo else 1.0) * 255).clip(0, 255).astype(np.uint8)
    cols = max(1, math.ceil(math.sqrt(d * width / max(height, 1))))
    rows = math.ceil(d / cols)
    size = max(7, min(12, height // (3 * rows + 1)))
    fnt = font(size)
    cw, ch = width // cols, height // rows
    tile = max(4, min(cw - 4, ch - size - 6))
    names = CLASS_NAMES.get(env_config.name)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    pen = ImageDraw.Draw(canvas)
    for i in range(d):
        r, c = divmod(i, cols)
        x, y = c * cw + (cw - tile) // 2, r * ch + size + 4
        img = Image.fromarray(grey[i]).resize((tile, tile), Image.Resampling.NEAREST)
        canvas.paste(img.convert("RGB"), (x, y))
        label = int(np.asarray(episode.actions[i]).reshape(-1)[0])
        title = names[label] if names and label < len(names) else str(label)
        while len(title) > 1 and text_width(title, fnt) > cw - 2:
            title = title[:-1]
        pen.text((c * cw + cw // 2, r * ch + 2), title, fill=INK, font=fnt, anchor="ma")
    return np.asarray(canvas, np.uint8)[None]
