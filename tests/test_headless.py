"""MuJoCo's GL backend default (``engine.envs.headless``): set only where it works.

Found on a fresh headless machine without ``libosmesa6``: the default
``MUJOCO_GL=osmesa`` made ``import mujoco`` itself raise PyOpenGL's AttributeError,
so ``hades-zoo eval hopper-R-64`` (which never renders) crashed with a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from hades_zoo.engine.envs import headless
from tests.conftest import REPO


@pytest.fixture
def headless_linux(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    for var in ("MUJOCO_GL", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.setenv(var, "")  # so that the teardown restores (or removes) it
        monkeypatch.delenv(var)
    monkeypatch.delitem(sys.modules, "mujoco", raising=False)
    return monkeypatch


def test_osmesa_is_the_default_only_where_its_library_is(headless_linux):
    headless_linux.setattr(headless, "osmesa_installed", lambda: False)
    assert headless.use_headless_gl_default() is None
    assert "MUJOCO_GL" not in os.environ
    headless_linux.setattr(headless, "osmesa_installed", lambda: True)
    assert headless.use_headless_gl_default() == "osmesa"
    assert os.environ["MUJOCO_GL"] == "osmesa"


def test_a_value_the_user_set_or_a_display_is_left_alone(headless_linux):
    headless_linux.setattr(headless, "osmesa_installed", lambda: True)
    headless_linux.setenv("DISPLAY", ":0")
    assert headless.use_headless_gl_default() is None and "MUJOCO_GL" not in os.environ
    headless_linux.setenv("MUJOCO_GL", "egl")
    assert headless.use_headless_gl_default() == "egl"


def test_a_gl_backend_that_breaks_the_mujoco_import_is_an_env_error(tmp_path):
    """A ``mujoco`` whose import fails as PyOpenGL's does without the library."""
    fake = tmp_path / "mujoco"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "raise AttributeError(\"'NoneType' object has no attribute 'glGetError'\")\n")
    code = textwrap.dedent("""
        from hades_zoo.engine.envs.headless import import_mujoco
        from hades_zoo.errors import EnvError
        try:
            import_mujoco()
        except EnvError as err:
            print("EnvError:", err)
    """)
    env = {**os.environ, "MUJOCO_GL": "osmesa",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert out.startswith("EnvError: mujoco cannot be imported with MUJOCO_GL='osmesa' "
                          "(AttributeError: 'NoneType' object has no attribute")
    assert "apt-get install libosmesa6" in out and "unset MUJOCO_GL" in out
