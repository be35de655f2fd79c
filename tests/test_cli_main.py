"""``python -m hades_zoo.cli`` runs the same command line as ``hades-zoo``."""

from __future__ import annotations

import subprocess
import sys


def test_python_m_hades_zoo_cli_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "hades_zoo.cli", "--help"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "Usage: hades-zoo" in out.stdout and "distill" in out.stdout
