"""Every fact once, read from the source: a copy of one of the project's facts fails here.

- the condition grid (32 kHz, 50 frames/s, 500-frame windows, 53 melody bins) is typed only in
  ``core/grid.py``; ``clip_frames`` is defined only there;
- the ports and the default model are the parameter table's (``core/params.py``) only;
- a limit (a module-level ``MAX_...`` name) is defined in one module, so a name has one value;
- each error code's description is declared once, on its class (``core/errors.py``), and the OSC
  docs' ``ERROR_HELP`` is exactly those;
- the bridge's sampling fields are the table's ``sampling`` parameters.
(The engine's choice lists against the table: ``tests/engine/test_engine_table.py``.)
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "midi", "engine", "bridge")
FILES = {path.relative_to(REPO).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
         for pkg in PACKAGES for path in sorted((REPO / pkg).rglob("*.py"))}


def _numbers(tree: ast.AST) -> list[ast.Constant]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and type(n.value) in (int, float)]


def _module_names(tree: ast.Module) -> list[str]:
    names = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        names.extend(t.id for t in targets if isinstance(t, ast.Name))
    return names


@pytest.mark.parametrize("value, home", [(32000, "core/grid.py"), (53, "core/grid.py"), (50.0, "core/grid.py"),
                                         (500, "core/grid.py"), (9000, "core/params.py"), (9001, "core/params.py")])
def test_grid_numbers_and_ports_are_typed_once(value: float, home: str) -> None:
    # 500 is also an HTTP status: a comparison with a status is not the window.
    copies = [f"{path}:{n.lineno}" for path, tree in FILES.items() if path != home for n in _numbers(tree)
              if n.value == value and type(n.value) is type(value)
              and not (value == 500 and path == "bridge/engines/remote.py")]
    assert not copies, f"{value} is declared in {home}; import it instead of typing it again: {copies}"


def test_no_frame_rate_literal_in_a_division() -> None:
    """``count / 50`` (an int 50 as the frame rate) was a copy of FRAME_RATE."""
    bad = [f"{path}:{n.lineno}" for path, tree in FILES.items() for n in ast.walk(tree)
           if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div) and isinstance(n.right, ast.Constant)
           and n.right.value in (50, 500)]
    assert not bad, f"use core.grid.FRAME_RATE / WINDOW_FRAMES: {bad}"


def test_clip_frames_is_defined_once() -> None:
    defs = [path for path, tree in FILES.items() for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef) and n.name == "clip_frames"]
    assert defs == ["core/grid.py"], defs


def test_the_default_model_is_named_once() -> None:
    from core.defaults import DEFAULT_MODEL, OFFICIAL_MODELS
    from core.params import param

    assert DEFAULT_MODEL == param("model").default and DEFAULT_MODEL in OFFICIAL_MODELS
    copies = [f"{path}:{n.lineno}" for path, tree in FILES.items()
              if path not in ("core/params.py", "core/defaults.py") for n in ast.walk(tree)
              if isinstance(n, ast.Constant) and n.value == DEFAULT_MODEL]
    assert not copies, f"the default model comes from core.params (core.defaults.DEFAULT_MODEL): {copies}"


def test_ports_come_from_the_table() -> None:
    from core.defaults import DEFAULT_PORT, DEFAULT_REPLY_PORT
    from core.params import param

    assert (DEFAULT_PORT, DEFAULT_REPLY_PORT) == (param("port").default, param("reply_port").default)
    in_text = [f"{path}:{n.lineno}" for path, tree in FILES.items() for n in ast.walk(tree)
               if isinstance(n, ast.Constant) and isinstance(n.value, str)
               and re.search(rf"\b({DEFAULT_PORT}|{DEFAULT_REPLY_PORT})\b", n.value)]
    assert not in_text, f"write the ports from core.defaults into texts too: {in_text}"


def test_one_value_per_limit_name() -> None:
    homes: dict[str, list[str]] = defaultdict(list)
    for path, tree in FILES.items():
        for name in _module_names(tree):
            if name.startswith("MAX_"):
                homes[name].append(path)
    twice = {name: paths for name, paths in homes.items() if len(set(paths)) > 1}
    assert not twice, f"a limit is defined in one module (import it, or give the other limit its own name): {twice}"


def test_every_error_describes_itself_once() -> None:
    from bridge import protocol
    from core import errors

    codes = errors.all_codes()
    missing = [cls.__name__ for cls in codes.values() if not cls.__dict__.get("description", "").strip()]
    assert not missing, f"every JascoError subclass declares its own description: {missing}"
    assert dict(protocol.ERROR_HELP) == {code: cls.description for code, cls in codes.items()}
    assert protocol.error_codes() == dict(protocol.ERROR_HELP)


def test_sampling_fields_are_the_tables() -> None:
    from bridge.engine_input import SAMPLING_FIELDS
    from core.params import RENDER, SAMPLING

    assert SAMPLING_FIELDS == tuple(p.name for p in SAMPLING)
    assert set(SAMPLING_FIELDS) <= {p.name for p in RENDER}
    assert {"seed", "solver", "cfg_all", "guidance"} <= set(SAMPLING_FIELDS)
    assert not {"bars", "sample_rate", "format"} & set(SAMPLING_FIELDS)
