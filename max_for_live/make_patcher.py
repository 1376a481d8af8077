"""Write ``jasco.maxpat``, the JASCO Max for Live MIDI-effect patcher, from one table.

    python max_for_live/make_patcher.py          # rewrites max_for_live/jasco.maxpat

The patcher is generated so that its wiring is declared once and readable here:
the UI controls (each a Live parameter where it should be saved with the set),
the [prepend NAME] that turns each into a setting message for [js], the [route]
that sends the script's display messages back to the UI, [udpsend]/[udpreceive]
for OSC, live.thisdevice for start-up and the MIDI pass-through a MIDI effect
needs. ``tests/device/test_patcher.py`` checks the file against this script and
against the JavaScript.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "jasco.maxpat"

JS_FILE = "jasco_device.js"
CORE_FILE = "jasco_core.js"
BRIDGE_HOST = "127.0.0.1"
BRIDGE_PORT = 9000
REPLY_PORT = 9001
DEVICE_WIDTH = 612.0

# The js object's display outlet goes through this [route]; order = route outlets.
ROUTE = ("status", "progress", "path", "target_tracks", "drums_tracks", "seed", "udpsend", "udpreceive")

# Live menus: the items must equal CHOICES in jasco_core.js (the test compares).
TARGETS = ("session", "arrangement", "folder")
CHORDS = ("selected clip", "playing clip", "none")
SOLVERS = ("dopri5", "euler", "midpoint")
MODELS = ("server default", "tiny", "facebook/jasco-chords-drums-400M", "facebook/jasco-chords-drums-1B",
          "facebook/jasco-chords-drums-melody-400M", "facebook/jasco-chords-drums-melody-1B")

# (maxclass, numinlets, numoutlets, outlettype)
CLASSES: dict[str, tuple[int, int, list[str]]] = {
    "textedit": (1, 4, ["", "int", "", ""]),
    "live.menu": (1, 3, ["", "", "float"]),
    "live.numbox": (1, 2, ["", "float"]),
    "live.dial": (1, 2, ["", "float"]),
    "live.text": (1, 2, ["", ""]),
    "live.toggle": (1, 1, [""]),
    "umenu": (1, 3, ["int", "", ""]),
    "slider": (1, 1, [""]),
    "comment": (1, 0, []),
    "message": (2, 1, [""]),
}


@dataclass
class Box:
    id: str
    maxclass: str
    numinlets: int
    numoutlets: int
    outlettype: list[str]
    rect: tuple[float, float, float, float]
    text: str | None = None
    varname: str | None = None
    present: tuple[float, float, float, float] | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        box: dict[str, Any] = {
            "id": self.id,
            "maxclass": self.maxclass,
            "numinlets": self.numinlets,
            "numoutlets": self.numoutlets,
            "patching_rect": list(self.rect),
        }
        if self.outlettype:
            box["outlettype"] = self.outlettype
        if self.text is not None:
            box["text"] = self.text
        if self.varname is not None:
            box["varname"] = self.varname
        if self.present is not None:
            box["presentation"] = 1
            box["presentation_rect"] = list(self.present)
        box.update(self.attrs)
        return {"box": dict(sorted(box.items()))}


class Patch:
    def __init__(self) -> None:
        self.boxes: list[Box] = []
        self.lines: list[tuple[str, int, str, int]] = []

    def add(self, maxclass: str, rect: tuple[float, float, float, float], *, text: str | None = None,
            io: tuple[int, int, list[str]] | None = None, varname: str | None = None,
            present: tuple[float, float, float, float] | None = None, **attrs: Any) -> str:
        inlets, outlets, types = io if io is not None else CLASSES[maxclass]
        box_id = f"obj-{len(self.boxes) + 1}"
        self.boxes.append(Box(box_id, maxclass, inlets, outlets, types, rect, text, varname, present, attrs))
        return box_id

    def obj(self, text: str, rect: tuple[float, float], inlets: int, outlets: int,
            types: list[str] | None = None, **kw: Any) -> str:
        width = max(40.0, 7.0 * len(text) + 12.0)
        return self.add("newobj", (rect[0], rect[1], width, 22.0), text=text,
                        io=(inlets, outlets, types if types is not None else [""] * outlets), **kw)

    def connect(self, src: str, outlet: int, dst: str, inlet: int) -> None:
        self.lines.append((src, outlet, dst, inlet))

    def to_json(self) -> dict[str, Any]:
        return {"patcher": {
            "fileversion": 1,
            "appversion": {"major": 8, "minor": 6, "revision": 0, "architecture": "x64", "modernui": 1},
            "classnamespace": "box",
            "rect": [100.0, 100.0, 1180.0, 860.0],
            "openrect": [0.0, 0.0, DEVICE_WIDTH, 169.0],
            "openinpresentation": 1,
            "devicewidth": DEVICE_WIDTH,
            "default_fontsize": 10.0,
            "default_fontname": "Arial Bold",
            "gridsize": [8.0, 8.0],
            "description": "JASCO: type a prompt, press Generate, get an audio clip in time with the song "
                           "(needs jasco-bridge serve running).",
            "tags": "jasco ai music generation osc",
            "boxes": [b.to_json() for b in self.boxes],
            "lines": [{"patchline": {"source": [s, o], "destination": [d, i]}} for s, o, d, i in self.lines],
            # Files Freeze Device embeds: the [js] file, and the module it require()s
            # (which Max does not discover by itself).
            "dependency_cache": [
                {"name": JS_FILE, "bootpath": ".", "patcherrelativepath": ".", "type": "TEXT", "implicit": 1},
                {"name": CORE_FILE, "bootpath": ".", "patcherrelativepath": ".", "type": "TEXT"},
            ],
        }}


def parameter(longname: str, shortname: str, ptype: int, *, mmin: float = 0.0, mmax: float = 1.0,
              initial: float | None = None, enum: tuple[str, ...] | None = None, unitstyle: int | None = None,
              invisible: int | None = None) -> dict[str, Any]:
    """Live parameter attributes (parameter_type: 0 float, 1 int, 2 enum; parameter_invisible:
    0 automated and stored, 1 stored only, 2 hidden)."""
    valueof: dict[str, Any] = {
        "parameter_longname": longname,
        "parameter_shortname": shortname,
        "parameter_type": ptype,
        "parameter_mmin": mmin,
        "parameter_mmax": mmax,
    }
    if enum is not None:
        valueof["parameter_enum"] = list(enum)
        valueof["parameter_mmax"] = len(enum) - 1
    if initial is not None:
        valueof["parameter_initial_enable"] = 1
        valueof["parameter_initial"] = [initial]
    if unitstyle is not None:
        valueof["parameter_unitstyle"] = unitstyle
    if invisible is not None:
        valueof["parameter_invisible"] = invisible
    return {"parameter_enable": 1, "saved_attribute_attributes": {"valueof": valueof}}


def build() -> Patch:
    p = Patch()

    # --- engine room (patching view only) --------------------------------------
    js = p.obj(f"js {JS_FILE}", (420.0, 520.0), 2, 2, varname="jasco_js")
    send = p.obj(f"udpsend {BRIDGE_HOST} {BRIDGE_PORT}", (420.0, 640.0), 1, 0, [], varname="jasco_udpsend")
    recv = p.obj(f"udpreceive {REPLY_PORT}", (700.0, 440.0), 1, 1, varname="jasco_udpreceive")
    route = p.obj("route " + " ".join(ROUTE), (560.0, 580.0), 2, len(ROUTE) + 1, varname="jasco_route")
    thisdevice = p.obj("live.thisdevice", (20.0, 20.0), 1, 3, ["bang", "int", "int"])
    init = p.add("message", (20.0, 50.0, 34.0, 22.0), text="init")
    midiin = p.obj("midiin", (900.0, 20.0), 1, 1, ["int"])
    midiout = p.obj("midiout", (900.0, 60.0), 1, 0, [])
    p.connect(midiin, 0, midiout, 0)                 # a MIDI effect passes MIDI through
    p.connect(thisdevice, 0, init, 0)
    p.connect(init, 0, js, 0)
    p.connect(js, 0, send, 0)
    p.connect(js, 1, route, 0)
    p.connect(recv, 0, js, 1)
    p.connect(route, ROUTE.index("udpsend"), send, 0)
    p.connect(route, ROUTE.index("udpreceive"), recv, 0)

    def labelled(text: str, present: tuple[float, float, float, float]) -> None:
        p.add("comment", (present[0] + 700.0, present[1] + 700.0, present[2], present[3]), text=text,
              present=present)

    def control(maxclass: str, name: str, rect: tuple[float, float, float, float],
                present: tuple[float, float, float, float], **attrs: Any) -> str:
        """A UI control named ``name`` whose output reaches [js] as the setting ``name <value>``."""
        box = p.add(maxclass, rect, varname=name, present=present, **attrs)
        pre = p.obj(f"prepend {name}", (rect[0], rect[1] + rect[3] + 12.0), 1, 1)
        p.connect(box, 0, pre, 0)
        p.connect(pre, 0, js, 0)
        return box

    def number(name: str, longname: str, shortname: str, rect: tuple[float, float, float, float],
               present: tuple[float, float, float, float], low: float, high: float, initial: float) -> str:
        """An int live.numbox (a Live parameter, saved with the set)."""
        return control("live.numbox", name, rect, present,
                       **parameter(longname, shortname, 1, mmin=low, mmax=high, initial=initial, unitstyle=0))

    def button(name: str, label: str, rect: tuple[float, float, float, float],
               present: tuple[float, float, float, float]) -> tuple[str, str]:
        """A momentary live.text and the [message NAME] that tells [js]. Hidden from Live
        (parameter_invisible 2): not automatable and not stored, so neither automation nor
        loading a set presses it."""
        box = p.add("live.text", rect, varname=name, present=present, text=label, mode=0,
                    **parameter(name.capitalize(), name.capitalize(), 2, enum=("val1", "val2"), invisible=2))
        message = p.add("message", (rect[0], rect[1] + 80.0, 60.0, 22.0), text=name)
        p.connect(message, 0, js, 0)
        return box, message

    # --- left column: prompt, sources, target, actions --------------------------
    labelled("Prompt", (4.0, 2.0, 50.0, 16.0))
    # outputmode 1: the text leaves as one symbol ("text warm, lofi"), commas and numbers intact
    prompt = control("textedit", "prompt", (20.0, 120.0, 300.0, 40.0), (4.0, 18.0, 300.0, 38.0),
                     lines=2, wordwrap=1, bangmode=0, outputmode=1, keymode=1, fontsize=11.0,
                     hint="Describe the music: 'warm lofi piano with vinyl crackle'. Return or Generate sends it.")

    labelled("Chords", (4.0, 60.0, 46.0, 18.0))
    control("live.menu", "chords", (340.0, 120.0, 100.0, 15.0), (52.0, 61.0, 100.0, 15.0),
            **parameter("Chords", "Chords", 2, enum=CHORDS, initial=0))

    labelled("Drums", (4.0, 80.0, 46.0, 18.0))
    drums_track = control("umenu", "drums_track", (460.0, 120.0, 100.0, 22.0), (52.0, 79.0, 100.0, 18.0),
                          items=["none"], fontsize=10.0)
    number("drums_scene", "Drums scene", "Scene", (580.0, 120.0, 40.0, 15.0), (156.0, 80.0, 36.0, 15.0), 1, 999, 1)

    labelled("Target", (4.0, 100.0, 46.0, 18.0))
    control("live.menu", "target", (20.0, 220.0, 90.0, 15.0), (52.0, 101.0, 80.0, 15.0),
            **parameter("Target", "Target", 2, enum=TARGETS, initial=0))
    target_track = control("umenu", "target_track", (140.0, 220.0, 120.0, 22.0), (136.0, 99.0, 110.0, 18.0),
                           fontsize=10.0)

    generate, gen_msg = button("generate", "Generate", (20.0, 320.0, 80.0, 20.0), (4.0, 122.0, 80.0, 18.0))
    for name, label, rect, present in (("cancel", "Cancel", (120.0, 320.0, 60.0, 20.0), (88.0, 122.0, 60.0, 18.0)),
                                       ("refresh", "Tracks", (200.0, 320.0, 60.0, 20.0), (152.0, 122.0, 56.0, 18.0))):
        box, message = button(name, label, rect, present)
        p.connect(box, 0, message, 0)
    # Generate: first make the textedit output what is typed ([t b b] fires right to left), then "generate"
    order = p.obj("t b b", (20.0, 360.0), 1, 2, ["bang", "bang"])
    p.connect(generate, 0, order, 0)
    p.connect(order, 1, prompt, 0)
    p.connect(order, 0, gen_msg, 0)

    progress = p.add("slider", (20.0, 700.0, 300.0, 10.0), varname="progress", present=(4.0, 144.0, 300.0, 6.0),
                     size=101.0, ignoreclick=1, orientation=1, thickness=100.0)
    status = p.add("textedit", (20.0, 740.0, 600.0, 18.0), varname="status", present=(4.0, 152.0, 604.0, 15.0),
                   readonly=1, lines=1, fontsize=9.0)

    # --- right column: model and sampling parameters, ports, last clip -------------
    labelled("Model", (312.0, 2.0, 40.0, 18.0))
    control("live.menu", "model", (20.0, 460.0, 180.0, 15.0), (352.0, 3.0, 200.0, 15.0),
            **parameter("Model", "Model", 2, enum=MODELS, initial=0))

    labelled("Solver", (312.0, 20.0, 40.0, 18.0))
    control("live.menu", "solver", (220.0, 460.0, 70.0, 15.0), (352.0, 21.0, 70.0, 15.0),
            **parameter("Solver", "Solver", 2, enum=SOLVERS, initial=0))
    number("steps", "Steps", "Steps", (300.0, 460.0, 40.0, 15.0), (426.0, 21.0, 40.0, 15.0), 1, 200, 16)
    labelled("Seed", (470.0, 20.0, 30.0, 18.0))
    seed = number("seed", "Seed", "Seed", (360.0, 460.0, 60.0, 15.0), (500.0, 21.0, 60.0, 15.0), 0, 999999, 0)
    control("live.toggle", "random_seed", (430.0, 460.0, 15.0, 15.0), (564.0, 21.0, 15.0, 15.0),
            **parameter("Random seed", "Rnd", 2, enum=("off", "on"), initial=1))

    control("live.dial", "cfg_all", (20.0, 600.0, 44.0, 48.0), (312.0, 40.0, 44.0, 48.0),
            **parameter("CFG all", "CFG", 0, mmin=0.0, mmax=20.0, initial=5.0, unitstyle=1))
    control("live.dial", "cfg_txt", (80.0, 600.0, 44.0, 48.0), (360.0, 40.0, 44.0, 48.0),
            **parameter("CFG text", "CFG txt", 0, mmin=0.0, mmax=20.0, initial=0.0, unitstyle=1))
    labelled("Bars (0 = clip)", (410.0, 40.0, 80.0, 18.0))
    number("bars", "Bars", "Bars", (140.0, 600.0, 40.0, 15.0), (410.0, 58.0, 40.0, 15.0), 0, 64, 0)

    labelled("Bridge / reply port", (494.0, 40.0, 110.0, 18.0))
    number("bridge_port", "Bridge port", "Port", (200.0, 600.0, 50.0, 15.0), (494.0, 58.0, 52.0, 15.0),
           1, 65535, BRIDGE_PORT)
    number("reply_port", "Reply port", "Reply", (260.0, 600.0, 50.0, 15.0), (550.0, 58.0, 52.0, 15.0),
           1, 65535, REPLY_PORT)

    labelled("Last clip (drag from Live's browser if it could not be placed)", (312.0, 90.0, 296.0, 16.0))
    path = p.add("textedit", (340.0, 700.0, 280.0, 30.0), varname="path", present=(312.0, 106.0, 296.0, 34.0),
                 readonly=1, lines=2, wordwrap=1, fontsize=9.0)

    # --- display outlet of the script -> UI ------------------------------------------
    p.connect(route, ROUTE.index("status"), status, 0)
    p.connect(route, ROUTE.index("progress"), progress, 0)
    p.connect(route, ROUTE.index("path"), path, 0)
    p.connect(route, ROUTE.index("target_tracks"), target_track, 0)
    p.connect(route, ROUTE.index("drums_tracks"), drums_track, 0)
    p.connect(route, ROUTE.index("seed"), seed, 0)
    return p


def render() -> str:
    return json.dumps(build().to_json(), indent="\t", ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
