"""The largest sizes hades_zoo runs, in one place, so every check agrees.

The largest policy: one pair of numbers for every check of a width or depth (a
recipe's ``policy:``, ``inner_loop.widths`` / ``depths``, the ``--width`` / ``--depth``
overrides of ``train``, ``merge`` and ``transfer``). Every other count of a recipe
(``dataset.size``, ``es.popsize``, ``eval.num_envs``, ...), the products that size the
ES population's memory, and the ``--seeds`` / ``--episodes`` options: below.
"""

from __future__ import annotations

from hades_zoo.errors import RecipeError

__all__ = ["MAX_POLICY_DEPTH", "MAX_POLICY_WIDTH", "check_policy_size", "check_count",
           "check_product", "MAX_SEEDS", "MAX_EPISODES"]

#: The largest MLP policy a recipe or an override may ask for (the paper's is 512 x 2);
#: beyond these a (width, width) kernel overflows XLA's shapes or any memory (2**30
#: crashed XLA).
MAX_POLICY_WIDTH = 16384
MAX_POLICY_DEPTH = 64

_TOPS = {"width": MAX_POLICY_WIDTH, "depth": MAX_POLICY_DEPTH}


def check_policy_size(kind: str, value: object, where: str) -> None:
    """Refuse a policy ``kind`` (``"width"`` or ``"depth"``) that is not an integer in
    ``1..MAX_POLICY_<KIND>``.

    Args:
        kind: ``"width"`` or ``"depth"``.
        value: the number asked for.
        where: how the user wrote it, for the message (``"policy.width=20000"``,
            ``"--width 20000"``, ``"inner_loop.widths: 20000"``).

    Raises:
        RecipeError: naming ``where``, the limit and the fix.
    """
    top = _TOPS[kind]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RecipeError(f"{where} is out of range [1, {top}]: a policy {kind} is an "
                          f"integer from 1 to {top}.")
    if value > top:
        raise RecipeError(f"{where} is over {top}, the largest policy {kind} hades_zoo "
                          f"trains; use at most {top}.")


# ---------------------------------------------------------------- counts and sizes
#
# Every count a recipe or a command option asks for, with the largest hades_zoo runs.
# Before these, the counts were only checked positive and < 2**31: ``dataset.size:
# 100000000`` asked for a (popsize, 10**8, obs + action) population and the kernel
# killed the process (20 GB, no message); ``certify --seeds 999999999`` asked XLA for
# 148 TB. Each limit is far above what any real run uses, so it refuses only a slip (a
# digit too many) or a hostile file, and it is checked when the recipe or option is
# read, before any folder is made or any array allocated. The largest values of the
# shipped recipes (``recipes/``, ``recipes/pending/``, ``experiments/``) and the
# packaged zoo entries, for comparison, are in brackets; ``tests/test_limits.py``
# checks that every one of them still loads.

#: ``dataset.size``: state-action pairs (or images) of a synthetic dataset. The paper
#: distils 4-64 pairs [256: acrobot-F-256; images: 10].
MAX_DATASET_SIZE = 65_536
#: ``es.popsize``: the paper's largest population is 2048 [2048: ant-F-64].
MAX_POPSIZE = 65_536
#: ``es.generations`` [5000: the .g5000 MinAtar runs]; a generation allocates nothing
#: that grows with the count, this only catches a slip.
MAX_GENERATIONS = 1_000_000
#: ``es.log_every``: generations in one jitted chunk, whose per-generation metrics are
#: stacked on device [20].
MAX_LOG_EVERY = 10_000
#: ``num_inits``: BC runs per candidate, evaluated together [2].
MAX_NUM_INITS = 1_024
#: ``eval.num_envs``: parallel eval envs per trained policy [8].
MAX_EVAL_ENVS = 4_096
#: ``eval.num_steps`` and ``env.episode_length``: the paper's episodes are 1000 steps
#: [2500: freeway-minatar].
MAX_EPISODE_STEPS = 100_000
#: ``bc.steps`` (and ``inner_loop.bc_steps``, ``train --steps``) [1000: the image
#: recipes].
MAX_BC_STEPS = 100_000
#: ``image.height`` / ``image.width`` [28], ``image.channels`` [1] (RGBA is 4; 16
#: leaves room for stacked frames), ``image.num_classes`` [10], ``image.conv_features``
#: [16], ``image.kernel_size`` [3], ``image.search_basis`` [0] (real images per class).
MAX_IMAGE_SIDE = 1_024
MAX_IMAGE_CHANNELS = 16
MAX_NUM_CLASSES = 10_000
MAX_CONV_FEATURES = 4_096
MAX_KERNEL_SIZE = 64
MAX_SEARCH_BASIS = 4_096
#: ``image.fitness_limit`` / ``image.fitness_batch``: real images scored [10000;
#: MNIST's training split is 60000].
MAX_REAL_IMAGES = 10_000_000

#: The ES holds its whole population at once: ``popsize`` candidate datasets of
#: ``dataset.size`` pairs. Each limit above may be fine alone and their product not
#: (popsize 65536 x 65536 pairs). A control pair is ``obs + action`` floats, which
#: only the env knows (the engine), so the recipe checks the pairs: at most 2**24
#: (16.8 M; 128x ant-F-64's 2048 x 64, the largest shipped), which at humanoid's 261
#: floats a pair is already 17 GB; an image dataset's floats (pairs x height x width x
#: channels) at most 2**30 (4 GiB; the largest image recipe holds 4.0 M). A check of
#: pairs x (obs + action) floats against the env would be tighter; it needs the env's
#: sizes (engine) and is not made: the two bounds here refuse the runaway cases.
MAX_POPULATION_PAIRS = 2**24
MAX_POPULATION_PIXELS = 2**30
#: One candidate's evaluation runs ``num_inits`` x ``eval.num_envs`` envs together
#: and cannot be split (``es.eval_chunk`` / ``--max-memory`` split the population, not
#: a candidate) [16].
MAX_EVAL_SLOTS = 2**20

#: Command options: ``--seeds`` of certify, transfer, eval and merge (BC seeds, run
#: together: seeds x num_inits x num_envs envs; the paper's certificates use 5) and
#: ``--episodes`` of eval, train and render (the README uses 10).
MAX_SEEDS = 1_000
MAX_EPISODES = 10_000


def check_count(value: object, where: str, top: int, what: str) -> None:
    """Refuse a count that is not an integer in ``1..top``.

    Args:
        value: the number asked for.
        where: its recipe path (``"dataset.size"``), for the message.
        top: the largest allowed (one of the ``MAX_*`` above).
        what: what it counts, for the message (``"dataset size"``).

    Raises:
        RecipeError: naming ``where``, the limit and the fix.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise RecipeError(f"{where} must be a positive integer, got {value!r}.")
    if value > top:
        raise RecipeError(
            f"{where}={value:,} is over {top:,}, the largest {what} hades_zoo runs (a "
            f"limit far above any real run, hades_zoo.data.limits); use at most "
            f"{top:,}.")


def check_product(where: str, factors: dict[str, int], top: int, what: str,
                  fix: str) -> None:
    """Refuse a product of counts (each already in range) over ``top``.

    Raises:
        RecipeError: naming every factor, the product, the limit and ``fix``.
    """
    product = 1
    for v in factors.values():
        product *= v
    if product > top:
        terms = " x ".join(f"{k}={v:,}" for k, v in factors.items())
        raise RecipeError(
            f"{where}: {terms} = {product:,} {what}, over the {top:,} hades_zoo holds in "
            f"memory at once (hades_zoo.data.limits); {fix}.")


# ---------------------------------------------------------------- float ranges
#
# Every recipe float becomes a float32 on the device. A finite double can still be a
# float32 infinity (``es.sigma_init=1e300``) or a subnormal that flushes to 0
# (``1e-320``): before this, such a run wrote one NaN checkpoint and then failed on
# every rerun. So every recipe float is 0 or a normal float32 (below), and the
# numbers that scale the ES's search have a documented range besides: beyond it the
# first generation's candidates or updates overflow float32 even when the value
# itself does not.

#: The smallest normal and the largest finite float32.
FLOAT32_TINY = 1.1754943508222875e-38
FLOAT32_MAX = 3.4028234663852886e38
#: ``(low, high)`` of the floats that scale the search (shipped values in brackets):
#: ``es.sigma_init`` [0.02-0.5], ``es.lrate_init`` [0.01-0.1] (OpenES's Adam; the BC
#: learning rate ``bc.lr`` is < 10 too), ``dataset.init_std`` [0], ``es.sigma_limit``
#: [0-0.01]. ``None``: no lower bound besides the field's own (``> 0`` / ``>= 0``).
FLOAT_RANGES = {
    "es.sigma_init": (1e-8, 1e3),
    "es.sigma_limit": (None, 1e3),
    "es.lrate_init": (1e-8, 10.0),
    "dataset.init_std": (None, 1e3),
}


def check_float32(value: float, where: str, default: str = "") -> None:
    """Refuse a float that is neither 0 nor a normal float32 (subnormal, or overflows).

    Raises:
        RecipeError: naming ``where``, the value, float32's range and the fix.
    """
    if value != 0 and not FLOAT32_TINY <= abs(value) <= FLOAT32_MAX:
        kind = ("is below float32's smallest normal number (it would flush to 0)"
                if abs(value) < FLOAT32_TINY else "overflows float32 (it would be inf)")
        raise RecipeError(
            f"{where}: {value!r} {kind}; the run computes in float32: give 0 or a value "
            f"between {FLOAT32_TINY:.3g} and {FLOAT32_MAX:.3g} in magnitude{default}.")


def check_float_range(value: float, where: str) -> None:
    """Refuse a search-scaling float outside its ``FLOAT_RANGES`` range.

    Raises:
        RecipeError: naming ``where``, the range and why.
    """
    low, high = FLOAT_RANGES[where]
    if (low is not None and value < low) or value > high:
        lo = f"{low:g}" if low is not None else "0"
        raise RecipeError(
            f"{where}={value!r} is outside [{lo}, {high:g}], the range hades_zoo runs "
            "(beyond it the ES's candidates or updates overflow float32 or stop moving, "
            "and the run ends in NaN; hades_zoo.data.limits); use a value in that range.")


#: The arrays of one reference ``.npz`` export read by ``import-reference``, in all
#: (``data.untrusted.read_npz``, from each member's ``.npy`` header before it is
#: decompressed). The largest of the 159 published exports holds 62 KB arrays
#: (humanoid D=64: states 64 x 244); a humanoid export at ``MAX_DATASET_SIZE`` pairs
#: holds two copies of 65536 x 261 float32, 137 MB. A 1.5 MB zip declaring a 20000 x
#: 20000 float32 array (1.6 GB) used 3.3 GB and 20 s before it was refused.
MAX_NPZ_BYTES = 256 * 2**20
