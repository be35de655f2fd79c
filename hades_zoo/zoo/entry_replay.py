"""Every entry carries its replay: ``replay.mp4`` (or ``.gif``) in a distill ``--out``
folder, and a "Replay" section of its card that shows it.

When ``hades-zoo distill --out DIR`` ends (finished, or stopped by ``--generations`` /
``--max-env-steps``; not on Ctrl-C), :func:`write_entry_replay` trains a policy on the
folder's dataset with its protocol (BC seed 0), plays one episode (evaluation seed 0:
the first episode of ``hades-zoo eval DIR --seed 0``) and writes the first
:data:`ENTRY_SECONDS` seconds at :data:`ENTRY_FPS` frames per second (fewer for envs
that step slower; real time). The format:

- ``replay.mp4`` (H.264) for every env that is played, when the ``render`` extra is
  installed: measured 2-6x smaller than a GIF of the same frames (CartPole 10 s:
  140 KiB vs 815 KiB; Breakout-MinAtar: 57 vs 107 KiB); the card embeds it with an
  HTML ``<video>`` tag (the Hub's cards play it);
- ``replay.gif`` for an image dataset (one picture: the labelled grid) and, without
  the extra, for every env (the card shows it as a markdown image).

The section records the sha256 of the dataset it shows, so running ``distill`` again
on a finished folder renders only when the dataset changed; while a resumed run has
not ended yet the section still names the generation it shows. The video and the card
are written by ``hub.folder.write_folder`` (video first, card last, each atomically);
a replay of the other format left by an earlier run is removed after. The ``ES``
baseline (policy weights, no dataset) gets no replay. ``distill --no-replay`` (or
``HADES_ZOO_REPLAY=0``) turns it off; a replay that cannot be made (no OpenGL) is a
warning, never a failed run: the entry's other files are complete already.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from hades_zoo.data.cache import sha256_file
from hades_zoo.data.paths import child_path
from hades_zoo.engine.render import renderer_for
from hades_zoo.engine.render.play import RenderResult, render_images, render_policy
from hades_zoo.engine.render.video import mp4_available
from hades_zoo.hub.client import CARD_FILE
from hades_zoo.hub.folder import from_pretrained, local_dataset_file, write_folder
from hades_zoo.zoo.entry import REPLAY_FILES, REPLAY_SECTION
from hades_zoo.zoo.results import get_card_section, set_card_section

__all__ = ["ENTRY_FPS", "ENTRY_SECONDS", "REPLAY_FILES", "REPLAY_SECTION", "replay_name",
           "write_entry_replay"]

log = logging.getLogger(__name__)

#: Frames per second of an entry's replay (an env stepping slower plays at its rate).
ENTRY_FPS = 30.0
#: Seconds of an entry's replay.
ENTRY_SECONDS = 10.0
_SHA_MARK = "dataset sha256 "


def replay_name(env_config) -> str:
    """``replay.mp4`` or ``replay.gif`` for an entry of ``env_config`` (module
    docstring)."""
    suffix = renderer_for(env_config).video_suffix
    return f"replay{suffix if suffix == '.gif' or mp4_available() else '.gif'}"


def _recorded_sha(card_text: str) -> str | None:
    body = get_card_section(card_text, REPLAY_SECTION) or ""
    i = body.find(_SHA_MARK + "`")
    return body[i + len(_SHA_MARK) + 1:].split("`", 1)[0] if i >= 0 else None


def _section(name: str, res: RenderResult, ds, generation: int | None) -> str:
    """The card's Replay section for the video ``name``."""
    if name.endswith(".mp4"):
        show = (f'<video src="{name}" controls autoplay loop muted playsinline '
                f'width="{res.width}"></video>')
    else:
        show = f"![replay of {ds.dataset_id}]({name})"
    gen = f" at generation {generation}" if generation is not None else ""
    if res.returns.size:
        cut = int(res.steps_shown[0]) < int(res.lengths[0])
        what = (f"A policy trained from scratch on this dataset{gen} (its protocol, BC "
                f"seed 0) playing one episode (evaluation seed 0): return "
                f"{float(res.returns[0]):.1f} over {int(res.lengths[0])} steps; the "
                + (f"first {res.seconds:.1f} s ({int(res.steps_shown[0])} steps) are "
                   if cut else f"{res.seconds:.1f} s are ")
                + f"shown at {res.fps:.3g} frames/s, in real time.")
    else:
        what = f"The dataset's {ds.size} synthetic images{gen}, titled with their labels."
    again = (f"`hades-zoo render DIR --out {name} --fps {res.fps:g} --max-seconds "
             f"{ENTRY_SECONDS:g}` makes it again (`--episodes`, `--seed` for others)"
             if res.returns.size else f"`hades-zoo render DIR --out {name}` makes it again")
    return f"{show}\n\n{what} Made by `hades-zoo distill` for {_SHA_MARK}`{{sha}}`; {again}."


def write_entry_replay(directory: str | Path, *, force: bool = False) -> Path | None:
    """Write ``DIR/replay.mp4`` (or ``.gif``) and the card's Replay section for the
    dataset a distill ``--out`` folder holds (module docstring).

    Args:
        directory: the entry folder (its dataset, sidecar and card settled).
        force: render even when the card's section already shows this dataset.

    Returns:
        The replay's path; ``None`` when the folder holds no dataset (the ES
        baseline).

    Raises:
        RenderError: no OpenGL backend for a brax env, no renderer for the env.
        DatasetFormatError: the folder's dataset does not verify.
        StorageError: a file cannot be written (the folder keeps its old files).
    """
    directory = Path(directory)
    if not (directory / CARD_FILE).is_file() or (directory / "policy.safetensors").is_file():
        return None
    ds = from_pretrained(directory)  # verified against the sidecar / card
    file, _ = local_dataset_file(directory)
    sha = sha256_file(file)
    name = replay_name(ds.recipe.env)
    path = child_path(directory, name, what="replay file")
    card = (directory / CARD_FILE).read_text(encoding="utf-8")
    if not force and path.is_file() and _recorded_sha(card) == sha:
        log.info("%s already shows dataset %s", path, sha[:12])
        return path
    generation = ds.info.provenance.get("generations")
    with tempfile.TemporaryDirectory(prefix="hades_zoo-replay-") as tmp:
        target = Path(tmp) / name
        if ds.recipe.image is not None:
            res = render_images(ds.recipe.env, ds.states, ds.labels, target,
                                title=f"{ds.dataset_id}: {ds.size} synthetic images")
        else:
            from hades_zoo.engine.evaluation import train_policy

            env = ds.recipe.env
            renderer = renderer_for(env)
            if renderer.check is not None:
                renderer.check(env)  # before training
            fps = min(ENTRY_FPS, renderer.control_rate(env))
            res = render_policy(train_policy(ds, seed=0), target, episodes=1, seed=0,
                                fps=fps if name.endswith(".mp4") else min(fps, 25.0),
                                max_seconds=ENTRY_SECONDS)
        video = target.read_bytes()
    text = set_card_section(card, REPLAY_SECTION,
                            _section(name, res, ds, generation).replace("{sha}", sha))
    write_folder(directory, {name: video, CARD_FILE: text.encode()})
    for other in REPLAY_FILES:  # an earlier run's replay in the other format
        if other != name:
            child_path(directory, other, what="replay file").unlink(missing_ok=True)
    log.info("wrote %s: %d frames, %d bytes", path, res.frames, len(video))
    return path
