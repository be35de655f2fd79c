"""MuJoCo's OpenGL backend on a machine without a display: ``MUJOCO_GL=osmesa`` by default.

MuJoCo picks its GL backend once, when ``mujoco`` is first imported (brax and
Playground import it when an env is built), from ``MUJOCO_GL``: ``glfw`` when unset,
which needs a display. On a headless Linux machine (no ``DISPLAY`` /
``WAYLAND_DISPLAY``) the only backend that works without a GPU is OSMesa's software
renderer (the Debian / Ubuntu package ``libosmesa6``). :func:`use_headless_gl_default`
sets ``MUJOCO_GL=osmesa`` there, and only there: a value the user set, a machine with
a display, a machine without the OSMesa library, or a ``mujoco`` already imported are
left alone. The env adapters import ``mujoco`` through :func:`import_mujoco`, so the
renderer (``hades_zoo.engine.render``) finds the backend it needs.

Without the library, ``MUJOCO_GL=osmesa`` breaks ``import mujoco`` itself (PyOpenGL
raises ``AttributeError``, which MuJoCo does not catch): the default is not set
there (envs work; a render then says to install ``libosmesa6``), and a broken value
set by the user is an ``EnvError`` naming it and the fix, not a traceback.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

from hades_zoo.errors import EnvError

__all__ = ["HEADLESS_GL", "import_mujoco", "osmesa_installed", "use_headless_gl_default"]

#: The backend chosen for a headless machine (software rendering, no GPU needed).
HEADLESS_GL = "osmesa"


def osmesa_installed() -> bool:
    """Whether the OSMesa shared library (``libOSMesa``) can be found."""
    return ctypes.util.find_library("OSMesa") is not None


def use_headless_gl_default() -> str | None:
    """Set ``MUJOCO_GL=osmesa`` when it is unset on a headless Linux machine with OSMesa.

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
    if not osmesa_installed():  # osmesa would break `import mujoco` itself
        return None
    os.environ["MUJOCO_GL"] = HEADLESS_GL
    return HEADLESS_GL


def import_mujoco():
    """``import mujoco`` after :func:`use_headless_gl_default`; the module.

    Raises:
        ImportError: ``mujoco`` is not installed.
        EnvError: ``mujoco`` is installed but its import fails under the ``MUJOCO_GL``
            in effect (e.g. ``osmesa`` without ``libosmesa6``, ``egl`` without a GPU
            driver); the message names the value and the fix.
    """
    value = use_headless_gl_default()
    try:
        import mujoco
    except ImportError:
        raise
    except Exception as err:  # PyOpenGL's AttributeError for a missing GL library
        raise EnvError(
            f"mujoco cannot be imported with MUJOCO_GL={value!r} ({type(err).__name__}: "
            f"{err}): that OpenGL backend is not installed here. Install it (OSMesa: "
            "`apt-get install libosmesa6`), or unset MUJOCO_GL to simulate without "
            "rendering."
        ) from err
    return mujoco
