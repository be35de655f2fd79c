"""MuJoCo's OpenGL backend on a machine without a display: ``MUJOCO_GL=osmesa`` by default.

MuJoCo picks its GL backend once, when ``mujoco`` is first imported (brax imports it
when an env is built), from ``MUJOCO_GL``: ``glfw`` when unset, which needs a display.
On a headless Linux machine (no ``DISPLAY`` / ``WAYLAND_DISPLAY``) the only backend
that works without a GPU is OSMesa's software renderer (the Debian / Ubuntu package
``libosmesa6``). :func:`use_headless_gl_default` sets ``MUJOCO_GL=osmesa`` there, and
only there: a value the user set, a machine with a display, or a ``mujoco`` already
imported are left alone. The brax adapter calls it before it imports brax, so the
renderer (``hades_zoo.engine.render``) finds the backend it needs.
"""

from __future__ import annotations

import os
import sys

__all__ = ["HEADLESS_GL", "use_headless_gl_default"]

#: The backend chosen for a headless machine (software rendering, no GPU needed).
HEADLESS_GL = "osmesa"


def use_headless_gl_default() -> str | None:
    """Set ``MUJOCO_GL=osmesa`` when it is unset on a headless Linux machine.

    Returns:
        The ``MUJOCO_GL`` value in effect (``None``: unset, MuJoCo's own default).
    """
    if "MUJOCO_GL" in os.environ:
        return os.environ["MUJOCO_GL"]
    if not sys.platform.startswith("linux"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    if "mujoco" in sys.modules:  # it has chosen already: setting it now would mislead
        return None
    os.environ["MUJOCO_GL"] = HEADLESS_GL
    return HEADLESS_GL
