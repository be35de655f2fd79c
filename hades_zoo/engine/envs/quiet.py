"""Third-party output while an env backend loads: captured and logged, not printed.

Importing brax 0.14 imports ``mujoco.mjx.warp``, which ``print``s "Failed to import
warp" to *stdout* when the optional NVIDIA Warp package is absent (it would corrupt
``hades-zoo eval --json``), and loading a brax system warns that brax "is not actively
being maintained" (a ``UserWarning``). Neither is about the user's data. Inside
:func:`captured`, both are recorded and re-emitted on the ``hades_zoo.engine.envs``
logger at DEBUG level: ``hades-zoo -v ...`` shows them, a library user sees them by
configuring ``logging``.
"""

from __future__ import annotations

import contextlib
import io
import logging
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
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(buffer):
            warnings.simplefilter("always")
            yield
    finally:
        for line in buffer.getvalue().splitlines():
            if line.strip():
                logger.debug("%s (stdout): %s", what, line.strip())
        for w in caught:
            logger.debug("%s (%s): %s", what, w.category.__name__, w.message)
