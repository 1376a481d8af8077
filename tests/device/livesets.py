"""Mock Live sets (the shape ``tests/device/js/mock_live.js`` builds) and the
notes they should yield, shared by the device tests."""

from __future__ import annotations

import random
from typing import Any

from core.params import param

DRUMS_WAV = "/Users/me/Music/Loops/drums 92bpm.wav"
TWO_BARS_S = 8 * 60 / 96.5          # two 4/4 bars at the sets' 96.5 bpm, in seconds

# A MIDI clip whose loop is beats 4..12 (two 4/4 bars), with notes outside the
# loop, a muted note, a note crossing the loop end and a fractional velocity.
CHORD_NOTES: list[dict[str, Any]] = [
    {"pitch": 48, "start_time": 2.0, "duration": 2.0, "velocity": 100},   # before the loop
    {"pitch": 57, "start_time": 4.0, "duration": 2.0, "velocity": 100},
    {"pitch": 60, "start_time": 4.0, "duration": 2.0, "velocity": 90.4},
    {"pitch": 64, "start_time": 4.5, "duration": 1.5, "velocity": 80, "mute": 1},  # muted
    {"pitch": 53, "start_time": 6.0, "duration": 2.0, "velocity": 100},
    {"pitch": 55, "start_time": 11.0, "duration": 3.0, "velocity": 70},    # cut at the loop end
    {"pitch": 67, "start_time": 12.0, "duration": 1.0, "velocity": 100},   # at the loop end: out
]
# (pitch, start beat relative to the loop start, duration, velocity)
EXPECTED_NOTES = [(57, 0.0, 2.0, 100), (60, 0.0, 2.0, 90), (53, 2.0, 2.0, 100), (55, 7.0, 1.0, 70)]


def live_set(version: tuple[int, int, int] = (12, 1, 0), notes: list[dict[str, Any]] | None = None,
             **overrides: Any) -> dict[str, Any]:
    """Tracks: 0 'Chords' (MIDI, the device's track), 1 'Drums' (audio), 2 'JASCO'
    (audio, first slot taken), 3 'Bus' (group), 4 'Keys' (MIDI)."""
    spec: dict[str, Any] = {
        "version": list(version),
        "tempo": 96.5,
        "numerator": 4,
        "denominator": 4,
        "current_song_time": 33.0,
        "start_time": 33.0,
        "tracks": [
            {"name": "Chords", "type": "midi", "playing_slot_index": 1, "slots": [
                {"name": "Am F C G", "midi": True, "loop_start": 4.0, "loop_end": 12.0,
                 "notes": CHORD_NOTES if notes is None else notes},
                {"name": "Playing", "midi": True, "loop_start": 0.0, "loop_end": 4.0,
                 "notes": [{"pitch": 62, "start_time": 0.5, "duration": 1.0, "velocity": 64}]},
                None,
            ]},
            {"name": "Drums", "type": "audio", "slots": [
                {"name": "drums", "midi": False, "file_path": DRUMS_WAV, "loop_end": TWO_BARS_S}, None, None]},
            {"name": "JASCO", "type": "audio", "slots": [
                {"name": "old take", "midi": False, "file_path": "/tmp/old.wav"}, None, None]},
            {"name": "Bus", "type": "group", "slots": [None, None, None]},
            {"name": "Keys", "type": "midi", "slots": [None, None, None]},
        ],
        "selected_clip": [0, 0],
        "device_track": 0,
        # a rendered file lasts the two bars asked for (Live warps it to the song tempo)
        "default_file_seconds": TWO_BARS_S,
    }
    spec.update(overrides)
    return spec


# UI settings as the patcher sends them (live.menu indexes, numbox values).
# Drums menu: 0 none, 1 Drums, 2 JASCO; target menu: 0 Drums, 1 JASCO.
SETTINGS: list[list[Any]] = [
    ["refresh"],
    ["prompt", "text", "warm lofi piano, vinyl crackle"],      # [textedit @outputmode 1] -> [prepend prompt]
    ["solver", 0],                # euler (the menu lists the table's choices: euler, midpoint, dopri5)
    ["steps", 8],
    ["cfg_all", 4.5],
    ["cfg_txt", 1.5],
    ["lock_seed", 1],
    ["seed", 1234],
    ["bars", 0],
    ["model", 1],
    ["target", 0],
    ["target_track", 1],
    ["chords", 0],
    ["drums_track", 1],
    ["drums_scene", 1],
]
PROMPT = "warm lofi piano, vinyl crackle"


def expected_generate(reply_port: int, notes: list[tuple[int, float, float, int]], *,
                      drums: str | None = DRUMS_WAV, bars: int = 2, loop_length: float = 8.0,
                      takes: tuple[tuple[int, str], ...] = ((1234, "m4l-1"),)) -> list[tuple[str, str, tuple[Any, ...]]]:
    """The exact (address, type tags, values) sequence of one Generate."""
    out: list[tuple[str, str, tuple[Any, ...]]] = [
        ("/jasco/hello", "i", (reply_port,)),
        ("/jasco/reset", "", ()),
        ("/jasco/tempo", "fii", (96.5, 4, 4)),
        ("/jasco/notes/clear", "", ()),
    ]
    for i in range(0, len(notes), 60):
        chunk = notes[i:i + 60]
        out.append(("/jasco/notes/add", "iffi" * len(chunk), tuple(v for n in chunk for v in n)))
    if notes:
        out.append(("/jasco/notes/loop", "ff", (0.0, loop_length)))
    out += [
        ("/jasco/prompt", "s", (PROMPT,)),
        ("/jasco/set", "ss", ("preset", param("preset").default)),   # Quality: none = Solver and Steps apply
        ("/jasco/set", "ss", ("solver", "euler")),
        ("/jasco/set", "si", ("steps", 8)),
        ("/jasco/set", "sf", ("cfg_all", 4.5)),
        ("/jasco/set", "sf", ("cfg_txt", 1.5)),
    ]
    out.append(("/jasco/set", "si", ("bars", bars)))
    out.append(("/jasco/set", "si", ("loop", int(param("loop").default))))  # the table's default (on)
    out.append(("/jasco/set", "ss", ("model", "tiny")))
    out.append(("/jasco/drums", "s", (drums,)) if drums else ("/jasco/drums/clear", "", ()))
    for seed, tag in takes:
        out.append(("/jasco/set", "si", ("seed", seed)))
        out.append(("/jasco/generate", "s", (tag,)))
    return out


LONG_LOOP = 128.0


def many_notes(count: int, seed: int = 7) -> tuple[list[dict[str, Any]], list[tuple[int, float, float, int]]]:
    """``count`` notes, four per 16th step, in a loop 0..LONG_LOOP beats, and what should arrive."""
    rng = random.Random(seed)
    raw = []
    for i in range(count):
        start = (i // 4) * 0.25
        raw.append({"pitch": 36 + rng.randrange(60), "start_time": start,
                    "duration": 0.25 * (1 + rng.randrange(4)), "velocity": 1 + rng.randrange(127)})
    expected = []
    for n in raw:
        dur = min(n["duration"], LONG_LOOP - n["start_time"])
        expected.append((n["pitch"], n["start_time"], dur, n["velocity"]))
    expected.sort(key=lambda n: (n[1], n[0]))
    return raw, expected
