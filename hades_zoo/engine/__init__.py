"""engine/: how datasets are MADE and USED.

Owns: envs behind one functional API, built by env providers (``envs/``: the registry,
``register_env``, the ``hades_zoo.envs`` entry points, adapters; one folder per
built-in family, brax, gymnax, image, with its names and compat shims),
the policy network (``policy``), behaviour cloning (``bc``), HaDES-RR's randomised
inner loop (``randomised``: one masked network and BC run for every drawn
architecture and BC setting), rollouts and episode
returns (``rollout``), fitness of a candidate dataset (``tasks/``: control return,
image loss), the ES loop (``distill``) and its checkpoints (``checkpoint``), how the
population is spread over devices and processes (``parallel``: mesh, padding, chunked
evaluation; ``memory``: the chunk for a memory budget; ``launch``: ``jax.distributed``),
the offline image loader (``image_data``), training + evaluating a policy on a
dataset (``evaluation``), and replays: a policy's episodes drawn and written as a
video (``render/``).

May import: ``hades_zoo.data``, ``hades_zoo.errors`` (never ``hub``, ``zoo``, ``cli``).
Everything per candidate, per BC step or per env step is a pure jittable function;
backend libraries (brax, gymnax) are imported inside ``envs/`` only; drawing
libraries (Pillow, MuJoCo's renderer, imageio-ffmpeg) inside ``render/``.
"""
