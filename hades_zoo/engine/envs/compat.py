"""Env-version shims (``env.compat``), an index: each lives with its env family.

- ``brax-0.9`` inverted_double_pendulum: ``hades_zoo/engine/envs/brax/compat.py``
  (``make_idp_brax09``).
- ``gymnax-0.0.6`` SpaceInvaders-MinAtar: ``hades_zoo/engine/envs/gymnax/compat.py``
  (``make_space_invaders_gymnax006``).

A provider declares the shims it understands (``EnvProvider.compat``, or
``register_env(..., compat=...)``); a recipe naming another gets an ``EnvError``.
This module keeps the path that notes inside the published dataset files cite.
"""

from __future__ import annotations

from hades_zoo.engine.envs.brax.compat import make_idp_brax09
from hades_zoo.engine.envs.gymnax.compat import make_space_invaders_gymnax006

__all__ = ["make_idp_brax09", "make_space_invaders_gymnax006"]
