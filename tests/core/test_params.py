"""One parameter table: every front end (OSC, CLI, device, sidecar) agrees with ``core.params``."""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

import pytest

from bridge import protocol
from bridge.cli import build_parser
from bridge.cli import main as cli_main
from bridge.osc import OscArg
from bridge.commands.params import render_js
from core import params as P
from core.errors import BadValue
from core.requests import RenderRequest

REPO = Path(__file__).resolve().parents[2]


def _beyond(p: P.Param) -> list[object]:
    """Values just outside the accepted range (or not among the choices)."""
    if p.choices:
        return ["no-such-choice"] if p.kind is str else [max(p.choices) + 1]
    if p.kind is bool:
        return [2]
    out: list[object] = []
    if p.lo is not None:
        below = p.lo - (1 if p.kind is int else abs(p.lo) * 0.5 + 1e-9)
        if below not in p.special:
            out.append(below)
    if p.hi is not None:
        out.append(p.hi + (1 if p.kind is int else abs(p.hi) * 0.5 + 1e-9))
    return out


def _edges(p: P.Param) -> list[object]:
    if p.choices:
        return list(p.choices)
    if p.kind is bool:
        return [False, True]
    return [v for v in (p.lo, p.hi, p.default, *p.special) if v is not None]


def test_render_params_are_the_table() -> None:
    import dataclasses

    fields = {f.name: f.default for f in dataclasses.fields(P.RenderParams)}
    assert fields == {p.name: p.default for p in P.RENDER}
    assert P.RenderParams() == P.RenderParams(**{p.name: p.default for p in P.RENDER})


@pytest.mark.parametrize("p", P.RENDER, ids=lambda p: p.name)
def test_osc_accepts_and_refuses_what_the_table_does(p: P.Param) -> None:
    for value in _edges(p):
        assert protocol.convert_setting(p.name, value if not isinstance(value, bool) else int(value)) == value
    for value in _beyond(p):
        with pytest.raises(BadValue, match=p.name):
            protocol.convert_setting(p.name, value)
        with pytest.raises(BadValue):
            P.RenderParams(**{p.name: value})


def test_osc_settings_are_the_render_parameters_and_the_model() -> None:
    assert [s.name for s in protocol.SETTINGS] == [p.name for p in P.RENDER] + ["model"]


def test_osc_tempo_arguments_come_from_the_table() -> None:
    spec = protocol.spec_for("/jasco/tempo")
    bpm = spec.args[0]
    assert (bpm.lo, bpm.hi) == (P.param("bpm").lo, P.param("bpm").hi)
    assert spec.optional[1].choices == P.param("denominator").choices
    with pytest.raises(BadValue):
        protocol.parse("/jasco/tempo", [OscArg("f", P.param("bpm").hi + 1)])


def _render_parser() -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    return sub.choices["render"]


@pytest.mark.parametrize("p", P.RENDER, ids=lambda p: p.name)
def test_cli_options_are_generated_from_the_table(p: P.Param) -> None:
    render = _render_parser()
    help_text = render.format_help()
    assert p.flag in help_text
    action = next(a for a in render._actions if p.flag in a.option_strings)  # noqa: SLF001
    assert action.default is None  # left out = the table's default (or the sidecar's value)
    assert p.describe() in " ".join((action.help or "").split())


@pytest.mark.parametrize("p", P.RENDER, ids=lambda p: p.name)
def test_cli_refuses_what_the_table_refuses(p: P.Param, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for value in _beyond(p):
        text = str(int(value)) if isinstance(value, bool) else str(value)
        assert cli_main(["render", "--model", "tiny", f"{p.flag}={text}"]) == 2
        err = capsys.readouterr().err
        assert "error [bad_value]" in err and p.flag in err
    assert list(tmp_path.iterdir()) == []


def test_cli_defaults_equal_the_servers() -> None:
    from bridge.commands.render import resolve_job

    args = _render_parser().parse_args(["--model", "tiny"])
    job = resolve_job(args)
    cli = job.requests[0].params
    server = RenderRequest().params
    for p in P.RENDER:
        if p.name != "seed":
            assert getattr(cli, p.name) == getattr(server, p.name) == p.default, p.name
    assert cli.seed >= 0 and server.seed >= 0  # "random" is resolved to a concrete, recorded seed
    assert job.requests[0].bpm == P.param("bpm").default


def test_the_device_limits_file_is_generated_from_the_table() -> None:
    path = REPO / "max_for_live" / "jasco_params.js"
    assert path.read_text(encoding="utf-8") == render_js(), (
        "max_for_live/jasco_params.js is stale: run `jasco-bridge params --js --write "
        "max_for_live/jasco_params.js && python max_for_live/make_patcher.py`")
    body = re.search(r"var JASCO_PARAMS = (\{.*\});", path.read_text(encoding="utf-8"), re.S)
    assert body is not None
    table = json.loads(body.group(1))
    for p in P.PARAMS:
        assert table[p.name]["default"] == p.default
        if p.kind in (int, float) and not p.choices:
            accepted = [v for v in (p.lo, p.hi, *p.special) if v is not None]
            assert (table[p.name]["lo"], table[p.name]["hi"]) == (min(accepted), max(accepted))


def test_the_generated_patcher_uses_the_table_ranges() -> None:
    """Every Live parameter the patcher declares for a table entry has the table's range and default."""
    patch = json.loads((REPO / "max_for_live" / "jasco.maxpat").read_text(encoding="utf-8"))
    found = {}
    for box in patch["patcher"]["boxes"]:
        valueof = box["box"].get("saved_attribute_attributes", {}).get("valueof", {})
        name = valueof.get("parameter_longname")
        if name:
            found[name.lower().replace(" ", "_")] = valueof
    checked = 0
    for p in P.PARAMS:
        valueof = found.get(p.name)
        if valueof is None or p.choices or p.kind not in (int, float) or "parameter_mmin" not in valueof:
            continue
        accepted = [v for v in (p.lo, p.hi, *p.special) if v is not None]
        assert math.isclose(float(valueof["parameter_mmin"]), min(accepted)), p.name
        # a Live parameter holds a 32-bit float: an int range stops at 2^24 (the seed's would lose numbers)
        top = min(max(accepted), P.FLOAT32_EXACT_INT) if p.kind is int else max(accepted)
        assert math.isclose(float(valueof["parameter_mmax"]), top), p.name
        checked += 1
    assert checked >= 4, f"only {checked} table parameters found in the patcher: {sorted(found)}"


def test_sidecar_params_round_trip_through_the_table() -> None:
    from bridge.sidecar import request_from_sidecar

    request = RenderRequest(params=P.RenderParams(seed=5, steps=3, bars=4, loop=True))
    again = request_from_sidecar({"request": request.to_dict()})
    assert again == request
    with pytest.raises(Exception, match="unknown render parameter"):
        request_from_sidecar({"request": {**request.to_dict(), "params": {"stepz": 3}}})
