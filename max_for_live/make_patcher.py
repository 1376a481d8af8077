"""Write the JASCO Max for Live device: ``jasco.maxpat`` (the MIDI-effect patcher) and
``jasco.js`` (the one JavaScript file its [js] loads), from the sources and two tables.

    python max_for_live/make_patcher.py          # rewrites every generated device file

One command refreshes them all, in dependency order: ``jasco_params.js`` (from
core/params.py), ``jasco_wire.js`` (from bridge/protocol.py), ``jasco.maxpat``,
``jasco.js`` (the bundle) and ``jasco-bridge.amxd`` (the device Live loads; unfrozen,
its script beside it). ``jasco-bridge device build --frozen`` makes the frozen copy
with the script inside (``bridge/device_file.py`` holds the container format).

The patcher is generated so that its wiring is declared once and readable here:
the UI controls (each a Live parameter where it should be saved with the set),
the [prepend NAME] that turns each into a setting message for [js], the [route]
that sends the script's display messages back to the UI, [udpsend]/[udpreceive]
(through [deferlow]) for OSC, a [pattr] blob for what is saved with the set but
is no Live number (prompt, chosen tracks, takes), live.thisdevice for start-up and
the MIDI pass-through a MIDI effect needs.

Every parameter's range, default and choices come from ``jasco_params.js``
(generated from core/params.py) and ``jasco_device_params.js`` (the device's own
settings); types and unit styles follow Max for Live's parameter rule (Live's
native integers are 0..255: a wider integer is a Float with unit style Int; see
``live_parameter``). ``tests/device/test_patcher.py`` checks the files against
this script, the rule and the JavaScript.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:      # run as a script: the repository's packages
    sys.path.insert(0, str(HERE.parent))

from bridge import device_file, device_wire  # noqa: E402
from bridge.commands import params as params_cli  # noqa: E402

OUTPUT = HERE / "jasco.maxpat"
DEVICE = HERE / "jasco-bridge.amxd"
PARAMS_JS = HERE / "jasco_params.js"
WIRE_JS = HERE / "jasco_wire.js"

BUNDLE = HERE / "jasco.js"
JS_FILE = BUNDLE.name
# The bundle: modules (name, file) loaded in this order, then the glue at top level.
MODULES = tuple((name, name + ".js") for name in (
    "jasco_params", "jasco_device_params", "jasco_wire", "jasco_util", "jasco_settings", "jasco_protocol", "jasco_notes",
    "jasco_place", "jasco_jam", "jasco_core"))
GLUE = "jasco_device.js"
BRIDGE_HOST = "127.0.0.1"
DEVICE_WIDTH = 700.0
# Live's font (Max for Live Production Guidelines, "Fonts": Ableton Sans is included in Max)
FONT = "Ableton Sans Medium"
# Dynamic colours that follow Live's theme (Cycling '74, "Dynamic Colors": the Live category
# follows the active Live theme; saved as "themecolor.live_<name>" expressions, as in
# maxdevtools' test devices). live.* objects follow the theme by default; the Max objects
# the device shows get these.
THEME: dict[str, dict[str, str]] = {
    "comment": {"textcolor": "live_control_fg"},
    "textedit": {"textcolor": "live_control_fg", "bgcolor": "live_control_bg"},
    "umenu": {"textcolor": "live_control_fg", "bgcolor": "live_control_bg"},
    "slider": {"bgcolor": "live_control_bg", "knobcolor": "live_control_selection"},
}

# The js object's display outlet goes through this [route]; order = route outlets.
ROUTE = ("status", "progress", "path", "target_tracks", "drums_tracks", "take_list", "seed", "lock_seed",
         "prompt", "state", "udpsend", "udpreceive", "probe")

# Live parameter types and unit styles (Max for Live's parameter attributes).
TYPE_FLOAT, TYPE_INT, TYPE_ENUM, TYPE_BLOB = 0, 1, 2, 3
UNIT_INT, UNIT_FLOAT = 0, 1
# Clip modulation modes (parameter_modmode). Guidelines, "Modulation": Bipolar for Float, Absolute
# for Int; Live modulates only Int and Float parameters (Cycling '74, "Automation").
MOD_NONE, MOD_UNIPOLAR, MOD_BIPOLAR, MOD_ADDITIVE, MOD_ABSOLUTE = 0, 1, 2, 3, 4
LIVE_INT_RANGE = (0, 255)          # Live's native integer parameters hold 0..255 only
FLOAT32_EXACT_INT = 2**24          # a Live parameter holds a 32-bit float: whole numbers are exact up to here
VISIBLE, STORED_ONLY, HIDDEN = 0, 1, 2


def read_table(path: Path) -> dict[str, dict[str, Any]]:
    """The JSON object of a ``var NAME = {...};`` table file (jasco_params.js and its sibling)."""
    text = path.read_text(encoding="utf-8")
    found = re.search(r"^var\s+\w+\s*=\s*", text, flags=re.M)
    if found is None:
        raise ValueError(f"{path.name} has no 'var NAME = {{...}}' table")
    value, _ = json.JSONDecoder().raw_decode(text, found.end())
    return dict(value)


PARAMS = read_table(PARAMS_JS)
DEVICE_PARAMS = read_table(HERE / "jasco_device_params.js")


def spec(name: str) -> dict[str, Any]:
    """A setting's table entry: the render parameters first, then the device's own (as jasco_core.js)."""
    return PARAMS[name] if name in PARAMS else DEVICE_PARAMS[name]

# the classes that show text (each gets Live's font)
TEXT_CLASSES = ("comment", "textedit", "umenu", "live.menu", "live.numbox", "live.dial", "live.text")

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
        if present is not None:
            # what the musician sees: Live's font and theme-following colours
            if maxclass in TEXT_CLASSES:
                attrs.setdefault("fontname", FONT)
            if maxclass in THEME:
                saved = dict(attrs.get("saved_attribute_attributes", {}))
                for attr, colour in THEME[maxclass].items():
                    saved[attr] = {"expression": f"themecolor.{colour}"}
                attrs["saved_attribute_attributes"] = saved
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
            "default_fontname": FONT,
            "gridsize": [8.0, 8.0],
            "description": "JASCO: type a prompt, press Generate, get an audio clip in time with the song "
                           "(needs jasco-bridge serve running).",
            "tags": "jasco ai music generation osc",
            # a MIDI effect passes MPE through as it comes (Guidelines' checklist: "is_mpe" active)
            "is_mpe": 1,
            "boxes": [b.to_json() for b in self.boxes],
            "lines": [{"patchline": {"source": [s, o], "destination": [d, i]}} for s, o, d, i in self.lines],
            # What Freeze Device embeds: the one script [js] loads (it requires nothing).
            "dependency_cache": [
                {"name": JS_FILE, "bootpath": ".", "patcherrelativepath": ".", "type": "TEXT", "implicit": 1},
            ],
        }}


def parameter(longname: str, shortname: str, ptype: int, *, mmin: float = 0.0, mmax: float = 1.0,
              initial: Any = None, enum: tuple[str, ...] | list[str] | None = None, unitstyle: int | None = None,
              invisible: int | None = None) -> dict[str, Any]:
    """Live parameter attributes (parameter_type: 0 float, 1 int, 2 enum, 3 blob; parameter_invisible:
    0 automated and stored, 1 stored only, 2 hidden)."""
    valueof: dict[str, Any] = {
        "parameter_longname": longname,
        "parameter_shortname": shortname,
        "parameter_type": ptype,
    }
    if ptype != TYPE_BLOB:
        valueof["parameter_mmin"] = mmin
        valueof["parameter_mmax"] = mmax
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
    if ptype == TYPE_FLOAT:
        valueof["parameter_modmode"] = MOD_ABSOLUTE if unitstyle == UNIT_INT else MOD_BIPOLAR
    elif ptype == TYPE_INT:
        valueof["parameter_modmode"] = MOD_ABSOLUTE
    else:
        valueof["parameter_modmode"] = MOD_NONE   # Live modulates Int and Float parameters only
    return {"parameter_enable": 1, "saved_attribute_attributes": {"valueof": valueof}}


def live_parameter(table_name: str, longname: str, shortname: str, *, invisible: int | None = None) -> dict[str, Any]:
    """The Live parameter of a table entry. Max for Live's parameter reference: Live's native
    integer representation is limited to 0..255, so an integer parameter whose range leaves it is
    a Float with unit style Int; a list of choices is an Enum."""
    entry = spec(table_name)
    if entry["choices"]:
        return parameter(longname, shortname, TYPE_ENUM, enum=entry["choices"],
                         initial=entry["choices"].index(entry["default"]), invisible=invisible)
    if entry["type"] == "bool":
        return parameter(longname, shortname, TYPE_INT, mmin=0, mmax=1, initial=int(bool(entry["default"])),
                         unitstyle=UNIT_INT, invisible=invisible)
    low, high, default = entry["lo"], entry["hi"], entry["default"]
    if entry["type"] == "int":
        high = min(high, FLOAT32_EXACT_INT)   # (a larger seed would come back as another number)
    if entry["type"] == "float":
        return parameter(longname, shortname, TYPE_FLOAT, mmin=float(low), mmax=float(high), initial=float(default),
                         unitstyle=UNIT_FLOAT, invisible=invisible)
    if LIVE_INT_RANGE[0] <= low and high <= LIVE_INT_RANGE[1]:
        return parameter(longname, shortname, TYPE_INT, mmin=low, mmax=high, initial=default, unitstyle=UNIT_INT,
                         invisible=invisible)
    return parameter(longname, shortname, TYPE_FLOAT, mmin=float(low), mmax=float(high), initial=float(default),
                     unitstyle=UNIT_INT, invisible=invisible)


# setting -> its table entry, where the names differ
TABLE_NAMES = {"model": "model_menu"}
# Info View text of the buttons (no table entry)
BUTTON_INFO = {
    "generate": "Render a clip from the prompt, chords and drums with jasco-bridge; it lands on the target.",
    "cancel": "Cancel everything this device has queued or rendering.",
    "refresh": "Read the track list again (it also follows Live on its own).",
    "recall": "Copy the chosen take's seed into the seed box and turn Lock on.",
}


def build() -> Patch:
    p = Patch()

    # --- engine room (patching view only) --------------------------------------
    js = p.obj(f"js {JS_FILE}", (420.0, 520.0), 2, 2, varname="jasco_js",
               saved_object_attributes={"filename": JS_FILE, "parameter_enable": 0})
    send = p.obj(f"udpsend {BRIDGE_HOST} {spec('port')['default']}", (420.0, 640.0), 1, 0, [],
                 varname="jasco_udpsend")
    recv = p.obj(f"udpreceive {spec('reply_port')['default']}", (700.0, 400.0), 1, 1, varname="jasco_udpreceive")
    # [udpreceive] outputs on the scheduler thread; [deferlow] queues each reply at the tail of
    # the main thread's queue, so [js] handles them there, in the order they arrived.
    defer = p.obj("deferlow", (700.0, 440.0), 1, 1, varname="jasco_deferlow")
    # the device sends a probe to its own reply port: it comes back only if this device owns the port
    probe = p.obj(f"udpsend {BRIDGE_HOST} {spec('reply_port')['default']}", (700.0, 640.0), 1, 0, [],
                  varname="jasco_probe")
    route = p.obj("route " + " ".join(ROUTE), (560.0, 580.0), 2, len(ROUTE) + 1, varname="jasco_route")
    thisdevice = p.obj("live.thisdevice", (20.0, 20.0), 1, 3, ["bang", "int", "int"])
    init = p.add("message", (20.0, 50.0, 34.0, 22.0), text="init")
    midiin = p.obj("midiin", (900.0, 20.0), 1, 1, ["int"])
    midiout = p.obj("midiout", (900.0, 60.0), 1, 0, [])
    # what is saved with the set and presets but is no Live number: a blob parameter
    state = p.obj("pattr jasco_state", (900.0, 440.0), 1, 3, ["", "", ""], varname="jasco_state",
                  **parameter("JASCO state", "State", TYPE_BLOB, invisible=STORED_ONLY))
    state_in = p.obj("prepend state", (900.0, 480.0), 1, 1)
    p.connect(midiin, 0, midiout, 0)                 # a MIDI effect passes MIDI through
    p.connect(thisdevice, 0, init, 0)
    p.connect(init, 0, js, 0)
    p.connect(js, 0, send, 0)
    p.connect(js, 1, route, 0)
    p.connect(recv, 0, defer, 0)
    p.connect(defer, 0, js, 1)
    p.connect(state, 0, state_in, 0)
    p.connect(state_in, 0, js, 0)
    p.connect(route, ROUTE.index("udpsend"), send, 0)
    p.connect(route, ROUTE.index("udpreceive"), recv, 0)
    p.connect(route, ROUTE.index("probe"), probe, 0)
    p.connect(route, ROUTE.index("state"), state, 0)

    def labelled(text: str, present: tuple[float, float, float, float]) -> None:
        p.add("comment", (present[0] + 700.0, present[1] + 700.0, present[2], present[3]), text=text,
              present=present)

    def info(title: str, text: str) -> dict[str, str]:
        """Live's Info View text of a control (Guidelines, "Info Text": Annotation Name and Annotation)."""
        return {"annotation_name": title, "annotation": text}

    def control(maxclass: str, name: str, rect: tuple[float, float, float, float],
                present: tuple[float, float, float, float], **attrs: Any) -> str:
        """A UI control named ``name`` whose output reaches [js] as the setting ``name <value>``."""
        if "annotation" not in attrs:
            valueof = attrs["saved_attribute_attributes"]["valueof"]
            attrs.update(info(valueof["parameter_longname"], spec(TABLE_NAMES.get(name, name))["help"]))
        box = p.add(maxclass, rect, varname=name, present=present, **attrs)
        pre = p.obj(f"prepend {name}", (rect[0], rect[1] + rect[3] + 12.0), 1, 1)
        p.connect(box, 0, pre, 0)
        p.connect(pre, 0, js, 0)
        return box

    def number(name: str, longname: str, shortname: str, rect: tuple[float, float, float, float],
               present: tuple[float, float, float, float], *, invisible: int | None = None,
               **attrs: Any) -> str:
        """A live.numbox for the table entry ``name`` (a Live parameter, saved with the set)."""
        return control("live.numbox", name, rect, present, **attrs,
                       **live_parameter(name, longname, shortname, invisible=invisible))

    def toggle(name: str, longname: str, shortname: str, rect: tuple[float, float, float, float],
               present: tuple[float, float, float, float]) -> str:
        return control("live.toggle", name, rect, present, **live_parameter(name, longname, shortname))

    def menu(name: str, table_name: str, rect: tuple[float, float, float, float],
             present: tuple[float, float, float, float], title: str | None = None, **attrs: Any) -> str:
        title = title or name.capitalize()
        return control("live.menu", name, rect, present, **attrs, **live_parameter(table_name, title, title))

    def button(name: str, label: str, rect: tuple[float, float, float, float],
               present: tuple[float, float, float, float]) -> tuple[str, str]:
        """A momentary live.text and the [message NAME] that tells [js]. Hidden from Live
        (parameter_invisible 2): not automatable and not stored, so neither automation nor
        loading a set presses it."""
        box = p.add("live.text", rect, varname=name, present=present, text=label, mode=0,
                    **info(label, BUTTON_INFO[name]),
                    **parameter(name.capitalize(), name.capitalize(), TYPE_ENUM, enum=("off", "on"),
                                invisible=HIDDEN))
        message = p.add("message", (rect[0], rect[1] + 80.0, 60.0, 22.0), text=name)
        p.connect(message, 0, js, 0)
        return box, message

    # --- left column: prompt, sources, target, actions --------------------------
    labelled("Prompt", (4.0, 2.0, 50.0, 16.0))
    # outputmode 1: the text leaves as one symbol ("text warm, lofi"), commas and numbers intact
    prompt = control("textedit", "prompt", (20.0, 120.0, 300.0, 40.0), (4.0, 18.0, 300.0, 38.0),
                     **info("Prompt", "The music in words, e.g. 'warm lofi piano with vinyl crackle'; saved "
                            "with the set. Return or Generate sends it."),
                     lines=2, wordwrap=1, bangmode=0, outputmode=1, keymode=1, fontsize=11.0,
                     hint="Describe the music: 'warm lofi piano with vinyl crackle'. Return or Generate sends it.")

    labelled("Chords", (4.0, 60.0, 46.0, 18.0))
    menu("chords", "chords", (340.0, 120.0, 100.0, 15.0), (52.0, 61.0, 100.0, 15.0))

    labelled("Drums", (4.0, 80.0, 46.0, 18.0))
    drums_track = control("umenu", "drums_track", (460.0, 120.0, 100.0, 22.0), (52.0, 79.0, 100.0, 18.0),
                          items=["none"], fontsize=10.0,
                          **info("Drums track", "The audio track whose clip (scene below) is the drum loop; "
                                 "none for no drums."))
    number("drums_scene", "Drums scene", "Scene", (580.0, 120.0, 40.0, 15.0), (156.0, 80.0, 36.0, 15.0))

    labelled("Target", (4.0, 100.0, 46.0, 18.0))
    menu("target", "target", (20.0, 220.0, 90.0, 15.0), (52.0, 101.0, 80.0, 15.0))
    target_track = control("umenu", "target_track", (140.0, 220.0, 120.0, 22.0), (136.0, 99.0, 110.0, 18.0),
                           fontsize=10.0, **info("Target track", "The audio track that receives the clips."))

    generate, gen_msg = button("generate", "Generate", (20.0, 320.0, 80.0, 20.0), (4.0, 122.0, 80.0, 18.0))
    for name, label, rect, present in (("cancel", "Cancel", (120.0, 320.0, 60.0, 20.0), (88.0, 122.0, 60.0, 18.0)),
                                       ("refresh", "Tracks", (200.0, 320.0, 60.0, 20.0), (152.0, 122.0, 56.0, 18.0)),
                                       ("recall", "Lock seed", (280.0, 320.0, 64.0, 20.0),
                                        (632.0, 91.0, 64.0, 18.0))):
        box, message = button(name, label, rect, present)
        p.connect(box, 0, message, 0)
    # Generate: first make the textedit output what is typed ([t b b] fires right to left), then "generate"
    order = p.obj("t b b", (20.0, 360.0), 1, 2, ["bang", "bang"])
    p.connect(generate, 0, order, 0)
    p.connect(order, 1, prompt, 0)
    p.connect(order, 0, gen_msg, 0)

    progress = p.add("slider", (20.0, 700.0, 300.0, 10.0), varname="progress", present=(4.0, 144.0, 300.0, 6.0),
                     size=101.0, ignoreclick=1, orientation=1, thickness=100.0)
    status = p.add("textedit", (20.0, 740.0, 600.0, 18.0), varname="status",
                   present=(4.0, 152.0, DEVICE_WIDTH - 8.0, 15.0), readonly=1, lines=1, fontsize=9.0)

    # --- right column: model and sampling parameters, takes, ports, last clip -------------
    labelled("Model", (312.0, 2.0, 40.0, 18.0))
    menu("model", "model_menu", (20.0, 460.0, 180.0, 15.0), (352.0, 3.0, 200.0, 15.0))

    # Quality: the table's speed/quality presets, for everyone; Solver and Steps fold away behind
    # Expert (they apply with Quality "none" only: a preset replaces them)
    labelled("Quality", (312.0, 20.0, 40.0, 18.0))
    menu("preset", "preset", (220.0, 420.0, 70.0, 15.0), (352.0, 21.0, 70.0, 15.0), title="Quality")
    expert = p.add("live.text", (300.0, 420.0, 40.0, 15.0), varname="expert", present=(426.0, 21.0, 40.0, 15.0),
                   text="Expert", texton="Expert", mode=1,
                   **info("Expert", "Shows Solver and Steps, which apply when Quality is none."),
                   **parameter("Expert", "Expert", TYPE_ENUM, enum=("off", "on"), initial=0, invisible=STORED_ONLY))
    solver = menu("solver", "solver", (220.0, 460.0, 70.0, 15.0), (626.0, 21.0, 70.0, 15.0), hidden=1)
    steps = number("steps", "Steps", "Steps", (300.0, 460.0, 40.0, 15.0), (626.0, 40.0, 40.0, 15.0), hidden=1)
    steps_label = p.add("comment", (1326.0, 740.0, 28.0, 14.0), text="Steps", present=(668.0, 40.0, 28.0, 14.0),
                        hidden=1)
    folded = p.obj("== 0", (300.0, 440.0), 2, 1, ["int"])
    hide = p.obj("prepend hidden", (300.0, 480.0), 1, 1)
    p.connect(expert, 0, folded, 0)
    p.connect(folded, 0, hide, 0)
    for box in (solver, steps, steps_label):
        p.connect(hide, 0, box, 0)
    labelled("Seed", (470.0, 20.0, 30.0, 18.0))
    seed = number("seed", "Seed", "Seed", (360.0, 460.0, 70.0, 15.0), (500.0, 21.0, 70.0, 15.0))
    lock = toggle("lock_seed", "Lock seed", "Lock", (440.0, 460.0, 15.0, 15.0), (574.0, 21.0, 15.0, 15.0))
    labelled("Lock", (592.0, 20.0, 30.0, 18.0))

    control("live.dial", "cfg_all", (20.0, 600.0, 44.0, 48.0), (312.0, 40.0, 44.0, 48.0),
            **live_parameter("cfg_all", "CFG all", "CFG"))
    control("live.dial", "cfg_txt", (80.0, 600.0, 44.0, 48.0), (360.0, 40.0, 44.0, 48.0),
            **live_parameter("cfg_txt", "CFG text", "CFG txt"))
    labelled("Bars (0 = clip)", (410.0, 40.0, 80.0, 18.0))
    number("bars", "Bars", "Bars", (140.0, 600.0, 40.0, 15.0), (410.0, 58.0, 40.0, 15.0))
    toggle("loop", "Loop", "Loop", (190.0, 600.0, 15.0, 15.0), (456.0, 58.0, 15.0, 15.0))
    labelled("Loop", (474.0, 59.0, 30.0, 14.0))

    # Ports: stored with the set, never automated (a port that moves mid-song loses the bridge)
    labelled("Bridge / reply port", (510.0, 40.0, 110.0, 18.0))
    number("port", "Bridge port", "Port", (200.0, 640.0, 50.0, 15.0), (510.0, 58.0, 52.0, 15.0),
           invisible=STORED_ONLY)
    number("reply_port", "Reply port", "Reply", (260.0, 640.0, 50.0, 15.0), (566.0, 58.0, 52.0, 15.0),
           invisible=STORED_ONLY)

    labelled("Takes", (312.0, 92.0, 36.0, 16.0))
    number("takes", "Takes", "Takes", (340.0, 640.0, 30.0, 15.0), (350.0, 92.0, 30.0, 15.0))
    toggle("replace_last", "Replace last take", "Replace", (380.0, 640.0, 15.0, 15.0), (386.0, 92.0, 15.0, 15.0))
    labelled("Replace last", (404.0, 91.0, 70.0, 16.0))
    takes_menu = control("umenu", "take_choice", (420.0, 640.0, 150.0, 22.0), (478.0, 90.0, 150.0, 18.0),
                         fontsize=9.0, **info("Takes", "Every finished take with its seed and where it went, "
                                              "newest first; Lock seed recalls the chosen one."))

    labelled("Last clip (drag from Live's browser if it could not be placed)", (312.0, 112.0, 300.0, 14.0))
    path = p.add("textedit", (340.0, 700.0, 280.0, 30.0), varname="path", present=(312.0, 127.0, 384.0, 22.0),
                 readonly=1, lines=2, wordwrap=1, fontsize=9.0)

    # --- display outlet of the script -> UI ------------------------------------------
    for selector, dest in (("status", status), ("progress", progress), ("path", path),
                           ("target_tracks", target_track), ("drums_tracks", drums_track),
                           ("take_list", takes_menu), ("seed", seed), ("lock_seed", lock), ("prompt", prompt)):
        p.connect(route, ROUTE.index(selector), dest, 0)
    return p


def render() -> str:
    return json.dumps(build().to_json(), indent="\t", ensure_ascii=False) + "\n"


def render_bundle() -> str:
    """jasco.js: each module wrapped as Node would run it (module, exports, require), then the glue."""
    parts = [
        "// jasco.js: the one script of the JASCO device's [js] object. Generated by make_patcher.py\n"
        "// from " + ", ".join(f for _, f in MODULES) + " and " + GLUE + "; do not edit (edit those\n"
        "// and run python max_for_live/make_patcher.py). ES5, for Max 8's [js] and Max 9's [v8].\n",
        "var jascoModules = {};\n",
        "(function () {\n"
        "    function jascoRequire(name) {\n"
        "        var key = name.replace(/^\\.\\//, \"\").replace(/\\.js$/, \"\");\n"
        "        if (!jascoModules.hasOwnProperty(key)) {\n"
        "            throw new Error(\"jasco.js has no module \" + name);\n"
        "        }\n"
        "        return jascoModules[key];\n"
        "    }\n"
        "    function load(name, body) {\n"
        "        var module = {exports: {}};\n"
        "        body(module, module.exports, jascoRequire);\n"
        "        jascoModules[name] = module.exports;\n"
        "    }\n",
    ]
    for name, filename in MODULES:
        source = (HERE / filename).read_text(encoding="utf-8")
        parts.append(f"    // ---- {filename} ----\n    load(\"{name}\", function (module, exports, require) {{\n")
        parts.append(source if source.endswith("\n") else source + "\n")
        parts.append("    });\n")
    parts.append("})();\n\n")
    parts.append(f"// ---- {GLUE} ----\n")
    parts.append((HERE / GLUE).read_text(encoding="utf-8"))
    return "".join(parts)


def render_device() -> bytes:
    """jasco-bridge.amxd: the patcher as a Max MIDI Effect, unfrozen (jasco.js stays beside it)."""
    return device_file.write_plain(build().to_json(), device_file.MIDI_EFFECT)


def main(argv: list[str]) -> int:
    """Every generated device file, tables first (the patcher and the bundle are built from them)."""
    global PARAMS
    PARAMS_JS.write_text(params_cli.render_js(), encoding="utf-8")
    WIRE_JS.write_text(device_wire.render_js(), encoding="utf-8")
    PARAMS = read_table(PARAMS_JS)
    OUTPUT.write_text(render(), encoding="utf-8")
    BUNDLE.write_text(render_bundle(), encoding="utf-8")
    DEVICE.write_bytes(render_device())
    for path in (PARAMS_JS, WIRE_JS, OUTPUT, BUNDLE, DEVICE):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
