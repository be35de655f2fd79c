"""Third-party output while an env backend loads: captured and logged, not printed.

Importing brax 0.14 imports ``mujoco.mjx.warp``, which ``print``s "Failed to import
warp" to *stdout* when the optional NVIDIA Warp package is absent (it would corrupt
``hades-zoo eval --json``), and loading a brax system warns that brax "is not actively
being maintained" (a ``UserWarning``). Neither is about the user's data. Inside
:func:`captured`, both are recorded and re-emitted on the ``hades_zoo.engine.envs``
logger at DEBUG level: ``hades-zoo -v ...`` shows them, a library user sees them by
configuring ``logging``.

On a CPU backend the same block also keeps NVIDIA Warp from being imported: with
``warp-lang`` installed (MuJoCo Playground's extra pulls it in), ``mujoco.mjx.warp``
imports it and MuJoCo Warp at brax's import, about 3 s of CPU for a GPU-only backend
that brax's own pipelines (positional, generalized, spring) never use; it then
reports Warp as not installed, as when it is absent. Warp is imported as usual when
JAX runs on a GPU, when ``mujoco.mjx`` or ``warp`` was imported before, or with
``HADES_ZOO_IMPORT_WARP=1``; a later ``import warp`` works as usual.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import warnings
from collections.abc import Iterator

__all__ = ["captured"]

logger = logging.getLogger("hades_zoo.engine.envs")


@contextlib.contextmanager
def captured(what: str) -> Iterator[None]:
    """Capture stdout prints and warnings raised while ``what`` runs; log them at DEBUG.

    Exceptions propagate unchanged (what was captured before them is still logged).

    Args:
        what: a few words naming the operation, for the log line.
    """
    buffer = io.StringIO()
    try:
        with (warnings.catch_warnings(record=True) as caught,
              contextlib.redirect_stdout(buffer), _no_warp_on_cpu()):
            warnings.simplefilter("always")
            yield
    finally:
        for line in buffer.getvalue().splitlines():
            if line.strip():
                logger.debug("%s (stdout): %s", what, line.strip())
        for w in caught:
            logger.debug("%s (%s): %s", what, w.category.__name__, w.message)


@contextlib.contextmanager
def _no_warp_on_cpu() -> Iterator[None]:
    """``import warp`` fails inside the block on a CPU backend (module docstring)."""
    if ("warp" in sys.modules or "mujoco.mjx" in sys.modules
            or os.environ.get("HADES_ZOO_IMPORT_WARP") == "1"):
        yield
        return
    import jax

    if jax.default_backend() != "cpu":
        yield
        return
    sys.modules["warp"] = None  # type: ignore[assignment]  # ImportError on import
    try:
        yield
    finally:
        if "warp" in sys.modules and sys.modules["warp"] is None:
            del sys.modules["warp"]
