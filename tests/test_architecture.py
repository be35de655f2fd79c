"""The layers of docs/ARCHITECTURE.md, enforced on the source.

``cli -> zoo -> hub -> engine -> data -> errors``: a module may import its own layer and
the layers below it, never one above, lazily inside a function or not. The package root
(``hades_zoo/__init__.py``) re-exports the public API and may import everything;
nothing inside the package may import the root. Module-level imports have no cycles.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "hades_zoo"
LAYERS = ("errors", "data", "engine", "hub", "zoo", "cli")
RANK = {name: i for i, name in enumerate(LAYERS)}
MAX_LINES = 420  # "~400": past this a module's docstring must say why


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> str | None:
    """The layer of a hades_zoo module (None: the package root)."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    head = parts[1]
    if head in ("_moved", "_startup"):  # old-path aliases, Ctrl-C at import: stdlib only
        return "errors"
    return head


def imports(source: str, module: str, *, is_package: bool) -> list[tuple[str, int, bool]]:
    """(imported hades_zoo module, line, at module level) for every import in source."""
    tree = ast.parse(source)
    top = {id(node) for node in tree.body}
    base = module.split(".") if is_package else module.split(".")[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                stem = ".".join(base[: len(base) - node.level + 1])
                mod = f"{stem}.{node.module}" if node.module else stem
            else:
                mod = node.module or ""
            # ``from pkg import sub`` imports pkg.sub when sub is a module
            names = [mod] + [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name == "hades_zoo" or name.startswith("hades_zoo."):
                out.append((name, node.lineno, id(node) in top))
    return out


def known_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PKG.rglob("*.py")}


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module that ``name`` denotes (a name imported from a module is that module)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def violations(modules: dict[str, Path], sources: dict[str, str] | None = None) -> list[str]:
    """Every import that points up the layers or at the package root."""
    bad = []
    for mod, path in sorted(modules.items()):
        here = layer(mod)
        if here is None:
            continue
        text = (sources or {}).get(mod) or path.read_text()
        for name, line, _ in imports(text, mod, is_package=path.name == "__init__.py"):
            target = resolve(name, modules)
            there = layer(target) if target else None
            where = f"{path.relative_to(PKG.parent)}:{line}"
            if there is None:
                bad.append(f"{where} imports the package root {name!r}")
            elif RANK[there] > RANK[here]:
                bad.append(f"{where}: {here}/ imports {there}/ ({name})")
    return bad


def cycles(modules: dict[str, Path]) -> list[list[str]]:
    """Cycles among module-level imports (a package's __init__ importing its own
    submodules is not a cycle with them)."""
    graph: dict[str, set[str]] = {}
    for mod, path in modules.items():
        edges = set()
        for name, _, top in imports(path.read_text(), mod, is_package=path.name == "__init__.py"):
            target = resolve(name, modules)
            if top and target and target != mod and not mod.startswith(target + ".") \
                    and not target.startswith(mod + "."):
                edges.add(target)
        graph[mod] = edges
    found, state = [], {}

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


def test_every_module_belongs_to_a_layer():
    for mod in known_modules():
        assert layer(mod) is None or layer(mod) in RANK, f"{mod}: not in a layer {LAYERS}"


def test_imports_point_down_the_layers():
    assert violations(known_modules()) == []


def test_the_checker_catches_an_upward_import():
    """The check above can fail: an import of hub/ from data/ (even lazy) is reported."""
    modules = known_modules()
    bad = violations(modules, {
        "hades_zoo.data.dataset": "def f():\n    from hades_zoo.hub import push_to_hub\n",
        "hades_zoo.engine.bc": "import hades_zoo\n",
        "hades_zoo.hub.pull": "from hades_zoo.zoo import registry\n",
    })
    assert any("data/ imports hub/" in b for b in bad)
    assert any("package root" in b and "engine/bc.py" in b for b in bad)
    assert any("hub/ imports zoo/" in b for b in bad)


def test_no_import_cycles():
    assert cycles(known_modules()) == []


def test_modules_stay_small_or_say_why():
    for mod, path in known_modules().items():
        lines = path.read_text().count("\n")
        if lines > MAX_LINES:
            doc = ast.get_docstring(ast.parse(path.read_text())) or ""
            assert "over 400 lines" in doc, f"{mod}: {lines} lines and no reason in its docstring"


def test_every_subpackage_says_what_it_owns_and_may_import():
    for name in LAYERS[1:]:
        doc = ast.get_docstring(ast.parse((PKG / name / "__init__.py").read_text())) or ""
        assert "May import" in doc or "may import" in doc, f"{name}/__init__.py"


@pytest.mark.parametrize("old, new, attr", [
    ("hades_zoo.registry", "hades_zoo.zoo.registry", "list_datasets"),
    ("hades_zoo.envs", "hades_zoo.engine.envs", "make_env"),
    ("hades_zoo.io", "hades_zoo.zoo.loading", "load_dataset_file"),
    ("hades_zoo.io", "hades_zoo.data.format", "read_metadata"),
    ("hades_zoo.api", "hades_zoo.zoo.loading", "load"),
    ("hades_zoo.recipes", "hades_zoo.data.recipe_io", "load_recipe"),
])
def test_old_module_paths_keep_working_with_a_warning(old, new, attr):
    import importlib
    import sys

    import hades_zoo  # noqa: F401  (installs the aliases)

    sys.modules.pop(old, None)
    with pytest.warns(FutureWarning, match=f"{old} moved to .*{new}"):
        module = importlib.import_module(old)
    assert getattr(module, attr) is getattr(importlib.import_module(new), attr)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.import_module(new)  # the new path itself never warns


def test_an_old_submodule_alias_is_the_same_module():
    import importlib
    import sys

    import hades_zoo.zoo.registry as new

    sys.modules.pop("hades_zoo.registry", None)
    with pytest.warns(FutureWarning):
        old = importlib.import_module("hades_zoo.registry")
    assert old is new and new.__spec__.name == "hades_zoo.zoo.registry"


def test_unknown_names_are_not_aliased():
    with pytest.raises(ModuleNotFoundError):
        __import__("hades_zoo.no_such_module")


def test_repo_root_is_the_checkout_above_the_package():
    """Paths derived from a module's location must not move when the module does."""
    from hades_zoo.zoo.results import repo_root

    assert repo_root() == PKG.parent and (repo_root() / "cards").is_dir()
