"""Ableton's Max for Live Production Guidelines, final checklist, as far as the generated patcher
shows it (github.com/Ableton/maxdevtools, m4l-production-guidelines/m4l-production-guidelines.md,
"Final Checklist"). Each test quotes the item it checks; the items that need Live itself are in
max_for_live/README.md with what was done."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from .livesets import live_set
from .oscpeer import FakeBridge

DEVICE_DIR = Path(__file__).resolve().parents[2] / "max_for_live"
FONT = "Ableton Sans Medium"
TEXT_CLASSES = {"comment", "textedit", "umenu", "live.menu", "live.numbox", "live.dial", "live.text"}
GENERIC = re.compile(r"(\[\d+\]$)|^(live\.\w+|val\d+|untitled)$", re.I)
FLOAT, INT, ENUM, BLOB = 0, 1, 2, 3
UNIT_INT = 0
MOD_NONE, MOD_BIPOLAR, MOD_ABSOLUTE = 0, 2, 4


@pytest.fixture(scope="module")
def patcher() -> dict[str, Any]:
    return json.loads((DEVICE_DIR / "jasco.maxpat").read_text(encoding="utf-8"))["patcher"]


@pytest.fixture(scope="module")
def boxes(patcher: dict[str, Any]) -> list[dict[str, Any]]:
    return [b["box"] for b in patcher["boxes"]]


def parameters(boxes: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(b, b["saved_attribute_attributes"]["valueof"]) for b in boxes if b.get("parameter_enable")]


def shown(boxes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in boxes if b.get("presentation") == 1]


def test_info_fields_are_filled_in(boxes: list[dict[str, Any]]) -> None:
    """"Info fields: All Info Title and Info fields are filled in." (Annotation Name, Annotation)"""
    controls = [b for b in shown(boxes) if b.get("parameter_enable") or b["maxclass"] == "umenu"
                or b.get("varname") == "prompt"]
    assert len(controls) >= 20
    for box in controls:
        assert box.get("annotation_name", "").strip() and len(box.get("annotation", "")) >= 10, box.get("varname")


def test_names_are_meaningful_and_unique(boxes: list[dict[str, Any]]) -> None:
    """"Naming: All parameters have non-generic Long Name and Short Name fields. No names have
    auto-appended indexes, like [1]." Long Names are unique ("Parameter Names")."""
    longnames = []
    for box, valueof in parameters(boxes):
        long, short = valueof["parameter_longname"], valueof["parameter_shortname"]
        assert not GENERIC.search(long) and not GENERIC.search(short), (long, short)
        assert 0 < len(short) <= 10, short          # "Keep the Short Name short enough to avoid truncation"
        longnames.append(long)
    assert len(longnames) == len(set(longnames))


def test_enum_labels_are_not_generic(boxes: list[dict[str, Any]]) -> None:
    """"Enum labels: ... don't have generic values ("val1"/"val2" for buttons)." """
    for box, valueof in parameters(boxes):
        for label in valueof.get("parameter_enum", []):
            assert not GENERIC.search(str(label)), (valueof["parameter_longname"], label)


def test_every_parameter_has_a_modulation_mode(boxes: list[dict[str, Any]]) -> None:
    """"Modulation: All parameters have a modulation mode set. Bipolar for Float, Absolute for Int"
    (a whole number stored as Float, unit style Int, is an Int to the musician: Absolute). Live
    modulates Int and Float parameters only (Cycling '74, "Automation")."""
    for box, valueof in parameters(boxes):
        ptype, mode = valueof["parameter_type"], valueof.get("parameter_modmode")
        where = valueof["parameter_longname"]
        if ptype == FLOAT:
            want = MOD_ABSOLUTE if valueof.get("parameter_unitstyle") == UNIT_INT else MOD_BIPOLAR
            assert mode == want, where
        elif ptype == INT:
            assert mode == MOD_ABSOLUTE, where
        else:
            assert mode == MOD_NONE, where


def test_colours_follow_the_live_theme(boxes: list[dict[str, Any]]) -> None:
    """"Live themes: All UI objects have theme-following colors." live.* objects follow by default;
    a Max object shown in the device gets dynamic colours (themecolor.live_*), no fixed colour."""
    for box in shown(boxes):
        fixed = [k for k, v in box.items() if k.endswith("color") and isinstance(v, list)]
        assert fixed == [], (box.get("varname") or box.get("text"), fixed)
        if not box["maxclass"].startswith("live."):
            saved = box.get("saved_attribute_attributes", {})
            colours = {k: v["expression"] for k, v in saved.items() if k != "valueof"}
            assert colours and all(v.startswith("themecolor.live_") for v in colours.values()), box.get("varname")


def test_fonts_are_lives(patcher: dict[str, Any], boxes: list[dict[str, Any]]) -> None:
    """"Font consistency: All UI fonts are set to Live's font." ("Fonts": Ableton Sans)"""
    assert patcher["default_fontname"] == FONT
    for box in shown(boxes):
        if box["maxclass"] in TEXT_CLASSES:
            assert box.get("fontname") == FONT, box.get("varname") or box.get("text")


def test_comments_have_no_tab_stops(boxes: list[dict[str, Any]]) -> None:
    """"Tab stops: Comments don't include any tab stops." """
    for box in boxes:
        if box["maxclass"] == "comment":
            assert "\t" not in box["text"], box["text"]


def test_device_width_and_positioning(patcher: dict[str, Any], boxes: list[dict[str, Any]]) -> None:
    """"Device width: ... the device's custom width setting matches its initial width" and
    "Positioning: The left-most element ... as far from the left side as the right-most element is
    from the right side"; presentation rectangles in whole pixels ("[live.*] Objects")."""
    width = patcher["devicewidth"]
    assert patcher["openrect"][2] == width and width <= 700     # "not too much horizontal space"
    visible = [b for b in shown(boxes) if not b.get("hidden")]
    left = min(b["presentation_rect"][0] for b in visible)
    right = width - max(b["presentation_rect"][0] + b["presentation_rect"][2] for b in visible)
    assert left == right and left > 0
    for box in shown(boxes):
        assert all(float(v).is_integer() for v in box["presentation_rect"]), box.get("varname")


def test_expert_settings_fold_away_and_are_saved_folded(boxes: list[dict[str, Any]]) -> None:
    """Quality (the table's presets) is for everyone; Solver and Steps fold away behind Expert.
    "Default initialization: ... saved in their default state to prevent a ... flash after loading":
    Expert starts off, so the folded controls are saved hidden."""
    by_name = {b.get("varname"): b for b in boxes if b.get("varname")}
    quality = by_name["preset"]["saved_attribute_attributes"]["valueof"]
    assert quality["parameter_longname"] == "Quality"
    expert = by_name["expert"]["saved_attribute_attributes"]["valueof"]
    assert expert["parameter_initial"] == [0] and expert["parameter_invisible"] == 1
    for name in ("solver", "steps"):
        assert by_name[name].get("hidden") == 1, name
    assert [b for b in boxes if b["maxclass"] == "comment" and b["text"] == "Steps"][0].get("hidden") == 1


def test_midi_effect_passes_mpe(patcher: dict[str, Any]) -> None:
    """"MPE: MIDI devices support MPE (is_mpe is set to active)." (MIDI passes through untouched.)"""
    assert patcher["is_mpe"] == 1


def test_nothing_automatable_is_set_by_the_patch_in_a_loop(boxes: list[dict[str, Any]]) -> None:
    """"Undo History: Live's undo menu is never 'flooded'": the progress bar and status lines the
    script drives are no parameters, and buttons (live.text in Button mode) are Hidden."""
    by_name = {b.get("varname"): b for b in boxes if b.get("varname")}
    for name in ("progress", "status", "path"):
        assert not by_name[name].get("parameter_enable"), name
    for box, valueof in parameters(boxes):
        if box["maxclass"] == "live.text" and box.get("mode") == 0:
            assert valueof["parameter_invisible"] == 2, valueof["parameter_longname"]


def test_no_prints_on_load(run_device, fake_bridge_factory) -> None:
    """"Error messages: There are no prints in the Max Console on load." The generated patcher is
    loaded (glue mode: every box as Max runs it) and connects to a bridge; nothing is printed by
    the script, by Max or by Live."""
    bridge: FakeBridge = fake_bridge_factory(lambda job, state: [])
    out = run_device({"mode": "glue", "live": live_set(), "bridge_port": bridge.port, "settings": [],
                      "commands": [], "wait_terminal": 0, "timeout_ms": 1500})
    assert "[max post]" not in out["stderr"], out["stderr"]
    assert out["max_console"] == [] and out["live"]["console"] == []
    assert out["errors"] == []
    assert str(out["status"][0]).startswith("Connecting to jasco-bridge"), out["status"]   # it did load
