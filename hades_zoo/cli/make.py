"""Make datasets: ``distill`` (evolve one from a recipe) and ``import-reference``
(convert a published ``.npz``).
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import click

from hades_zoo.cli.base import (
    Number,
    OutPath,
    StoppedExit,
    _fail_cleanly,
    _jit_cache,
    cli,
)

__all__ = ["distill", "import_reference_cmd"]


@cli.command()
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=OutPath("folder"),
              help="Entry folder: dataset, card, recipe.yaml, metrics.jsonl, curve.png, "
                   "checkpoint.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe field, e.g. --set es.popsize=128 --set "
                   "eval.mode=episodes (validated like the YAML; recorded in the card).")
@click.option("--no-resume", is_flag=True,
              help="Start over: remove the previous run's outputs in --out first (its "
                   "dataset and sidecar, card, checkpoint, metrics, curve, recipe.yaml, "
                   "parquet, evolution.json, certificate.json, policy, replay); other "
                   "files are left alone.")
@click.option("--replay/--no-replay", default=True, envvar="HADES_ZOO_REPLAY",
              show_default=True,
              help="When the run ends, write replay.mp4 (.gif without the render extra; "
                   "image datasets: a grid) of a policy trained on the dataset into --out "
                   "and show it on the card. A replay that cannot be made (no OpenGL) is "
                   "a warning. Also HADES_ZOO_REPLAY=0.")
@click.option("--generations", type=click.IntRange(min=1), default=None,
              help="Stop after this many generations in total (resume later).")
@click.option("--max-env-steps", type=Number(min=1, allow_inf=True), default=None,
              help="Also stop once this many env steps were simulated (e.g. the ES "
                   "baseline at a HaDES run's budget; inf: no budget).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Image recipes: folder with the real IDX .gz files.")
@click.option("--split", "image_split", default=None,
              type=click.Choice(["train", "test", "train5k"]),
              help="Image recipes: real split the fitness uses (default: the recipe's).")
@click.option("--max-memory", default=None, metavar="SIZE",
              help="Per-device memory budget (e.g. 8GiB, 512MiB): evaluate the population "
                   "in the largest chunk whose compiled generation fits it.")
@click.option("--eval-chunk", type=click.IntRange(min=0), default=None,
              help="Candidates evaluated at once per device (default: the recipe's "
                   "es.eval_chunk; 0 = all). Does not change the results.")
@click.option("--coordinator", default=None, metavar="HOST:PORT",
              envvar="HADES_ZOO_COORDINATOR",
              help="Multi-process run: process 0's address and a free port, the same on "
                   "every process.")
@click.option("--num-processes", type=int, default=None, envvar="HADES_ZOO_NUM_PROCESSES",
              help="Multi-process run: number of processes.")
@click.option("--process-id", type=int, default=None, envvar="HADES_ZOO_PROCESS_ID",
              help="Multi-process run: this process's id, 0..N-1 (0 writes the files).")
@click.option("--distributed", type=click.Choice(["auto"]), default=None,
              help="'auto': jax.distributed.initialize() reads the launch from the "
                   "environment (SLURM, Open MPI, JAX_COORDINATOR_ADDRESS).")
@click.option("--distributed-timeout", type=Number(min=0, min_open=True), default=300.0, show_default=True,
              metavar="SECONDS", help="How long processes wait for each other.")
@_fail_cleanly
def distill(recipe: str, out_dir: str, overrides: tuple[str, ...], no_resume: bool,
            replay: bool, generations: int | None, max_env_steps: float | None, data_dir: str | None,
            image_split: str | None, max_memory: str | None, eval_chunk: int | None,
            coordinator: str | None, num_processes: int | None, process_id: int | None,
            distributed: str | None, distributed_timeout: float) -> None:
    """Run a RECIPE (YAML): evolve a synthetic dataset with HaDES into a zoo entry.

    --out DIR receives a complete, pushable entry, rewritten after every checkpoint
    (so a stopped run leaves a usable dataset): <id>.safetensors, README.md (dataset
    card with provenance, machine, wall time, environment steps and the learning
    curve), recipe.yaml, metrics.jsonl, curve.png; when the run ends, replay.mp4 (a
    policy trained on the dataset, playing; see --no-replay). Running the command
    again resumes.
    The folder is valid after any stop: Ctrl-C waits for the checkpoint being written
    and says where the run stopped (exit status 130). A second distill on the same
    --out refuses while the first runs (--out/.lock names it).
    Under jax.distributed (--coordinator ..., or --distributed auto) every process
    runs this command and only process 0 writes.

    \b
    Examples:
      hades-zoo distill recipes/cartpole-R-2.yaml --out runs/cartpole
      hades-zoo distill recipes/cartpole-R-2.yaml --out runs/cp64 --set es.popsize=64
      hades-zoo push runs/cartpole --repo-id ORG/cartpole-R-2
      hades-zoo distill recipes/hopper-F-64.yaml --out runs/hopper --max-memory 20GiB
      hades-zoo distill recipes/fashionmnist-R-10.yaml --out runs/fm --data-dir DIR
    """
    done = [None]  # generations completed, as the progress reports them
    out = Path(out_dir)
    if max_env_steps == float("inf"):  # no budget (the bar showed '48.0k/infG env steps')
        max_env_steps = None
    main = threading.current_thread() is threading.main_thread()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if main and handlers[signal.SIGTERM] == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _stop)  # a batch system's SIGTERM: as Ctrl-C
        _distill(recipe, out, overrides, no_resume, generations, max_env_steps, data_dir,
                 image_split, max_memory, eval_chunk, coordinator, num_processes,
                 process_id, distributed, distributed_timeout, done, replay)
    except KeyboardInterrupt as stop:
        signum = getattr(stop, "signum", signal.SIGINT)
        if main:  # the message is a moment away
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        click.echo(_stopped_message(out, done[0], no_resume, signum), err=True)
        raise StoppedExit(128 + signum) from None
    finally:
        if main:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)


class _Stopped(KeyboardInterrupt):
    """SIGTERM, raised where Python would raise KeyboardInterrupt for SIGINT."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(signum, frame):
    raise _Stopped(signum)


def _stopped_message(out: Path, done: int | None, no_resume: bool, signum: int) -> str:
    """What a stopped distill tells the user: where it stopped, what the folder holds,
    how to go on (read from the folder itself)."""
    from hades_zoo.engine.checkpoint import read_generation
    from hades_zoo.zoo.entry import entry_generation

    how = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
    again = ("run the command again without --no-resume" if no_resume
             else "run the same command again")
    try:
        entry = entry_generation(out) if out.is_dir() else None
        ckpt = read_generation(out) if out.is_dir() else 0
    except Exception as err:  # noqa: BLE001 - a message must come out whatever happens
        entry, ckpt = None, 0
        again = f"{out} could not be read ({err}); {again}"
    if done is not None:  # the stop may come right after a checkpoint, before progress
        done = max(done, ckpt)
    where = f"at generation {done}" if done is not None else "while starting"
    held = (f"{out} holds no entry yet" if entry is None
            else f"{out} holds a valid entry at generation {entry}")
    again += f" to resume it from generation {ckpt}" if ckpt else " to start it"
    return f"distill stopped ({how}) {where}; {held}; {again}."


def _distill(recipe, out: Path, overrides, no_resume, generations, max_env_steps, data_dir,
             image_split, max_memory, eval_chunk, coordinator, num_processes, process_id,
             distributed, distributed_timeout, done: list, replay: bool = True) -> None:
    from hades_zoo.engine.launch import initialize_distributed
    from hades_zoo.engine.memory import parse_memory_size

    budget = parse_memory_size(max_memory) if max_memory is not None else None
    # Before anything touches a JAX backend.
    initialize_distributed(coordinator, num_processes, process_id,
                           auto=distributed == "auto", timeout_s=distributed_timeout)

    from hades_zoo.data.recipe_io import load_recipe
    from hades_zoo.engine.envs import provider_for
    from hades_zoo.engine.parallel import is_writer
    from hades_zoo.engine.run_folder import hold_run_folder
    from hades_zoo.hub.cards import dataset_filename

    # a bad recipe, or a name that cannot be a file name, touches no folder
    rec = load_recipe(recipe, overrides)
    if rec.variant != "ES":  # the entry's card names <name>.safetensors: check it now
        dataset_filename(rec.name)
    provider_for(rec.env)  # so does an unknown env, backend or shim
    if not is_writer():
        _run(rec, out, overrides, no_resume, generations, max_env_steps, data_dir,
             image_split, budget, eval_chunk, done, writer=False)
        return
    # an existing folder of the user's files is refused here, before any work
    with hold_run_folder(out, command=" ".join(sys.argv), new_or_run=True):
        result = _run(rec, out, overrides, no_resume, generations, max_env_steps, data_dir,
                      image_split, budget, eval_chunk, done, writer=True)
        if replay and result is not None and result.dataset is not None:
            _replay(out)


def _replay(out: Path) -> None:
    """Write the entry's replay (``zoo.entry_replay``); any failure is a warning: the
    run's files are complete. Once what failed is fixed (OpenGL, a package), the same
    command adds the replay; an env without a renderer (``NoRendererError``) gets none
    however often it is run, and the warning says so."""
    import logging
    import time

    from hades_zoo.errors import NoRendererError
    from hades_zoo.zoo.entry_replay import write_entry_replay

    t0 = time.time()
    try:
        path = write_entry_replay(out)
    except Exception as err:  # noqa: BLE001 - the run is saved; a replay is an extra
        logging.getLogger(__name__).debug("replay failed", exc_info=True)
        text = " ".join(str(err).split()).rstrip(".")
        then = ("this env has no renderer, so running the command again will not add "
                "one until it has; --no-replay skips the replay"
                if isinstance(err, NoRendererError) else
                "once that is fixed, run the same command again to add it; --no-replay "
                "skips the replay")
        click.echo(f"warning: no replay: {type(err).__name__}: {text} (the entry is "
                   f"complete without it; {then})", err=True)
        return
    if path is not None:
        click.echo(f"wrote {path} ({path.stat().st_size / 1024:.1f} KiB, "
                   f"{time.time() - t0:.0f} s), shown on the card")


def _run(rec, out: Path, overrides, no_resume, generations, max_env_steps, data_dir,
         image_split, budget, eval_chunk, done: list, *, writer: bool):
    from hades_zoo.cli.progress import DistillProgress
    from hades_zoo.data.normalization import load_stats
    from hades_zoo.engine.checkpoint import read_generation
    from hades_zoo.engine.distill import distill as run_distill
    from hades_zoo.hub.cards import dataset_filename
    from hades_zoo.zoo.certify import machine_description
    from hades_zoo.zoo.entry import remove_previous_outputs, write_entry

    _jit_cache()
    mean = var = None
    if rec.env.obs_norm == "const":
        mean, var = load_stats(rec.env.name)
    machine = machine_description()
    total = rec.es.generations if generations is None else min(generations,
                                                               rec.es.generations)
    if no_resume and writer:
        removed = remove_previous_outputs(out, [rec.name])
        if removed:
            click.echo(f"--no-resume: removed the previous run's outputs in {out}: "
                       + ", ".join(p.relative_to(out).as_posix() for p in removed))
    start = 0 if no_resume or not writer else read_generation(out)
    done[0] = start

    def on_checkpoint(event) -> None:
        write_entry(out, event, rec, machine=machine, overrides=overrides)

    with DistillProgress(rec.name, total, start, live=None if writer else False,
                         max_env_steps=max_env_steps) as bar:
        def progress(gen: int, m: dict) -> None:
            done[0] = gen
            if writer:
                bar(gen, m)

        result = run_distill(rec, out_dir=out, progress_fn=progress, resume=not no_resume,
                             obs_mean=mean, obs_var=var, max_generations=generations,
                             data_dir=data_dir, image_split=image_split,
                             on_checkpoint=on_checkpoint, overrides=overrides,
                             max_env_steps=max_env_steps, eval_chunk=eval_chunk,
                             max_memory=budget)
    if not writer:
        import jax

        click.echo(f"process {jax.process_index()} of {jax.process_count()}: "
                   f"{result.generations} generations done; process 0 writes the files")
        return result
    what = (f"{out / dataset_filename(rec.name)} + README.md, curve.png"
            if result.dataset is not None else f"{out / 'policy.safetensors'} (ES baseline)")
    count = f"{result.generations} generation{'s' if result.generations != 1 else ''}"
    if start and result.generations <= start:  # resumed, and nothing left to run
        limit = (f"--generations {generations}" if generations is not None
                 and generations < rec.es.generations
                 else f"the recipe's es.generations ({rec.es.generations})")
        click.echo(f"nothing to evolve: {out} already holds {count}, and {limit} asks "
                   "for no more; raise --generations or es.generations (--set "
                   "es.generations=N) to evolve it further.")
        return result
    click.echo(f"wrote {what} ({count})")
    return result


@cli.command(name="import-reference")
@click.argument("npz_file", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=OutPath("file"),
              help="Output .safetensors file (an existing one is replaced only when "
                   "it is a hades_zoo dataset).")
@click.option("--id", "dataset_id", default=None,
              help="Dataset id (default: derived from the file's own config).")
@_fail_cleanly
def import_reference_cmd(npz_file: str, out: str, dataset_id: str | None) -> None:
    """Convert a reference HaDES .npz export (FLAIROx/behaviour-distillation) into a
    hades_zoo .safetensors dataset with its complete protocol.

    \b
    Example:
      hades-zoo import-reference brax__distill__hopper__D4__seed0.npz --out hopper.safetensors
    """
    from hades_zoo.data.dataset import check_replaceable_dataset, save_dataset
    from hades_zoo.zoo.importer import import_reference

    check_replaceable_dataset(out)  # an existing file that is no dataset: kept
    ds = import_reference(npz_file, dataset_id=dataset_id)
    path = save_dataset(ds, out)
    click.echo(f"wrote {path}: {ds!r}, recorded fitness {ds.info.fitness:.4g} "
               f"({ds.info.fitness_kind})")
    if ds.info.notes:
        click.echo(f"  notes: {ds.info.notes}")
