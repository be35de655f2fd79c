"""The image-classification "env" family: MNIST and Fashion-MNIST, no simulator.

Provider ``image``, recipe backend ``image``: the "observations" are flattened images
and the "actions" class labels; such recipes are trained and evaluated by
``hades_zoo.engine.tasks.image``, so ``make`` refuses (there is nothing to step)
while ``spec`` gives the shapes a loader checks.
"""

from __future__ import annotations

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.envs.contract import Env, EnvSpec
from hades_zoo.engine.envs.provider import EnvProvider
from hades_zoo.errors import EnvError

__all__ = ["IMAGE_SPECS", "PROVIDER"]

# Image-classification datasets: (pixels per image, classes).
IMAGE_SPECS: dict[str, tuple[int, int]] = {
    "MNIST": (28 * 28, 10),
    "FashionMNIST": (28 * 28, 10),
}


def _make(cfg: EnvConfig) -> Env:
    raise EnvError(
        f"{cfg.name!r} is an image-classification dataset, not an environment: "
        "train and evaluate it with hades_zoo.engine.tasks.image (`hades-zoo eval`).")


def _spec(cfg: EnvConfig) -> EnvSpec:
    pixels, classes = IMAGE_SPECS[cfg.name]
    return EnvSpec(pixels, classes, True, 0)


def _no_names(cfg: EnvConfig):
    raise EnvError(
        f"{cfg.name!r} is an image-classification dataset: its observations are "
        "pixels and its actions class labels, not env features; plot it with "
        "hades_zoo.zoo.plotting.plot_dataset, which draws the images.")


PROVIDER = EnvProvider(
    name="image",
    make=_make,
    spec=_spec,
    env_ids=lambda: IMAGE_SPECS,
    package="hades_zoo",
    observation_names=_no_names,
    action_names=_no_names,
    channel_names=_no_names,
    description="image classification (no simulator): MNIST, FashionMNIST",
    checked=False,
)
