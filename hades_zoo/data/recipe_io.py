"""Recipes as plain data, JSON and YAML: strict loading (unknown keys, wrong types and
out-of-range values raise ``RecipeError`` naming the YAML path and the closest valid
key) and canonical writing (the recipe JSON stored in every dataset file).
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml

from hades_zoo.data.recipe import MAX_RECIPE_STR, Recipe, too_long_string
from hades_zoo.data.untrusted import (
    MAX_RECIPE_BYTES,
    check_path_given,
    load_yaml,
    read_regular_file,
    show_path,
)
from hades_zoo.errors import RecipeError, close_matches

__all__ = ["apply_overrides", "recipe_from_dict", "recipe_to_dict", "recipe_to_json", "load_recipe", "dump_recipe"]

# YAML 1.1 (PyYAML) reads ``1e-3`` (no dot) as a string; such a string is the number.
_EXPONENT_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+")


def _convert(value: Any, annotation: Any, path: str) -> Any:
    """Convert a YAML value to ``annotation``, raising RecipeError on mismatch."""
    if isinstance(value, str) and len(value) > MAX_RECIPE_STR:  # before any echo
        raise RecipeError(too_long_string(path, value))
    origin = typing.get_origin(annotation)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, Mapping):
            raise RecipeError(f"{path}: expected a mapping, got {type(value).__name__}.")
        return _build(annotation, value, path)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, path)
            except RecipeError as err:
                errors.append(str(err))
        raise RecipeError(errors[0] if errors else f"{path}: bad value {value!r}.")
    if origin is tuple:
        return _convert_tuple(value, typing.get_args(annotation), path)
    if origin is Literal:
        allowed = typing.get_args(annotation)
        if value not in allowed:
            raise RecipeError(
                f"{path}: {value!r} is not one of {', '.join(map(repr, allowed))}."
                + close_matches(str(value), map(str, allowed))
            )
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise RecipeError(f"{path}: expected true/false, got {value!r}.")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecipeError(f"{path}: expected an integer, got {value!r}.")
        return value
    if annotation is float:
        if isinstance(value, str) and _EXPONENT_FLOAT.fullmatch(value.strip()):
            return float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecipeError(f"{path}: expected a number, got {value!r}.")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise RecipeError(f"{path}: expected a string, got {value!r}.")
        return value
    raise RecipeError(f"{path}: unsupported field type {annotation!r}.")  # pragma: no cover


def _convert_tuple(value: Any, args: tuple, path: str) -> tuple:
    """A YAML list as a tuple: ``tuple[X, ...]`` (any length) or ``tuple[X, Y]``."""
    if not isinstance(value, (list, tuple)):
        raise RecipeError(f"{path}: expected a list, got {value!r}.")
    if len(args) == 2 and args[1] is Ellipsis:
        args = (args[0],) * len(value)
    elif len(value) != len(args):
        raise RecipeError(f"{path}: expected a list of {len(args)} values, got "
                          f"{list(value)!r}.")
    return tuple(_convert(v, a, f"{path}[{i}]")
                 for i, (v, a) in enumerate(zip(value, args)))


def _build(cls: type, data: Mapping[str, Any], path: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            where = show_path(f"{path}.{key}" if path else key, 80)
            raise RecipeError(
                f"{where}: unknown key." + (close_matches(str(key), fields) or
                f" Valid keys: {', '.join(fields)}.")
            )
        kwargs[key] = _convert(value, hints[key], f"{path}.{key}" if path else key)
    missing = [
        n for n, f in fields.items()
        if n not in kwargs and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise RecipeError(f"{path or 'recipe'}: missing required key(s) {', '.join(missing)}.")
    return cls(**kwargs)


def recipe_from_dict(data: Mapping[str, Any], *, validate: bool = True) -> Recipe:
    """Build a ``Recipe`` from plain data (parsed YAML or JSON), strictly."""
    if not isinstance(data, Mapping):
        raise RecipeError(f"a recipe must be a mapping, got {type(data).__name__}.")
    recipe = _build(Recipe, data, "")
    return recipe.validate() if validate else recipe


# Fields added after the first zoo release: written only when they differ from their
# default, so every recipe that does not use them (and every existing dataset file's
# recipe JSON, hence its bytes and sha256) stays exactly as it was.
_OMIT_WHEN_DEFAULT: dict[tuple[str, ...], Any] = {
    ("env", "impl"): "",
    ("image",): None,
    ("image", "fitness_steps"): 0,
    ("image", "fitness_batch"): 0,
    ("image", "search_resolution"): 0,
    ("image", "search_basis"): 0,
    ("bc", "momentum"): 0.0,
    ("es", "lrate_decay"): 1.0,
    ("eval", "mode"): "pooled",
    ("eval", "common_random_numbers"): True,
    ("eval", "scheduler"): "block",
    ("inner_loop",): None,
}


def recipe_to_dict(recipe: Recipe) -> dict[str, Any]:
    """Plain-data form of a recipe (inverse of ``recipe_from_dict``)."""
    data = dataclasses.asdict(recipe)
    for path, default in _OMIT_WHEN_DEFAULT.items():
        *parents, leaf = path
        node = data
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node and node[leaf] == default:
            del node[leaf]
    return _lists(data)


def _lists(data: Any) -> Any:
    """Tuples (``inner_loop``'s lists) as lists, which YAML and JSON both write."""
    if isinstance(data, dict):
        return {k: _lists(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_lists(v) for v in data]
    return data


def recipe_to_json(recipe: Recipe) -> str:
    """Canonical JSON (sorted keys) used in dataset metadata."""
    return json.dumps(recipe_to_dict(recipe), sort_keys=True, separators=(",", ":"))


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Plain recipe data with ``dotted.key=value`` overrides applied (``--set``).

    Values are parsed as YAML scalars (``es.popsize=128``, ``eval.greedy=true``,
    ``bc.max_grad_norm=null``, ``eval.mode=episodes``). Every key must name a recipe
    field; the result is validated like the YAML by ``recipe_from_dict``.

    Raises:
        RecipeError: an override without ``=``, an unknown key (with the closest valid
            key), or a value that is not valid YAML.
    """
    out = json.loads(json.dumps(dict(data)))  # deep copy of plain data
    for item in overrides:
        said = show_path(repr(item), 80)  # how messages name the override
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise RecipeError(
                f"override {said}: expected dotted.key=value, e.g. es.popsize=128."
            )
        value = load_yaml(text, source=f"override {said}: the value",
                          error=RecipeError)
        cls, node, path = Recipe, out, []
        parts = key.split(".")
        for i, part in enumerate(parts):
            fields = {f.name: f for f in dataclasses.fields(cls)}
            path.append(part)
            where = show_path(".".join(path), 80)
            if part not in fields:
                raise RecipeError(
                    f"override {said}: {where} is not a recipe field."
                    + (close_matches(part, fields) or f" Valid keys: {', '.join(fields)}.")
                )
            hint = typing.get_type_hints(cls)[part]
            sub = next((a for a in (hint, *typing.get_args(hint))
                        if dataclasses.is_dataclass(a)), None)
            if i == len(parts) - 1:
                node[part] = value
            elif sub is None:
                raise RecipeError(f"override {said}: {where} is a value, not a section.")
            else:
                if part in node and not isinstance(node[part], dict) and (
                        node[part] is not None):
                    # an earlier --set gave the section a value: refuse rather than
                    # silently replace it (and its defaults) with {}
                    raise RecipeError(
                        f"override {said}: {where} is a section, but it holds "
                        f"{show_path(repr(node[part]), 40)} (from an earlier --set or "
                        "the recipe file); drop that value.")
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                cls, node = sub, node[part]
    return out


def load_recipe(path: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    """Load and validate a recipe YAML file, with optional ``--set`` overrides.

    Args:
        path: the YAML file.
        overrides: ``dotted.key=value`` strings (``apply_overrides``).

    Raises:
        RecipeError: unreadable file (missing, not a regular file, over 1 MiB, not
            UTF-8), invalid YAML (aliases and nesting over 64 levels included),
            unknown keys, wrong types or values (in the file or in an override, which
            is named).
    """
    check_path_given(path, what="recipe", error=RecipeError)  # Path("") is "."
    path = Path(path)
    raw = read_regular_file(path, what="recipe", error=RecipeError,
                            max_bytes=MAX_RECIPE_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RecipeError(
            f"{path} is not UTF-8 text (byte {raw[err.start]:#04x} at offset "
            f"{err.start}); a recipe is a YAML text file: check the path, or save it "
            "as UTF-8."
        ) from None
    data = load_yaml(text, source=str(path), error=RecipeError)
    if overrides:
        if not isinstance(data, Mapping):
            raise RecipeError(f"{path}: a recipe must be a mapping.")
        data = apply_overrides(data, overrides)
    shown = " ".join(show_path(o, 80) for o in overrides)
    where = f"{path} with --set {shown}" if overrides else str(path)
    try:
        return recipe_from_dict(data)
    except RecipeError as err:
        raise RecipeError(f"{where}: {err}") from None


def dump_recipe(recipe: Recipe, path: str | Path | None = None) -> str:
    """Render a recipe as YAML (written to ``path`` when given)."""
    text = yaml.safe_dump(recipe_to_dict(recipe), sort_keys=False)
    if path is not None:
        Path(path).write_text(text)
    return text
