"""engine/render/: replays. A policy's episodes drawn frame by frame and written as a
video (MP4 or GIF); an image dataset drawn as a labelled grid.

One module per concept:

- ``episode``: ``Episode`` (the recorded steps a video shows, one row per frame) and
  ``Renderer`` (what a family of envs supplies: drawer, control rate, what to record,
  a pre-flight check, its preferred format);
- one drawer per family, each ``draw_<family>(env_config, episode, *, width,
  height) -> (T, H, W, 3) uint8``: ``brax_frames`` (MuJoCo's offscreen renderer on
  the recorded joint positions; ``mujoco_frames`` holds the loop it shares with
  ``playground_frames``, MuJoCo Playground's tasks from the recorded ``qpos``),
  ``minatar`` (coloured object channels, legend, action
  names), ``classic`` (CartPole, Acrobot, Pendulum, MountainCar from the observation),
  ``images`` (MNIST / FashionMNIST grid);
- ``gl`` (is there an OpenGL backend for MuJoCo: ``RenderError`` naming
  ``apt-get install libosmesa6`` and ``MUJOCO_GL``), ``canvas`` (Pillow primitives),
  ``caption`` (the strip with step and return above each frame), ``video`` (formats,
  rates, MP4 / GIF writers, atomic), ``play`` (``render_policy``, ``render_images``,
  ``RenderResult``).

Which drawer an env gets is one table, :data:`FAMILIES` (family -> ``Renderer``), and
one function, :func:`renderer_for`; an env of one's own is given a renderer with
:func:`register_renderer` (by env name), which ``renderer_for`` asks first.

May import ``engine`` (``evaluation``, ``envs``), ``data`` and ``errors``; Pillow,
MuJoCo and imageio-ffmpeg are imported lazily, inside the drawers and writers.
"""

from __future__ import annotations

from hades_zoo.data.recipe import IMAGE_BACKEND, EnvConfig
from hades_zoo.engine.render.brax_frames import (
    brax_control_rate,
    check_brax,
    draw_brax,
    record_brax,
)
from hades_zoo.engine.render.classic import (
    CLASSIC_ENVS,
    classic_control_rate,
    draw_classic,
)
from hades_zoo.engine.render.episode import Episode, Renderer
from hades_zoo.engine.render.images import draw_images, image_rate
from hades_zoo.engine.render.minatar import draw_minatar, minatar_control_rate
from hades_zoo.engine.render.play import RenderResult, render_images, render_policy
from hades_zoo.engine.render.playground_frames import (
    check_playground,
    draw_playground,
    playground_control_rate,
    record_playground,
)
from hades_zoo.errors import NoRendererError, RenderError

__all__ = [
    "FAMILIES",
    "Episode",
    "RenderResult",
    "Renderer",
    "draw_brax",
    "draw_classic",
    "draw_images",
    "draw_minatar",
    "draw_playground",
    "family_of",
    "register_renderer",
    "render_images",
    "render_policy",
    "renderer_for",
]

#: family -> how its envs are drawn.
FAMILIES: dict[str, Renderer] = {
    "brax": Renderer(family="brax", draw=draw_brax, control_rate=brax_control_rate,
                     record_state=record_brax, check=check_brax, video_suffix=".mp4"),
    "minatar": Renderer(family="minatar", draw=draw_minatar,
                        control_rate=minatar_control_rate, video_suffix=".mp4"),
    "classic": Renderer(family="classic", draw=draw_classic,
                        control_rate=classic_control_rate, video_suffix=".mp4"),
    "image": Renderer(family="image", draw=draw_images, control_rate=image_rate,
                      video_suffix=".gif"),
    "playground": Renderer(family="playground", draw=draw_playground,
                           control_rate=playground_control_rate,
                           record_state=record_playground, check=check_playground,
                           video_suffix=".mp4"),
}

# env name -> renderer of an env registered from outside hades_zoo's families
_BY_ENV: dict[str, Renderer] = {}


def family_of(env_config: EnvConfig) -> str:
    """The :data:`FAMILIES` key that draws ``env_config``'s env.

    Raises:
        NoRendererError: no family draws it (a ``RenderError``; the message lists
            what is drawn and how to give it a drawer).
    """
    from hades_zoo.engine.envs import BRAX_SPECS, IMAGE_SPECS

    name = env_config.name
    if env_config.backend == IMAGE_BACKEND or name in IMAGE_SPECS:
        return "image"
    if name in BRAX_SPECS:
        return "brax"
    if name in CLASSIC_ENVS:
        return "classic"
    if env_config.backend == "gymnax" and (name.endswith("-MinAtar") or name == "Pong-misc"):
        return "minatar"
    if env_config.backend == "playground":
        return "playground"
    raise NoRendererError(
        f"no renderer for env {name!r} (backend {env_config.backend!r}): replays are "
        "drawn for the brax envs, MuJoCo Playground tasks, MinAtar games, classic control ("
        f"{', '.join(CLASSIC_ENVS)}) and image datasets; to draw it, register a drawer "
        "with hades_zoo.engine.render.register_renderer (or an env provider's render=, "
        "docs/ENVIRONMENTS.md).")


def renderer_for(env_config: EnvConfig) -> Renderer:
    """How ``env_config``'s env is drawn: a registered renderer for its name, else its
    family's (:func:`family_of`).

    Raises:
        RenderError: neither exists.
    """
    if env_config.name in _BY_ENV:
        return _BY_ENV[env_config.name]
    try:
        return FAMILIES[family_of(env_config)]
    except RenderError:
        provided = _provider_renderer(env_config)
        if provided is None:
            raise
        return provided


def _provider_renderer(env_config: EnvConfig) -> Renderer | None:
    """The renderer an env provider gives (``EnvProvider.render`` or ``register_env(...,
    render=)``, docs/ENVIRONMENTS.md): a :class:`Renderer`, or a bare drawer
    ``draw(env_config, episode, *, width, height)`` played at 30 frames per second."""
    from hades_zoo.engine.envs.registry import render_for

    try:
        render = render_for(env_config)
    except Exception:  # noqa: BLE001  (an unknown provider is the env's error, not ours)
        return None
    if render is None or isinstance(render, Renderer):
        return render
    return Renderer(family=env_config.backend, draw=render,
                    control_rate=lambda _cfg: 30.0)


def register_renderer(env_name: str, renderer: Renderer) -> None:
    """Draw the env named ``env_name`` with ``renderer`` (an env of one's own).

    Raises:
        ValueError: ``env_name`` already has a registered renderer.
        TypeError: ``renderer`` is not a ``Renderer``.
    """
    if not isinstance(renderer, Renderer):
        raise TypeError(f"register_renderer takes a Renderer, got "
                        f"{type(renderer).__name__}.")
    if env_name in _BY_ENV:
        raise ValueError(f"env {env_name!r} already has a renderer "
                         f"({_BY_ENV[env_name].family}).")
    _BY_ENV[env_name] = renderer
