"""The largest policy hades_zoo builds: one pair of numbers for every check of a width
or depth (a recipe's ``policy:``, ``inner_loop.widths`` / ``depths``, the ``--width`` /
``--depth`` overrides of ``train``, ``merge`` and ``transfer``), so their limits and
messages agree.
"""

from __future__ import annotations

from hades_zoo.errors import RecipeError

__all__ = ["MAX_POLICY_DEPTH", "MAX_POLICY_WIDTH", "check_policy_size"]

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
