"""Third-party noise (brax/mujoco prints and warnings) stays off the terminal; -v shows it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings

import pytest
from click.testing import CliRunner

from hades_zoo.cli import cli
from hades_zoo.engine.envs.quiet import captured


def test_captured_logs_prints_and_warnings_at_debug(capsys, caplog):
    with caplog.at_level(logging.DEBUG, logger="hades_zoo"):
        with captured("loading x"):
            print("Failed to import warp: No module named 'warp'")
            warnings.warn("not actively being maintained", UserWarning, stacklevel=1)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    text = caplog.text
    assert "loading x (stdout): Failed to import warp" in text
    assert "loading x (UserWarning): not actively being maintained" in text


def test_captured_lets_exceptions_through_and_still_logs(caplog):
    import pytest

    with caplog.at_level(logging.DEBUG, logger="hades_zoo"):
        with pytest.raises(ValueError, match="boom"):
            with captured("step"):
                print("before")
                raise ValueError("boom")
    assert "step (stdout): before" in caplog.text


BUILD_BRAX = (
    "from hades_zoo.data.recipe import EnvConfig\n"
    "from hades_zoo.engine.envs import make_env\n"
    "make_env(EnvConfig(name='hopper', backend='positional'))\n"
    "print('built')\n"
)


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_building_a_brax_env_prints_nothing_but_ours():
    """In a fresh process (brax not yet imported), building a brax env writes nothing
    to stdout or stderr; with DEBUG logging the captured notices are there."""
    run = subprocess.run([sys.executable, "-c", BUILD_BRAX], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "built\n" and run.stderr == ""
    verbose = ("import logging; logging.basicConfig(level=logging.DEBUG, "
               "format='%(name)s: %(message)s')\n" + BUILD_BRAX)
    run = subprocess.run([sys.executable, "-c", verbose], capture_output=True, text=True,
                         timeout=300)
    assert "hades_zoo.engine.envs: loading brax hopper (positional)" in run.stderr
    assert "not actively being maintained" in run.stderr


def test_verbose_flag_shows_hades_zoo_debug_log_for_the_command_only():
    """-v shows hades_zoo's DEBUG log while the command runs, and puts the logger back
    afterwards (it once stayed at DEBUG: a later in-process test then saw progress
    events it did not expect)."""
    import click

    @click.command("log-something")
    def log_something():
        logging.getLogger("hades_zoo.test").debug("a debug line")

    logger = logging.getLogger("hades_zoo")
    before = (list(logger.handlers), logger.level, logger.propagate)
    cli.add_command(log_something)
    try:
        res = CliRunner().invoke(cli, ["-v", "log-something"])
        assert res.exit_code == 0
        assert "DEBUG hades_zoo.test: a debug line" in res.output
        assert (list(logger.handlers), logger.level, logger.propagate) == before
        res = CliRunner().invoke(cli, ["log-something"])
        assert res.exit_code == 0 and "a debug line" not in res.output
    finally:
        cli.commands.pop("log-something", None)
        logger.handlers[:] = before[0]
        logger.setLevel(before[1])
        logger.propagate = before[2]


def test_building_a_brax_env_on_cpu_does_not_import_warp(tmp_path):
    """NVIDIA Warp (installed with MuJoCo Playground) is GPU-only for MJX and unused by
    brax's pipelines: on CPU, building a brax env does not import it (seconds of
    CPU); ``import warp`` afterwards still works; HADES_ZOO_IMPORT_WARP=1 imports it."""
    fake = tmp_path / "site" / "warp"
    fake.mkdir(parents=True)
    marker = tmp_path / "warp-imported"
    (fake / "__init__.py").write_text(  # records its import, then fails like a bad build
        f"open({str(marker)!r}, 'a').write('x')\nraise ImportError('fake warp')\n")
    code = ("import sys; sys.path.insert(0, sys.argv[1])\n" + BUILD_BRAX
            + "import os; print('during build', os.path.exists(sys.argv[2]))\n"
            "try:\n    import warp\nexcept ImportError as err:\n    print('later', err)\n")
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("HADES_ZOO_IMPORT_WARP", None)
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "site"), str(marker)],
                         capture_output=True, text=True, timeout=300, env=env, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["built", "during build False", "later fake warp"]
    assert run.stderr == ""
    marker.unlink()
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "site"), str(marker)],
                         capture_output=True, text=True, timeout=300, check=False,
                         env={**env, "HADES_ZOO_IMPORT_WARP": "1"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[:2] == ["built", "during build True"]
