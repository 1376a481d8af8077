"""What the device sends on Generate: exact OSC messages over real UDP."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

import pytest

from core.params import param

from .oscpeer import Listener, Packet
from .livesets import (DRUMS_WAV, EXPECTED_NOTES, LONG_LOOP, SETTINGS, expected_generate,
                                   live_set, many_notes)

MAX_PACKET = 8192


def typed(packets: list[Packet]) -> list[tuple[str, str, tuple[Any, ...]]]:
    return [(p.address, p.tags, p.values) for p in packets]


def assert_same(got: list[tuple[str, str, tuple[Any, ...]]], want: list[tuple[str, str, tuple[Any, ...]]]) -> None:
    """Equal addresses and type tags; values equal (floats to float32 precision)."""
    assert [(a, t) for a, t, _ in got] == [(a, t) for a, t, _ in want]
    for (address, tags, values), (_, _, expected) in zip(got, want):
        assert len(values) == len(expected), address
        for tag, v, e in zip(tags, values, expected):
            if tag == "f":
                assert math.isclose(v, e, rel_tol=1e-6, abs_tol=1e-6), (address, v, e)
            elif address == "/jasco/generate":
                # the tag is the take's number and the device's own mark (two devices on one reply
                # port tell their jobs apart by it): "m4l-1.k3f9"
                assert re.fullmatch(re.escape(e) + r"\.[0-9a-z]+", v), (address, v, e)
            else:
                assert v == e, (address, v, e)


def wait_for(listener: Listener, count: int, timeout: float = 5.0) -> list[Packet]:
    import time

    deadline = time.monotonic() + timeout
    while len(listener.packets) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(listener.packets)


@pytest.mark.parametrize("mode", ["core", "glue"])
def test_generate_sends_exactly_the_protocol(run_device, listener: Listener, mode: str) -> None:
    out = run_device({"mode": mode, "live": live_set(), "bridge_port": listener.port,
                      "settings": SETTINGS, "commands": [["generate"]]})
    assert out["errors"] == []
    port = out["reply_port"]
    want = [("/jasco/hello", "i", (port,))] + expected_generate(port, EXPECTED_NOTES)
    if mode == "glue":
        # Max types a whole-valued number as an int: the same values, tags i where f had 0 fraction
        want = [(a, "".join("i" if t == "f" and float(v).is_integer() else t for t, v in zip(tags, vals)), vals)
                for a, tags, vals in want]
    packets = wait_for(listener, len(want))
    assert listener.errors == []
    assert_same(typed(packets), want)
    assert all(p.size < MAX_PACKET for p in packets)
    # the harness's own record of sizes agrees with what arrived
    assert [s["size"] for s in out["sent"]] == [p.size for p in packets]
    assert "Sent" in out["status"][-1], out["status"]


def test_only_i_f_s_types_go_out(run_device, listener: Listener) -> None:
    out = run_device({"mode": "core", "live": live_set(), "bridge_port": listener.port,
                      "settings": SETTINGS, "commands": [["init"], ["generate"], ["cancel"]]})
    packets = wait_for(listener, len(out["sent"]))
    assert len(packets) == len(out["sent"]) > 10
    assert set("".join(p.tags for p in packets)) <= {"i", "f", "s"}


def test_two_thousand_notes_are_chunked_under_8_kb(run_device, listener: Listener) -> None:
    raw, expected = many_notes(2000)
    live = live_set(notes=raw)
    live["tracks"][0]["slots"][0].update(loop_start=0.0, loop_end=LONG_LOOP)
    out = run_device({"mode": "core", "live": live, "bridge_port": listener.port,
                      "settings": SETTINGS, "commands": [["generate"]]})
    assert out["errors"] == []
    packets = wait_for(listener, len(out["sent"]))
    adds = [p for p in packets if p.address == "/jasco/notes/add"]
    assert len(adds) == math.ceil(2000 / 60)
    assert all(p.size < MAX_PACKET for p in packets)
    got = [tuple(p.values[i:i + 4]) for p in adds for i in range(0, len(p.values), 4)]
    assert all(p.tags == "iffi" * (len(p.values) // 4) for p in adds)
    assert Counter((a, b, c, d) for a, b, c, d in got) == Counter(expected)
    # chunks arrive in order, between /notes/clear and /notes/loop (the loop is 128 beats long)
    addresses = [p.address for p in packets]
    first, last = addresses.index("/jasco/notes/add"), len(addresses) - 1 - addresses[::-1].index("/jasco/notes/add")
    assert addresses[first - 1] == "/jasco/notes/clear" and addresses[last + 1] == "/jasco/notes/loop"
    assert packets[last + 1].values == (0.0, LONG_LOOP)
    assert set(addresses[first:last + 1]) == {"/jasco/notes/add"}


def test_byte_limit_splits_even_with_many_notes_per_packet(run_device, listener: Listener) -> None:
    """With no atom cap (1000 notes/packet) the 8 KB byte limit alone keeps packets small."""
    raw, expected = many_notes(2000, seed=11)
    live = live_set(notes=raw)
    live["tracks"][0]["slots"][0].update(loop_start=0.0, loop_end=LONG_LOOP)
    out = run_device({"mode": "core", "live": live, "bridge_port": listener.port, "notes_per_packet": 1000,
                      "settings": SETTINGS, "commands": [["generate"]]})
    packets = wait_for(listener, len(out["sent"]))
    adds = [p for p in packets if p.address == "/jasco/notes/add"]
    assert max(p.size for p in adds) < MAX_PACKET
    assert max(p.size for p in adds) > MAX_PACKET - 20 - 4 * 5   # filled up to the limit
    assert len(adds) == 5      # 2000 notes * 20 bytes + tags / 8 KB
    got = [tuple(p.values[i:i + 4]) for p in adds for i in range(0, len(p.values), 4)]
    assert Counter(got) == Counter(expected)


@pytest.mark.parametrize("in_rack", [False, True])
def test_playing_clip_and_no_drums(run_device, listener: Listener, in_rack: bool) -> None:
    """Chords from the clip playing on the device's track (also when the device sits in a rack)."""
    settings = SETTINGS + [["chords", 1], ["drums_track", 0], ["bars", 3]]
    out = run_device({"mode": "core", "live": live_set(in_rack=in_rack), "bridge_port": listener.port,
                      "settings": settings, "commands": [["generate"]]})
    packets = wait_for(listener, len(out["sent"]))
    port = out["reply_port"]
    want = [("/jasco/hello", "i", (port,))] + expected_generate(port, [(62, 0.5, 1.0, 64)], drums=None, bars=3, loop_length=4.0)
    assert_same(typed(packets), want)


def test_no_chords_sends_clear_only_and_the_full_window(run_device, listener: Listener) -> None:
    settings = SETTINGS + [["chords", 2]]
    out = run_device({"mode": "core", "live": live_set(), "bridge_port": listener.port,
                      "settings": settings, "commands": [["generate"]]})
    packets = wait_for(listener, len(out["sent"]))
    port = out["reply_port"]
    want = [("/jasco/hello", "i", (port,))] + expected_generate(port, [], bars=0)
    assert_same(typed(packets), want)


@pytest.mark.parametrize(("change", "message"), [
    ({"selected_clip": None}, "no clip is selected"),
    ({"selected_clip": [1, 0]}, "is not a MIDI clip"),
])
def test_bad_chords_source_is_refused_with_a_message(run_device, listener: Listener, change: dict[str, Any],
                                                     message: str) -> None:
    out = run_device({"mode": "core", "live": live_set(**change), "bridge_port": listener.port,
                      "settings": SETTINGS, "commands": [["generate"]]})
    assert out["results"] == ["refused"]
    assert message in out["status"][-1]
    packets = wait_for(listener, 1)
    assert [p.address for p in packets] == ["/jasco/hello"]   # nothing of the request went out


@pytest.mark.parametrize(("settings", "message"), [
    ([["drums_scene", 2]], "no clip in drums track 'Drums' scene 2"),
    ([["drums_track", 2], ["drums_scene", 3]], "no clip in drums track 'JASCO' scene 3"),
    ([["prompt", ""]], "type a prompt first"),
])
def test_bad_request_is_refused_with_a_message(run_device, listener: Listener, settings: list[Any],
                                               message: str) -> None:
    out = run_device({"mode": "core", "live": live_set(), "bridge_port": listener.port,
                      "settings": SETTINGS + settings, "commands": [["generate"]]})
    assert out["results"] == ["refused"]
    assert message in out["status"][-1]


@pytest.mark.parametrize(("setting", "message"), [
    (["steps", 0], "steps must be between 1 and 1000"),
    (["cfg_all", "loud"], "cfg_all needs one number"),
    (["solver", 7], f"solver must be between 0 and {len(param('solver').choices) - 1}"),  # a menu index
    (["prompt", "x" * 1001], "prompt is 1001 characters; at most 1000"),
    (["volume", 3], "unknown setting 'volume'"),
])
def test_bad_ui_values_show_a_message(run_device, listener: Listener, setting: list[Any], message: str) -> None:
    out = run_device({"mode": "core", "live": live_set(), "bridge_port": listener.port,
                      "settings": SETTINGS + [setting]})
    assert message in out["status"][-1]


def test_drums_path_with_spaces_and_unicode_arrives_intact(run_device, listener: Listener) -> None:
    live = live_set()
    path = "/Users/zoë/Música/Loops/drum loop 92 bpm.wav"
    live["tracks"][1]["slots"][0]["file_path"] = path
    out = run_device({"mode": "glue", "live": live, "bridge_port": listener.port,
                      "settings": SETTINGS, "commands": [["generate"]]})
    packets = wait_for(listener, len(out["sent"]))
    drums = [p for p in packets if p.address == "/jasco/drums"]
    assert drums and drums[0].values == (path,)
    assert DRUMS_WAV != path


def test_nothing_playing_is_refused_with_a_message(run_device, listener: Listener) -> None:
    live = live_set()
    live["tracks"][0]["playing_slot_index"] = -1
    out = run_device({"mode": "core", "live": live, "bridge_port": listener.port,
                      "settings": SETTINGS + [["chords", 1]], "commands": [["generate"]]})
    assert out["results"] == ["refused"]
    assert out["status"][-1] == "Device: no clip is playing on this track: start one, or set Chords to 'none'"


def test_time_signature_the_bridge_refuses_is_refused_here(run_device, listener: Listener) -> None:
    """Live allows 99 beats a bar, the bridge 32: the device says so instead of sending a tempo
    the bridge would drop (and rendering at the wrong tempo)."""
    out = run_device({"mode": "core", "live": live_set(numerator=33, denominator=8), "bridge_port": listener.port,
                      "settings": SETTINGS, "commands": [["generate"]]})
    assert out["results"] == ["refused"]
    assert out["status"][-1] == ("Device: the song's time signature 33/8 has more than 32 beats a bar, "
                                 "which jasco-bridge does not accept")


def test_a_chord_struck_a_little_early_reaches_the_bridge_at_beat_0(run_device, listener: Listener) -> None:
    """The loop starts at beat 4; the first chord was played 0.01 beat early and a bass note is
    held over from beat 2. Live selects notes by start time, so the device asks from the clip
    start and counts both from the loop start."""
    notes = [{"pitch": p, "start_time": 3.99, "duration": 2.0, "velocity": 100} for p in (57, 60, 64)]
    notes += [{"pitch": 33, "start_time": 2.0, "duration": 4.0, "velocity": 80},
              {"pitch": 53, "start_time": 6.0, "duration": 2.0, "velocity": 100}]
    out = run_device({"mode": "glue", "live": live_set(notes=notes), "bridge_port": listener.port,
                      "settings": SETTINGS, "commands": [["generate"]]})
    assert out["errors"] == [] and out["live"]["console"] == []
    packets = wait_for(listener, len(out["sent"]))
    adds = [p for p in packets if p.address == "/jasco/notes/add"]
    got = [tuple(p.values[i:i + 4]) for p in adds for i in range(0, len(p.values), 4)]
    assert [(n[0], round(n[1], 4), round(n[2], 4), n[3]) for n in got] == [
        (33, 0.0, 2.0, 80), (57, 0.0, 1.99, 100), (60, 0.0, 1.99, 100), (64, 0.0, 1.99, 100), (53, 2.0, 2.0, 100)]
