"""The layering rule, read from the source: core at the bottom, midi and engine above it, bridge on top.

- ``core`` imports none of ``midi``, ``engine``, ``bridge``;
- ``midi`` imports neither ``engine`` nor ``bridge``; ``engine`` never imports ``bridge``;
- nothing imports ``bridge`` (but ``bridge`` itself);
- ``core``, ``midi`` and ``bridge`` never import torch (or anything that pulls it in: ``engine``);
- no import cycle between any two files of the project (lazy imports inside functions count);
- the packages the tests import are the real ones, not a test folder of the same name;
- ``assets`` and ``max_for_live`` are data packages (files read through importlib.resources): their
  Python files (generators of that data) import nothing of the project's code.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "midi", "engine", "bridge")
ALLOWED = {"core": set(), "midi": {"core"}, "engine": {"core", "midi"}, "bridge": {"core", "midi"}}
NO_TORCH = ("core", "midi", "bridge")
DATA_PACKAGES = ("assets", "max_for_live")
# The one developer tool inside a data package: it stands above bridge (like bench/) and nothing imports it.
GENERATORS = {"max_for_live/make_patcher.py": "the device's generator writes the device files from bridge's "
                                              "tables (python max_for_live/make_patcher.py); nothing imports it"}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            rel = path.relative_to(REPO).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path, module: str) -> set[str]:
    """Every module named by an import statement anywhere in the file (resolved relative imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


GRAPH = {name: _imports(path, name) for name, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_layers(module: str) -> None:
    layer = module.split(".")[0]
    bad = sorted(
        imp for imp in GRAPH[module]
        if imp.split(".")[0] in PACKAGES and imp.split(".")[0] != layer and imp.split(".")[0] not in ALLOWED[layer]
    )
    assert not bad, f"{module} ({layer}) may not import {bad}: see docs/architecture.md"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.split(".")[0] in NO_TORCH))
def test_no_torch_below_or_on_top(module: str) -> None:
    bad = sorted(imp for imp in GRAPH[module] if imp.split(".")[0] in ("torch", "torchaudio", "torchdiffeq", "engine"))
    assert not bad, f"{module} imports {bad}; only engine/ (the engine process) may use torch"


def test_no_import_cycles_between_files() -> None:
    edges = {m: {t for t in GRAPH[m] if t in MODULES and t != m} for m in MODULES}
    for m in MODULES:  # "from pkg import name" where name is a module
        edges[m] |= {f"{t}" for t in GRAPH[m] if t in MODULES}
        edges[m].discard(m)
    # a package's __init__ importing its own submodules is not a cycle we care about
    for m in MODULES:
        edges[m] = {t for t in edges[m] if not (MODULES[t].name == "__init__.py" and m.startswith(t + "."))}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


@pytest.mark.parametrize("package", PACKAGES)
def test_the_real_packages_are_imported(package: str) -> None:
    """tests/<package> folders mirror the packages; they must never stand in for them."""
    mod = importlib.import_module(package)
    assert getattr(mod, "__file__", None) == str(REPO / package / "__init__.py"), (
        f"'{package}' resolved to {getattr(mod, '__path__', None)}: a test folder shadows the package")


def test_every_command_is_a_module_of_bridge_commands_named_after_it() -> None:
    """One naming style: ``jasco-bridge NAME`` lives in ``bridge/commands/NAME.py`` (``-`` → ``_``), and
    every module there is a registered command."""
    from bridge.cli import COMMANDS

    assert [c.module for c in COMMANDS] == [f"bridge.commands.{c.name.replace('-', '_')}" for c in COMMANDS]
    on_disk = {p.stem for p in (REPO / "bridge" / "commands").glob("*.py") if p.stem != "__init__"}
    assert on_disk == {c.module.rsplit(".", 1)[1] for c in COMMANDS}


@pytest.mark.parametrize("path", sorted(p for pkg in DATA_PACKAGES for p in (REPO / pkg).rglob("*.py")),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_data_packages_import_nothing_of_the_project(path: Path) -> None:
    module = ".".join(path.relative_to(REPO).with_suffix("").parts)
    if path.relative_to(REPO).as_posix() in GENERATORS:  # may import bridge, but nothing may import it
        importers = sorted(name for name, imports in GRAPH.items() if module in imports)
        assert not importers, f"{module} is a tool ({GENERATORS[path.relative_to(REPO).as_posix()]}): {importers}"
        return
    bad = sorted(imp for imp in _imports(path, module) if imp.split(".")[0] in PACKAGES)
    assert not bad, f"{path.relative_to(REPO)} is data (or makes data) and may not import {bad}"
