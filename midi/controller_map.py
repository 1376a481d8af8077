"""The controller mapping file (JSON) of live MIDI input, validated into a frozen :class:`ControllerMapping`::

    {
      "channel": 1,                                  # optional: only this channel (1-16)
      "trigger": {"note": 36},                       # starts a generation  -> on_trigger("generate")
      "record":  {"cc": 20, "min": 64, "bars": 4},   # arms a recording     -> on_trigger("record")
      "hold":    {"note": 37},                       # jam: keep the current progression -> on_trigger("hold")
      "params":  {"cfg_all": {"cc": 21, "min": 0, "max": 10}}   # -> on_param("cfg_all", value)
    }

A note binding fires on note-on; a CC binding fires when the value rises to ``min`` or
above (default 64). A note used as a binding is not part of the chord. Parameter CCs map
0..127 linearly onto ``min..max``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from core.errors import BadConfig

MAX_MAPPING_BYTES = 64 * 1024

@dataclass(frozen=True)
class Binding:
    """A note (fires on note-on) or a CC (fires when it rises to ``min`` or above)."""

    note: int | None = None
    cc: int | None = None
    min: int = 64

    def __post_init__(self) -> None:
        if (self.note is None) == (self.cc is None):
            raise BadConfig("a binding needs exactly one of 'note' or 'cc'")
        for name in ("note", "cc", "min"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 127):
                raise BadConfig(f"binding '{name}' must be an integer 0..127, got {value!r}")


@dataclass(frozen=True)
class ParamBinding:
    """A CC whose 0..127 maps linearly onto ``min..max``."""

    cc: int
    min: float = 0.0
    max: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.cc, bool) or not isinstance(self.cc, int) or not 0 <= self.cc <= 127:
            raise BadConfig(f"param 'cc' must be an integer 0..127, got {self.cc!r}")
        for name in ("min", "max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise BadConfig(f"param '{name}' must be a finite number, got {value!r}")

    def value(self, cc_value: int) -> float:
        return float(self.min) + (float(self.max) - float(self.min)) * cc_value / 127.0


@dataclass(frozen=True)
class ControllerMapping:
    trigger: Binding | None = None
    record: Binding | None = None
    record_bars: int = 4
    params: Mapping[str, ParamBinding] = field(default_factory=dict)
    channel: int | None = None          # 0..15 internally; None = every channel
    hold: Binding | None = None         # jam mode: keep the current progression for the next phrase

    @classmethod
    def from_obj(cls, obj: object, source: str = "<mapping>") -> "ControllerMapping":
        if not isinstance(obj, dict):
            raise BadConfig(f"{source}: the MIDI mapping must be a JSON object")
        unknown = set(obj) - {"trigger", "record", "hold", "params", "channel"}
        if unknown:
            raise BadConfig(f"{source}: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
                            "(allowed: trigger, record, hold, params, channel)")

        def binding(key: str, extra: tuple[str, ...] = ()) -> Binding | None:
            raw = obj.get(key)
            if raw is None:
                return None
            if not isinstance(raw, dict):
                raise BadConfig(f"{source}: '{key}' must be an object like {{\"note\": 36}} or {{\"cc\": 64}}")
            bad = set(raw) - {"note", "cc", "min", *extra}
            if bad:
                raise BadConfig(f"{source}: '{key}' has unknown key(s) {', '.join(sorted(map(str, bad)))}")
            try:
                return Binding(note=raw.get("note"), cc=raw.get("cc"), min=raw.get("min", 64))
            except BadConfig as err:
                raise BadConfig(f"{source}: '{key}': {err}") from None

        trigger = binding("trigger")
        hold = binding("hold")
        record = binding("record", ("bars",))
        bars = (obj.get("record") or {}).get("bars", 4) if isinstance(obj.get("record"), dict) else 4
        if isinstance(bars, bool) or not isinstance(bars, int) or not 1 <= bars <= 64:
            raise BadConfig(f"{source}: 'record.bars' must be an integer 1..64, got {bars!r}")
        params_raw = obj.get("params", {})
        if not isinstance(params_raw, dict):
            raise BadConfig(f"{source}: 'params' must be an object of name -> {{\"cc\", \"min\", \"max\"}}")
        params: dict[str, ParamBinding] = {}
        for name, raw in params_raw.items():
            if not isinstance(raw, dict) or "cc" not in raw:
                raise BadConfig(f"{source}: param {name!r} must be an object with a 'cc'")
            bad = set(raw) - {"cc", "min", "max"}
            if bad:
                raise BadConfig(f"{source}: param {name!r} has unknown key(s) {', '.join(sorted(map(str, bad)))}")
            try:
                params[str(name)] = ParamBinding(cc=raw["cc"], min=raw.get("min", 0.0), max=raw.get("max", 1.0))
            except BadConfig as err:
                raise BadConfig(f"{source}: param {name!r}: {err}") from None
        channel = obj.get("channel")
        if channel is not None and (isinstance(channel, bool) or not isinstance(channel, int)
                                    or not 1 <= channel <= 16):
            raise BadConfig(f"{source}: 'channel' must be 1..16 or null, got {channel!r}")
        # one control, one meaning: a note or CC bound twice would silently lose a binding
        owners: dict[tuple[str, int], str] = {}
        controls = [("trigger", trigger), ("record", record), ("hold", hold)]
        controls += [(f"params.{name}", Binding(cc=pb.cc)) for name, pb in params.items()]
        for key, b in controls:
            if b is None:
                continue
            control = ("note", b.note) if b.note is not None else ("cc", int(b.cc or 0))
            if control in owners:
                raise BadConfig(f"{source}: '{key}' uses {control[0]} {control[1]}, "
                                f"already bound to '{owners[control]}'")
            owners[control] = key
        return cls(trigger, record, bars, params, None if channel is None else channel - 1, hold)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "ControllerMapping":
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise BadConfig(f"cannot read MIDI mapping {p}: {exc.strerror or exc}") from exc
        if len(data) > MAX_MAPPING_BYTES:
            raise BadConfig(f"MIDI mapping {p} is too large ({len(data)} bytes)")
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadConfig(f"MIDI mapping {p} is not valid JSON ({exc})") from exc
        return cls.from_obj(obj, str(p))


def load_mapping(mapping: "ControllerMapping | Mapping[str, Any] | str | os.PathLike[str] | None") -> ControllerMapping:
    if mapping is None:
        return ControllerMapping()
    if isinstance(mapping, ControllerMapping):
        return mapping
    if isinstance(mapping, dict):
        return ControllerMapping.from_obj(mapping)
    if isinstance(mapping, (str, os.PathLike)):
        return ControllerMapping.load(mapping)
    raise BadConfig(f"a MIDI mapping must be a path, a dict or a ControllerMapping, got {type(mapping).__name__}")
