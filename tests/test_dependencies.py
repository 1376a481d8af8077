"""pyproject.toml's dependencies are what the code imports: nothing missing, nothing extra.

Every import in core/, midi/, engine/ and bridge/ (module level or inside a function) that is neither
the standard library nor the project itself is mapped to its distribution
(``importlib.metadata.packages_distributions``); each must be a runtime dependency or belong to an
optional extra, and each runtime dependency must be imported somewhere.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CODE = ("core", "midi", "engine", "bridge")
PROJECT = set(CODE) | {"assets", "max_for_live"}
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
# Needed at run time without an import statement of ours; each with the reason.
NOT_IMPORTED: dict[str, str] = {}


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def _imported_top_names() -> dict[str, set[str]]:
    """Top-level module name -> files importing it, for every absolute import in the code."""
    found: dict[str, set[str]] = {}
    for pkg in CODE:
        for path in (REPO / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in PROJECT:
                        found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    return dict(importlib.metadata.packages_distributions())


def _distributions(top: str) -> set[str]:
    dists = _packages_distributions().get(top)
    # not installed here (e.g. demucs, an extra CI does not install): the import name is the distribution's
    return {_name(d) for d in dists} if dists else {_name(top)}


def test_runtime_dependencies_are_exactly_what_the_code_imports() -> None:
    runtime = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    extras = {_name(r) for reqs in PYPROJECT["project"]["optional-dependencies"].values() for r in reqs}
    imported: dict[str, set[str]] = {}
    for top, files in _imported_top_names().items():
        for dist in _distributions(top):
            imported.setdefault(dist, set()).update(files)
    undeclared = {d: sorted(f) for d, f in imported.items() if d not in runtime and d not in extras}
    assert not undeclared, f"imported but declared nowhere in pyproject.toml: {undeclared}"
    unused = sorted(runtime - set(imported) - set(NOT_IMPORTED))
    assert not unused, f"runtime dependencies nothing in {CODE} imports (move them to an extra or drop them): {unused}"


def test_test_tools_are_not_runtime_dependencies() -> None:
    runtime = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    test = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]}
    assert "python-osc" in test and "python-osc" not in runtime  # the server has its own OSC codec
    assert not runtime & {"pytest", "pytest-timeout", "hypothesis", "sentencepiece"}


def test_the_license_file_is_the_declared_one() -> None:
    assert PYPROJECT["project"]["license"] == "MIT" and PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "jasco-bridge developers" in text
