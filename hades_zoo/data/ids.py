"""Dataset-id grammar: ``parse_dataset_id`` / ``format_dataset_id`` (exact inverses).

A zoo dataset id names one published synthetic dataset::

    <env>-<variant>-<size>[.<tag>...]

    hopper-R-64                      HaDES-R, D=64, defaults (seed 0)
    acrobot-RR-3.hz                  HaDES-RR (randomised inner loop), own entry
    breakout-minatar-F-16.s1         HaDES-F, seed 1
    asterix-minatar-R-16.w256.g5000  half-width (256) policy, 5000 generations
    spaceinvaders-minatar-F-16.greedy.s2

- ``env``: lowercase; letters, digits and ``_``, in hyphen-separated parts that each
  start with a letter or digit (``breakout-minatar``, ``inverted_double_pendulum``).
  It is the env name (gymnax id or brax name) lowercased.
- ``variant``: ``F`` (HaDES-F, fixed policy init), ``R`` (HaDES-R, fresh inits) or
  ``RR`` (HaDES-RR: fresh inits, and every BC run draws its architecture and BC
  hyperparameters from the recipe's ``inner_loop`` ranges).
- ``size``: D, the number of state-action pairs: a positive integer, no leading zeros.

Because the env may contain hyphens, parsing splits the ``.``-separated tags off
first and then reads the last two ``-`` fields from the right (STYLE §3).

Tags mark the non-default runs of an otherwise identical configuration. Each tag
appears at most once, in this canonical order:

=========  ==========================================================
``hz``     the zoo's OWN entry: evolved from scratch by hades_zoo (its
           recipe in ``recipes/<id>.yaml``), not imported from the paper's
           published runs; only ``.s<N>`` may follow it
           (``hopper-F-4.hz``, ``cartpole-R-2.hz.s1``)
``w<N>``   policy width N when it differs from the default (512)
``g<N>``   N ES generations when it differs from the default (2000)
``greedy`` evaluation acted greedily (argmax / mean) during distillation
``s<N>``   run seed N >= 1 (seed 0 is the default and is never written)
=========  ==========================================================

Only the canonical spelling parses, so ``format_dataset_id(parse_dataset_id(s)) == s``
for every valid ``s`` and ``parse_dataset_id(format_dataset_id(i)) == i`` for every
valid ``DatasetId`` ``i``. Anything else (path-like strings, repo ids, spaces, unknown
tags) raises ``InvalidDatasetIdError`` (both an ``UnknownDatasetError`` and a
``ValueError``) with a message that spells out the explicit ``file:`` and ``hf:``
source prefixes.
"""

from __future__ import annotations

import dataclasses
import re

from hades_zoo.data.untrusted import show_path
from hades_zoo.errors import UnknownDatasetError

__all__ = [
    "DatasetId",
    "InvalidDatasetIdError",
    "parse_dataset_id",
    "format_dataset_id",
    "is_dataset_id",
    "env_slug",
    "DEFAULT_WIDTH",
    "DEFAULT_GENERATIONS",
]

DEFAULT_WIDTH = 512
DEFAULT_GENERATIONS = 2000

_ENV_RE = re.compile(r"[a-z0-9][a-z0-9_]*(?:-[a-z0-9][a-z0-9_]*)*")
_INT_RE = re.compile(r"[1-9][0-9]*")
_TAG_ORDER = ("hz", "w", "g", "greedy", "s")  # canonical order of tag kinds
VARIANTS = ("F", "R", "RR")
_VARIANTS_HINT = "'F' (HaDES-F), 'R' (HaDES-R) or 'RR' (HaDES-RR)"

_SOURCES_HINT = (
    "Load a local file with 'file:<path/to/file.safetensors>' and a Hugging Face Hub "
    "dataset repo with 'hf:<owner>/<repo>[@revision]'; list the zoo ids with "
    "`hades-zoo list`."
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetId:
    """A parsed dataset id (see module docstring for the grammar).

    Attributes:
        env: lowercase env slug (``breakout-minatar``).
        variant: ``F``, ``R`` or ``RR``.
        size: D, number of pairs (>= 1).
        width: policy width when non-default, else None.
        generations: ES generations when non-default, else None.
        greedy: greedy evaluation during distillation.
        seed: run seed (0 = default, not written).
        own: evolved by hades_zoo itself (tag ``hz``), not a paper import.
    """

    env: str
    variant: str
    size: int
    width: int | None = None
    generations: int | None = None
    greedy: bool = False
    seed: int = 0
    own: bool = False

    def __post_init__(self) -> None:
        _check_fields(self)

    @property
    def tags(self) -> tuple[str, ...]:
        """Canonical tags, in order (``('w256', 'g5000', 's1')``)."""
        out = ["hz"] if self.own else []
        if self.width is not None:
            out.append(f"w{self.width}")
        if self.generations is not None:
            out.append(f"g{self.generations}")
        if self.greedy:
            out.append("greedy")
        if self.seed:
            out.append(f"s{self.seed}")
        return tuple(out)

    @property
    def base(self) -> str:
        """The id without tags (``hopper-R-64``)."""
        return f"{self.env}-{self.variant}-{self.size}"

    def __str__(self) -> str:
        return format_dataset_id(self)


def env_slug(env_name: str) -> str:
    """The id form of an env name: ``Breakout-MinAtar`` -> ``breakout-minatar``.

    Raises:
        ValueError: the lowercased name does not fit the env grammar.
    """
    slug = env_name.lower()
    if not _ENV_RE.fullmatch(slug):
        raise ValueError(
            f"env name {env_name!r} cannot be written as a dataset-id env."
        )
    return slug


class InvalidDatasetIdError(UnknownDatasetError, ValueError):
    """A string is not a well-formed dataset id (also a ``ValueError``)."""


def _bad(source: object, why: str) -> InvalidDatasetIdError:
    return InvalidDatasetIdError(
        f"{show_path(repr(source), 80)} is not a valid dataset id: {why}. "
        f"Ids look like 'hopper-R-64' or "
        f"'breakout-minatar-F-16.s1'. {_SOURCES_HINT}"
    )


def _check_fields(i: DatasetId) -> None:
    """Field-level validation of a DatasetId (raises InvalidDatasetIdError)."""
    if not isinstance(i.env, str) or not _ENV_RE.fullmatch(i.env):
        raise _bad(i.env, "the env must be lowercase letters, digits, '_' and '-'")
    if i.variant not in VARIANTS:
        raise _bad(i.variant, f"the variant must be {_VARIANTS_HINT}")
    for name, value, lo in (
        ("size", i.size, 1),
        ("width", i.width, 1),
        ("generations", i.generations, 1),
        ("seed", i.seed, 0),
    ):
        if value is None and name in ("width", "generations"):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise _bad(value, f"{name} must be an integer >= {lo}")
    if i.width == DEFAULT_WIDTH or i.generations == DEFAULT_GENERATIONS:
        raise _bad(i, "default width/generations are not written as tags (use None)")
    if not isinstance(i.greedy, bool):
        raise _bad(i.greedy, "greedy must be a bool")
    if not isinstance(i.own, bool):
        raise _bad(i.own, "own must be a bool")
    if i.own and (i.width is not None or i.generations is not None or i.greedy):
        raise _bad(i, "an own entry (.hz) keeps its config in its recipe; only .s<N> "
                      "may follow .hz")


def format_dataset_id(dataset_id: DatasetId) -> str:
    """The canonical string of a ``DatasetId`` (inverse of ``parse_dataset_id``)."""
    return ".".join((dataset_id.base, *dataset_id.tags))


def parse_dataset_id(text: str) -> DatasetId:
    """Parse a canonical dataset id.

    Args:
        text: e.g. ``hopper-R-64`` or ``breakout-minatar-F-16.w256.g5000.s1``.

    Returns:
        DatasetId with ``format_dataset_id(result) == text``.

    Raises:
        InvalidDatasetIdError: malformed, path-like or non-canonical id; the message
            names the ``file:`` and ``hf:`` prefixes for other sources.
    """
    if not isinstance(text, str) or not text:
        raise _bad(text, "it is empty")
    if text != text.strip() or any(c.isspace() for c in text):
        raise _bad(text, "it contains whitespace")
    if "/" in text or "\\" in text or text.startswith(".") or ":" in text:
        raise _bad(text, "it looks like a path, a URL or a Hub repo id")
    base, *tags = text.split(".")
    parts = base.rsplit("-", 2)
    if len(parts) != 3:
        raise _bad(text, "expected '<env>-<F|R|RR>-<size>'")
    env, variant, size = parts
    if not _ENV_RE.fullmatch(env):
        raise _bad(text, f"env {env!r} must be lowercase letters, digits, '_' and '-'")
    if variant not in VARIANTS:
        raise _bad(text, f"variant {variant!r} must be {_VARIANTS_HINT}")
    if not _INT_RE.fullmatch(size):
        raise _bad(
            text, f"size {size!r} must be a positive integer without leading zeros"
        )
    fields: dict[str, object] = {}
    last = -1
    for tag in tags:
        kind, value = _split_tag(text, tag)
        rank = _TAG_ORDER.index(kind)
        if rank <= last:
            raise _bad(
                text,
                f"tag {tag!r} is repeated or out of order (canonical "
                "order: .hz, .w<N>, .g<N>, .greedy, .s<N>)",
            )
        last = rank
        fields[
            {"hz": "own", "w": "width", "g": "generations", "greedy": "greedy",
             "s": "seed"}[kind]
        ] = value
    return DatasetId(env=env, variant=variant, size=int(size), **fields)


def _split_tag(text: str, tag: str) -> tuple[str, object]:
    """Validate one tag; return (kind, value)."""
    if tag in ("greedy", "hz"):
        return tag, True
    if tag[:1] in ("w", "g", "s") and _INT_RE.fullmatch(tag[1:]):
        value = int(tag[1:])
        if (tag[0], value) in (("w", DEFAULT_WIDTH), ("g", DEFAULT_GENERATIONS)):
            raise _bad(text, f"tag {tag!r} is the default and is not written")
        return tag[0], value
    raise _bad(
        text,
        f"unknown tag {tag!r} (known: .hz, .w<width>, .g<generations>, .greedy, "
        ".s<seed>)",
    )


def is_dataset_id(text: str) -> bool:
    """True when ``text`` parses as a canonical dataset id."""
    try:
        parse_dataset_id(text)
    except InvalidDatasetIdError:
        return False
    return True
