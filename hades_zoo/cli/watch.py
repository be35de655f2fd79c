"""Watch policies: ``render`` (play a SOURCE's policy and write a video)."""

from __future__ import annotations

import click

from hades_zoo.cli.base import Number, OutPath, _fail_cleanly, _jit_cache, cli
from hades_zoo.data.limits import MAX_EPISODES

__all__ = ["render_cmd"]


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else (f"{n / 1024:.1f} KiB" if n < 1024**2
                                      else f"{n / 1024**2:.2f} MiB")


@cli.command(name="render")
@click.argument("source")
@click.option("--out", "out", required=True, type=OutPath("file"),
              help="The video: .mp4 (H.264; pip install 'hades_zoo[render]') or .gif.")
@click.option("--episodes", type=click.IntRange(min=1, max=MAX_EPISODES), default=1, show_default=True,
              help="Episodes played, shown one after the other.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="BC seed of a dataset's policy and the evaluation seed (the episodes "
                   "of `hades-zoo eval SOURCE --seed S`).")
@click.option("--width", type=int, default=320, show_default=True, help="Frame width (px).")
@click.option("--height", type=int, default=240, show_default=True,
              help="Frame height (px), the caption strip included.")
@click.option("--fps", type=Number(min=0, min_open=True), default=None,
              help="Frames per second (default: the env's control rate, e.g. hopper 125; "
                   "a GIF at most 50). Fewer frames skip steps; playback stays real time.")
@click.option("--max-seconds", type=Number(min=0, allow_inf=True), default=10.0,
              show_default=True, help="Cut the video after this many seconds (0 or inf: "
                                      "whole episodes).")
@_fail_cleanly
def render_cmd(source: str, out: str, episodes: int, seed: int, width: int, height: int,
               fps: float | None, max_seconds: float) -> None:
    """Play the policy of SOURCE and write a video with the return overlaid.

    SOURCE is a zoo id, a .safetensors file, an entry or run folder (distill --out),
    hf:<org>/<name>[@rev] (a dataset repo, else a saved policy's model repo) or a
    saved policy folder (train --out). A dataset is trained with its own protocol
    first; an image dataset (mnist-R-10) is drawn as a labelled grid of its images.

    Brax and MuJoCo Playground envs are drawn by MuJoCo's offscreen renderer: on a
    machine without a display it needs OSMesa (apt-get install libosmesa6;
    MUJOCO_GL=osmesa is set when unset).

    \b
    Examples:
      hades-zoo render hopper-R-64 --out hopper.mp4
      hades-zoo render cartpole-F-2.hz --out cartpole.gif --max-seconds 5
      hades-zoo render runs/cartpole --out replay.mp4 --episodes 3 --max-seconds 0
      hades-zoo render pol/ --out pol.mp4 --fps 30
    """
    from hades_zoo.zoo.replay import render_source

    _jit_cache()
    res = render_source(source, out, episodes=episodes, seed=seed, width=width,
                        height=height, fps=fps,
                        max_seconds=None if max_seconds in (0, float("inf")) else max_seconds)
    if res.returns.size:
        returns = ", ".join(f"{r:.1f}" for r in res.returns)
        steps = ", ".join(str(int(n)) for n in res.lengths)
        what = (f"{res.returns.size} episode(s), return {returns} ({steps} steps)"
                + ("" if all(res.steps_shown == res.lengths) else
                   f", shown up to step {', '.join(str(int(n)) for n in res.steps_shown)}"))
    else:
        what = "the dataset's images"
    click.echo(f"wrote {res.path}: {what}; {res.frames} frames at {res.fps:.4g} fps "
               f"({res.seconds:.1f} s), {res.width}x{res.height}, {_size(res.size)}")
