"""Run ``hades-zoo distill`` in fresh processes with a chosen number of XLA CPU devices.

XLA fixes the host device count when jax first initialises its backend, so every device
count (and every process of a ``jax.distributed`` run) needs its own interpreter.
The tiny recipe: CartPole, pop 8, D 2, width 16, 10 BC steps, 2 envs x 50 steps,
2 generations (one per chunk).
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from hades_zoo.cli import main; main()"]


def write_tiny_recipe(path: Path, generations: int = 2) -> Path:
    """The tiny CartPole recipe as YAML at ``path``."""
    from hades_zoo.data.recipe_io import dump_recipe, load_recipe

    r = load_recipe(ROOT / "recipes" / "cartpole-R-2.yaml")
    r = r.replace(
        name="tiny-R-2",
        policy=dataclasses.replace(r.policy, width=16),
        bc=dataclasses.replace(r.bc, steps=10),
        eval=dataclasses.replace(r.eval, num_envs=2, num_steps=50),
        es=dataclasses.replace(r.es, popsize=8, generations=generations, log_every=1),
    )
    dump_recipe(r, path)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(devices: int, cache: Path) -> dict[str, str]:
    """Environment of a child: CPU only, ``devices`` XLA devices, a shared JIT cache."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"
           and not k.startswith(("SLURM_", "OMPI_", "JAX_COORDINATOR", "KUBERNETES_"))}
    env.update(JAX_PLATFORMS="cpu", HADES_ZOO_CPU_DEVICES=str(devices),
               HADES_ZOO_CACHE=str(cache), HADES_ZOO_JIT_CACHE="1",
               PYTHONPATH=str(ROOT))
    return env


def distill(recipe: Path, out: Path, *, devices: int, cache: Path, args=(),
            timeout: float = 120) -> subprocess.CompletedProcess:
    """One process: ``hades-zoo distill recipe --out out [args]``; raises on failure."""
    proc = subprocess.run([*CLI, "distill", str(recipe), "--out", str(out), *args],
                          env=child_env(devices, cache), capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    if proc.returncode:
        raise AssertionError(f"distill failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def distill_processes(recipe: Path, outs: list[Path], *, cache: Path, args=(),
                      timeout: float = 120, slurm: bool = False) -> list[str]:
    """``len(outs)`` processes of one ``jax.distributed`` run on 127.0.0.1, one CPU
    device each; process ``i`` gets ``--out outs[i]``. Returns their stdouts.

    ``slurm``: instead of ``--coordinator/--num-processes/--process-id``, give each
    process the variables ``srun`` sets (one node, ``localhost``) and
    ``--distributed auto``; JAX derives the coordinator port from ``SLURM_JOB_ID``.
    """
    port = free_port()
    job = str(port)  # JAX's port: 61440 + job id % 4096
    procs = []
    for i, out in enumerate(outs):
        env = child_env(1, cache)
        if slurm:
            launch = ["--distributed", "auto"]
            env.update(SLURM_JOB_ID=job, SLURM_NTASKS=str(len(outs)), SLURM_PROCID=str(i),
                       SLURM_LOCALID=str(i), SLURM_STEP_NODELIST="localhost",
                       SLURM_STEP_NUM_NODES="1")
        else:
            launch = ["--coordinator", f"127.0.0.1:{port}", "--num-processes",
                      str(len(outs)), "--process-id", str(i)]
        cmd = [*CLI, "distill", str(recipe), "--out", str(out), *launch,
               "--distributed-timeout", "60", *args]
        procs.append(subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    results = []
    try:
        for p in procs:
            results.append(p.communicate(timeout=timeout))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for i, (p, (_, err)) in enumerate(zip(procs, results)):
        if p.returncode:
            raise AssertionError(f"process {i} failed ({p.returncode}):\n{err[-3000:]}")
    return [out for out, _ in results]


def arrays(out: Path, name: str = "tiny-R-2") -> dict[str, np.ndarray]:
    """The named arrays of the dataset written in ``out``."""
    from safetensors.numpy import load_file

    return load_file(str(out / f"{name}.safetensors"))


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def assert_same_dataset(a: Path, b: Path) -> None:
    """Bitwise-equal arrays; metrics equal to float32 rounding (see docs/SCALING.md:
    XLA orders the float32 sums of the population means differently per program)."""
    x, y = arrays(a), arrays(b)
    assert sorted(x) == sorted(y)
    for k in x:
        np.testing.assert_array_equal(x[k], y[k], err_msg=k)
    ma, mb = metrics(a), metrics(b)
    assert [r["generation"] for r in ma] == [r["generation"] for r in mb]
    for ra, rb in zip(ma, mb):
        assert ra.keys() == rb.keys()
        keys = sorted(k for k in ra if k != "wall_seconds")  # timing, not a result
        np.testing.assert_allclose([ra[k] for k in keys], [rb[k] for k in keys], rtol=1e-6)
