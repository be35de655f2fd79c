"""Joining a multi-process run: ``jax.distributed.initialize`` with checks first.

Every process of a run calls ``initialize_distributed`` before anything else touches
JAX; afterwards ``jax.devices()`` lists the devices of every process and
``engine.parallel.global_mesh`` spans them all. Three ways to launch:

- explicit: ``coordinator="host0:1234", num_processes=N, process_id=I`` in each of N
  shells (process 0 hosts the coordinator at that address);
- ``auto=True``: ``jax.distributed.initialize()`` with no arguments, which reads the
  cluster's environment (SLURM's ``SLURM_*``, Open MPI, Kubernetes, Cloud TPU) and
  ``JAX_COORDINATOR_ADDRESS``;
- nothing: one process, all its local devices.

JAX's client terminates the whole process (a C++ ``LOG(FATAL)``, not a Python
exception) when it cannot register with the coordinator within its timeout. So before
calling JAX, process ``I > 0`` waits for the coordinator's TCP port to accept a
connection and raises ``DistributedError`` if it does not within the timeout, and
process 0 checks that it can bind the port. On CPU the collectives between processes use
gloo (``jax_cpu_collectives_implementation``); they are synchronised once right after
joining (see ``docs/SCALING.md``, "Known limits").
"""

from __future__ import annotations

import logging
import socket
import time

from hades_zoo.errors import DistributedError

__all__ = ["initialize_distributed", "parse_coordinator"]

log = logging.getLogger(__name__)


def parse_coordinator(address: str) -> tuple[str, int]:
    """``"HOST:PORT"`` -> ``(host, port)``; IPv6 hosts in brackets (``[::1]:1234``).

    Raises:
        DistributedError: no port, or a port outside 1..65535.
    """
    host, sep, port = str(address).rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise DistributedError(
            f"--coordinator {address!r} is not HOST:PORT; give process 0's host name or "
            "IP and a free TCP port, e.g. --coordinator node001:12345 (the same on "
            "every process).")
    return host, int(port)


def _wait_for_port(host: str, port: int, timeout_s: float) -> None:
    """Poll until ``host:port`` accepts a TCP connection, or raise DistributedError."""
    deadline = time.monotonic() + timeout_s
    last: OSError | None = None
    while True:
        try:
            with socket.create_connection((host, port), timeout=min(2.0, timeout_s)):
                return
        except OSError as err:
            last = err
        if time.monotonic() >= deadline:
            raise DistributedError(
                f"cannot reach the coordinator at {host}:{port} within {timeout_s:g} s "
                f"({last}); start process 0 (it hosts the coordinator) with the same "
                "--coordinator, check the host name, port and firewall, or wait longer "
                "with --distributed-timeout.")
        time.sleep(0.2)


def _check_bindable(port: int) -> None:
    """Process 0 must be able to listen on the coordinator port."""
    for family, addr in ((socket.AF_INET6, "::"), (socket.AF_INET, "0.0.0.0")):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                # as gRPC does: a port in TIME_WAIT from an earlier run is free
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((addr, port))
                return
        except OSError as err:
            last = err
    raise DistributedError(
        f"process 0 cannot listen on coordinator port {port} ({last}); pick a free port "
        "in --coordinator (the same on every process).")


def initialize_distributed(coordinator: str | None = None, num_processes: int | None = None,
                           process_id: int | None = None, *, auto: bool = False,
                           timeout_s: float = 300.0) -> bool:
    """Join a multi-process JAX run (or do nothing for a single process).

    Must be called before any JAX computation in this process.

    Args:
        coordinator: ``HOST:PORT`` of process 0's coordinator service.
        num_processes: processes in the run (>= 1).
        process_id: this process, ``0 <= process_id < num_processes``.
        auto: call ``jax.distributed.initialize()`` with no arguments (SLURM, Open
            MPI, ``JAX_COORDINATOR_ADDRESS`` ...); the three explicit arguments must
            then be None.
        timeout_s: how long processes wait for each other (seconds).

    Returns:
        True if this process joined a multi-process run, False if nothing was asked.

    Raises:
        DistributedError: incomplete or inconsistent arguments, an unreachable
            coordinator, a busy coordinator port, no cluster found with ``auto``, or
            JAX already initialised.
    """
    explicit = (coordinator, num_processes, process_id)
    if auto and any(x is not None for x in explicit):
        raise DistributedError(
            "--distributed auto reads the launch from the environment; drop "
            "--coordinator/--num-processes/--process-id, or drop --distributed auto.")
    if not auto and all(x is None for x in explicit):
        return False
    import jax

    if timeout_s <= 0:
        raise DistributedError(f"--distributed-timeout must be > 0 s, got {timeout_s}.")
    if auto:
        _call_initialize(jax, {"initialization_timeout": int(max(timeout_s, 1))})
        return True
    missing = [flag for flag, x in zip(("--coordinator", "--num-processes", "--process-id"),
                                       explicit) if x is None]
    if missing:
        raise DistributedError(
            f"a multi-process launch needs --coordinator, --num-processes and "
            f"--process-id together; missing {', '.join(missing)} (or use --distributed "
            "auto under SLURM).")
    host, port = parse_coordinator(coordinator)
    if isinstance(num_processes, bool) or not isinstance(num_processes, int) \
            or num_processes < 1:
        raise DistributedError(f"--num-processes must be >= 1, got {num_processes!r}.")
    if isinstance(process_id, bool) or not isinstance(process_id, int) \
            or not 0 <= process_id < num_processes:
        raise DistributedError(
            f"--process-id must be in 0..{num_processes - 1} for --num-processes "
            f"{num_processes}, got {process_id!r}; give each process its own id.")
    if process_id == 0:
        _check_bindable(port)
    else:
        _wait_for_port(host, port, timeout_s)
    _call_initialize(jax, {"coordinator_address": f"{host}:{port}",
                           "num_processes": num_processes, "process_id": process_id,
                           "initialization_timeout": int(max(timeout_s, 1))})
    return True


def _call_initialize(jax, kwargs: dict) -> None:
    """``jax.distributed.initialize(**kwargs)`` with gloo CPU collectives; JAX's
    Python errors become DistributedError."""
    try:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(**kwargs)
    except (RuntimeError, ValueError, TypeError) as err:
        hint = (" Under SLURM run one task per process (srun); elsewhere give "
                "--coordinator, --num-processes and --process-id."
                if "coordinator_address" in str(err) else "")
        raise DistributedError(
            f"jax.distributed.initialize failed: {str(err).rstrip('.')}.{hint}") from err
    # CPU collectives (gloo, jaxlib 0.7.2) connect at the first collective and give
    # up if a peer is 30 s late there; make that first collective happen now, while
    # the processes are in step, rather than after compilations of different lengths.
    from jax.experimental import multihost_utils

    multihost_utils.sync_global_devices("hades_zoo: processes joined")
    log.info("process %d of %d, %d devices in total", jax.process_index(),
             jax.process_count(), jax.device_count())
