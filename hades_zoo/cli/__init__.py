"""cli/: the ``hades-zoo`` command line (click). The only layer that writes to the terminal.

One module per kind of user task:

- ``inspect``: ``list``, ``info``, ``plot``, ``verify`` (look at datasets);
- ``use``: ``eval``, ``train``, ``certify``, ``transfer``, ``merge`` (train on them);
- ``make``: ``distill``, ``import-reference`` (create them);
- ``share``: ``push``, ``pull`` (the Hugging Face Hub);
- ``browse``: ``catalogue`` (a static site of every zoo entry);
- ``watch``: ``render`` (a policy playing, as a video);
- ``base``: the group, one-line errors (exit status 1), quiet third-party output.

May import every layer below it: ``zoo``, ``hub``, ``engine``, ``data``, ``errors``.
brax and the Hub client are imported inside the commands that use them; jax, flax
and optax come with ``import hades_zoo`` itself, so every command, ``--help``
included, first spends ~1.5-2 s importing (2-core CPU, 2026-12-03).
"""

import os as _os

# Use every CPU core as its own XLA device so the ES population is sharded across
# them (read when jax first initialises its backend). HADES_ZOO_CPU_DEVICES overrides.
if "xla_force_host_platform_device_count" not in _os.environ.get("XLA_FLAGS", ""):
    _n = _os.environ.get("HADES_ZOO_CPU_DEVICES") or str(min(_os.cpu_count() or 1, 8))
    _os.environ["XLA_FLAGS"] = (
        _os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={_n}"
    ).strip()

from hades_zoo._startup import guarded_imports  # noqa: E402

with guarded_imports():  # a Ctrl-C during the imports is not lost
    from hades_zoo.cli import browse, inspect, make, share, use, watch  # noqa: F401  (registers commands)
    from hades_zoo.cli.base import cli, main

__all__ = ["cli", "main"]
