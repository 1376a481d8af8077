"""The device patcher (max_for_live/jasco.maxpat) and its one script (jasco.js) against the
sources, the parameter tables and Max for Live's documented parameter rules."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DEVICE_DIR = Path(__file__).resolve().parents[2] / "max_for_live"
PATCHER = DEVICE_DIR / "jasco.maxpat"
CORE = DEVICE_DIR / "jasco_core.js"
GLUE = DEVICE_DIR / "jasco_device.js"
BUNDLE = DEVICE_DIR / "jasco.js"
PARAMS = DEVICE_DIR / "jasco_params.js"
DEVICE_PARAMS = DEVICE_DIR / "jasco_device_params.js"
UI_CLASSES = {"textedit", "live.menu", "live.numbox", "live.dial", "live.text", "live.toggle", "umenu", "slider",
              "comment"}


@pytest.fixture(scope="module")
def patcher() -> dict[str, Any]:
    return json.loads(PATCHER.read_text(encoding="utf-8"))["patcher"]


@pytest.fixture(scope="module")
def boxes(patcher: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["box"]["id"]: b["box"] for b in patcher["boxes"]}


@pytest.fixture(scope="module")
def lines(patcher: dict[str, Any]) -> list[tuple[str, int, str, int]]:
    return [(ln["patchline"]["source"][0], ln["patchline"]["source"][1],
             ln["patchline"]["destination"][0], ln["patchline"]["destination"][1]) for ln in patcher["lines"]]


@pytest.fixture(scope="module")
def core(node_exe: str) -> dict[str, Any]:
    """The core's tables, as Node loads them."""
    script = ("const c = require(process.argv[1]); process.stdout.write(JSON.stringify("
              "{SETTINGS: c.SETTINGS, CHOICES: c.CHOICES, ADDR: c.ADDR}));")
    out = subprocess.run([node_exe, "-e", script, str(CORE)], capture_output=True, text=True, timeout=20, check=True)
    return json.loads(out.stdout)


def text_of(box: dict[str, Any]) -> str:
    return box.get("text", "")


def by_text(boxes: dict[str, dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [b for b in boxes.values() if b["maxclass"] in ("newobj", "message") and text_of(b).startswith(prefix)]


def one(boxes: dict[str, dict[str, Any]], prefix: str) -> dict[str, Any]:
    found = by_text(boxes, prefix)
    assert len(found) == 1, f"expected one object '{prefix}...', found {len(found)}"
    return found[0]


def named(boxes: dict[str, dict[str, Any]], varname: str) -> dict[str, Any]:
    found = [b for b in boxes.values() if b.get("varname") == varname]
    assert len(found) == 1, f"expected one object named {varname!r}, found {len(found)}"
    return found[0]


def targets(lines: list[tuple[str, int, str, int]], src: str, outlet: int) -> set[tuple[str, int]]:
    return {(d, i) for s, o, d, i in lines if s == src and o == outlet}


@pytest.fixture(scope="module")
def make_patcher() -> Any:
    spec = importlib.util.spec_from_file_location("make_patcher", DEVICE_DIR / "make_patcher.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_patcher_is_the_generated_one(make_patcher: Any) -> None:
    assert PATCHER.read_text(encoding="utf-8") == make_patcher.render(), \
        "jasco.maxpat is stale: run python max_for_live/make_patcher.py"


def test_the_one_script_is_the_current_bundle_of_the_sources(make_patcher: Any) -> None:
    assert BUNDLE.read_text(encoding="utf-8") == make_patcher.render_bundle(), \
        "jasco.js is stale: run python max_for_live/make_patcher.py"
    text = BUNDLE.read_text(encoding="utf-8")
    sources = sorted(p for p in DEVICE_DIR.glob("*.js") if p != BUNDLE)
    assert len(sources) == 10
    for source in sources:
        assert source.read_text(encoding="utf-8") in text, f"{source.name} is not in jasco.js"


def test_patcher_structure(patcher: dict[str, Any], boxes: dict[str, dict[str, Any]],
                           lines: list[tuple[str, int, str, int]]) -> None:
    assert patcher["fileversion"] == 1 and patcher["appversion"]["major"] >= 8
    assert len(boxes) == len(patcher["boxes"]), "box ids are not unique"
    for box in boxes.values():
        assert re.fullmatch(r"obj-\d+", box["id"])
        assert len(box["patching_rect"]) == 4
        assert len(box.get("outlettype", [])) in (0, box["numoutlets"])
    for src, outlet, dst, inlet in lines:
        assert src in boxes and dst in boxes, (src, dst)
        assert 0 <= outlet < boxes[src]["numoutlets"], (src, outlet)
        assert 0 <= inlet < boxes[dst]["numinlets"], (dst, inlet)
    assert len(set(lines)) == len(lines), "duplicate patch cords"


def test_one_script_and_nothing_else_to_freeze(node_exe: str, patcher: dict[str, Any],
                                               boxes: dict[str, dict[str, Any]]) -> None:
    """Freeze Device embeds the files the patcher names; the device names one, which needs no other."""
    js = one(boxes, "js ")
    assert js["numinlets"] == 2 and js["numoutlets"] == 2
    assert text_of(js) == "js jasco.js"
    assert [d["name"] for d in patcher["dependency_cache"]] == ["jasco.js"]
    # jasco.js runs where require() does not exist at all and defines what [js] calls
    script = ("const fs = require('fs'), vm = require('vm'); const box = {post() {}, setinletassist() {},"
              " setoutletassist() {}, outlet() {}, LiveAPI: function () {}, Task: function () {}};"
              " vm.runInNewContext(fs.readFileSync(process.argv[1], 'utf8'), box);"
              " process.stdout.write(JSON.stringify([typeof box.anything, typeof box.notifydeleted,"
              " box.inlets, box.outlets, typeof box.require]));")
    out = subprocess.run([node_exe, "-e", script, str(BUNDLE)], capture_output=True, text=True, timeout=20, check=True)
    assert json.loads(out.stdout) == ["function", "function", 2, 2, "undefined"]


def test_osc_and_device_wiring(boxes: dict[str, dict[str, Any]], lines: list[tuple[str, int, str, int]]) -> None:
    js, send, recv = one(boxes, "js "), named(boxes, "jasco_udpsend"), one(boxes, "udpreceive ")
    assert text_of(send) == "udpsend 127.0.0.1 9000" and text_of(recv) == "udpreceive 9001"
    assert (send["id"], 0) in targets(lines, js["id"], 0)          # OSC out
    # replies in, on inlet 1, through [deferlow]: [udpreceive] outputs on the scheduler thread;
    # [deferlow] "places all incoming messages at the tail of the low priority queue", keeping
    # their order ([defer] puts them at the front) -- https://docs.cycling74.com/reference/deferlow
    defer = one(boxes, "deferlow")
    assert targets(lines, recv["id"], 0) == {(defer["id"], 0)}
    assert targets(lines, defer["id"], 0) == {(js["id"], 1)}
    assert not by_text(boxes, "defer ") and text_of(defer) == "deferlow"
    # the probe that checks the reply port is this device's goes to 127.0.0.1
    assert text_of(named(boxes, "jasco_probe")) == "udpsend 127.0.0.1 9001"
    thisdevice, init = one(boxes, "live.thisdevice"), one(boxes, "init")
    assert init["maxclass"] == "message"
    assert targets(lines, thisdevice["id"], 0) == {(init["id"], 0)}
    assert targets(lines, init["id"], 0) == {(js["id"], 0)}
    midiin, midiout = one(boxes, "midiin"), one(boxes, "midiout")
    assert targets(lines, midiin["id"], 0) == {(midiout["id"], 0)}


def test_display_route_matches_the_script(boxes: dict[str, dict[str, Any]],
                                          lines: list[tuple[str, int, str, int]]) -> None:
    js, route = one(boxes, "js "), one(boxes, "route ")
    assert targets(lines, js["id"], 1) == {(route["id"], 0)}
    selectors = text_of(route).split()[1:]
    emitted = set(re.findall(r'\bui\("([a-z_]+)"', CORE.read_text(encoding="utf-8")))
    assert set(selectors) == emitted
    assert route["numoutlets"] == len(selectors) + 1
    expected = {"status": "status", "progress": "progress", "path": "path", "target_tracks": "target_track",
                "drums_tracks": "drums_track", "take_list": "take_choice", "seed": "seed", "lock_seed": "lock_seed",
                "prompt": "prompt", "state": "jasco_state", "udpsend": "jasco_udpsend",
                "udpreceive": "jasco_udpreceive", "probe": "jasco_probe"}
    for outlet, selector in enumerate(selectors):
        dest = named(boxes, expected[selector])
        assert targets(lines, route["id"], outlet) == {(dest["id"], 0)}, selector
    assert named(boxes, "status")["maxclass"] == "textedit" and named(boxes, "status")["readonly"] == 1
    assert named(boxes, "progress")["maxclass"] == "slider"


def test_every_control_reaches_a_setting_the_core_knows(boxes: dict[str, dict[str, Any]],
                                                        lines: list[tuple[str, int, str, int]],
                                                        core: dict[str, Any]) -> None:
    js = one(boxes, "js ")
    settings = core["SETTINGS"]
    prepends = by_text(boxes, "prepend ")
    names = [text_of(b).split()[1] for b in prepends]
    assert len(names) == len(set(names))
    assert set(names) == set(settings) - {"bridge_host"} | {"state"}     # every setting has a control
    # the state blob comes back from the [pattr] that stores it
    state_pre = [b for b in prepends if text_of(b) == "prepend state"][0]
    assert [s for s, o, d, i in lines if d == state_pre["id"]] == [named(boxes, "jasco_state")["id"]]
    prepends = [b for b in prepends if text_of(b) != "prepend state"]
    names = [text_of(b).split()[1] for b in prepends]
    for pre, name in zip(prepends, names):
        assert targets(lines, pre["id"], 0) == {(js["id"], 0)}, name
        sources = [s for s, o, d, i in lines if d == pre["id"]]
        assert len(sources) == 1 and boxes[sources[0]].get("varname") == name, name
        control = boxes[sources[0]]
        assert control["maxclass"] in UI_CLASSES and control.get("presentation") == 1, name


def test_commands_are_handled_by_the_glue(boxes: dict[str, dict[str, Any]],
                                          lines: list[tuple[str, int, str, int]]) -> None:
    js = one(boxes, "js ")
    glue = GLUE.read_text(encoding="utf-8")
    handled = set(re.findall(r'name === "([a-z_]+)"', glue))
    messages = [b for b in boxes.values() if b["maxclass"] == "message"]
    assert {text_of(m) for m in messages} == {"init", "generate", "cancel", "refresh", "recall"}
    for m in messages:
        assert text_of(m) in handled
        assert targets(lines, m["id"], 0) == {(js["id"], 0)}
    # Generate: the prompt's typed text goes out first ([t b b] fires right to left), then "generate"
    generate, prompt, order = named(boxes, "generate"), named(boxes, "prompt"), one(boxes, "t b b")
    assert generate["maxclass"] == "live.text" and generate["mode"] == 0
    assert targets(lines, generate["id"], 0) == {(order["id"], 0)}
    assert targets(lines, order["id"], 1) == {(prompt["id"], 0)}
    assert targets(lines, order["id"], 0) == {(one(boxes, "generate")["id"], 0)}
    assert named(boxes, "cancel")["maxclass"] == "live.text"
    # action buttons are hidden from Live: neither automation nor loading a set can press them
    for name in ("generate", "cancel", "refresh", "recall"):
        valueof = named(boxes, name)["saved_attribute_attributes"]["valueof"]
        assert valueof["parameter_invisible"] == 2, name
    # the prompt leaves [textedit] as one symbol after "text" (commas and numbers survive)
    assert prompt["maxclass"] == "textedit" and prompt["outputmode"] == 1 and prompt["bangmode"] == 0


def test_menus_and_defaults_match_the_core(boxes: dict[str, dict[str, Any]], core: dict[str, Any]) -> None:
    for name, choices in core["CHOICES"].items():
        menu = named(boxes, name)
        assert menu["maxclass"] == "live.menu"
        assert menu["saved_attribute_attributes"]["valueof"]["parameter_enum"] == choices, name
    longnames = []
    for box in boxes.values():
        if not box.get("parameter_enable"):
            continue
        valueof = box["saved_attribute_attributes"]["valueof"]
        longnames.append(valueof["parameter_longname"])
        name = box.get("varname")
        if name in core["SETTINGS"] and "parameter_initial" in valueof:
            kind, default, low, high = core["SETTINGS"][name]
            assert valueof["parameter_initial"] == [default], name
            assert (valueof["parameter_mmin"], valueof["parameter_mmax"]) == (low, high), name
    assert len(longnames) == len(set(longnames)), "Live needs unique parameter names"


def read_table(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    found = re.search(r"^var\s+\w+\s*=\s*", text, flags=re.M)
    assert found is not None, f"{path.name} has no 'var NAME = {{...}}' table"
    value, _ = json.JSONDecoder().raw_decode(text, found.end())
    return dict(value)


def table_entry(name: str) -> dict[str, Any]:
    params, device = read_table(PARAMS), read_table(DEVICE_PARAMS)
    name = {"model": "model_menu"}.get(name, name)
    return params[name] if name in params else device[name]


# Max for Live's parameter reference (https://docs.cycling74.com/max5/refpages/m4l-ref/parameters.html):
# "the native integer representation is limited to a range of 0-255 ... When working with Live UI
# objects whose integer values are likely to be outside of the 0-255 range, the Type attribute
# should be set to Float, and the Unit Style attribute should be set to Int." The data types are
# Float, Int, Enum and Blob (https://docs.cycling74.com/max7/vignettes/parameter_enable: "blob: any
# type of data you can store with a pattr object"). parameter_type: 0 Float, 1 Int, 2 Enum, 3 Blob;
# parameter_unitstyle: 0 Int, 1 Float.
FLOAT, INT, ENUM, BLOB = 0, 1, 2, 3
UNIT_INT, UNIT_FLOAT = 0, 1


def test_every_parameter_follows_the_documented_type_rule(boxes: dict[str, dict[str, Any]]) -> None:
    checked = 0
    for box in boxes.values():
        if not box.get("parameter_enable"):
            continue
        valueof = box["saved_attribute_attributes"]["valueof"]
        ptype, name = valueof["parameter_type"], box.get("varname")
        where = f"{name} ({valueof['parameter_longname']})"
        assert ptype in (FLOAT, INT, ENUM, BLOB), where
        if ptype == INT:
            # an Int parameter cannot leave Live's native 0..255
            assert 0 <= valueof["parameter_mmin"] and valueof["parameter_mmax"] <= 255, where
            assert valueof.get("parameter_unitstyle", UNIT_INT) == UNIT_INT, where
        if ptype == ENUM:
            assert valueof["parameter_mmax"] == len(valueof["parameter_enum"]) - 1, where
        if ptype == BLOB:
            assert box["maxclass"] == "newobj" and text_of(box).startswith("pattr "), where
        if box["maxclass"] == "live.text":
            continue                                    # momentary buttons, hidden from Live
        entry = table_entry(name) if name not in ("jasco_state",) else None
        if entry is None:
            continue
        if entry["choices"]:
            assert ptype == ENUM and valueof["parameter_enum"] == entry["choices"], where
            assert valueof["parameter_initial"] == [entry["choices"].index(entry["default"])], where
        elif entry["type"] == "bool":
            assert ptype == INT and (valueof["parameter_mmin"], valueof["parameter_mmax"]) == (0, 1), where
        elif entry["type"] == "int":
            # whole numbers: Int within 0..255, else Float with unit style Int
            if not (0 <= entry["lo"] and entry["hi"] <= 255):
                assert ptype == FLOAT and valueof["parameter_unitstyle"] == UNIT_INT, where
            else:
                assert ptype in (INT, FLOAT) and valueof.get("parameter_unitstyle", UNIT_INT) == UNIT_INT, where
            assert (valueof["parameter_mmin"], valueof["parameter_mmax"]) == (entry["lo"], entry["hi"]), where
            assert valueof["parameter_initial"] == [entry["default"]], where
        else:
            assert ptype == FLOAT and valueof["parameter_unitstyle"] == UNIT_FLOAT, where
            assert (valueof["parameter_mmin"], valueof["parameter_mmax"]) == (entry["lo"], entry["hi"]), where
        checked += 1
    assert checked >= 16


def test_ports_are_stored_but_never_automated(boxes: dict[str, dict[str, Any]]) -> None:
    """Parameter Visibility (parameter_invisible): 0 Automated and Stored, 1 Stored Only, 2 Hidden
    (https://docs.cycling74.com/userguide/m4l/live_automation: only Automated and Stored parameters
    reach Live's automation editor)."""
    for name in ("port", "reply_port"):
        valueof = named(boxes, name)["saved_attribute_attributes"]["valueof"]
        assert valueof["parameter_invisible"] == 1, name
    state = named(boxes, "jasco_state")["saved_attribute_attributes"]["valueof"]
    assert state["parameter_type"] == BLOB and state["parameter_invisible"] == 1
    for name in ("seed", "steps", "cfg_all", "takes", "bars"):
        valueof = named(boxes, name)["saved_attribute_attributes"]["valueof"]
        assert valueof.get("parameter_invisible", 0) == 0, name


def test_presentation_fits_a_device(patcher: dict[str, Any], boxes: dict[str, dict[str, Any]]) -> None:
    assert patcher["openinpresentation"] == 1
    width = patcher["devicewidth"]
    shown = [b for b in boxes.values() if b.get("presentation")]
    assert {b["maxclass"] for b in shown} >= {"textedit", "live.menu", "live.numbox", "live.dial", "live.text",
                                              "live.toggle", "umenu", "slider"}
    for b in shown:
        x, y, w, h = b["presentation_rect"]
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= 169, (b.get("varname") or text_of(b))
    for i, a in enumerate(shown):          # nothing hides anything else
        ax, ay, aw, ah = a["presentation_rect"]
        for b in shown[i + 1:]:
            bx, by, bw, bh = b["presentation_rect"]
            assert not (ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah), \
                (a.get("varname") or text_of(a), b.get("varname") or text_of(b))
    for b in boxes.values():
        if b["maxclass"] in UI_CLASSES - {"comment"}:
            assert b.get("presentation") == 1, b.get("varname")
    for name in ("prompt", "model", "cfg_all", "cfg_txt", "steps", "solver", "seed", "lock_seed", "takes",
                 "replace_last", "take_choice", "recall", "loop", "bars", "target", "target_track", "chords",
                 "drums_track", "drums_scene", "generate", "cancel", "progress", "status", "path", "port",
                 "reply_port"):
        assert named(boxes, name).get("presentation") == 1, name


def strip_comments_and_strings(source: str) -> str:
    source = re.sub(r"/\*.*?\*/", " ", source, flags=re.S)
    source = re.sub(r'"(?:\\.|[^"\\])*"', '""', source)
    source = re.sub(r"'(?:\\.|[^'\\])*'", "''", source)
    source = re.sub(r"/(?:\\.|[^/\\\n])+/[gimsuy]*(?=[.,;)\s])", "/re/", source)   # regex literals
    return re.sub(r"//[^\n]*", " ", source)


@pytest.mark.parametrize("path", sorted(DEVICE_DIR.glob("*.js")), ids=lambda p: p.name)
def test_files_max_loads_are_es5(path: Path) -> None:
    code = strip_comments_and_strings(path.read_text(encoding="utf-8"))
    for pattern, what in [(r"\blet\s", "let"), (r"\bconst\s", "const"), (r"=>", "arrow function"),
                          (r"`", "template string"), (r"\bclass\s", "class"), (r"\.\.\.", "spread/rest"),
                          (r"\basync\b|\bawait\b", "async"), (r"\bof\s", "for...of"),
                          (r"\bimport\b|\bexport\b", "ES module syntax")]:
        assert not re.search(pattern, code), f"{path.name} uses {what}, which Max 8's [js] cannot run"
