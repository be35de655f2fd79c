"""Where an image search starts and which directions it moves in.

The pieces of an image task built from the real images once, before the ES runs
(``engine.tasks.image`` uses them; Lupu et al., "Behaviour Distillation", ICLR 2024,
Sec. 5.3): the fixed labels of the synthetic images, the reference's class-mean start
(``image.init_mode: mean``) and the class-image directions of ``image.search_basis``.
Plain numpy: nothing here is traced.
"""

from __future__ import annotations

import numpy as np

from hades_zoo.errors import RecipeError

__all__ = ["fixed_image_labels", "class_mean_images", "class_basis_images"]


def fixed_image_labels(size: int, num_classes: int) -> np.ndarray:
    """The reference's fixed labels ``repeat(arange(C), D // C)``; D must be k * C."""
    if size % num_classes:
        raise RecipeError(
            f"dataset.size={size} is not a multiple of num_classes={num_classes}; image "
            "datasets hold the same number of images per class.")
    return np.repeat(np.arange(num_classes, dtype=np.int32), size // num_classes)


def class_basis_images(pixels: np.ndarray, labels: np.ndarray, image_labels: np.ndarray,
                       count: int) -> np.ndarray:
    """The ``image.search_basis`` directions of each synthetic image.

    Args:
        pixels: (N, H, W, C) float real images (already in the protocol's scale).
        labels: (N,) int labels of ``pixels``.
        image_labels: (D,) int class of each synthetic image.
        count: K, directions per image.

    Returns:
        (D, K, H*W*C) float32: for image i of class c, the first K real images of
        class c minus their class mean, each scaled to a per-pixel RMS of
        ``1 / sqrt(K)`` (so K unit coefficients move a pixel by about 1).

    Raises:
        RecipeError: a class has fewer than K real images (or K images all equal).
    """
    flat = np.asarray(pixels, np.float32).reshape(len(pixels), -1)
    labels = np.asarray(labels)
    per_class: dict[int, np.ndarray] = {}
    for c in sorted({int(c) for c in np.asarray(image_labels)}):
        sel = flat[labels == c]
        if len(sel) < count:
            raise RecipeError(f"image.search_basis is {count} but class {c} has "
                              f"{len(sel)} real images; lower search_basis.")
        dirs = sel[:count] - sel.mean(0)
        rms = np.sqrt(np.mean(dirs * dirs, axis=1, keepdims=True))
        if not np.all(rms > 0):
            raise RecipeError(f"class {c}: a search_basis image equals its class mean.")
        per_class[c] = (dirs / rms / np.sqrt(count)).astype(np.float32)
    return np.stack([per_class[int(c)] for c in np.asarray(image_labels)])


def class_mean_images(pixels: np.ndarray, labels: np.ndarray, size: int,
                      num_classes: int) -> np.ndarray:
    """The reference ``init_mode: mean`` start: each class's mean real image.

    Args:
        pixels: (N, H, W, C) float real images (already in the protocol's scale).
        labels: (N,) int.

    Returns:
        (size, H*W*C) float32, class c repeated ``size // num_classes`` times.
    """
    k = size // num_classes
    rows = []
    for c in range(num_classes):
        sel = pixels[np.asarray(labels) == c]
        if len(sel) == 0:
            raise RecipeError(f"no real image of class {c}: cannot build the mean init.")
        rows += [sel.reshape(len(sel), -1).mean(0)] * k
    return np.stack(rows).astype(np.float32)
