"""Can MuJoCo draw here? An offscreen OpenGL context, checked once, or a ``RenderError``.

MuJoCo's offscreen renderer (``mujoco.Renderer``) needs an OpenGL backend, chosen by
``MUJOCO_GL`` when ``mujoco`` is first imported: ``osmesa`` (software, any machine with
the system package ``libosmesa6``: ``apt-get install libosmesa6``), ``egl`` (a GPU
driver), ``glfw`` (a display). ``engine.envs.headless`` sets ``osmesa`` when the
variable is unset on a headless Linux machine. :func:`check_mujoco_gl` opens (and
frees) a tiny context before any training or rollout, so a machine that cannot draw
fails at once with the fix, not after minutes of work.
"""

from __future__ import annotations

import sys
import warnings

from hades_zoo.engine.envs.headless import use_headless_gl_default
from hades_zoo.errors import RenderError

__all__ = ["GL_FIX", "check_mujoco_gl"]

#: What to do when no backend works (part of every message).
GL_FIX = ("headless Linux: install OSMesa (`apt-get install libosmesa6`) and set "
          "MUJOCO_GL=osmesa; with an NVIDIA GPU set MUJOCO_GL=egl; with a display "
          "MUJOCO_GL=glfw. Set it before Python starts: MuJoCo reads it when it is "
          "first imported")

_BACKENDS = ("glfw", "egl", "osmesa", "glx") if sys.platform.startswith("linux") \
    else ("glfw", "cgl", "wgl")
# Keyed by the MUJOCO_GL value ("" when unset): the values a context was opened with,
# and the RenderError a failed check raised. A failed backend is not tried a second
# time: GLFW without a display aborts the process (SIGABRT) on a second attempt.
_CHECKED: set[str] = set()
_FAILED: dict[str, RenderError] = {}


def check_mujoco_gl() -> None:
    """Open and close a 16 x 16 MuJoCo renderer with MuJoCo's GL backend (once).

    Raises:
        RenderError: ``MUJOCO_GL`` names no backend MuJoCo knows, ``mujoco`` cannot be
            imported, or the backend cannot create a context (OSMesa missing, no
            display for ``glfw``, no GPU driver for ``egl``); the message names the
            value and the fix (``apt-get install libosmesa6``, ``MUJOCO_GL``).
    """
    value = use_headless_gl_default()
    shown = ("MUJOCO_GL unset: MuJoCo's default, glfw" if value is None
             else f"MUJOCO_GL={value!r}")
    key = "" if value is None else value
    if key in _CHECKED:
        return
    if key in _FAILED:
        raise _FAILED[key]
    if value is not None and value.lower().strip() not in (
            *_BACKENDS, "", "enable", "enabled", "on", "true", "1"):
        raise RenderError(
            f"{shown} is not an OpenGL backend MuJoCo knows (one of "
            f"{', '.join(_BACKENDS)}), so it cannot draw; {GL_FIX}.")
    try:
        import mujoco
    except Exception as err:
        raise RenderError(f"mujoco cannot be imported ({shown}): {err}; {GL_FIX}.") from err
    # a whole renderer on an empty model: glfw without a display creates no window
    # and raises nothing until the MuJoCo context is made
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        try:
            renderer = mujoco.Renderer(mujoco.MjModel.from_xml_string("<mujoco/>"), 16, 16)
        except Exception as err:
            notes = dict.fromkeys(" ".join(str(w.message).split()) for w in said)
            why = "; ".join([*list(notes)[:2], " ".join(str(err).split())
                             or type(err).__name__])
            failed = RenderError(
                f"MuJoCo cannot open an offscreen OpenGL context ({shown}): {why}; "
                f"{GL_FIX}.")
            _FAILED[key] = failed
            raise failed from err
    renderer.close()
    _CHECKED.add(key)

