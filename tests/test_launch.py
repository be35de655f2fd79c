"""engine.launch and multi-process runs: jax.distributed on CPU (gloo), 127.0.0.1.

The multi-process tests start real processes (one XLA CPU device each) with
``hades-zoo distill --coordinator 127.0.0.1:PORT --num-processes 2 --process-id I`` and
compare with single-process runs of the same tiny CartPole recipe.
"""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from hades_zoo.engine.launch import initialize_distributed, parse_coordinator
from hades_zoo.errors import DistributedError
from tests import distill_runs


def test_parse_coordinator():
    assert parse_coordinator("node001:1234") == ("node001", 1234)
    assert parse_coordinator("[::1]:80") == ("::1", 80)
    for bad in ("node001", "node001:", ":123", "host:port", "host:70000", "host:0"):
        with pytest.raises(DistributedError, match="is not HOST:PORT.*--coordinator"):
            parse_coordinator(bad)


def test_single_process_needs_nothing():
    assert initialize_distributed() is False


@pytest.mark.parametrize("kwargs,match", [
    ({"num_processes": 2}, "missing --coordinator, --process-id"),
    ({"coordinator": "h:1", "process_id": 0}, "missing --num-processes"),
    ({"coordinator": "h:1", "num_processes": 2, "process_id": 2},
     r"--process-id must be in 0..1 for --num-processes 2, got 2"),
    ({"coordinator": "h:1", "num_processes": 0, "process_id": 0},
     "--num-processes must be >= 1"),
    ({"coordinator": "h:1", "num_processes": 2, "process_id": 1, "auto": True},
     "--distributed auto reads the launch from the environment"),
    ({"coordinator": "h:1", "num_processes": 2, "process_id": 1, "timeout_s": 0},
     "--distributed-timeout must be > 0"),
])
def test_bad_launch_arguments(kwargs, match):
    with pytest.raises(DistributedError, match=match):
        initialize_distributed(**kwargs)


def test_unreachable_coordinator_is_an_error_not_a_crash():
    """JAX's client would LOG(FATAL) the process; the check before it raises."""
    port = distill_runs.free_port()  # nobody listens there
    with pytest.raises(DistributedError, match=rf"cannot reach the coordinator at "
                       rf"127.0.0.1:{port} within 0.5 s.*start process 0"):
        initialize_distributed(f"127.0.0.1:{port}", 2, 1, timeout_s=0.5)


def test_busy_coordinator_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(DistributedError, match=rf"cannot listen on coordinator port "
                           rf"{port}.*pick a free port"):
            initialize_distributed(f"127.0.0.1:{port}", 2, 0)


def test_cli_reports_launch_errors(tmp_path):
    from hades_zoo.cli import cli

    res = CliRunner().invoke(cli, ["distill", "recipes/cartpole-R-2.yaml", "--out",
                                   str(tmp_path / "o"), "--num-processes", "2"])
    assert res.exit_code == 1
    assert "DistributedError: a multi-process launch needs --coordinator" in res.output
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------- real processes
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("processes")
    recipe = distill_runs.write_tiny_recipe(root / "tiny.yaml")
    cache = root / "cache"
    refs = {}

    def single(devices: int):
        """The uninterrupted single-process run with ``devices`` devices (memoised)."""
        if devices not in refs:
            refs[devices] = root / f"single{devices}"
            distill_runs.distill(recipe, refs[devices], devices=devices, cache=cache)
        return refs[devices]

    return recipe, cache, root, single


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_two_processes_equal_one_process_with_two_devices(runs):
    """Same global mesh of 2 devices, same program: byte-identical dataset file and
    metrics. Only process 0 writes; process 1's --out is never created."""
    recipe, cache, root, single = runs
    outs = [root / "mp0", root / "mp1"]
    stdout = distill_runs.distill_processes(recipe, outs, cache=cache)
    assert "process 1 of 2: 2 generations done" in stdout[1]
    assert "wrote" in stdout[0] and "gen     2/2" in stdout[0]
    assert "gen " not in stdout[1]
    assert not outs[1].exists()
    ref = single(2)
    assert sorted(p.name for p in outs[0].iterdir()) == sorted(p.name for p in ref.iterdir())
    # bitwise-equal arrays and equal metrics; the files differ only in the run's
    # timing (wall_seconds in metrics and in the entry's evolution provenance)
    distill_runs.assert_same_dataset(outs[0], ref)


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_resume_with_another_process_count(runs):
    """1 process (1 device) runs generation 1; 2 processes resume it (process 0 reads
    the checkpoint and broadcasts it: process 1 gets an empty --out); the dataset is the
    uninterrupted 1-device one."""
    recipe, cache, root, single = runs
    out = root / "resume"
    distill_runs.distill(recipe, out, devices=1, cache=cache, args=("--generations", "1"))
    assert len(distill_runs.metrics(out)) == 1
    distill_runs.distill_processes(recipe, [out, root / "resume-p1"], cache=cache)
    assert not (root / "resume-p1").exists()
    distill_runs.assert_same_dataset(single(1), out)


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_two_processes_then_one_process_with_three_devices(runs):
    """The other direction: 2 processes stop after generation 1 and one process with 3
    devices (pop 8 padded to 9) finishes; same dataset as the uninterrupted run."""
    recipe, cache, root, single = runs
    out = root / "shrink"
    distill_runs.distill_processes(recipe, [out, root / "shrink-p1"], cache=cache,
                                   args=("--generations", "1"))
    assert len(distill_runs.metrics(out)) == 1
    distill_runs.distill(recipe, out, devices=3, cache=cache)
    distill_runs.assert_same_dataset(single(1), out)


def test_slurm_variables_with_distributed_auto(runs):
    """``--distributed auto`` under (simulated) ``srun`` variables: JAX finds the
    coordinator, count and id itself; same bytes as one process with two devices."""
    recipe, cache, root, single = runs
    outs = [root / "slurm0", root / "slurm1"]
    distill_runs.distill_processes(recipe, outs, cache=cache, slurm=True)
    assert not outs[1].exists()
    distill_runs.assert_same_dataset(outs[0], single(2))


def test_distributed_auto_without_a_cluster(tmp_path):
    import subprocess

    env = distill_runs.child_env(1, tmp_path / "cache")
    proc = subprocess.run([*distill_runs.CLI, "distill", "recipes/cartpole-R-2.yaml",
                           "--out", str(tmp_path / "o"), "--distributed", "auto"],
                          env=env, cwd=distill_runs.ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert ("DistributedError: jax.distributed.initialize failed: coordinator_address "
            "should be defined. Under SLURM run one task per process") in proc.stderr
