"""``python -m hades_zoo.cli`` runs the same command line as ``hades-zoo``."""

from __future__ import annotations

import subprocess
import sys


def test_python_m_hades_zoo_cli_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "hades_zoo.cli", "--help"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "Usage: hades-zoo" in out.stdout and "distill" in out.stdout


_RUN_MAIN = """
import atexit, sys, tempfile
folder = tempfile.TemporaryDirectory()  # removed by its finalizer at exit
atexit.register(lambda: print("atexit ran", flush=True))
print(folder.name, flush=True)
sys.argv = ["hades-zoo", *sys.argv[1:]]
from hades_zoo.cli import main
main()
"""


def _main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _RUN_MAIN, *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_main_runs_the_exit_handlers_and_keeps_the_status(tmp_path):
    from pathlib import Path

    ok = _main("--version")
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert "version" in ok.stdout and lines[-1] == "atexit ran"
    assert not Path(lines[0]).exists()  # tempfile's finalizer ran: a normal exit's work

    bad = _main("info", "no-such-dataset")
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error: ") and "no-such-dataset" in bad.stderr
    assert bad.stdout.splitlines()[-1] == "atexit ran"
    assert not Path(bad.stdout.splitlines()[0]).exists()

    usage = _main("eval")  # click's usage error: status 2
    assert usage.returncode == 2 and "Missing argument" in usage.stderr


def test_a_closed_stdout_ends_quietly():
    """``hades-zoo list | head -1``: no error about a path, no traceback. The reader
    is gone before the first line is written, so the write always meets EPIPE."""
    proc = subprocess.Popen([sys.executable, "-m", "hades_zoo.cli", "list"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader goes away, as `head -1` does
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert err == "", err
    assert proc.returncode == 1
